-- One event's rows in one block of days (core/models/aipl_history.py): member and day number from $origin_us
-- (timestamps are wall-clock time: whole days of microseconds). event_rows is sorted by (event, time): a range read.
select _uid, cast((epoch_us(ts) - $origin_us) // 86400000000 as integer) as day
from event_rows
where _ei = $code and ts >= $start and ts < $end
