-- A text column meant to hold timestamps, projected as `v` of the relation `_col`:
-- how many non-null values do not parse as TIMESTAMP, and up to 3 examples.
with bad as (
    select v from _col where v is not null and try_cast(v as timestamp) is null
)
select
    (select count(*) from bad) as bad_rows,
    (select count(*) from _col where v is not null) as non_null_rows,
    (select list(v order by v) from (select distinct v from bad order by v limit 3)) as examples
