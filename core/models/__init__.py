"""The model tags (RFM, AIPL, lifecycle) as definitions that take a date (ANALYSES.md §1).

Each model is a rule in `queries/<model>_at.sql` over a per-member roll-up of the events
up to the end of a day. The cache build runs the rules at `as_of` over its own roll-up
(core/dataset/build.py), so `profile` holds the models at `as_of`; `at(ds, model, day)` runs the
same rules at a past day over `queries/<model>_rollup_at.sql` and keeps the answer, one
table per (model, day), in the dataset's in-memory database (never in the dataset or the
cache file: dropping it changes no answer). A condition with an `as_of` reads that table.

At most `KEPT` such tables are held per opened dataset and scope (~50 MB each at 10 M members); the least
recently asked one is dropped when another is made, unless it is held: a query that has started keeps
reading a dropped table (DuckDB drops it for later transactions only), so what must not be dropped is a
table asked for whose query has not started yet. `held(ds, tree)` pins a query's tables until it has run;
a table asked for in the last `GRACE_S` seconds is not dropped either (callers that compile a condition now
and run it a moment later). Held tables may take the count past `KEPT` until they are released.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlglot import exp

from core.catalog import AIPL_STAGES, LIFECYCLE_STATES, MODEL_COLUMNS, RFM_CLASSES, UID
from core.models import aipl_history
from core.queries import named_query

if TYPE_CHECKING:
    from core.dataset import Dataset


@dataclass(frozen=True)
class Model:
    """A model: its name, its column in `profile`, its values and its value for a member it has no row for."""

    name: str
    column: str
    values: tuple[str, ...]
    default: str


MODELS: dict[str, Model] = {
    "rfm": Model("rfm", MODEL_COLUMNS["rfm"], RFM_CLASSES, "none"),
    "aipl": Model("aipl", MODEL_COLUMNS["aipl"], AIPL_STAGES, "none"),
    "lifecycle": Model("lifecycle", MODEL_COLUMNS["lifecycle"], LIFECYCLE_STATES, "never_active"),
}
VALUE = "value"  # the column of a model-at-a-date table
KEPT = 4  # model-at-a-day tables held per opened dataset and scope (a flow's two days and a couple more)
GRACE_S = 60.0  # a table asked for this recently is not dropped: the query that asked may not have started
_BOOK = threading.Lock()  # the tables' bookkeeping (short: no query runs under it)


def table_name(model: str, day: date) -> str:
    """The in-memory table holding `model` at `day` (e.g. `_aipl_at_20260731`)."""
    return f"_{model}_at_{day:%Y%m%d}"


def rule(model: str, ds: Dataset, day: date) -> tuple[exp.Expression, dict[str, object]]:
    """The model's rule at a past `day` (a query of `_uid` and the value) and its parameters."""
    from core.models import aipl, lifecycle, rfm

    return {"aipl": aipl.at, "rfm": rfm.at, "lifecycle": lifecycle.at}[model](ds, day)


def at(ds: Dataset, model: str, day: date) -> str:
    """The name of the table of `model` at `day` for every member (`_uid`, `value`); computed once per day.

    `day` must not be after the dataset's `as_of`. At `as_of` itself the answer is `profile`'s
    column (use `source`); this computes it from the events anyway, as the tests compare. The table
    stays at least `GRACE_S` seconds, and while `held`; after that it may be dropped (and made again when asked).
    """
    if day > ds.as_of:
        raise ValueError(f"{day} is after the dataset's as_of {ds.as_of}")
    name = table_name(model, day)
    kept = _kept(ds)  # the tables made in this connection (and scope)
    if _touch(kept, name):
        return name
    with _lock(kept):  # making and dropping one at a time: a drop never meets a table being made again
        if _touch(kept, name):
            return name
        # a data scope's tables live in its own schema (core/access.py): scopes never share an answer
        target = _target(ds, name)
        history = aipl_history.history(ds) if model == "aipl" else None
        if history is not None:  # the stages from the history: no aggregate over the events
            aipl_history.create_table(ds, history, day, target)
        else:
            m = MODELS[model]
            query, params = rule(model, ds, day)
            # an ENUM is one byte a member: 10M members cost ~50 MB a (model, day)
            enum = exp.DataType.build("ENUM(" + ", ".join(f"'{v}'" for v in m.values) + ")", dialect="duckdb")
            value = exp.Cast(
                this=exp.func("coalesce", exp.column(VALUE, table="r", quoted=True), exp.Placeholder(this="default")),
                to=enum,
            )
            select = named_query("model_at", value=value, rule=exp.alias_(exp.Subquery(this=query), "r"))
            create = exp.Create(this=target, kind="TABLE", replace=True, expression=select)
            ds.run(create, {**params, "default": m.default})
        with _BOOK:
            kept["tables"][name] = time.monotonic()
        _evict(ds, kept)
    return name


