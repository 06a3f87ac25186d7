"""`rfm`, `aipl`, `lifecycle`: the member's model value is (not) one of the given, now or at a past `as_of`.

One definition makes the three kinds (`RFM`, `AIPL`, `LIFECYCLE`); the models themselves are core/models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlglot import exp

from core import models
from core.catalog import MODEL_COLUMNS, UID, Catalog
from core.messages import hint, msg
from core.models.labels import labels as model_labels
from core.segments.builder_rows import Row
from core.segments.conditions import (
    MAX_VALUES,
    STAGE_OPS,
    STAGE_VALUES,
    Aipl,
    Lifecycle,
    Rfm,
    StageCondition,
    join_path,
    parse_date,
    short,
)
from core.segments.kinds.base import BuilderRow, Kind
from core.segments.sqltrees import in_list, not_, qcol, two_valued
from core.segments.wording import DATED_WORDS

if TYPE_CHECKING:
    from core.segments.compile import Compiler
    from core.segments.describe import Describer
    from core.segments.parser import Parser

# Which models' values read as labels (else as their codes): in Chinese RFM and lifecycle;
# at a past date AIPL in both languages too.
_LABELLED = {"en": (), "zh": ("rfm", "lifecycle")}


def parse_stage(p: Parser, obj: dict, kind: str, cls: type, path: str, negate: bool) -> StageCondition | None:
    """A model condition from JSON: its values among the model's and an optional `as_of` date."""
    op = p.op(obj, kind, path, STAGE_OPS)
    allowed = STAGE_VALUES[kind]
    if not op:
        return None
    at = join_path(path, "values")
    raw = obj.get("values")
    if "value" in obj:
        p.issue(join_path(path, "value"), msg("segment.model.takes_values", kind=kind))
        return None
    if not isinstance(raw, (list, tuple)) or not raw:
        p.issue(at, msg("segment.model.values_list", allowed=", ".join(allowed)))
        return None
    ok = True
    for i, v in enumerate(raw[:MAX_VALUES]):
        if not isinstance(v, str) or v not in allowed:
            near = hint(v, allowed) if isinstance(v, str) else ""
            p.issue(
                join_path(at, i),
                msg("segment.model.bad_value", value=short(v), kind=kind, hint=near, allowed=", ".join(allowed)),
            )
            ok = False
    if len(raw) > MAX_VALUES:
        p.issue(at, msg("segment.model.too_many", limit=MAX_VALUES))
        ok = False
    as_of = obj.get("as_of")
    if as_of is not None and parse_date(as_of) is None:
        p.issue(join_path(path, "as_of"), msg("segment.model.bad_as_of", value=short(as_of)))
        ok = False
    if not ok:
        return None
    return cls(op=op, values=tuple(raw), negate=negate, as_of=as_of)


def compile(c: Compiler, cond: StageCondition, path: str) -> exp.Expression:  # noqa: A001 - the Kind's part
    """The model's column in `profile`, or its table at a past `as_of` (core/models)."""
    day = parse_date(cond.as_of) if cond.as_of is not None else None
    if day is not None and day > c.catalog.as_of:
        c.issue(path + ".as_of", msg("segment.model.after_as_of", day=cond.as_of, as_of=c.catalog.as_of))
        return exp.true()
    if day is None or day == c.catalog.as_of:
        col = qcol(MODEL_COLUMNS[cond.kind])
        member = two_valued(in_list(col, list(cond.values), c.param))
    else:
        # the model at a past day: its table (core/models), computed before the query runs
        table = exp.to_table(models.table_name(cond.kind, day), quoted=True)
        inner = exp.select(qcol(UID)).from_(table).where(in_list(qcol(models.VALUE), list(cond.values), c.param))
        member = two_valued(exp.In(this=qcol(UID), query=exp.Subquery(this=inner)))
    return member if cond.op == "in" else not_(member)


# ---- saved segments


def describe(d: Describer, cond: StageCondition) -> str:
    """ "AIPL stage is one of I, P"; at a past date "AIPL stage on 2026-07-31 is Interest"."""
    labels = model_labels(cond.kind, d.lang) if cond.kind in _LABELLED[d.lang] else None
    if cond.as_of is None:
        return f"{d.words[cond.kind]} {d.labels[cond.op]} {d.values(cond.values, labels)}"
    if cond.kind == "aipl":
        labels = model_labels("aipl", d.lang)
    one = len(cond.values) == 1
    op = {("in", True): "is", ("not_in", True): "is_not", ("in", False): "in", ("not_in", False): "not_in"}[
        (cond.op, one)
    ]
    return DATED_WORDS[d.lang][op].format(model=d.words[cond.kind], day=cond.as_of, v=d.values(cond.values, labels))


def to_row(cond: StageCondition, state: Any, rid: str) -> tuple[Any, Row]:
    """The builder row editing this condition."""
    return state, Row(rid, cond.kind, None, cond.op, values=tuple(cond.values), negate=cond.negate, as_of=cond.as_of)


def from_row(row: Row) -> dict[str, Any] | None:
    """The row's condition, or None until a value is chosen."""
    if not row.values:
        return None
    d: dict[str, Any] = {"kind": row.kind, "op": row.op or "in", "values": list(row.values)}
    if row.as_of:
        d["as_of"] = row.as_of
    return d


def row_ops(catalog: Catalog, row: Row) -> tuple[str, ...]:
    """in / not_in."""
    return STAGE_OPS


def default_op(catalog: Catalog, row: Row, ops: tuple[str, ...]) -> str:
    """A fresh model row asks "is one of"."""
    return "in"


def _kind(name: str, cls: type) -> Kind:
    def parse(p: Parser, obj: dict, path: str, negate: bool, depth: int) -> StageCondition | None:
        return parse_stage(p, obj, name, cls, path, negate)

    parse.__doc__ = f"A {name} condition from JSON."
    return Kind(
        name=name,
        condition=cls,
        keys=("kind", "op", "values", "negate", "as_of"),
        operators=STAGE_OPS,
        parse=parse,
        compile=compile,
        describe=describe,
        builder_row=BuilderRow(to_row, from_row, row_ops, default_op),
    )


RFM = _kind("rfm", Rfm)
AIPL = _kind("aipl", Aipl)
LIFECYCLE = _kind("lifecycle", Lifecycle)
