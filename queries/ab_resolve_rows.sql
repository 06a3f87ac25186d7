-- One experiment's assignment rows resolved per member (ANALYSES.md §5), for `ab_variant_aggregates`: its CTEs `ab_per_user`, `ab_names`, `ab_excluded` (the final SELECT is only a check)
-- (`ab_assignments`: experiment, user_id, variant, assigned_at; a CTE added by core/analyses/experiments.py over the export holdout files, resolved on each read when their resolved copy cannot be kept: core/analyses/ab_holdouts.py)
with assigned as (
    -- every row of the experiment with the member number of its user (NULL for ids not in `users`): one text join
    select p._uid, a.user_id, hash(a.variant) as v, a.variant, a.assigned_at
    from ab_assignments as a
    left join (select _uid, user_id from profile) as p on p.user_id = a.user_id
    where a.experiment = $experiment and a.user_id is not null and a.variant is not null and a.assigned_at is not null
),
ab_per_user as (
    -- a user's assignment is their earliest row; rows in two variants make a multiple exposure
    -- (grouped by member number with fixed-width state: variants by their hash, named again per variant at the end)
    select _uid, min(assigned_at) as assigned_at, min(v) as v, min(v) <> max(v) as multiple
    from assigned
    where _uid is not null
    group by _uid
),
ab_names as (
    select distinct v, variant from assigned
),
unknown as (
    select min(v) <> max(v) as multiple
    from assigned
    where _uid is null
    group by user_id
),
ab_excluded as (
    select
        (select count(*) filter (where multiple) from ab_per_user) + (select count(*) filter (where multiple) from unknown) as multiple_exposure,
        (select count(*) filter (where not multiple) from unknown) as unknown_users
)
select * from ab_excluded
