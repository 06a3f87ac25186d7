-- One link of the funnel chain: each live path moves to the earliest later moment that serves its next step, if that moment is inside the window.
with moved as (
    select p.*, a.ts as next_ts, a.adv as next_adv, coalesce(a.ts <= p.until_ts, false) as inside
    from (select * from funnel_paths where live) as p
    asof left join funnel_advance as a on a._uid = p._uid and a.s = p.state and p.last_ts < a.ts
)
select
    _uid,
    t1,
    until_ts,
    case when inside then state + next_adv else state end as state,
    case when inside then next_ts else last_ts end as last_ts,
    inside and state + next_adv <= $k as live,
    start_value,
    case when inside and state <= 2 and 2 < state + next_adv then next_ts else t2 end as t2,
    case when inside and state <= 3 and 3 < state + next_adv then next_ts else t3 end as t3,
    case when inside and state <= 4 and 4 < state + next_adv then next_ts else t4 end as t4,
    case when inside and state <= 5 and 5 < state + next_adv then next_ts else t5 end as t5,
    case when inside and state <= 6 and 6 < state + next_adv then next_ts else t6 end as t6,
    case when inside and state <= 7 and 7 < state + next_adv then next_ts else t7 end as t7,
    case when inside and state <= 8 and 8 < state + next_adv then next_ts else t8 end as t8
from moved
union all
select _uid, t1, until_ts, state, last_ts, live, start_value, t2, t3, t4, t5, t6, t7, t8
from funnel_paths
where not live
