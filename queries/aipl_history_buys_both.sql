-- Purchases and loyalty events by member and time (core/models/aipl_history.py), when an event is in both lists:
-- one row of each kind for it; at equal times a loyalty row comes first (it counts only strictly after the first purchase).
select _uid, is_purchase, ts
from (
    select _uid, ts, true as is_purchase from event_rows where list_contains($purchase, _ei)
    union all
    select _uid, ts, false as is_purchase from event_rows where list_contains($loyalty, _ei)
)
order by _uid, ts, is_purchase
