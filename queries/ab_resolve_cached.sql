-- One contract experiment resolved per member from the derived cache's `ab_members` / `ab_unknown`, for `ab_variant_aggregates`: its CTEs `ab_per_user`, `ab_names`, `ab_excluded` (the final SELECT is only a check)
-- ($with_unknown false under a data scope: the scoped assignments hold only the scope's members, so no unknown ids)
with ab_per_user as (
    select _uid, assigned_at, v, multiple from ab_members where experiment = $experiment
),
ab_names as (
    -- one name per hash; grouped by the integer, not DISTINCT over (hash, text): no text is hashed per row
    select v, first(variant) as variant from ab_members where experiment = $experiment group by v
),
unknown as (
    select
        coalesce(sum(multiple_exposure), 0) as multiple_exposure,
        coalesce(sum(unknown_users), 0) as unknown_users
    from ab_unknown
    where experiment = $experiment and $with_unknown
),
ab_excluded as (
    select
        (select count(*) filter (where multiple) from ab_per_user) + u.multiple_exposure as multiple_exposure,
        u.unknown_users
    from unknown as u
)
select * from ab_excluded
