"""The registry of condition kinds: every kind complete, the spec's table and the registry agree, rows round-trip."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path

import pytest

from core.catalog import AIPL_STAGES, LIFECYCLE_STATES, RFM_CLASSES
from core.models.labels import MODEL_LABELS
from core.segments import builder_state as bs
from core.segments.describe import describe
from core.segments.kinds import KINDS, Kind, missing_parts
from core.segments.model import KINDS as KIND_NAMES
from core.segments.model import OPERATORS, Lifecycle, Rfm, Segment, parse_segment
from dashboard.i18n import t

SPEC = Path(__file__).resolve().parents[2] / "shared/design/SEGMENT_SPEC.md"

# One condition of every kind (JSON), each with a builder row except the group.
SAMPLES = {
    "attribute": {"kind": "attribute", "field": "age", "op": "between", "values": [25, 35]},
    "tag": {"kind": "tag", "tag": "level/score", "op": "gte", "value": 3, "negate": True},
    "event": {
        "kind": "event",
        "event": "purchase",
        "op": ">=",
        "count": 2,
        "between": ["2026-01-01", "2026-02-01"],
        "where": [{"field": "amount", "op": "gt", "value": 10}],
    },  # fmt: skip
    "rfm": {"kind": "rfm", "op": "not_in", "values": ["none"]},
    "aipl": {"kind": "aipl", "op": "in", "values": ["I", "P"], "as_of": "2026-05-31"},
    "lifecycle": {"kind": "lifecycle", "op": "in", "values": ["new", "active"]},
    "segment": {"kind": "segment", "op": "not_in", "segment": "vip"},
    "group": {"kind": "group", "match": "any", "conditions": [{"kind": "tag", "tag": "identity/kol", "op": "has"}]},
    "funnel": {
        "kind": "funnel",
        "op": "dropped_after",
        "step": 1,
        "funnel": {"steps": [{"event": "view"}, {"event": "purchase"}]},
    },  # fmt: skip
}


def test_every_registered_kind_is_complete():
    assert list(KINDS) == list(KIND_NAMES)
    for name, kind in KINDS.items():
        assert kind.name == name
        assert missing_parts(kind) == [], name
        assert set(SAMPLES[name]) <= set(kind.keys), name


def test_the_completeness_check_fails_when_a_part_is_missing():
    kind = KINDS["tag"]
    assert missing_parts(dataclasses.replace(kind, describe=None)) == ["describe"]
    assert missing_parts(dataclasses.replace(kind, compile="not callable")) == ["compile"]
    row = dataclasses.replace(kind.builder_row, from_row=None)
    assert missing_parts(dataclasses.replace(kind, builder_row=row)) == ["builder_row.from_row"]
    assert missing_parts(dataclasses.replace(kind, condition=Rfm)) != []
    with pytest.raises(ValueError, match="does not say why"):
        Kind("x", Rfm, ("kind", "negate"), (), kind.parse, kind.compile, kind.describe, builder_row=None)


def test_the_group_says_why_it_has_no_builder_row():
    assert KINDS["group"].builder_row is None and "Block" in KINDS["group"].no_row_reason
    assert bs.ROW_KINDS == ("attribute", "tag", "event", "rfm", "aipl", "lifecycle", "segment")


@pytest.mark.skipif(not SPEC.exists(), reason="design docs not beside the repo")
def test_the_spec_kind_tables_list_exactly_the_registered_kinds():
    text = SPEC.read_text(encoding="utf-8")
    tables = text.split("## Condition kinds and operators", 1)[1]
    spec = {m for m in re.findall(r"^\|\s*`([a-z_]+)`\s*\|", tables, flags=re.M)}
    assert spec == set(KINDS)
    assert {k: set(v) for k, v in OPERATORS.items()} == {k: set(v.operators) for k, v in KINDS.items() if v.operators}


@pytest.mark.parametrize("name", [k for k, v in KINDS.items() if v.builder_row is not None])
def test_each_kind_round_trips_through_its_builder_row(name):
    segment = parse_segment({"conditions": [SAMPLES[name]]})
    state = bs.from_segment(segment)
    assert state.root.children[0].kind == name
    assert bs.to_segment(state).segment == segment


@pytest.mark.parametrize("name", list(KINDS))
def test_each_kind_parses_and_describes_through_the_registry(name):
    segment = parse_segment({"conditions": [SAMPLES[name]]})
    assert type(segment.conditions[0]) is KINDS[name].condition
    assert segment.to_dict()["conditions"][0] == {**SAMPLES[name], **segment.to_dict()["conditions"][0]}
    for lang in ("en", "zh"):
        assert describe(segment, lang=lang) != describe(Segment(), lang=lang)


# --------------------------------------------------------------------------- one set of model labels


def test_the_models_have_a_label_for_every_value_in_both_languages():
    values = {"rfm": RFM_CLASSES, "aipl": AIPL_STAGES, "lifecycle": LIFECYCLE_STATES}
    for model, by_lang in MODEL_LABELS.items():
        for lang in ("en", "zh"):
            assert set(by_lang[lang]) == set(values[model]), (model, lang)


def test_the_dashboard_and_the_descriptions_use_the_same_labels():
    for model, by_lang in MODEL_LABELS.items():
        for value in by_lang["en"]:
            for lang in ("en", "zh"):
                shown = t(f"{model}.{value}", lang)
                assert shown.endswith(by_lang[lang][value]), (model, value, lang, shown)
    # the sentence of a condition names the same label the dashboard shows
    assert t("lifecycle.new", "zh") in describe(Segment(conditions=(Lifecycle("in", ("new",)),)), lang="zh")
    assert t("rfm.none", "zh") in describe(Segment(conditions=(Rfm("in", ("none",)),)), lang="zh")
    dated = parse_segment(
        {"conditions": [{"kind": "aipl", "op": "in", "values": ["none"], "as_of": str(date(2026, 5, 31))}]}
    )
    assert t("aipl.none", "en") in describe(dated, lang="en")
    assert t("aipl.none", "zh") in describe(dated, lang="zh")
