-- Every experiment's users per variant after the exclusions, with its first and last assignment (the Experiments list)
-- (`ab_assignments`: experiment, user_id, variant, assigned_at; a CTE added by core/analyses/experiments.py over the contract's assignments and the export holdout files)
with assigned as (
    select a.experiment, a.user_id, a.variant, a.assigned_at
    from ab_assignments as a
    where a.experiment is not null and a.user_id is not null and a.variant is not null and a.assigned_at is not null
),
per_user as (
    select experiment, user_id, min(assigned_at) as assigned_at, min(variant) as variant, count(distinct variant) as variants
    from assigned
    group by experiment, user_id
)
select u.experiment, u.variant, count(*) as users, min(u.assigned_at) as first_assigned, max(u.assigned_at) as last_assigned
from per_user as u
semi join profile as p on p.user_id = u.user_id
where u.variants = 1
group by u.experiment, u.variant
order by u.experiment, u.variant
