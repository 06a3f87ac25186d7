-- Each entered member's place in the funnel (ANALYSES.md §3): the deepest step any start reaches, the path (the latest start reaching it), removal by an exclusion on the path, and a window still open at as_of.
with ranked as (
    select
        *,
        state - 1 as deepest,
        row_number() over (partition by _uid order by state desc, t1 desc) as rank,
        bool_or(until_ts >= $as_of_end) over (partition by _uid) as open_start
    from funnel_paths
),
path as (
    select
        _uid, deepest, start_value, open_start, t1, t2, t3, t4, t5, t6, t7, t8,
        [t1, t2, t3, t4, t5, t6, t7, t8][deepest] as deep_ts
    from ranked
    where rank = 1
)
select
    p._uid,
    p.deepest,
    exists (
        select 1 from event_rows as ev
        where ev._uid = p._uid and ev.ts > p.t1 and ev.ts < p.deep_ts and __exclusion__
    ) as excluded,
    p.open_start and p.deepest < $k as open,
    p.start_value,
    p.t1, p.t2, p.t3, p.t4, p.t5, p.t6, p.t7, p.t8
from path as p
