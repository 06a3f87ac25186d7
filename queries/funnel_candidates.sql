-- A funnel's candidate rows for the one-pass walk (core/analyses/funnel_paths.py): member, time in microseconds and the bit mask of the steps the row matches (put in (member, time) order by the walk's caller: numpy's radix sort costs less than an ORDER BY here).
select _uid, ts, mask
from (
    select ev._uid, epoch_us(ev.ts) as ts, __mask__ as mask
    from event_rows as ev
    where __candidate__ and ev.ts >= $from_ts and ev.ts <= $last_ts
) as matched
where mask <> 0
