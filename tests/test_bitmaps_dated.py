"""Dated model conditions from the bitmap index (core/bitmaps/dated.py): the same count as the scan and as pandas.

The oracle is `tests.oracles.expected_models`: AIPL, RFM and lifecycle of every user at the end of a
day, straight from the contract over the raw rows. Each definition is counted three ways — bitmaps
(checked to be the path taken), the DuckDB scan, and a pandas mask written here.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from core.bitmaps import plan
from core.bitmaps.dated import DATED_KEPT, from_mask, key
from core.bitmaps.plans import Leaf
from core.dataset import open_dataset
from core.dataset.caches import dataset_cache
from core.models import aipl_history
from core.segments import compile_where, parse_segment
from core.segments.operations import counted_by, overlap, reach, size
from tests.datasets import random_dataset
from tests.oracles import expected_models as pandas_models

AS_OF = date(2026, 6, 30)
STAGES = ["A", "I", "P", "L", "none"]
CITIES = ["Shanghai", "Hangzhou"]
BAKING = "interest/food/baking"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    # few events a day, so some days of the last lookback have none
    root = random_dataset(tmp_path_factory.mktemp("dated") / "shop", n_users=400, n_events=2000, seed=5)
    users = pd.read_parquet(root / "users.parquet")
    events = pd.read_parquet(root / "events")
    tags = pd.read_parquet(root / "tags.parquet")
    return root, users, events, tags


@pytest.fixture(scope="module")
def ds(data, tmp_path_factory):
    ds = open_dataset(data[0], cache_dir=tmp_path_factory.mktemp("cache"))
    ds.bitmap_index().build_when_needed()
    yield ds
    ds.close()


def quiet_day(events: pd.DataFrame) -> date:
    """A day in the last 180 with no event at all."""
    busy = set(events["ts"].dt.date)
    return next(d for d in (AS_OF - timedelta(days=k) for k in range(1, 180)) if d not in busy)


_MODELS: dict[date, pd.DataFrame] = {}  # pandas_models per day: the oracle is slow, the data fixed


def models(data, day: date) -> pd.DataFrame:
    if day not in _MODELS:
        _MODELS[day] = pandas_models(data[1], data[2], day)
    return _MODELS[day]


def frame(data, day: date) -> pd.DataFrame:
    """Per user: the models at `day` (pandas), at `as_of`, the city and the baking tag."""
    _, users, events, tags = data
    out = models(data, day).copy()
    now = models(data, AS_OF)
    out["aipl_now"], out["lifecycle_now"] = now["aipl"], now["lifecycle"]
    u = users.set_index("user_id").reindex(out.index)
    out["city_in"] = u["city"].isin(CITIES).to_numpy()  # a missing city is in no list
    out["baking"] = out.index.isin(tags.loc[tags["tag"] == BAKING, "user_id"])
    return out


def definitions(day: date) -> list[tuple[str, dict, object]]:
    """(name, definition, its pandas mask over `frame`) — dated alone, AND tag AND attribute, NOT, OR."""
    d = day.isoformat()
    aipl = lambda vals, **kw: {"kind": "aipl", "op": "in", "values": vals, "as_of": d, **kw}  # noqa: E731
    city = {"kind": "attribute", "field": "city", "op": "in", "values": CITIES}
    tag = {"kind": "tag", "tag": BAKING, "op": "has"}
    return [
        ("aipl I,P", {"conditions": [aipl(["I", "P"])]}, lambda f: f["aipl"].isin(["I", "P"])),
        ("aipl not_in none", {"conditions": [{**aipl(["none"]), "op": "not_in"}]}, lambda f: f["aipl"] != "none"),
        (
            "aipl AND tag AND city",
            {"conditions": [aipl(["I", "P", "L"]), tag, city]},
            lambda f: f["aipl"].isin(["I", "P", "L"]) & f["baking"] & f["city_in"],
        ),
        ("NOT aipl", {"conditions": [aipl(["A", "none"], negate=True)]}, lambda f: ~f["aipl"].isin(["A", "none"])),
        (
            "aipl OR rfm OR lifecycle now",
            {
                "match": "any",
                "conditions": [
                    aipl(["L"]),
                    {"kind": "rfm", "op": "in", "values": ["important_value", "general_value"], "as_of": d},
                    {"kind": "lifecycle", "op": "in", "values": ["active"]},
                ],
            },
            lambda f: (
                (f["aipl"] == "L")
                | f["rfm"].isin(["important_value", "general_value"])
                | (f["lifecycle_now"] == "active")
            ),
        ),
        (
            "flow cell: aipl at day AND NOT aipl now, NOT group with lifecycle",
            {
                "conditions": [
                    aipl(["I"]),
                    {"kind": "aipl", "op": "in", "values": ["P", "L"]},
                    {
                        "kind": "group",
                        "match": "all",
                        "negate": True,
                        "conditions": [{"kind": "lifecycle", "op": "in", "values": ["churned"], "as_of": d}, city],
                    },
                ]
            },
            lambda f: (
                (f["aipl"] == "I") & f["aipl_now"].isin(["P", "L"]) & ~((f["lifecycle"] == "churned") & f["city_in"])
            ),
        ),
    ]


def three_counts(ds, definition: dict) -> tuple[int, int, str]:
    seg = parse_segment(definition)
    got = size(ds, seg).count
    return got, size(ds, seg, bitmaps=False).count, counted_by(ds, seg)


def test_the_quiet_day_has_no_events(data):
    events = data[2]
    day = quiet_day(events)
    assert not (events["ts"].dt.date == day).any() and day < AS_OF


@pytest.mark.parametrize("which", ["quiet", "mid", "as_of", "before_any_event", "window_edge"])
def test_dated_definitions_count_the_same_from_bitmaps_scan_and_pandas(ds, data, which):
    events = data[2]
    day = {
        "quiet": quiet_day(events),
        "mid": date(2026, 2, 14),
        "as_of": AS_OF,  # given explicitly: the same as no date
        "before_any_event": date(2024, 1, 1),
        "window_edge": AS_OF - timedelta(days=180),
    }[which]
    f = frame(data, day)
    for name, definition, mask in definitions(day):
        bitmaps, scan, by = three_counts(ds, definition)
        assert by == "bitmaps", name
        assert bitmaps == scan == int(mask(f).sum()), (name, day)


def test_as_of_given_explicitly_is_the_undated_condition(ds):
    for values in (["I"], ["A", "L"], ["none"]):
        dated = {"conditions": [{"kind": "aipl", "op": "in", "values": values, "as_of": AS_OF.isoformat()}]}
        plain = {"conditions": [{"kind": "aipl", "op": "in", "values": values}]}
        assert three_counts(ds, dated)[:2] == three_counts(ds, plain)[:2]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    back=st.integers(min_value=0, max_value=520),
    values=st.sets(st.sampled_from(STAGES), min_size=1),
    negate=st.booleans(),
    with_tag=st.booleans(),
)
@example(back=1, values={"I"}, negate=True, with_tag=True)
def test_property_a_random_day_and_stages(ds, data, back, values, negate, with_tag):
    day = AS_OF - timedelta(days=back)
    cond = {"kind": "aipl", "op": "in", "values": sorted(values), "as_of": day.isoformat(), "negate": negate}
    conditions = [cond] + ([{"kind": "tag", "tag": BAKING, "op": "has"}] if with_tag else [])
    f = frame(data, day)
    want = f["aipl"].isin(values)
    want = (~want if negate else want) & (f["baking"] if with_tag else True)
    bitmaps, scan, by = three_counts(ds, {"conditions": conditions})
    assert by == "bitmaps"
    assert bitmaps == scan == int(want.sum())


def test_overlap_and_reach_with_dated_conditions_equal_the_scan(ds):
    day = date(2026, 3, 31).isoformat()
    a = parse_segment({"conditions": [{"kind": "aipl", "op": "in", "values": ["I", "P"], "as_of": day}]})
    b = parse_segment({"conditions": [{"kind": "lifecycle", "op": "in", "values": ["active", "new"], "as_of": day}]})
    c = parse_segment({"conditions": [{"kind": "aipl", "op": "in", "values": ["P", "L"]}]})
    segs = [("a", a), ("b", b), ("c", c)]
    assert overlap(ds, segs) == overlap(ds, segs, bitmaps=False)
    assert reach(ds, a) == reach(ds, a, bitmaps=False)


def test_only_a_few_days_are_kept_and_a_dropped_day_counts_again(ds, data):
    f_first = frame(data, date(2026, 1, 1))
    days = [date(2026, 1, 1) + timedelta(days=9 * k) for k in range(DATED_KEPT + 3)]
    for day in days:
        three_counts(ds, {"conditions": [{"kind": "aipl", "op": "in", "values": ["I"], "as_of": day.isoformat()}]})
    held = [k for k in ds.bitmap_index().stats()["build_seconds"] if k.startswith("dated:")]
    assert len(held) <= DATED_KEPT and key("aipl", days[-1]) in held and key("aipl", days[0]) not in held
    again = {"conditions": [{"kind": "aipl", "op": "in", "values": ["I"], "as_of": "2026-01-01"}]}
    assert three_counts(ds, again) == (int((f_first["aipl"] == "I").sum()),) * 2 + ("bitmaps",)


def test_a_dated_aipl_count_needs_no_table_once_the_day_is_computed(data, tmp_path):
    """As the dashboard: indexes built in the background, the history in memory, the day's stages computed."""
    ds = open_dataset(data[0], cache_dir=tmp_path)
    try:
        index = ds.bitmap_index().build_in_background()
        index.build(["_aipl_stage", "city"])
        day = date(2026, 4, 15)
        aipl_history.stages_at(ds, aipl_history.history(ds), day)  # the AIPL page asked for that day
        seg = parse_segment({"conditions": [{"kind": "aipl", "op": "in", "values": ["I"], "as_of": day.isoformat()}]})
        want = int((frame(data, day)["aipl"] == "I").sum())
        assert counted_by(ds, seg) == "scan"  # not built yet …
        assert size(ds, seg).count == want  # … the first count builds it at once, from the stage array
        assert counted_by(ds, seg) == "bitmaps"
        tables = dataset_cache(ds, "models_at").get("tables", set())
        assert not any(t.startswith("_aipl_at_") for t in tables)  # no per-member table was written
        assert size(ds, seg, bitmaps=False).count == want  # the scan writes it, and agrees
        assert "_aipl_at_20260415" in dataset_cache(ds, "models_at")["tables"]
    finally:
        ds.close()


