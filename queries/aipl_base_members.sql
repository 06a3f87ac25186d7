-- The members of a base segment (core/models/aipl_history.py): their numbers, to count their stages from the AIPL history.
select _uid from profile where __segment__
