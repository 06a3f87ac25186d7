-- One model's value for every member at a date (core/models): the model's rule at that date, its default for members the rule has no row for.
select
    p._uid,
    __value__ as value
from profile as p
left join __rule__ on r._uid = p._uid
