-- First and last event per user up to as_of: the inputs of the lifecycle state.
select user_id, min(ts) as first_event_at, max(ts) as last_event_at
from events
where ts < $as_of_end
group by user_id
