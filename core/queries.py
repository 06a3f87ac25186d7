"""Named SQL files in queries/: one question each, DuckDB dialect, `$name` parameters.

The one way to run named SQL:

- `load_query(name)` — the text, for files with parameters only (`Dataset.query(name, **params)`).
- `named_query(name, **slots)` — the file parsed once into a sqlglot tree, with its **slots**
  filled by trees. A slot is a bare column `__name__` in the file:
  - an expression slot (`where __segment__`, `select __value__ as value`) takes one tree;
  - a list slot, written alone as a select item (`select __columns__ from …`), takes a list of
    trees, spliced in its place;
  - a table slot, a bare table name (`from __rollup__`), takes a table or an aliased subquery.
  Every slot of the file must be filled and every slot given must exist: a missing or unknown
  slot raises `QuerySlotError`, so a renamed marker fails at once, not with wrong SQL.

User values never become slots: slots are trees built from catalog identifiers; values stay
`$name` parameters bound at execution.

>>> from sqlglot import exp
>>> named_query("breakdown_edges", value=exp.column("age", quoted=True)).sql("duckdb")  # doctest: +NORMALIZE_WHITESPACE
'/* The breakdown bin edges ... */ SELECT QUANTILE_DISC("age",
 [0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875]) FROM profile'
>>> named_query("breakdown_edges")
Traceback (most recent call last):
...
core.queries.QuerySlotError: queries/breakdown_edges.sql: slot(s) not filled: value
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from importlib import resources

import sqlglot
from sqlglot import exp

_SLOT = re.compile(r"^__([a-z][a-z0-9_]*[a-z0-9])__$")

Slot = exp.Expression | Sequence[exp.Expression]


class QuerySlotError(ValueError):
    """A named query was given a slot it does not have, or not given one it has."""


@cache
def load_query(name: str) -> str:
    """The text of queries/<name>.sql."""
    return resources.files("queries").joinpath(f"{name}.sql").read_text(encoding="utf-8")


def query_names() -> list[str]:
    return sorted(p.name[:-4] for p in resources.files("queries").iterdir() if p.name.endswith(".sql"))


def _slot_name(node: exp.Expression) -> str | None:
    if (isinstance(node, exp.Column) and not node.table) or (
        isinstance(node, exp.Table) and not node.db and not node.alias
    ):
        m = _SLOT.match(node.name)
        if m:
            return m.group(1)
    return None


@cache
def _parsed(name: str) -> tuple[exp.Expression, frozenset[str]]:
    """The file's tree and its slot names (parsed once per process)."""
    tree = sqlglot.parse_one(load_query(name), dialect="duckdb")
    slots = frozenset(s for node in tree.walk() if (s := _slot_name(node)))
    return tree, slots


def query_slots(name: str) -> frozenset[str]:
    """The slot names of queries/<name>.sql."""
    return _parsed(name)[1]


def named_query(name: str, **slots: Slot) -> exp.Expression:
    """queries/<name>.sql as a tree with its `__slot__` markers replaced (see the module doc)."""
    tree, wanted = _parsed(name)
    given = set(slots)
    if missing := wanted - given:
        raise QuerySlotError(f"queries/{name}.sql: slot(s) not filled: {', '.join(sorted(missing))}")
    if unknown := given - wanted:
        raise QuerySlotError(f"queries/{name}.sql has no slot(s): {', '.join(sorted(unknown))}")
    tree = tree.copy()
    # List slots first: a select item that is exactly a slot given a list.
    for select in list(tree.find_all(exp.Select)):
        items: list[exp.Expression] = []
        changed = False
        for item in select.expressions:
            slot = _slot_name(item)
            if slot is not None and not isinstance(slots[slot], exp.Expression):
                items.extend(node.copy() for node in slots[slot])
                changed = True
            else:
                items.append(item)
        if changed:
            select.set("expressions", items)

    def substitute(node: exp.Expression) -> exp.Expression:
        slot = _slot_name(node)
        if slot is None:
            return node
        value = slots[slot]
        if not isinstance(value, exp.Expression):
            raise QuerySlotError(f"queries/{name}.sql: list slot __{slot}__ may only stand alone as a select item")
        return value.copy()

    return tree.transform(substitute)
