-- Time from the previous step on the paths, per step: members per time bin [lo, hi) in seconds.
with steps as (
    select range::integer + 1 as s from range(2, $k + 1)
),
bins as (
    select unnest($lo) as lo, unnest($hi) as hi
),
reached as (
    select
        st.s,
        (epoch_us([m.t1, m.t2, m.t3, m.t4, m.t5, m.t6, m.t7, m.t8][st.s])
            - epoch_us([m.t1, m.t2, m.t3, m.t4, m.t5, m.t6, m.t7, m.t8][st.s - 1])) / 1000000.0 as seconds
    from funnel_members as m
    join steps as st on m.deepest >= st.s
    where not m.excluded
)
select r.s, b.lo, count(*) as users
from reached as r
join bins as b on r.seconds >= b.lo and r.seconds < b.hi
group by r.s, b.lo
order by r.s, b.lo
