-- Per variant of one experiment (ANALYSES.md §5): users, conversions, revenue sum and sum of squares, the same metrics in the window before assignment (CUPED), windows not over yet, and the users left out (multiple exposure, unknown)
-- (`ab_per_user` (_uid, assigned_at, v, multiple), `ab_names` (v, variant), `ab_excluded`: CTEs added by core/analyses/experiments.py from `ab_resolve_cached` or `ab_resolve_rows`)
-- Revenue is exact: __amount__ is an amount in whole millionths (core.models.rfm.amount_micros, as DECIMAL(18, 0)), so the
-- sums below are integers (DECIMAL(38, 0); squares and products in millionths squared) that any engine adds exactly in any order.
with members as (
    select
        _uid,
        v,
        assigned_at as t0,
        least(assigned_at + $window, $as_of_end) as t1,
        assigned_at - $window as t_pre,
        assigned_at + $window > $as_of_end as unfinished
    from ab_per_user
    where not multiple and __in_segment__
),
hits as (
    select
        m._uid,
        max(case when e._ei = $conversion and e.ts >= m.t0 then 1 else 0 end) as conv,
        sum(case when e._ei = $purchase and e.ts >= m.t0 then __amount__ else 0 end) as rev,
        max(case when e._ei = $conversion and e.ts < m.t0 then 1 else 0 end) as pre_conv,
        sum(case when e._ei = $purchase and e.ts < m.t0 then __amount__ else 0 end) as pre_rev
    from members as m
    join event_rows as e on e._uid = m._uid
    where e._ei in ($conversion, $purchase) and e.ts >= m.t_pre and e.ts < m.t1
    group by m._uid
),
per_member as (
    select
        m.v,
        m.unfinished,
        m.t0,
        coalesce(h.conv, 0) as conv,
        coalesce(h.rev, 0) as rev,
        coalesce(h.pre_conv, 0) as pre_conv,
        coalesce(h.pre_rev, 0) as pre_rev
    from members as m
    left join hits as h on h._uid = m._uid
),
by_variant as (
    select
        n.variant,
        count(*) as users,
        sum(conv) as conversions,
        sum(rev) as revenue_micros,
        sum(rev * rev) as revenue_sq_micros,
        sum(pre_conv) as pre_conversions,
        sum(conv * pre_conv) as conversion_products,
        sum(pre_rev) as pre_revenue_micros,
        sum(pre_rev * pre_rev) as pre_revenue_sq_micros,
        sum(rev * pre_rev) as revenue_products_micros,
        count(*) filter (where unfinished) as unfinished,
        min(t0) as first_assigned,
        max(t0) as last_assigned
    from per_member as m
    join ab_names as n on n.v = m.v
    group by n.variant
)
-- one row per variant, each with the experiment's exclusions (one row with a NULL variant when no member is left)
select v.*, x.multiple_exposure, x.unknown_users
from ab_excluded as x
left join by_variant as v on true
order by v.variant
