-- A walked path's (p) step-1 property: the smallest value among the step-1 rows at its start, as funnel_advance.sql keeps it.
select min(__value__) from event_rows as ev
where ev._uid = p._uid and ev.ts = p.t1 and ev.ts >= $from_ts and ev.ts < $to_end and __step1__
