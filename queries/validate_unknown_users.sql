-- Events whose user_id is not in users (one pass over events; users reduced to distinct ids).
with e as (
    select user_id from read_parquet($events, union_by_name = true, hive_partitioning = true)
),
u as (
    select distinct user_id from read_parquet($users, union_by_name = true, hive_partitioning = true)
    where user_id is not null
)
select
    count(*) filter (where e.user_id is null) as null_rows,
    count(*) filter (where e.user_id is not null and u.user_id is null) as unknown_rows,
    count(distinct e.user_id) filter (where e.user_id is not null and u.user_id is null) as unknown_ids,
    min(e.user_id, 3) filter (where e.user_id is not null and u.user_id is null) as examples
from e
left join u on e.user_id = u.user_id
