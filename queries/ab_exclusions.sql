-- Users of one experiment left out (ANALYSES.md §5): rows in more than one variant, and users not in `users`
-- (`ab_assignments`: experiment, user_id, variant, assigned_at; a CTE added by core/analyses/experiments.py over the contract's assignments and the export holdout files)
with assigned as (
    select p._uid, a.user_id, a.variant
    from ab_assignments as a
    left join (select _uid, user_id from profile) as p on p.user_id = a.user_id
    where a.experiment = $experiment and a.user_id is not null and a.variant is not null and a.assigned_at is not null
),
known as (
    -- grouped by member number (integers); only the few unknown ids are grouped as text
    select min(hash(variant)) <> max(hash(variant)) as multiple from assigned where _uid is not null group by _uid
),
unknown as (
    select min(hash(variant)) <> max(hash(variant)) as multiple from assigned where _uid is null group by user_id
)
select
    (select count(*) filter (where multiple) from known) + (select count(*) filter (where multiple) from unknown) as multiple_exposure,
    (select count(*) filter (where not multiple) from unknown) as unknown_users
