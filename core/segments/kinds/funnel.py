"""`funnel`: the member reached (did not reach, dropped after) step k of an event funnel (ANALYSES.md §3)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from core.catalog import Catalog
from core.messages import msg
from core.segments.builder_rows import Row
from core.segments.conditions import FUNNEL_OPS, FunnelCondition, SegmentError, join_path, short
from core.segments.kinds.base import BuilderRow, Kind
from core.segments.wording import FUNNEL_WORDS

if TYPE_CHECKING:
    from core.segments.compile import Compiler
    from core.segments.describe import Describer
    from core.segments.parser import Parser


def parse(p: Parser, obj: dict, path: str, negate: bool, depth: int) -> FunnelCondition | None:
    """A funnel condition from JSON: the funnel (core.analyses.funnel_spec), its operator and step."""
    from core.analyses.funnel_spec import parse_funnel  # the funnel module builds on this one

    op = p.op(obj, "funnel", path, FUNNEL_OPS)
    try:
        spec = parse_funnel(obj.get("funnel"))
    except SegmentError as err:
        for i in err.issues:
            p.issues.append(i.at(join_path(path, "funnel") + (f".{i.path}" if i.path else "")))
        return None
    step = obj.get("step")
    n = len(spec.steps)
    last = n - 1 if op == "dropped_after" else n
    if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= last:
        extra = msg("segment.funnel.last_step") if op == "dropped_after" else ""
        p.issue(join_path(path, "step"), msg("segment.funnel.bad_step", last=last, extra=extra, value=short(step)))
        return None
    return FunnelCondition(spec, op, step, negate) if op else None


def compile(c: Compiler, cond: FunnelCondition, path: str) -> exp.Expression:  # noqa: A001 - the Kind's part
    """The members at the step, by the funnel's own SQL (core/analyses/funnel_sql.py: one definition)."""
    from core.analyses.funnel_sql import reached_tree  # builds on the compiler

    return reached_tree(c, cond.funnel, cond.op, cond.step, path + ".")


def describe(d: Describer, cond: FunnelCondition) -> str:
    """ "reached step 2 (purchase) of the funnel view → purchase (entry ...; converting within 7 days)"."""
    fw, spec = FUNNEL_WORDS[d.lang], cond.funnel

    def named(item) -> str:
        where = d.words["and"].join(d.event_filter(f) for f in item.where)
        return item.event + (d.words["ev_where"].format(filters=where) if where else "")

    steps = " → ".join(named(s) for s in spec.steps)
    if spec.start or spec.end:  # a missing end is as_of, a missing start 29 days before the end
        rng = fw["range"].format(a=spec.start or fw["days_before"].format(b=spec.end or "as_of"), b=spec.end or "as_of")
    else:
        rng = fw["default_range"]
    details = [rng, fw["window"].format(n=spec.window_value, unit=fw["units"][spec.window_unit])]
    if spec.exclusions:
        details.append(fw["excluding"].format(events=d.words["list_sep"].join(named(e) for e in spec.exclusions)))
    sep = "; " if d.lang == "en" else "；"
    wrap = " ({})" if d.lang == "en" else "（{}）"
    text = fw[cond.op].format(
        k=cond.step,
        next=cond.step + 1,
        event=spec.steps[cond.step - 1].event,
        steps=steps + wrap.format(sep.join(details)),
    )
    return text


def to_row(cond: FunnelCondition, state: Any, rid: str) -> tuple[Any, Row]:
    """The builder row: the funnel travels as its JSON text, the step as the row's count."""
    text = json.dumps(cond.funnel.to_dict(), ensure_ascii=False, sort_keys=True)
    return state, Row(rid, "funnel", None, cond.op, text, negate=cond.negate, count=cond.step)


def from_row(row: Row) -> dict[str, Any] | None:
    """The row's condition (opened from the Funnels page), or None without a funnel."""
    return {"kind": "funnel", "funnel": json.loads(row.value), "op": row.op, "step": row.count} if row.value else None


def row_ops(catalog: Catalog, row: Row) -> tuple[str, ...]:
    """reached / not_reached / dropped_after."""
    return FUNNEL_OPS


def default_op(catalog: Catalog, row: Row, ops: tuple[str, ...]) -> str:
    """What `default_op` has always answered for a funnel row (rows come with their operator)."""
    return "in"


KIND = Kind(
    name="funnel",
    condition=FunnelCondition,
    keys=("kind", "funnel", "op", "step", "negate"),
    operators=FUNNEL_OPS,
    parse=parse,
    compile=compile,
    describe=describe,
    builder_row=BuilderRow(to_row, from_row, row_ops, default_op, offered=False),
)
