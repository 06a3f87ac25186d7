-- A segment's make-up by one profile column: top values by count in the segment (then in the base),
-- the rest folded into one 'other' row, missing values on their own row.
with per_value as (
    select __value__ as value,
           count(*) filter (where __segment__) as in_segment,
           count(*) as in_base
    from profile
    group by 1
),
ranked as (
    select value, in_segment, in_base,
           row_number() over (order by in_segment desc, in_base desc, value) as rank
    from per_value
    where value is not null
)
select 'value' as kind, value, in_segment, in_base, rank from ranked where rank <= $x_limit
union all
select 'other' as kind, null as value, sum(in_segment), sum(in_base), null from ranked
where rank > $x_limit having count(*) > 0
union all
select 'missing' as kind, null as value, in_segment, in_base, null from per_value where value is null
