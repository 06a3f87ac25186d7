-- Signup cohorts (ANALYSES.md §4): each member's cohort is the period of their signup; only signups inside the cohorts' periods, up to the end of as_of.
select _uid, __cohort_period__ as cohort
from profile
where signup_at >= $cohorts_start and signup_at < $cohorts_end and __base__
