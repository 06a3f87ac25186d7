-- Users of one experiment left out (ANALYSES.md §5): rows in more than one variant, and users not in `users`
-- (`ab_assignments`: experiment, user_id, variant, assigned_at; a CTE added by core/analyses/experiments.py over the contract's assignments and the export holdout files)
with assigned as (
    select a.user_id, a.variant
    from ab_assignments as a
    where a.experiment = $experiment and a.user_id is not null and a.variant is not null and a.assigned_at is not null
),
per_user as (
    select user_id, count(distinct variant) as variants
    from assigned
    group by user_id
)
select
    count(*) filter (where u.variants > 1) as multiple_exposure,
    count(*) filter (where u.variants = 1 and p.user_id is null) as unknown_users
from per_user as u
left join profile as p on p.user_id = u.user_id
