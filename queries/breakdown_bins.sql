-- A segment's make-up by a numeric profile column in quantile bins over all users. A value falls in the
-- first bin whose upper edge ($x_edge_k) is above it; bounds shown are the smallest and largest value.
with binned as (
    select __value__ as value,
           __segment__ as in_segment,
           case when __value__ is null then null
                when __value__ < $x_edge_1 then 1
                when __value__ < $x_edge_2 then 2
                when __value__ < $x_edge_3 then 3
                when __value__ < $x_edge_4 then 4
                when __value__ < $x_edge_5 then 5
                when __value__ < $x_edge_6 then 6
                when __value__ < $x_edge_7 then 7
                else 8 end as bin
    from profile
)
select bin, min(value) as low, max(value) as high,
       count(*) filter (where in_segment) as in_segment,
       count(*) as in_base
from binned
group by bin
order by bin nulls last
