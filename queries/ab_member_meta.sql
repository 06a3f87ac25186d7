-- One experiment's variants (hash and name) and the users it leaves out (multiple exposure, unknown), one row per variant, for the per-variant pass (core/analyses/ab_read.py)
-- (`ab_names`, `ab_excluded`: CTEs added by core/analyses/experiments.py; a NULL variant when the experiment has no rows)
select n.v, n.variant, x.multiple_exposure, x.unknown_users
from ab_excluded as x
left join ab_names as n on true
