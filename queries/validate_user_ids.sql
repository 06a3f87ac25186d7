-- users.user_id: how many rows have no id, and which ids appear more than once (up to 3 examples).
with u as (
    select user_id from read_parquet($files, union_by_name = true, hive_partitioning = true)
),
dup as (
    select user_id, count(*) as n from u where user_id is not null group by user_id having count(*) > 1
)
select
    (select count(*) from u where user_id is null) as null_ids,
    (select count(*) from dup) as duplicated_ids,
    (select coalesce(sum(n), 0) from dup) as duplicated_rows,
    (select list(user_id::varchar order by user_id::varchar)
       from (select user_id from dup order by user_id limit 3)) as examples