@contextmanager
def held(ds: Dataset, tree: exp.Expression | Iterable[tuple[str, date]]) -> Iterator[None]:
    """Make the tables `tree` reads (a compiled definition, or (model, day) pairs) and hold them for the block."""
    pairs = needed(tree) if isinstance(tree, exp.Expression) else sorted(set(tree))
    names = [table_name(model, day) for model, day in pairs]
    kept = _kept(ds)
    with _BOOK:
        kept["pins"].update(names)
    try:
        for model, day in pairs:
            at(ds, model, day)
        yield
    finally:
        with _BOOK:
            kept["pins"].subtract(names)
            kept["pins"] = +kept["pins"]  # drop the zero counts
        if names:
            with _lock(kept):
                _evict(ds, kept)


def tables_held(ds: Dataset) -> list[str]:
    """The model-at-a-day tables this opened dataset (and scope) holds now, least recently asked first."""
    kept = _kept(ds)
    with _BOOK:
        return list(kept["tables"])


def _kept(ds: Dataset) -> dict:
    from core.dataset.caches import (
        dataset_cache,  # core.dataset imports the kinds, which import this module
    )

    kept = dataset_cache(ds, "models_at")
    with _BOOK:
        kept.setdefault("tables", OrderedDict())  # name -> when last asked (monotonic seconds), oldest first
        kept.setdefault("pins", Counter())  # name -> how many blocks hold it
        kept.setdefault("lock", threading.Lock())
    return kept


def forget_tables(ds: Dataset) -> None:
    """Forget the tables made for `ds` (they were replaced, e.g. Spark's views of another dataset); the holds
    and the lock stay, so a block holding a table ends cleanly and the tables are made again when asked."""
    kept = _kept(ds)
    with _BOOK:
        kept["tables"].clear()


def _lock(kept: dict) -> threading.Lock:
    return kept["lock"]


def _touch(kept: dict, name: str) -> bool:
    """Mark `name` as asked for now; False when it is not held (to be made)."""
    with _BOOK:
        tables: OrderedDict[str, float] = kept["tables"]
        if name not in tables:
            return False
        tables[name] = time.monotonic()
        tables.move_to_end(name)
        return True


def _target(ds: Dataset, name: str) -> exp.Table:
    return exp.to_table(name, db=ds.schema or "main", catalog="memory", quoted=True)


def _evict(ds: Dataset, kept: dict) -> None:
    """Drop the least recently asked tables past `KEPT` that no block holds and nobody asked for lately (under lock)."""
    now = time.monotonic()
    with _BOOK:
        tables: OrderedDict[str, float] = kept["tables"]
        excess = len(tables) - KEPT
        victims = []
        for name, asked in tables.items():  # least recently asked first
            if excess <= 0:
                break
            if kept["pins"].get(name) or now - asked < GRACE_S:
                continue
            victims.append(name)
            excess -= 1
        for name in victims:
            del tables[name]
    if not victims:
        return
    cur = ds.cursor()  # its own cursor: a query already reading a dropped table goes on reading it
    try:
        for name in victims:
            cur.execute(exp.Drop(tables=[_target(ds, name)], kind="TABLE", exists=True).sql("duckdb"))
    finally:
        cur.close()


def source(ds: Dataset, model: str, day: date | None) -> tuple[exp.Table, str]:
    """Where `model` at `day` is read: (`profile`, its column) at `as_of`, else (its table, `value`)."""
    if day is None or day == ds.as_of:
        return exp.to_table("profile"), MODELS[model].column
    return exp.to_table(at(ds, model, day), quoted=True), VALUE


_TABLE = re.compile(r"^_(rfm|aipl|lifecycle)_at_(\d{8})$")


def parse_table_name(name: str) -> tuple[str, date] | None:
    """(model, day) of a model-at-a-day table's name (`table_name`'s inverse), or None for any other name."""
    if m := _TABLE.match(name):
        return m.group(1), datetime.strptime(m.group(2), "%Y%m%d").date()
    return None


def needed(tree: exp.Expression) -> list[tuple[str, date]]:
    """The (model, day) tables a compiled definition reads, in a fixed order."""
    return sorted({found for table in tree.find_all(exp.Table) if (found := parse_table_name(table.name))})


def ensure(ds: Dataset, tree: exp.Expression) -> None:
    """Compute every model-at-a-day table the compiled definition `tree` reads, before it runs (soon: `GRACE_S`)."""
    for model, day in needed(tree):
        at(ds, model, day)


__all__ = [
    "KEPT",
    "MODELS",
    "UID",
    "Model",
    "at",
    "ensure",
    "held",
    "needed",
    "parse_table_name",
    "source",
    "table_name",
    "tables_held",
]
