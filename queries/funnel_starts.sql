-- The funnel's starts: every moment in the entry range whose rows serve step 1, and how many steps that moment alone serves.
select
    _uid,
    ts as t1,
    ts + $window as until_ts,
    1 + adv as state,
    ts as last_ts,
    1 + adv <= $k as live,
    start_value,
    case when adv >= 2 then ts end as t2,
    case when adv >= 3 then ts end as t3,
    case when adv >= 4 then ts end as t4,
    case when adv >= 5 then ts end as t5,
    case when adv >= 6 then ts end as t6,
    case when adv >= 7 then ts end as t7,
    case when adv >= 8 then ts end as t8
from funnel_advance
where s = 1 and ts >= $from_ts and ts < $to_end
