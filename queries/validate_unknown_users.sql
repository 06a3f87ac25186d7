-- Events whose user_id is not in users: rows, distinct ids (up to 3 examples), and rows with no id.
-- One pass over events, reduced to one row per user_id before the join.
with e as (
    select user_id, count(*) as n
    from read_parquet($events, union_by_name = true, hive_partitioning = true)
    group by user_id
),
u as (
    select distinct user_id
    from read_parquet($users, union_by_name = true, hive_partitioning = true)
    where user_id is not null
)
select
    coalesce(sum(e.n) filter (where e.user_id is null), 0) as null_rows,
    coalesce(sum(e.n) filter (where e.user_id is not null and u.user_id is null), 0) as unknown_rows,
    count(*) filter (where e.user_id is not null and u.user_id is null) as unknown_ids,
    min(e.user_id, 3) filter (where e.user_id is not null and u.user_id is null) as examples
from e
left join u on e.user_id = u.user_id
