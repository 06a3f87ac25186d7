-- RFM per buyer at a date $as_of (DATA_CONTRACT.md), from a per-member roll-up of the purchases in the rfm.window_days ending on it:
-- the cache build's roll-up at as_of, or queries/rfm_rollup_at.sql at a past date.
-- High/low against the buyers' mean is compared exactly (x * n vs sum) so ties at the mean are low: recency and frequency
-- are integers, rfm_monetary the exact DECIMAL sum of core.models.rfm.monetary_sum (its products and sum stay exact).
with per_buyer as (
    select
        _uid,
        date_diff('day', rfm_last_purchase_at::date, $as_of::date) as recency_days,
        rfm_purchases as frequency,
        rfm_monetary as monetary
    from __rollup__
    where rfm_purchases > 0
),
totals as (
    select count(*) as buyers, sum(recency_days) as sum_r, sum(frequency) as sum_f, sum(monetary) as sum_m
    from per_buyer
),
scored as (
    select
        b.*,
        b.recency_days * t.buyers < t.sum_r as r_high,
        b.frequency * t.buyers > t.sum_f as f_high,
        b.monetary * t.buyers > t.sum_m as m_high,
        -- quintile scores 1-5, 5 best; ties share a score (cume_dist counts ties together)
        greatest(1, 6 - ceil(5 * cume_dist() over (order by b.recency_days))) as r_score,
        ceil(5 * cume_dist() over (order by b.frequency)) as f_score,
        ceil(5 * cume_dist() over (order by b.monetary)) as m_score
    from per_buyer as b, totals as t
)
select
    _uid,
    recency_days::integer as recency_days,
    frequency::integer as frequency,
    monetary::double as monetary,
    r_score::tinyint as r_score,
    f_score::tinyint as f_score,
    m_score::tinyint as m_score,
    case
        when r_high and f_high and m_high then 'important_value'
        when r_high and not f_high and m_high then 'important_development'
        when not r_high and f_high and m_high then 'important_retention'
        when not r_high and not f_high and m_high then 'important_recovery'
        when r_high and f_high and not m_high then 'general_value'
        when r_high and not f_high and not m_high then 'general_development'
        when not r_high and f_high and not m_high then 'general_retention'
        else 'general_recovery'
    end as rfm_class
from scored
