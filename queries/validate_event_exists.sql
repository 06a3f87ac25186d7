-- Whether at least one event has the given name (stops at the first match).
select count(*) > 0 as found
from (
    select 1
    from read_parquet($files, union_by_name = true, hive_partitioning = true)
    where event = $event
    limit 1
)
