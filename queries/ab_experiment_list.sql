-- One experiment's users per variant after the exclusions, with its first and last assignment (a line of the Experiments list)
-- (`ab_assignments`: experiment, user_id, variant, assigned_at; a CTE added by core/analyses/experiments.py over the contract's assignments and the export holdout files)
with assigned as (
    -- known users only, keyed by member number
    select p._uid, hash(a.variant) as v, a.variant, a.assigned_at
    from ab_assignments as a
    join (select _uid, user_id from profile) as p on p.user_id = a.user_id
    where a.experiment = $experiment and a.variant is not null and a.assigned_at is not null
),
names as (
    select distinct v, variant from assigned
),
per_user as (
    -- fixed-width state only (integers and a timestamp): at 10 M members text values in the grouping state were the slowest step
    select min(assigned_at) as assigned_at, min(v) as v, min(v) <> max(v) as multiple
    from assigned
    group by _uid
),
by_variant as (
    select v, count(*) as users, min(assigned_at) as first_assigned, max(assigned_at) as last_assigned
    from per_user
    where not multiple
    group by v
)
select n.variant, b.users, b.first_assigned, b.last_assigned
from by_variant as b
join names as n on n.v = b.v
order by n.variant
