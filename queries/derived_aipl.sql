-- AIPL stage per user from the per-user event roll-up (events in the last aipl.lookback_days).
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
from user_events
