-- Members of a base segment per AIPL stage at one day (ANALYSES.md §2): the AIPL page's funnel and one point of its trend.
with base as (
    select _uid from profile where __segment__
)
select
    cast(s.value as varchar) as stage,
    count(*) as members
from base
join __stages__ on s._uid = base._uid
group by all
