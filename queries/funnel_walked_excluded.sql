-- Whether a walked path (p) has an exclusion event strictly between its start and its deepest step (rows of the entry range and window only: t1 >= from and the deepest step <= t1 + window).
select exists (
    select 1 from event_rows as ev
    where ev._uid = p._uid and ev.ts >= $from_ts and ev.ts <= $last_ts
        and ev.ts > p.t1 and ev.ts < [p.t1, p.t2, p.t3, p.t4, p.t5, p.t6, p.t7, p.t8][p.deepest]
        and __exclusion__
)
