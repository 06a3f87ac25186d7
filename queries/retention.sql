-- Cohort retention (ANALYSES.md §4): members per cohort (k = 0), and per later period k the members with a return event in it ('on') or whose last return is in it ('last'); k <= 63.
-- __members__ is (_uid, cohort): queries/retention_members_signup.sql or queries/retention_members_event.sql.
with members as (
    select _uid, cohort from __members__
),
returns as (
    -- every return event after the first cohort's period, with its period
    select ev._uid, __return_period__ as period
    from event_rows as ev
    where ev.ts >= $returns_start and ev.ts < $as_of_end and __return_rows__
),
returned as (
    -- per cohort member: the periods k >= 1 after their cohort's with a return event, as the bits of one
    -- number (k <= 63), and the last such k; one small group per member instead of one per member and period
    select min(m.cohort) as cohort,
           bit_or(1::UBIGINT << (r.period - m.cohort)::UBIGINT) as periods,
           max(r.period - m.cohort) as last_k
    from returns as r
    join members as m on m._uid = r._uid
    where r.period > m.cohort
    group by m._uid
)
select 'size' as measure, cohort, 0 as k, count(*) as members from members group by cohort
union all
select 'on' as measure, cohort, k, count(*) as members
from returned, range(1, $columns) as t(k)
where $mode = 'on' and (periods >> k::UBIGINT) & 1::UBIGINT = 1
group by cohort, k
union all
select 'last' as measure, cohort, last_k as k, count(*) as members
from returned
where $mode = 'on_or_after'
group by cohort, last_k
