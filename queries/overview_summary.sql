-- Headline numbers of the Overview page.
with base as (
    select
        count(*) as users,
        count(*) filter (where _frequency > 0) as buyers,
        count(*) filter (where _first_event_at is not null) as users_with_events
    from profile
),
span as (
    select min(ts)::date as first_event, max(ts)::date as last_event, count(*) as events from events
)
select * from base, span
