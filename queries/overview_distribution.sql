-- Users per AIPL stage, RFM class and lifecycle state: the Overview page's three charts.
select 'aipl' as dimension, _aipl_stage as value, count(*) as users from profile group by all
union all
select 'rfm' as dimension, _rfm_class as value, count(*) as users from profile group by all
union all
select 'lifecycle' as dimension, _lifecycle as value, count(*) as users from profile group by all
order by dimension, value
