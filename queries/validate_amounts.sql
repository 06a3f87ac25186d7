-- events.amount: values that are not finite numbers or not below $limit in size (revenue is summed exactly in millionths, core/models/rfm.py), with up to 3 examples.
with bad as (
    select amount::double as amount
    from read_parquet($files, union_by_name = true, hive_partitioning = true)
    where not isfinite(amount::double) or abs(amount::double) >= $limit  -- isfinite: row-group statistics leave NaN out
)
select
    (select count(*) from bad) as n,
    (select list(v order by v) from (select distinct amount::varchar as v from bad order by v limit 3)) as examples
