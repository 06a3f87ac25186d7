-- The conversion and purchase events of one experiment's period for the per-variant pass (core/analyses/ab_read.py): member, time (a timestamp in microseconds), event code, amount (missing = 0)
-- (one range read: `event_rows` is sorted by (_ei, ts), so each event code's rows of [$from_ts, $to_ts) are a few row groups; members are matched in numpy, not by a join)
select e._uid, cast(e.ts as timestamp) as ts, e._ei, __amount__ as amount
from event_rows as e
where (e._ei = $conversion or e._ei = $purchase) and e.ts >= $from_ts and e.ts < $to_ts
