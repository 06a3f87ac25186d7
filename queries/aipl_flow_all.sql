-- The AIPL flow from d1 to d2 for everyone (no base segment, ANALYSES.md §2): members per (stage at d1, stage at d2).
select
    cast(a.value as varchar) as stage_from,
    cast(b.value as varchar) as stage_to,
    count(*) as members
from __stages_from__
join __stages_to__ on b._uid = a._uid
group by all
