-- One event's rows in a time span, for the funnel benchmark's pandas baseline: member, time, channel, amount.
select _uid, ts, channel, amount from event_rows where _ei = $e and ts >= $lo and ts <= $hi
