-- An export's holdout resolved per user once per data version, written to a Parquet file next to the derived cache (core/analyses/ab_holdouts.py): member number (NULL for ids not in `users`), first assignment, variant hash and name, rows in two variants
-- (`ab_assignments`: experiment, user_id, variant, assigned_at; a CTE added by core/analyses/experiments.py over the export's holdout file or older SQLite rows; every member of the data version, also under a data scope: reads filter by scope)
with assigned as (
    select p._uid, a.user_id, hash(a.variant) as v, a.variant, a.assigned_at
    from ab_assignments as a
    left join (select _uid, user_id from cache.main.profile) as p on p.user_id = a.user_id
    where a.experiment = $experiment and a.user_id is not null and a.variant is not null and a.assigned_at is not null
),
known as (
    -- a user's assignment is their earliest row; rows in two variants make a multiple exposure (fixed-width state, as ab_resolve_rows)
    select _uid, min(assigned_at) as assigned_at, min(v) as v, min(v) <> max(v) as multiple
    from assigned
    where _uid is not null
    group by _uid
),
unknown as (
    select cast(null as integer) as _uid, min(assigned_at) as assigned_at, min(v) as v, min(v) <> max(v) as multiple
    from assigned
    where _uid is null
    group by user_id
),
names as (
    select distinct v, variant from assigned
),
per_user as (
    select * from known
    union all
    select * from unknown
)
select p._uid, p.assigned_at, p.v, n.variant, p.multiple
from per_user as p
join names as n on n.v = p.v
order by p._uid nulls last
