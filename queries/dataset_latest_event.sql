-- The date of the latest event: the default as_of.
select max(ts)::date as latest from events
