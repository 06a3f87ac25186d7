-- Per experiment of the contract's assignments: users whose id is not in `users`, split into multiple exposure (rows in two variants) and the others (written beside `ab_members_build`'s file: core/analyses/ab_members.py)
with unknown as (
    select a.experiment, a.user_id, min(a.variant) <> max(a.variant) as multiple
    from memory.main.assignments as a
    anti join (select user_id from cache.main.profile) as u on u.user_id = a.user_id
    where a.experiment is not null and a.user_id is not null and a.variant is not null and a.assigned_at is not null
    group by a.experiment, a.user_id
)
select experiment, count(*) filter (where multiple) as multiple_exposure, count(*) filter (where not multiple) as unknown_users
from unknown
group by experiment
