-- Every experiment's users per variant after the exclusions, with its first and last assignment (the Experiments list)
-- (`ab_assignments`: experiment, user_id, variant, assigned_at; a CTE added by core/analyses/experiments.py over the contract's assignments and the export holdout files)
with assigned as (
    -- known users only, keyed by member number: the grouping below is on (experiment, integer)
    select a.experiment, p._uid, a.variant, a.assigned_at
    from ab_assignments as a
    join (select _uid, user_id from profile) as p on p.user_id = a.user_id
    where a.experiment is not null and a.variant is not null and a.assigned_at is not null
),
per_user as (
    -- grouped by integers (the experiment's hash and the member number): a text key made this grouping the slowest step
    select
        any_value(experiment) as experiment,
        min(assigned_at) as assigned_at,
        any_value(variant) as variant,
        min(hash(variant)) <> max(hash(variant)) as multiple
    from assigned
    group by hash(experiment), _uid
)
select u.experiment, u.variant, count(*) as users, min(u.assigned_at) as first_assigned, max(u.assigned_at) as last_assigned
from per_user as u
where not u.multiple
group by u.experiment, u.variant
order by u.experiment, u.variant
