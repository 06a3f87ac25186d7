-- How a tag's numeric values spread: quantile ranges (edges at 1/8 ... 7/8) over its members' values;
-- tied edges leave empty ranges, which do not appear.
with v as (select try_cast(__value__ as double) as x from profile where __has__ and try_cast(__value__ as double) is not null and not isnan(try_cast(__value__ as double))),
edges as (
    select quantile_disc(x, 0.125) as e1, quantile_disc(x, 0.25) as e2, quantile_disc(x, 0.375) as e3,
           quantile_disc(x, 0.5) as e4, quantile_disc(x, 0.625) as e5, quantile_disc(x, 0.75) as e6,
           quantile_disc(x, 0.875) as e7
    from v
)
select case when x < e1 then 1 when x < e2 then 2 when x < e3 then 3 when x < e4 then 4
            when x < e5 then 5 when x < e6 then 6 when x < e7 then 7 else 8 end as bin,
       min(x) as low, max(x) as high, count(*) as n
from v cross join edges
group by bin
order by bin
