-- AIPL stage per member at a date d (DATA_CONTRACT.md), from a per-member roll-up of the events in the aipl.lookback_days ending on d:
-- the cache build's roll-up at as_of, or queries/aipl_rollup_at.sql at a past date.
select
    _uid,
    case
        when aipl_purchases >= $loyalty_min_purchases then 'L'
        when aipl_purchases >= 1 and aipl_last_loyalty_at > aipl_first_purchase_at then 'L'
        when aipl_purchases >= 1 then 'P'
        when aipl_interested then 'I'
        when aipl_aware then 'A'
        else 'none'
    end as aipl_stage
from __rollup__
