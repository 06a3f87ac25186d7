-- Per funnel step: members who reached it (excluded members removed), then per step after the first the median time from the previous step on their paths; one aggregate column each (core/analyses/funnels.py builds them for the funnel's steps).
select __columns__
from funnel_members as m
where not m.excluded
