-- The shapes of `ab_members` and `ab_unknown` for a dataset without assignments (no rows)
select
    cast(null as varchar) as experiment, cast(null as integer) as _uid, cast(null as timestamp) as assigned_at,
    cast(null as ubigint) as v, cast(null as varchar) as variant, cast(null as boolean) as multiple
where false
