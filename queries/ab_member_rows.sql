-- One experiment's members for the per-variant pass (core/analyses/ab_read.py): member number, first assignment (a timestamp in microseconds) and variant hash, after the exclusions and within the base segment
-- (`ab_per_user`: a CTE added by core/analyses/experiments.py from `ab_resolve_cached`, `ab_resolve_holdout` or `ab_resolve_rows`)
select _uid, cast(assigned_at as timestamp) as t0, v
from ab_per_user
where not multiple and __in_segment__
