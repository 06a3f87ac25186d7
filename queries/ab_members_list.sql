-- Every contract experiment's users per variant after the exclusions, with first and last assignment (the Experiments list), from the derived cache's `ab_members`
select experiment, variant, count(*) as users, min(assigned_at) as first_assigned, max(assigned_at) as last_assigned
from ab_members
where not multiple
group by experiment, variant
order by experiment, variant
