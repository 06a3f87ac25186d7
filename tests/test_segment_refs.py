"""One walker of saved-segment references (core/segments/refs.py): the compiler, the store, the export
snapshot and the builder's cache key follow references through it and say the same thing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.catalog import Catalog, Column
from core.export import snapshot_references
from core.segments import refs
from core.segments.compile import validate_against
from core.segments.model import Segment, SegmentError, SegmentRef, parse_segment
from core.segments.sqltrees import MAX_REFERENCE_DEPTH
from core.store import AppStore, SegmentCycle, UnknownSegmentRef

CATALOG = Catalog(as_of=date(2026, 8, 31), total_users=10, attributes={"city": Column("city", "string")})


def ref(sid: str) -> Segment:
    return Segment(conditions=(SegmentRef(sid),))


def city(name: str) -> dict:
    return {"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": name}]}


def chain(n: int) -> dict[str, Segment]:
    """s0 -> s1 -> … -> s{n-1} -> a plain condition."""
    saved = {f"s{i}": ref(f"s{i + 1}") for i in range(n - 1)}
    saved[f"s{n - 1}"] = parse_segment(city("Shanghai"))
    return saved


def compile_message(segment: Segment, resolve, segment_id: str | None = None) -> list[str]:
    with pytest.raises(SegmentError) as err:
        validate_against(segment, CATALOG, resolve, segment_id=segment_id)
    return [i.message for i in err.value.issues]


def test_the_walk_reaches_every_saved_segment_once_in_any_group():
    saved = {
        "a": parse_segment({"conditions": [{"kind": "group", "match": "any", "conditions": [
            {"kind": "segment", "op": "in", "segment": "b"}, {"kind": "segment", "op": "not_in", "segment": "c"}]}]}),
        "b": ref("c"),
        "c": parse_segment(city("Hangzhou")),
    }  # fmt: skip
    walk = refs.walk(ref("a"), saved)
    assert set(walk.definitions) == {"a", "b", "c"} and walk.definitions["c"] == saved["c"]
    assert walk.missing == () and walk.cycles == () and walk.issues == ()
    # The export snapshot is exactly the walk's definitions.
    assert snapshot_references(ref("a"), saved) == {sid: s.to_dict() for sid, s in saved.items()}


def test_a_cycle_gives_the_same_words_in_the_walk_the_compiler_and_the_store(tmp_path: Path):
    saved = {"a": ref("b"), "b": ref("c"), "c": ref("a")}
    expected = "segment 'a' refers to itself through other saved segments: a → b → c → a. Remove the reference."
    walk = refs.walk(ref("a"), saved)
    assert walk.cycles == (("a", "b", "c", "a"),)
    assert [i.message for i in walk.issues] == [expected]
    assert walk.issues[0].path == (
        "conditions[0] → saved segment 'a' → conditions[0] → saved segment 'b' → "
        "conditions[0] → saved segment 'c' → conditions[0].segment"
    )
    assert compile_message(ref("a"), saved) == [expected]
    assert [i.path for i in refs.walk(ref("a"), saved).issues] == [
        i.path for i in pytest.raises(SegmentError, validate_against, ref("a"), CATALOG, saved).value.issues
    ]

    store = AppStore(tmp_path / "app.db")
    assert store.save_segment("A", city("x"), "ann").id == "a"  # ids are the names' slugs
    store.save_segment("B", ref("a"), "ann")
    store.save_segment("C", ref("b"), "ann")
    with pytest.raises(SegmentCycle) as err:
        store.save_segment(None, ref("c"), "ann", segment_id="a")
    assert err.value.path == ("a", "c", "b", "a")
    assert str(err.value) == compile_message(ref("c"), store.resolver(), segment_id="a")[0]
    assert str(err.value) == (
        "segment 'a' refers to itself through other saved segments: a → c → b → a. Remove the reference."
    )


def test_a_self_reference_is_said_shortly():
    assert [i.message for i in refs.walk(ref("x"), {"x": Segment()}, "x").issues] == [
        "segment 'x' refers to itself: x → x. Remove the reference."
    ]


def test_depth_is_limited_the_same_way_in_the_walk_and_the_compiler():
    ok = chain(MAX_REFERENCE_DEPTH)
    assert refs.walk(ref("s0"), ok).issues == ()
    validate_against(ref("s0"), CATALOG, ok)  # exactly at the limit: fine
    deep = chain(MAX_REFERENCE_DEPTH + 1)
    expected = [f"saved segments refer to each other more than {MAX_REFERENCE_DEPTH} deep."]
    assert [i.message for i in refs.walk(ref("s0"), deep).issues] == expected
    assert compile_message(ref("s0"), deep) == expected


def test_a_missing_reference_is_named_with_a_suggestion_everywhere(tmp_path: Path):
    saved = {"big-spenders": parse_segment(city("x")), "churned": ref("gone")}
    expected = "unknown saved segment 'big-spender'. Did you mean 'big-spenders'?"
    walk = refs.walk(ref("big-spender"), saved)
    assert walk.missing == ("big-spender",) and [i.message for i in walk.issues] == [expected]
    assert compile_message(ref("big-spender"), saved) == [expected]
    # deeper: inside a saved segment, at its path
    (issue,) = refs.walk(ref("churned"), saved).issues
    assert issue.path == "conditions[0] → saved segment 'churned' → conditions[0].segment"
    assert issue.message == "unknown saved segment 'gone'."  # nothing close to suggest

    store = AppStore(tmp_path / "app.db")
    assert store.save_segment("Big spenders", city("x"), "ann").id == "big-spenders"
    with pytest.raises(UnknownSegmentRef) as err:
        store.save_segment("New", ref("big-spender"), "ann")
    assert str(err.value) == expected == compile_message(ref("big-spender"), store.resolver())[0]


def test_no_saved_segments_at_all():
    expected = ["refers to saved segment 'a', but no saved segments are available here."]
    assert [i.message for i in refs.walk(ref("a"), None).issues] == expected
    assert compile_message(ref("a"), None) == expected
