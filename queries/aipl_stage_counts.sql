-- Members per AIPL stage at one day for everyone (no base segment): the stages alone, no join to the profile.
select
    cast(s.value as varchar) as stage,
    count(*) as members
from __stages__
group by all
