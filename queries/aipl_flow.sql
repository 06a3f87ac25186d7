-- The AIPL flow from d1 to d2 (ANALYSES.md §2): members of a base segment (at as_of) per (stage at d1, stage at d2).
with base as (
    select _uid from profile where __segment__
)
select
    cast(a.value as varchar) as stage_from,
    cast(b.value as varchar) as stage_to,
    count(*) as members
from base
join __stages_from__ on a._uid = base._uid
join __stages_to__ on b._uid = base._uid
group by all
