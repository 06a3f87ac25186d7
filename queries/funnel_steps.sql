-- Per funnel step: members who reached it (excluded members removed), and the median time from the previous step on their paths.
with steps as (
    select range::integer + 1 as s from range($k)
),
reached as (
    select
        st.s,
        (epoch_us([m.t1, m.t2, m.t3, m.t4, m.t5, m.t6, m.t7, m.t8][st.s])
            - epoch_us([m.t1, m.t2, m.t3, m.t4, m.t5, m.t6, m.t7, m.t8][greatest(st.s - 1, 1)])) / 1000000.0 as seconds
    from funnel_members as m
    join steps as st on m.deepest >= st.s
    where not m.excluded
)
select st.s, count(r.s) as users, median(r.seconds) filter (where st.s > 1) as median_seconds
from steps as st
left join reached as r on r.s = st.s
group by st.s
order by st.s
