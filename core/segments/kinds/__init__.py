"""The registry of condition kinds: the parser, compiler, describer and builder dispatch through `KINDS`.

A kind is one module exporting a `Kind` (see base.py and README "Adding a condition kind");
adding one is its module, one line below, its SEGMENT_SPEC.md row and its texts.
The order is the order kinds are listed in messages and menus.
"""

from __future__ import annotations

from core.segments.kinds import attribute, event, funnel, group, models, segment_ref, tag
from core.segments.kinds.base import BuilderRow, Kind, missing_parts

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        attribute.KIND,
        tag.KIND,
        event.KIND,
        models.RFM,
        models.AIPL,
        models.LIFECYCLE,
        segment_ref.KIND,
        group.KIND,
        funnel.KIND,
    )
}


def kind_of(condition: object) -> Kind:
    """The registered kind of a condition object; TypeError for anything else (a hand-built tree)."""
    kind = KINDS.get(getattr(condition, "kind", None))  # type: ignore[arg-type]
    if kind is None or not isinstance(condition, kind.condition):
        raise TypeError(f"not a segment condition: {type(condition).__name__}")
    return kind


__all__ = ["KINDS", "BuilderRow", "Kind", "kind_of", "missing_parts"]
