-- The most frequent event names (to suggest a purchase_event).
select event, count(*) as n
from read_parquet($files, union_by_name = true, hive_partitioning = true)
where event is not null
group by event
order by n desc, event
limit 200
