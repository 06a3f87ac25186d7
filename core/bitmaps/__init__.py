"""Bitmap indexes over `profile` columns with few distinct values: live counts by set algebra.

Audience tools count tag combinations over Roaring bitmaps (one set of members per
tag value) because intersecting compressed sets beats scanning a column. This is
that index for our profile table, kept exact by construction:

- **One bitmap per distinct value** of a column (NULL included), holding the `_uid`
  of every member with that value. The bitmaps of a column partition all members.
- **Conditions run in DuckDB, on the distinct values.** A compiled condition that
  reads one column is evaluated, unchanged and with its bound parameters, over a
  small table of that column's distinct values (same name, same type): the values
  where it is TRUE select the bitmaps of its members, the values where it is FALSE
  those of its non-members. So `contains`, `between`, long `in` lists, casts and
  NULL handling mean exactly what they mean in the SQL the compiler wrote.
- **AND / OR / NOT become set operations under SQL's three-valued logic.** Each
  part carries the set where it is TRUE and the set where it is FALSE; a member in
  neither is NULL. `NOT x` swaps them; `x AND y` is TRUE on both TRUE sets and FALSE
  on either FALSE set; `COALESCE(x, FALSE)` makes the FALSE set the rest.
- **A model at a past day** (`aipl` / `rfm` / `lifecycle` with `as_of`, compiled as
  `_uid IN (SELECT _uid FROM _aipl_at_20260731 WHERE value IN …)`) is one more column,
  `dated:aipl:2026-07-31`: its WHERE runs over that day's few values, its bitmaps come
  from the day's AIPL stage array (no per-member table) or the model's table at that day
  (core/bitmaps/dated.py). At most a few days are held, least recently used dropped first.
- Anything else (event subqueries, several columns in one comparison, a column with
  too many distinct values) is not answered here: the caller runs the SQL instead.

Which columns get an index follows use: in a long-lived process (the dashboard) the
first count that reads a column asks for its index, which a background thread
builds (a column at 10M members: 0.4-2 s) while that count and the next ones are
scanned; then it is kept in memory within a budget, least recently used dropped
first. A one-shot command (the CLI) builds none: one scan is cheaper than an index.
Either way the count is the same, which the tests check on random definitions
against an independent pandas evaluation.
"""

from core.bitmaps.index import MAX_FAILURES, MAX_VALUES, REBUILD_AFTER, BitmapIndex
from core.bitmaps.plans import plan
from core.bitmaps.sets import CODE, ColumnIndex

__all__ = [
    "CODE",
    "MAX_FAILURES",
    "MAX_VALUES",
    "REBUILD_AFTER",
    "BitmapIndex",
    "ColumnIndex",
    "plan",
]
