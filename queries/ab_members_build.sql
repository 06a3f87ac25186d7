-- The contract's assignments resolved per member, written once per data version to a Parquet file next to the derived cache (core/analyses/ab_members.py): experiment, _uid, first assigned_at, variant (and its hash `v`), whether the member has rows in two variants
-- (member numbers from the cache's `profile`; ids not in `users` are left out here and counted by `ab_unknown_build`; reads every member's rows of the `assignments` Parquet view, also for a data scope: its reads filter)
with assigned as (
    select hash(a.experiment) as e, a.experiment, u._uid, hash(a.variant) as v, a.variant, a.assigned_at
    from memory.main.assignments as a
    join (select _uid, user_id from cache.main.profile) as u on u.user_id = a.user_id
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
-- one experiment's rows together (its reads skip the others' row groups); by the hash: a text sort cost more than the rest of this query
order by p.e, p._uid
