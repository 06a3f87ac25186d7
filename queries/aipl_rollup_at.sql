-- Per-member AIPL figures at a past date: the events of the aipl.lookback_days ending on that day ([$start, $end)), from event_rows.
-- The same columns as the cache build's roll-up at as_of (core/dataset.py), so queries/aipl_at.sql reads either.
select
    _uid,
    count(*) filter (where list_contains($purchase, _ei)) as aipl_purchases,
    min(ts) filter (where list_contains($purchase, _ei)) as aipl_first_purchase_at,
    -- a loyalty event counts only after the first purchase in the window (strictly later)
    case
        when max(ts) filter (where list_contains($loyalty, _ei)) > min(ts) filter (where list_contains($purchase, _ei))
            then max(ts) filter (where list_contains($loyalty, _ei))
    end as aipl_last_loyalty_at,
    count(*) filter (where list_contains($interest, _ei)) > 0 as aipl_interested,
    count(*) filter (where list_contains($awareness, _ei)) > 0 as aipl_aware
from event_rows
where ts >= $start and ts < $end and list_contains($codes, _ei)
group by _uid
