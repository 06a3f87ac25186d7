-- The funnel's entrants: every member with a start in the entry range, those removed by an exclusion, and those whose window is still open at as_of.
select
    count(*) as entered,
    count(*) filter (where excluded) as excluded,
    count(*) filter (where open and not excluded) as open
from funnel_members
