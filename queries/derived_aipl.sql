-- AIPL stage per user with any event in the last aipl.lookback_days ending on as_of.
with window_events as (
    select user_id, event, ts
    from events
    where ts >= $window_start and ts < $as_of_end
),
per_user as (
    select
        user_id,
        count(*) filter (where event = $purchase_event) as purchases,
        min(ts) filter (where event = $purchase_event) as first_purchase_at,
        max(ts) filter (where list_contains($loyalty_events, event)) as last_loyalty_at,
        bool_or(list_contains($interest_events, event)) as interested,
        bool_or(list_contains($awareness_events, event)) as aware
    from window_events
    group by user_id
)
select
    user_id,
    case
        when purchases >= $loyalty_min_purchases then 'L'
        when purchases >= 1 and last_loyalty_at > first_purchase_at then 'L'
        when purchases >= 1 then 'P'
        when interested then 'I'
        when aware then 'A'
        else 'none'
    end as aipl_stage
from per_user
