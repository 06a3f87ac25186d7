-- Start-event cohorts (ANALYSES.md §4): each member's cohort is the period of their first event ever (up to as_of) matching the start event and its filters; only starts inside the cohorts' periods.
with starts as (
    select ev._uid, min(ev.ts) as _start_ts
    from event_rows as ev
    where ev.ts < $as_of_end and __start_rows__
    group by ev._uid
)
select _uid, __cohort_period__ as cohort
from profile
join starts using (_uid)
where _start_ts >= $cohorts_start and _start_ts < $cohorts_end and __base__
