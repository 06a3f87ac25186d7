-- Entrants and members who reached the last step, by the day or week (Monday) of their path's start.
select date_trunc($unit, t1)::date as period, count(*) as entered, count(*) filter (where deepest = $k) as converted
from funnel_members
where not excluded
group by period
order by period
