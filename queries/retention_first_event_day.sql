-- The earliest event time up to as_of: where "no start event before this cohort" begins.
select min(ts) as first_event from event_rows
