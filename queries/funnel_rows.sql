-- Which event rows can serve a funnel step (ANALYSES.md §3): member, time, the set of steps the row matches as a bit mask, and its step-1 property for breakdowns.
select _uid, ts, mask, case when mask & 1 = 1 then start_value end as start_value
from (
    select ev._uid, ev.ts, __mask__ as mask, __start_value__ as start_value
    from event_rows as ev
    where __candidate__ and ev.ts >= $from_ts and ev.ts <= $last_ts
) as matched
where mask <> 0
