-- The contract's assignments resolved per member, built once into the derived cache (core/dataset/build_assignments.py): experiment, _uid, first assigned_at, variant (and its hash `v`), whether the member has rows in two variants
-- (`_uids`: user_id -> _uid of the build; ids not in `users` are left out here and counted in `ab_unknown`; reads `assignments`, the Parquet view)
with assigned as (
    select hash(a.experiment) as e, a.experiment, u._uid, hash(a.variant) as v, a.variant, a.assigned_at
    from assignments as a
    join _uids as u on u.user_id = a.user_id
    where a.experiment is not null and a.variant is not null and a.assigned_at is not null
),
per_user as (
    -- fixed-width keys and state: texts in a grouping of every experiment's rows were the slow step
    select e, _uid, min(assigned_at) as assigned_at, min(v) as v, min(v) <> max(v) as multiple
    from assigned
    group by e, _uid
),
names as (
    select distinct e, experiment, v, variant from assigned
)
select n.experiment, p._uid, p.assigned_at, p.v, n.variant, p.multiple
from per_user as p
join names as n on n.e = p.e and n.v = p.v
-- one experiment's rows together (its reads skip the others' row groups); by the hash: a text sort cost the build more than the rest of this query
order by p.e, p._uid
