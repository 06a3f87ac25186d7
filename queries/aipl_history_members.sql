-- The largest member number (core/models/aipl_history.py): stage arrays hold one entry per number up to it.
select max(_uid) from profile
