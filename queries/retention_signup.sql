-- Cohort retention by signup (ANALYSES.md §4): members per cohort (k = 0), and per later period k the members with a return event in it ('on') or whose last return is in it ('last').
with members as (
    -- a cohort is the period of the member's signup; only signups inside the cohorts' periods, up to the end of as_of
    select _uid, __cohort_period__ as cohort
    from profile
    where signup_at >= $cohorts_start and signup_at < $cohorts_end and __base__
),
returns as (
    -- the periods in which each member has a return event (after the first cohort's period)
    select distinct ev._uid, __return_period__ as period
    from event_rows as ev
    where ev.ts >= $returns_start and ev.ts < $as_of_end and __return_rows__
),
returned as (
    select m._uid, m.cohort, r.period - m.cohort as k
    from returns as r
    join members as m on m._uid = r._uid
    where r.period > m.cohort
)
select 'size' as measure, cohort, 0 as k, count(*) as members from members group by cohort
union all
select 'on' as measure, cohort, k, count(*) as members from returned where $mode = 'on' group by cohort, k
union all
select 'last' as measure, cohort, k, count(*) as members
from (select cohort, max(k) as k from returned where $mode = 'on_or_after' group by _uid, cohort)
group by cohort, k
