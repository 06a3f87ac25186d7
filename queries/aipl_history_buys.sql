-- Purchases and loyalty events by member and time (core/models/aipl_history.py); at equal times a loyalty row comes first
-- (a loyalty event counts only strictly after the first purchase). An event in both lists is one row of each kind.
select _uid, is_purchase, cast((epoch_us(ts) - $origin_us) // 86400000000 as integer) as day
from (
    select _uid, ts, true as is_purchase from event_rows where list_contains($purchase, _ei)
    union all
    select _uid, ts, false as is_purchase from event_rows where list_contains($loyalty, _ei)
)
order by _uid, ts, is_purchase
