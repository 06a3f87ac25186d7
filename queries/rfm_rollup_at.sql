-- Per-member RFM figures at a past date: the purchases of the rfm.window_days ending on that day ([$start, $end)), from event_rows.
-- The same columns as the cache build's roll-up at as_of (core/dataset.py), so queries/rfm_at.sql reads either;
-- __monetary__ is core.models.rfm.monetary_sum (the exact sum of the amounts, DECIMAL(38, 6)).
select
    _uid,
    count(*) as rfm_purchases,
    max(ts) as rfm_last_purchase_at,
    __monetary__ as rfm_monetary
from event_rows
where ts >= $start and ts < $end and _ei = $purchase
group by _uid