def test_the_plan_takes_only_the_dated_shape(ds):
    seg = parse_segment({"conditions": [{"kind": "aipl", "op": "in", "values": ["I"], "as_of": "2026-05-01"}]})
    tree = compile_where(seg, ds.catalog).expression
    leaves = [n for n in [plan(tree)] if n is not None]
    assert leaves and str(leaves[0]).count("dated:aipl:2026-05-01") == 1

    def dated_in(table: str, limit: bool = False, column: str = "value") -> exp.Expression:
        inner = exp.select(exp.column("_uid", quoted=True)).from_(exp.to_table(table, quoted=True))
        inner = inner.where(exp.column(column, quoted=True).eq(exp.Literal.string("I")))
        return exp.In(this=exp.column("_uid", quoted=True), query=exp.Subquery(this=inner.limit(1) if limit else inner))

    assert isinstance(plan(dated_in("_aipl_at_20260501")), Leaf)
    assert plan(dated_in("_aipl_at_20260501")).column == key("aipl", date(2026, 5, 1))
    assert plan(dated_in("some_other_table")) is None  # only a model's table at a day
    assert plan(dated_in("_aipl_at_20260501", limit=True)) is None  # nothing but a WHERE on the value
    assert plan(dated_in("_aipl_at_20260501", column="_uid")) is None  # … on the value only


@pytest.mark.parametrize("n", [0, 1, 65_536, 65_537, 300_001])
@pytest.mark.parametrize("density", [0.0, 0.01, 0.07, 0.5, 1.0])
def test_a_mask_becomes_the_bitmap_of_its_true_positions(n, density):
    """Sparse chunks (array containers), dense ones (bitsets), empty and partial last chunks."""
    rng = np.random.default_rng(n + int(density * 100))
    mask = rng.random(n) < density
    mask[: n // 3] &= rng.random(n // 3) < 0.02  # the first chunks sparser than the rest
    got = from_mask(mask)
    assert list(got) == np.flatnonzero(mask).tolist()
