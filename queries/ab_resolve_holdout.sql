-- One export's holdout from its resolved file (queries/ab_holdout_resolve.sql, $resolved_file), for the per-variant reads: its CTEs `ab_per_user`, `ab_names`, `ab_excluded` (the final SELECT is only a check)
-- (`__in_scope__`: true, or under a data scope the member is the scope's; members outside it count as unknown ids, as when the rows are joined to the scope's `profile`)
with resolved as (
    select _uid, assigned_at, v, variant, multiple, coalesce(_uid is not null and __in_scope__, false) as kept
    from read_parquet($resolved_file)
),
ab_per_user as (
    select _uid, assigned_at, v, multiple from resolved where kept
),
ab_names as (
    select distinct v, variant from resolved
),
ab_excluded as (
    select
        count(*) filter (where multiple) as multiple_exposure,
        count(*) filter (where not multiple and not kept) as unknown_users
    from resolved
)
select * from ab_excluded
