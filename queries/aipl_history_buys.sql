-- Purchases and loyalty events by member and time (core/models/aipl_history.py), when no event is in both lists;
-- at equal times a loyalty row comes first (a loyalty event counts only strictly after the first purchase).
select _uid, list_contains($purchase, _ei) as is_purchase, ts
from event_rows
where list_contains($codes, _ei)
order by _uid, ts, is_purchase
