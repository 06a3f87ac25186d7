-- Each entered member's place in the funnel (ANALYSES.md §3): the deepest step any start reaches, the path (the latest start reaching it), removal by an exclusion on the path, and a window still open at as_of.
with path as (
    -- one aggregate per member: the path is the start with the highest state, then the latest t1
    select
        _uid,
        max(state) - 1 as deepest,
        bool_or(until_ts >= $as_of_end) as open_start,
        arg_max(
            {'start_value': start_value, 't1': t1, 't2': t2, 't3': t3, 't4': t4, 't5': t5, 't6': t6, 't7': t7, 't8': t8},
            {'state': state, 't1': t1}
        ) as p
    from funnel_paths
    group by _uid
),
flat as (
    select
        _uid, deepest, open_start, p.start_value, p.t1, p.t2, p.t3, p.t4, p.t5, p.t6, p.t7, p.t8,
        [p.t1, p.t2, p.t3, p.t4, p.t5, p.t6, p.t7, p.t8][deepest] as deep_ts
    from path
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
from flat as p
