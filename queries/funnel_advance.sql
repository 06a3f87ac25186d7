-- For each member and moment: from each step s, how many consecutive steps s, s+1, … that moment's rows can serve, each row serving one step (with several rows at one moment: Hall's condition over every set of steps).
with steps as (
    select range::integer + 1 as s from range($k)
),
step_sets as (
    -- every non-empty set of steps: its size, lowest and highest step
    select
        range::integer as bits,
        bit_count(range::integer) as size,
        bit_count((range::integer & -range::integer) - 1) + 1 as lo,
        floor(log2(range))::integer + 1 as hi
    from range(1, 1 << $k)
),
moments as (
    select _uid, ts, count(*) as n, bit_or(mask) as mask, min(start_value) as start_value
    from funnel_rows
    group by _uid, ts
),
single as (
    -- one row at the moment: it serves one step, any step it matches
    select m._uid, m.ts, st.s, 1 as adv, m.start_value
    from moments as m
    join steps as st on (m.mask >> (st.s - 1)) & 1 = 1
    where m.n = 1
),
shared_rows as (
    select r._uid, r.ts, r.mask
    from funnel_rows as r
    join moments as m on m._uid = r._uid and m.ts = r.ts
    where m.n > 1
),
hits as (
    -- rows of the moment that match at least one step of the set
    select r._uid, r.ts, ss.size, ss.lo, ss.hi, count(*) filter (where r.mask & ss.bits <> 0) as rows_hit
    from shared_rows as r
    cross join step_sets as ss
    group by r._uid, r.ts, ss.bits, ss.size, ss.lo, ss.hi
),
shared as (
    -- steps s … e can be served by distinct rows unless a set inside [s, e] has fewer rows than steps
    select
        h._uid,
        h.ts,
        st.s,
        coalesce(min(h.hi) filter (where h.rows_hit < h.size and h.lo >= st.s), $k + 1) - st.s as adv
    from hits as h
    cross join steps as st
    group by h._uid, h.ts, st.s
)
select _uid, ts, s, adv, start_value from single
union all
select sh._uid, sh.ts, sh.s, sh.adv, m.start_value
from shared as sh
join moments as m on m._uid = sh._uid and m.ts = sh.ts
where sh.adv > 0
