-- One experiment's users per variant after the exclusions, with its first and last assignment (a line of the Experiments list)
-- (`ab_per_user`, `ab_names`: CTEs added by core/analyses/experiments.py from `ab_resolve_holdout` or `ab_resolve_rows`)
select n.variant, count(*) as users, min(p.assigned_at) as first_assigned, max(p.assigned_at) as last_assigned
from ab_per_user as p
join ab_names as n on n.v = p.v
where not p.multiple
group by n.variant
order by n.variant
