-- The first event time (core/models/aipl_history.py): day numbers of the AIPL stage history count from its day.
select min(ts) from event_rows
