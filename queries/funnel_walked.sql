-- Each entered member's place in the funnel from the one-pass walk (funnel_walked: member, deepest step, an open window, the path's times), with the columns of funnel_members.sql.
select
    p._uid,
    p.deepest,
    __excluded__ as excluded,
    p.open_start and p.deepest < $k as open,
    __start_value__ as start_value,
    p.t1, p.t2, p.t3, p.t4, p.t5, p.t6, p.t7, p.t8
from funnel_walked as p
