-- The funnel per value of one member field or of the path's step-1 property: the top values by entrants, the rest as (other), missing as (missing); per value the members at each step (one column a step).
with valued as (
    select m.deepest, cast(__value__ as varchar) as value
    from funnel_members as m
    join profile as pr on pr._uid = m._uid
    where not m.excluded
),
ranked as (
    select value, row_number() over (order by count(*) desc, value) as place
    from valued
    where value is not null
    group by value
),
labelled as (
    select
        case when v.value is null then '(missing)' when r.place <= $top then v.value else '(other)' end as label,
        v.deepest
    from valued as v
    left join ranked as r on r.value = v.value
)
select l.label, __counts__
from labelled as l
group by l.label
order by l.label
