-- Per variant of one experiment (ANALYSES.md §5): users, conversions, revenue sum and sum of squares, the same metrics in the window before assignment (CUPED), and windows not over yet
-- (`ab_assignments`: experiment, user_id, variant, assigned_at; a CTE added by core/analyses/experiments.py over the contract's assignments and the export holdout files)
with assigned as (
    -- known users only (unknown ones are counted by ab_exclusions), keyed by member number: the grouping below is on integers
    select p._uid, a.variant, a.assigned_at
    from ab_assignments as a
    join (select _uid, user_id from profile where __segment__) as p on p.user_id = a.user_id
    where a.experiment = $experiment and a.variant is not null and a.assigned_at is not null
),
per_user as (
    -- a user's assignment is their earliest row; rows in two variants make a multiple exposure
    -- (variants compared by hash: integer min/max are about twice as fast as text ones)
    select _uid, min(assigned_at) as assigned_at, any_value(variant) as variant, min(hash(variant)) <> max(hash(variant)) as multiple
    from assigned
    group by _uid
),
members as (
    select
        _uid,
        variant,
        assigned_at as t0,
        least(assigned_at + $window, $as_of_end) as t1,
        assigned_at - $window as t_pre,
        assigned_at + $window > $as_of_end as unfinished
    from per_user
    where not multiple
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
        m.variant,
        m.unfinished,
        m.t0,
        coalesce(h.conv, 0) as conv,
        coalesce(h.rev, 0) as rev,
        coalesce(h.pre_conv, 0) as pre_conv,
        coalesce(h.pre_rev, 0) as pre_rev
    from members as m
    left join hits as h on h._uid = m._uid
)
select
    variant,
    count(*) as users,
    sum(conv) as conversions,
    sum(rev)::double as revenue_sum,
    sum(rev * rev)::double as revenue_sum_sq,
    sum(pre_conv) as pre_conversions,
    sum(conv * pre_conv) as conversion_products,
    sum(pre_rev)::double as pre_revenue_sum,
    sum(pre_rev * pre_rev)::double as pre_revenue_sum_sq,
    sum(rev * pre_rev)::double as revenue_products,
    count(*) filter (where unfinished) as unfinished,
    min(t0) as first_assigned,
    max(t0) as last_assigned
from per_member
group by variant
order by variant
