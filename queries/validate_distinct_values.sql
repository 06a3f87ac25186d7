-- Distinct non-null values of one column, projected as `v` of the relation `_col` (small tables only).
select distinct v::varchar as v from _col where v is not null order by v limit 1000
