-- RFM per buyer over purchases in the last rfm.window_days ending on as_of (DATA_CONTRACT.md).
-- High/low against the buyers' mean is compared exactly (x * n vs sum) so ties at the mean are low.
with purchases as (
    select user_id, ts, coalesce(amount, 0) as amount
    from events
    where event = $purchase_event and ts >= $window_start and ts < $as_of_end
),
per_buyer as (
    select
        user_id,
        date_diff('day', max(ts)::date, $as_of::date) as recency_days,
        count(*) as frequency,
        sum(amount) as monetary
    from purchases
    group by user_id
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
    user_id,
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
