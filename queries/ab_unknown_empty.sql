-- The shape of `ab_unknown` for a dataset without assignments (no rows)
select cast(null as varchar) as experiment, cast(0 as bigint) as multiple_exposure, cast(0 as bigint) as unknown_users
where false
