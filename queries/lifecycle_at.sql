-- Lifecycle state per member at a date (DATA_CONTRACT.md): new / active / dormant / churned / never_active, the first rule that holds.
-- The bounds come from the date (core/models/lifecycle.py); the slots say where signup, the last event in the window and "has events" come from.
select
    _uid,
    case
        when __signup_at__ >= $new_start and __signup_at__ < $as_of_end then 'new'
        when __last_event_at__ >= $active_start then 'active'
        when __last_event_at__ >= $dormant_start then 'dormant'
        when __has_events__ then 'churned'
        else 'never_active'
    end as lifecycle
from __members__
