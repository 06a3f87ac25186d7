-- Every member with what their lifecycle at a past date needs: signup, their last event in the dormant_days ending that day, whether they had any event by then.
select
    p._uid,
    __signup_at__ as signup_at,
    l.last_event_at,
    coalesce(p._first_event_at < $as_of_end, false) as has_events
from profile as p
left join (
    select _uid, max(ts) as last_event_at
    from event_rows
    where ts >= $dormant_start and ts < $as_of_end
    group by _uid
) as l on l._uid = p._uid
