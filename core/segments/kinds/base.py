"""What a condition kind is made of: its grammar, its SQL, its words and its builder row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlglot import exp

    from core.catalog import Catalog
    from core.segments.builder_rows import Row
    from core.segments.compile import Compiler
    from core.segments.describe import Describer
    from core.segments.parser import Parser


@dataclass(frozen=True)
class BuilderRow:
    """A kind's row in the segment builder (core/segments/builder_state.py): condition ⇄ row, operators."""

    to_row: Callable[[Any, Any, str], tuple[Any, Row]]  # (condition, state, row id) -> (state, row)
    from_row: Callable[[Row], dict[str, Any] | None]  # row -> condition JSON without `negate`; None = unfinished
    ops: Callable[[Catalog, Row], tuple[str, ...]]  # operators the row offers for its target
    default_op: Callable[[Catalog, Row, tuple[str, ...]], str]  # the operator a fresh row starts with
    offered: bool = True  # in the builder's kind menu (ROW_KINDS); False = opened from elsewhere


@dataclass(frozen=True)
class Kind:
    """One condition kind: everything the parser, compiler, describer and builder need, in one place."""

    name: str  # the JSON `kind`
    condition: type  # the frozen condition class `parse` builds
    keys: tuple[str, ...]  # the keys a condition of this kind may carry
    operators: tuple[str, ...]  # its `op` values (empty: the kind takes none)
    parse: Callable[[Parser, dict, str, bool, int], Any]  # (parser, obj, path, negate, depth) -> condition | None
    compile: Callable[[Compiler, Any, str], exp.Expression]  # (compiler, condition, path) -> positive tree
    describe: Callable[[Describer, Any], str]  # (describer, condition) -> the positive sentence
    builder_row: BuilderRow | None  # None: the builder edits it elsewhere (say where in `no_row_reason`)
    no_row_reason: str = ""
    nests: bool = False  # holds other conditions (counts towards the expanded depth when compiled)

    def __post_init__(self) -> None:
        if self.builder_row is None and not self.no_row_reason:
            raise ValueError(f"kind {self.name!r} has no builder row and does not say why")


def missing_parts(kind: Kind) -> list[str]:
    """The parts a kind lacks (empty when it is complete): what the registry test checks."""
    missing = [part for part in ("parse", "compile", "describe") if not callable(getattr(kind, part, None))]
    if not isinstance(kind.condition, type) or getattr(kind.condition, "kind", None) != kind.name:
        missing.append("condition (a class whose `kind` is the kind's name)")
    if "kind" not in kind.keys or "negate" not in kind.keys:
        missing.append("keys (with 'kind' and 'negate')")
    if not isinstance(kind.operators, tuple):
        missing.append("operators")
    row = kind.builder_row
    if row is None:
        if not kind.no_row_reason:
            missing.append("builder_row (or no_row_reason)")
    else:
        missing += [
            f"builder_row.{p}"
            for p in ("to_row", "from_row", "ops", "default_op")
            if not callable(getattr(row, p, None))
        ]
    return missing
