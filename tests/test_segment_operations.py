"""Size, breakdown, overlap, reach, members and samples, each checked against plain pandas.

The dataset is small and hand-made so that every expected number can be computed
here from the raw frames, without reading anything our code derived.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sqlglot import exp

from core.catalog import RFM_CLASSES
from core.dataset import Dataset, open_dataset
from core.dataset.caches import dataset_cache
from core.privacy import mask_expression, mask_kind, mask_value
from core.segments import operations as ops
from core.segments.compile import where_form
from core.segments.model import Segment, parse_segment
from core.store import AppStore
from tests.datasets import write_dataset

AS_OF = "2026-06-30"
END = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)  # windows end here, exclusive
CITIES = ["Shanghai", "Hangzhou", "Beijing", "Wuhan", "Chengdu", "Xi'an"]


def make_frames(n: int = 80, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"u{i:03d}" for i in range(n)]
    users = pd.DataFrame(
        {
            "user_id": ids,
            "signup_at": END - pd.to_timedelta(rng.integers(40, 700, n), unit="D"),
            "city": pd.Series(rng.choice(CITIES, n, p=[0.3, 0.25, 0.2, 0.1, 0.1, 0.05])).where(rng.random(n) > 0.1),
            "age": pd.array(rng.integers(18, 70, n), dtype="Int64"),
            "member_level": rng.integers(1, 5, n),
            "phone": pd.Series([f"138{rng.integers(0, 10**8):08d}" for _ in range(n)]).where(rng.random(n) > 0.1),
            "email": pd.Series([f"member{i}@example.com" for i in range(n)]).where(rng.random(n) > 0.2),
            "openid": [f"oX{rng.integers(0, 16**10):010x}" for _ in range(n)],
            "sms_opt_in": pd.array(rng.choice([True, False, None], n, p=[0.5, 0.3, 0.2]), dtype="boolean"),
            "wechat_opt_in": rng.random(n) > 0.5,
        }
    )
    users.loc[rng.random(n) < 0.12, "age"] = pd.NA
    users.loc[:4, "signup_at"] = END - pd.Timedelta(days=3)  # a few new members
    rows = []
    for uid in ids[8:]:  # the first eight never act
        for _ in range(rng.integers(1, 7)):
            name = rng.choice(
                ["ad_impression", "product_view", "add_to_cart", "purchase"],
                p=[0.3, 0.25, 0.15, 0.3],
            )
            ts = (
                END
                - pd.Timedelta(days=int(rng.integers(0, 100)))
                - pd.Timedelta(seconds=int(rng.choice([1, 3600, 86399])))
            )
            rows.append(
                {
                    "user_id": uid,
                    "event": name,
                    "ts": ts,
                    "amount": float(rng.choice([10.0, 25.5, 99.0])) if name == "purchase" else np.nan,
                    "product_category": rng.choice(["cake", "bread"]),
                }
            )
    events = pd.DataFrame(rows)
    tags = pd.concat([
        pd.DataFrame({"user_id": [u for u in ids if rng.random() < 0.4], "tag": "interest/food/baking"}),
        pd.DataFrame({"user_id": [u for u in ids if rng.random() < 0.2], "tag": "identity/kol"}),
    ], ignore_index=True)  # fmt: skip
    tags["value"] = None
    return users, events, tags


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return make_frames()


@pytest.fixture(scope="module")
def ds(tmp_path_factory, frames) -> Dataset:
    users, events, tags = frames
    root = write_dataset(tmp_path_factory.mktemp("ops") / "shop", users, events, tags, toml=f'as_of = "{AS_OF}"\n')
    dataset = open_dataset(root, cache_dir=tmp_path_factory.mktemp("ops-cache"))
    yield dataset
    dataset.close()


@pytest.fixture(params=["scan", "bitmaps"])
def bitmaps(request, ds: Dataset) -> bool:
    """Each count twice: by a scan of `profile`, and from bitmap indexes (built when first needed)."""
    if request.param == "bitmaps":
        ds.bitmap_index().build_when_needed()
    return request.param == "bitmaps"


# --- independent pandas ---------------------------------------------------------------------------


def aipl_stage(users: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """DATA_CONTRACT's AIPL stage for this data (all events inside the 180-day look-back, no loyalty events)."""
    ev = events[events["ts"] < END]
    per_user = ev.groupby("user_id")["event"]
    purchases = per_user.apply(lambda s: int((s == "purchase").sum()))
    interest = per_user.apply(lambda s: bool(s.isin(["product_view", "add_to_cart"]).any()))
    aware = per_user.apply(lambda s: bool((s == "ad_impression").any()))
    stage = {}
    for uid in users["user_id"]:
        p = purchases.get(uid, 0)
        stage[uid] = (
            "L"
            if p >= 2
            else "P"
            if p == 1
            else "I"
            if interest.get(uid, False)
            else "A"
            if aware.get(uid, False)
            else "none"
        )
    return pd.Series(stage)


def lifecycle_state(users: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    last = events[events["ts"] < END].groupby("user_id")["ts"].max()
    out = {}
    for uid, signup in zip(users["user_id"], users["signup_at"], strict=True):
        seen = last.get(uid)
        if signup >= END - pd.Timedelta(days=30):
            out[uid] = "new"
        elif seen is not None and seen >= END - pd.Timedelta(days=30):
            out[uid] = "active"
        elif seen is not None and seen >= END - pd.Timedelta(days=90):
            out[uid] = "dormant"
        elif seen is not None:
            out[uid] = "churned"
        else:
            out[uid] = "never_active"
    return pd.Series(out)


def tagged(tags: pd.DataFrame, users: pd.DataFrame, tag: str) -> pd.Series:
    return users["user_id"].isin(tags.loc[tags["tag"] == tag, "user_id"])


def purchases_last(events: pd.DataFrame, users: pd.DataFrame, days: int) -> pd.Series:
    ev = events[
        (events["event"] == "purchase") & (events["ts"] >= END - pd.Timedelta(days=days)) & (events["ts"] < END)
    ]
    counts = ev.groupby("user_id").size()
    return users["user_id"].map(counts).fillna(0).astype(int)


SEGMENTS: dict[str, dict] = {
    "city_age": {"match": "all", "conditions": [
        {"kind": "attribute", "field": "city", "op": "in", "values": ["Shanghai", "Hangzhou"]},
        {"kind": "attribute", "field": "age", "op": "between", "values": [25, 45]},
    ]},
    "baker": {"conditions": [{"kind": "tag", "tag": "interest/food/baking", "op": "has"}]},
    "high_level": {"conditions": [{"kind": "attribute", "field": "member_level", "op": "gte", "value": 3}]},
    "not_shanghai": {"conditions": [{"kind": "attribute", "field": "city", "op": "ne", "value": "Shanghai"}]},
    "recent_buyer": {"conditions": [{"kind": "event", "event": "purchase", "op": ">=", "count": 1, "within_days": 30}]},
    "buyer_stage": {"conditions": [{"kind": "aipl", "op": "in", "values": ["P", "L"]}]},
    "everyone": {"conditions": []},
    # single tests that size() counts with count_if instead of a WHERE
    "not_baker": {"conditions": [{"kind": "tag", "tag": "interest/food/baking", "op": "has_not"}]},
    "age_missing": {"conditions": [{"kind": "attribute", "field": "age", "op": "is_null"}]},
    "sms_yes": {"conditions": [{"kind": "attribute", "field": "sms_opt_in", "op": "eq", "value": True}]},
    "shanghai": {"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Shanghai"}]},
    "no_recent_buyer": {
        "conditions": [{"kind": "event", "event": "purchase", "op": "=", "count": 0, "within_days": 30}]
    },
    "baker_or_no_sms": {"match": "any", "conditions": [
        {"kind": "tag", "tag": "interest/food/baking", "op": "has"},
        {"kind": "attribute", "field": "sms_opt_in", "op": "eq", "value": False},
    ]},
}  # fmt: skip


def expected_mask(name: str, frames) -> pd.Series:
    users, events, tags = frames
    city = users["city"]
    if name == "city_age":
        return (city.isin(["Shanghai", "Hangzhou"]) & users["age"].between(25, 45).fillna(False)).astype(bool)
    if name == "baker":
        return tagged(tags, users, "interest/food/baking")
    if name == "high_level":
        return users["member_level"] >= 3
    if name == "not_shanghai":
        return ~(city == "Shanghai").fillna(False).astype(bool)  # missing cities included
    if name == "recent_buyer":
        return purchases_last(events, users, 30) >= 1
    if name == "buyer_stage":
        return users["user_id"].map(aipl_stage(users, events)).isin(["P", "L"])
    if name == "everyone":
        return pd.Series(True, index=users.index)
    if name == "not_baker":
        return ~tagged(tags, users, "interest/food/baking")
    if name == "age_missing":
        return users["age"].isna()
    if name == "sms_yes":
        return users["sms_opt_in"].fillna(False).astype(bool)
    if name == "shanghai":
        return (city == "Shanghai").fillna(False).astype(bool)
    if name == "no_recent_buyer":
        return purchases_last(events, users, 30) == 0
    if name == "baker_or_no_sms":
        no_sms = (users["sms_opt_in"] == False).fillna(False).astype(bool)  # noqa: E712
        return tagged(tags, users, "interest/food/baking") | no_sms
    raise KeyError(name)


def seg(name: str) -> Segment:
    return parse_segment(SEGMENTS[name])


# --- size -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SEGMENTS))
def test_size_matches_pandas(ds: Dataset, frames, name: str, bitmaps: bool) -> None:
    users = frames[0]
    expected = int(expected_mask(name, frames).sum())
    result = ops.size(ds, seg(name), bitmaps=bitmaps)
    if bitmaps:  # each of these reads tags, flags, counters or columns of few values
        assert ops.counted_by(ds, seg(name)) == "bitmaps"
    assert (result.count, result.total_users) == (expected, len(users))
    assert result.share == pytest.approx(expected / len(users))
    assert result.to_dict() == {
        "count": expected,
        "total_users": len(users),
        "share": result.share,
        "as_of": AS_OF,
    }


COUNTED_WITH_COUNT_IF = {
    "baker",
    "recent_buyer",
    "not_baker",
    "age_missing",
    "sms_yes",
    "shanghai",
    "no_recent_buyer",
    "baker_or_no_sms",
}


@pytest.mark.parametrize("name", [n for n in SEGMENTS if n != "everyone"])
def test_size_query_form_counts_the_same_rows(ds: Dataset, frames, name: str) -> None:
    """Flag, counter and single-value tests are counted with count_if, the rest with a WHERE;
    either form of the query counts exactly the members pandas finds."""
    condition, params = ops.segment_condition(ds, seg(name), None)
    where = where_form(condition)
    planned = ops.size_query(ds, where).sql("duckdb")
    assert ("COUNT_IF" in planned) == (name in COUNTED_WITH_COUNT_IF), planned
    as_where = exp.select(exp.Count(this=exp.Star())).from_("profile").where(where.copy()).sql("duckdb")
    as_count_if = exp.select(exp.func("count_if", where.copy())).from_("profile").sql("duckdb")
    expected = int(expected_mask(name, frames).sum())
    cur = ds.cursor()
    for sql in (planned, as_where, as_count_if):
        assert cur.execute(sql, params or None).fetchone()[0] == expected, sql


def test_size_of_a_saved_segment_reference(ds: Dataset, frames, tmp_path: Path) -> None:
    store = AppStore(tmp_path / "app.db")
    saved = store.save_segment("City and age", seg("city_age"), "ann")
    outside = parse_segment(
        {
            "conditions": [
                {"kind": "segment", "op": "not_in", "segment": saved.id},
                SEGMENTS["baker"]["conditions"][0],
            ]
        }
    )
    expected = (~expected_mask("city_age", frames) & expected_mask("baker", frames)).sum()
    assert ops.size(ds, outside, resolve=store.resolver()).count == expected


# --- breakdown -------------------------------------------------------------------------------------


def expected_rows(values: pd.Series, mask: pd.Series) -> pd.DataFrame:
    """Per value (NaN = missing): users in the segment and in the base."""
    frame = pd.DataFrame({"value": values.astype(object).where(values.notna(), None), "in_seg": mask.astype(int)})
    grouped = (
        frame.groupby("value", dropna=False).agg(in_segment=("in_seg", "sum"), in_base=("in_seg", "size")).reset_index()
    )
    return grouped


def check_shares(result: ops.Breakdown, seg_size: int, total: int) -> None:
    assert result.segment_size == seg_size and result.total_users == total
    assert sum(r.count_in_segment for r in result.rows) == seg_size
    assert sum(r.count_in_base for r in result.rows) == total
    for r in result.rows:
        sis = r.count_in_segment / seg_size if seg_size else None
        sib = r.count_in_base / total
        assert r.share_in_segment == pytest.approx(sis)
        assert r.share_in_base == pytest.approx(sib)
        if sib == 0 or sis is None:
            assert r.index is None
        else:
            assert r.index == pytest.approx(100 * sis / sib)


def test_breakdown_by_text_attribute_folds_other_and_missing(ds: Dataset, frames, bitmaps: bool) -> None:
    users = frames[0]
    mask = expected_mask("high_level", frames)
    table = expected_rows(users["city"], mask)
    known = table[table["value"].notna()].copy()
    known["neg_seg"], known["neg_base"] = -known["in_segment"], -known["in_base"]
    ranked = known.sort_values(["neg_seg", "neg_base", "value"]).reset_index(drop=True)
    top, rest = ranked.iloc[:3], ranked.iloc[3:]
    missing = table[table["value"].isna()]

    result = ops.breakdown(ds, seg("high_level"), "city", limit=3, bitmaps=bitmaps)
    assert result.by_kind == "attribute"
    got = [(r.kind, r.value, r.count_in_segment, r.count_in_base) for r in result.rows]
    want = [
        ("value", v, int(s), int(b)) for v, s, b in zip(top["value"], top["in_segment"], top["in_base"], strict=True)
    ]
    want.append(("other", "(other)", int(rest["in_segment"].sum()), int(rest["in_base"].sum())))
    want.append(("missing", "(missing)", int(missing["in_segment"].sum()), int(missing["in_base"].sum())))
    assert got == want
    assert [r.raw for r in result.rows[:3]] == list(top["value"])
    check_shares(result, int(mask.sum()), len(users))

    # Without a limit in the way, every city has its own row and nothing is folded.
    full = ops.breakdown(ds, seg("high_level"), "city", bitmaps=bitmaps)
    assert {r.value for r in full.rows if r.kind == "value"} == set(known["value"])
    assert not [r for r in full.rows if r.kind == "other"]


def test_breakdown_by_small_whole_number_and_boolean(ds: Dataset, frames, bitmaps: bool) -> None:
    users = frames[0]
    mask = expected_mask("city_age", frames)
    levels = ops.breakdown(ds, seg("city_age"), "member_level", bitmaps=bitmaps)
    table = expected_rows(users["member_level"], mask).sort_values("value")
    # few distinct values: one row each, in ascending order
    assert [(r.raw, r.count_in_segment, r.count_in_base) for r in levels.rows] == [
        (int(v), int(s), int(b)) for v, s, b in zip(table["value"], table["in_segment"], table["in_base"], strict=True)
    ]
    check_shares(levels, int(mask.sum()), len(users))

    sms = ops.breakdown(ds, seg("city_age"), "sms_opt_in", bitmaps=bitmaps)
    by_label = {r.value: (r.count_in_segment, r.count_in_base) for r in sms.rows}
    opt = users["sms_opt_in"]
    for label, selector in (
        ("true", opt.eq(True).fillna(False)),
        ("false", opt.eq(False).fillna(False)),
        ("(missing)", opt.isna()),
    ):
        selector = selector.astype(bool)
        assert by_label[label] == (int((selector & mask).sum()), int(selector.sum()))
    check_shares(sms, int(mask.sum()), len(users))


def test_breakdown_by_number_uses_ordered_disjoint_bins(ds: Dataset, frames, bitmaps: bool) -> None:
    users = frames[0]
    mask = expected_mask("baker", frames)
    age = users["age"]
    result = ops.breakdown(ds, seg("baker"), "age", bitmaps=bitmaps)
    assert result.by_kind == "numeric"
    bins = [r for r in result.rows if r.kind == "bucket"]
    assert 5 <= len(bins) <= ops.NUMERIC_BINS
    for r in bins:
        inside = age.between(r.low, r.high).fillna(False).astype(bool)
        # bounds are what each bin holds, so counting by them reproduces every count
        assert (r.count_in_segment, r.count_in_base) == (
            int((inside & mask).sum()),
            int(inside.sum()),
        )
        assert r.value == (f"{r.low} – {r.high}" if r.low != r.high else str(r.low))
    assert all(a.high < b.low for a, b in zip(bins, bins[1:], strict=False))
    assert sum(r.count_in_base for r in bins) == int(age.notna().sum())
    # quantile bins: none holds more than a quarter of the known ages
    assert max(r.count_in_base for r in bins) <= age.notna().sum() / 4
    (missing,) = [r for r in result.rows if r.kind == "missing"]
    assert (missing.count_in_segment, missing.count_in_base) == (
        int((age.isna() & mask).sum()),
        int(age.isna().sum()),
    )
    check_shares(result, int(mask.sum()), len(users))


def test_breakdown_by_tag_and_model_dimensions(ds: Dataset, frames, bitmaps: bool) -> None:
    users, events, tags = frames
    mask = expected_mask("city_age", frames)
    kol = tagged(tags, users, "identity/kol")
    result = ops.breakdown(ds, seg("city_age"), "identity/kol", bitmaps=bitmaps)
    assert [(r.value, r.count_in_segment, r.count_in_base) for r in result.rows] == [
        ("has", int((kol & mask).sum()), int(kol.sum())),
        ("has not", int((~kol & mask).sum()), int((~kol).sum())),
    ]
    check_shares(result, int(mask.sum()), len(users))

    stage = users["user_id"].map(aipl_stage(users, events))
    aipl = ops.breakdown(ds, seg("city_age"), "aipl", bitmaps=bitmaps)
    assert [r.value for r in aipl.rows] == [
        "A",
        "I",
        "P",
        "L",
        "none",
    ]  # every stage, in funnel order
    for r in aipl.rows:
        assert (r.count_in_segment, r.count_in_base) == (
            int(((stage == r.value) & mask).sum()),
            int((stage == r.value).sum()),
        )
    check_shares(aipl, int(mask.sum()), len(users))

    state = users["user_id"].map(lifecycle_state(users, events))
    life = ops.breakdown(ds, seg("recent_buyer"), "lifecycle", bitmaps=bitmaps)
    recent = expected_mask("recent_buyer", frames)
    assert [r.value for r in life.rows] == ["new", "active", "dormant", "churned", "never_active"]
    for r in life.rows:
        assert (r.count_in_segment, r.count_in_base) == (
            int(((state == r.value) & recent).sum()),
            int((state == r.value).sum()),
        )
    # every class has its row, in the domain's order, with no index where the base share is 0 ...
    rfm = ops.breakdown(ds, seg("baker"), "rfm", bitmaps=bitmaps)
    assert [r.value for r in rfm.rows] == list(RFM_CLASSES)
    assert sum(r.count_in_base for r in rfm.rows) == len(users)
    assert all(r.index is None for r in rfm.rows if r.count_in_base == 0)
    # ... and non-buyers are exactly the "none" class
    buyers = set(events.loc[(events["event"] == "purchase") & (events["ts"] < END), "user_id"])
    none_row = rfm.rows[-1]
    assert none_row.count_in_base == int((~users["user_id"].isin(buyers)).sum())


def test_breakdown_of_an_empty_segment_and_bad_requests(ds: Dataset, frames) -> None:
    empty = parse_segment({"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Nowhere"}]})
    result = ops.breakdown(ds, empty, "city")
    assert result.segment_size == 0
    assert all(r.share_in_segment is None and r.index is None for r in result.rows)
    assert sum(r.count_in_base for r in result.rows) == len(frames[0])
    with pytest.raises(ops.OperationError, match="'cty'.*'city'"):
        ops.breakdown(ds, empty, "cty")
    with pytest.raises(ops.OperationError, match="limit"):
        ops.breakdown(ds, empty, "city", limit=0)
    assert result.to_dict()["rows"][0]["value"] == result.rows[0].value


# --- overlap -----------------------------------------------------------------------------------------


def test_overlap_matrix_matches_pandas(ds: Dataset, frames, bitmaps: bool) -> None:
    names = ["city_age", "baker", "high_level", "not_shanghai", "recent_buyer", "buyer_stage"]
    masks = [expected_mask(n, frames) for n in names]
    result = ops.overlap(ds, [(n, seg(n)) for n in names], bitmaps=bitmaps)
    if bitmaps:
        assert all(ops.counted_by(ds, seg(n)) == "bitmaps" for n in names)
    assert result.names == tuple(names)
    assert result.sizes == tuple(int(m.sum()) for m in masks)
    for i, a in enumerate(masks):
        for j, b in enumerate(masks):
            assert result.matrix[i][j] == int((a & b).sum()), (names[i], names[j])
    union = masks[0]
    for m in masks[1:]:
        union = union | m
    assert result.union == int(union.sum())
    assert result.total_users == len(frames[0])
    assert result.to_dict()["matrix"][1][2] == result.matrix[1][2]


def test_overlap_limits(ds: Dataset) -> None:
    with pytest.raises(ops.OperationError, match="at most 6"):
        ops.overlap(ds, [(str(i), seg("baker")) for i in range(7)])
    with pytest.raises(ops.OperationError):
        ops.overlap(ds, [])


# --- reach -------------------------------------------------------------------------------------------


def test_numeric_bin_edges_are_computed_once_per_dataset(ds: Dataset, frames) -> None:
    """Edges are quantiles over all users: the same for every segment, so kept after the first breakdown."""
    first = ops.breakdown(ds, seg("baker"), "age")
    edges = dataset_cache(ds, "breakdown_edges")["age"]
    ages = frames[0]["age"].dropna().sort_values().to_numpy()
    # quantile_disc: the smallest value with at least q of the known values at or below it
    want = [ages[max(0, int(np.ceil(q * len(ages))) - 1)] for q in (0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875)]
    assert edges == want
    second = ops.breakdown(ds, parse_segment({"version": 1, "match": "all", "conditions": []}), "age")
    assert dataset_cache(ds, "breakdown_edges")["age"] is edges
    base = [(r.low, r.high, r.count_in_base) for r in first.rows]
    assert base == [(r.low, r.high, r.count_in_base) for r in second.rows]


def test_reach_counts_only_explicit_consent(ds: Dataset, frames, bitmaps: bool) -> None:
    users = frames[0]
    mask = expected_mask("not_shanghai", frames)
    result = ops.reach(ds, seg("not_shanghai"), bitmaps=bitmaps)
    if bitmaps:
        assert ds.bitmap_index().ready("sms_opt_in") and ds.bitmap_index().ready("wechat_opt_in")
        assert ops.counted_by(ds, seg("not_shanghai")) == "bitmaps"
    assert set(result) == {"sms", "wechat", "email"}
    sms_yes = users["sms_opt_in"].eq(True).fillna(False).astype(bool)  # NULL = not reachable
    assert (result["sms"].reachable, result["sms"].excluded) == (
        int((mask & sms_yes).sum()),
        int((mask & ~sms_yes).sum()),
    )
    wechat_yes = users["wechat_opt_in"]
    assert result["wechat"].reachable == int((mask & wechat_yes).sum())
    # The dataset has no email_opt_in column: nobody is reachable by email.
    assert result["email"].column_present is False
    assert (result["email"].reachable, result["email"].excluded) == (0, int(mask.sum()))
    assert result["sms"].to_dict()["column"] == "sms_opt_in"


# --- members and sample -------------------------------------------------------------------------------


def test_members_pages_ordered_and_pii_masked(ds: Dataset, frames) -> None:
    users = frames[0]
    mask = expected_mask("not_shanghai", frames)
    expected = users[mask].sort_values("user_id").reset_index(drop=True)
    pages = []
    for page in range(3):
        result = ops.members(ds, seg("not_shanghai"), page=page, page_size=20)
        assert result.total == len(expected)
        pages.append(result.rows)
    got = pd.concat(pages, ignore_index=True)
    assert list(got["user_id"]) == list(expected["user_id"][:60])
    assert result.masked_columns == ("email", "openid", "phone")
    for column in ("phone", "email", "openid"):
        want = [
            mask_value(column, v)
            for v in expected[column][:60].astype(object).where(expected[column][:60].notna(), None)
        ]
        assert [None if pd.isna(v) else v for v in got[column]] == want
        # nothing unmasked slipped through
        raw = {v for v in expected[column] if isinstance(v, str)}
        assert not raw & set(got[column].dropna())
    assert list(got["city"].fillna("∅")) == list(expected["city"][:60].fillna("∅"))
    assert list(got["member_level"]) == list(expected["member_level"][:60])

    revealed = ops.members(ds, seg("not_shanghai"), page=0, page_size=10, reveal_pii=True)
    assert revealed.masked_columns == ()
    assert list(revealed.rows["phone"].fillna("∅")) == list(expected["phone"][:10].fillna("∅"))

    past_end = ops.members(ds, seg("not_shanghai"), page=999, page_size=20)
    assert past_end.rows.empty and past_end.total == len(expected)


def test_members_columns_and_bad_requests(ds: Dataset, frames) -> None:
    users, _events, tags = frames
    mask = expected_mask("baker", frames)
    result = ops.members(ds, seg("baker"), page_size=5, columns=["city", "phone", "identity/kol", "_aipl_stage"])
    assert list(result.rows.columns) == ["user_id", "city", "phone", "identity/kol", "_aipl_stage"]
    expected = users[mask].sort_values("user_id").head(5)
    kol = set(tags.loc[tags["tag"] == "identity/kol", "user_id"])
    assert list(result.rows["identity/kol"]) == [u in kol for u in expected["user_id"]]
    stages = aipl_stage(users, frames[1])
    assert list(result.rows["_aipl_stage"]) == [stages[u] for u in expected["user_id"]]
    assert result.to_dict()["rows"][0]["user_id"] == expected["user_id"].iloc[0]
    with pytest.raises(ops.OperationError, match="'phon'.*'phone'"):
        ops.members(ds, seg("baker"), columns=["phon"])
    with pytest.raises(ops.OperationError, match="page_size"):
        ops.members(ds, seg("baker"), page_size=ops.MAX_PAGE_SIZE + 1)
    with pytest.raises(ops.OperationError, match="page"):
        ops.members(ds, seg("baker"), page=-1)


def test_sample_is_seeded_deterministic_and_within_the_segment(ds: Dataset, frames) -> None:
    users = frames[0]
    mask = expected_mask("not_shanghai", frames)
    members = set(users.loc[mask, "user_id"])
    first = ops.sample(ds, seg("not_shanghai"), n=10, seed=42)
    again = ops.sample(ds, seg("not_shanghai"), n=10, seed=42)
    other = ops.sample(ds, seg("not_shanghai"), n=10, seed=43)
    assert list(first["user_id"]) == list(again["user_id"])
    assert len(first) == 10 and first["user_id"].is_unique and set(first["user_id"]) <= members
    assert set(other["user_id"]) != set(first["user_id"])
    # not simply the first members by id
    assert list(first["user_id"]) != sorted(members)[:10]
    everyone = ops.sample(ds, seg("not_shanghai"), n=10_000, seed=1)
    assert set(everyone["user_id"]) == members
    assert not set(everyone["phone"].dropna()) & set(users["phone"].dropna())  # masked here too
    with pytest.raises(ops.OperationError):
        ops.sample(ds, seg("baker"), n=-1)


# --- privacy ----------------------------------------------------------------------------------------------

TRICKY = [None, "", "a", "abcd", "abcde", "13812345678", "+8613812345678", "123456789", "alice@example.com",
          "@x.com", "a@b", "中文名字测试", "x@y@z", "1234567890", "  spaced  "]  # fmt: skip


def test_mask_value_rules() -> None:
    assert mask_value("phone", "13812345678") == "138****5678"
    assert mask_value("mobile_no", 13812345678) == "138****5678"  # numbers are masked as text
    assert mask_value("email", "alice@example.com") == "a***@example.com"
    assert mask_value("openid", "oAbCdEfGh12") == "oA****12"
    assert mask_value("phone", "12345") == "12****45"  # too short for the phone pattern
    assert mask_value("openid", "abcd") == "****"  # 2 + 2 would show it all
    assert mask_value("email", None) is None and mask_value("email", float("nan")) is None
    assert mask_kind("hotel_name") == "generic" and mask_kind("contact_email") == "email"


@pytest.mark.parametrize("column", ["phone", "email", "openid", "mobile_no", "work_email"])
def test_sql_masking_agrees_with_python(column: str) -> None:
    con = duckdb.connect()
    rows = exp.Values(
        expressions=[exp.Tuple(expressions=[exp.Placeholder(this=f"v{i}")]) for i in range(len(TRICKY))],
        alias=exp.TableAlias(this=exp.to_identifier("t"), columns=[exp.to_identifier("v")]),
    )
    query = exp.select(mask_expression(column, exp.column("v")).as_("m"), exp.column("v")).from_(rows)
    got = con.execute(query.sql("duckdb"), {f"v{i}": v for i, v in enumerate(TRICKY)}).fetchall()
    assert [(v, m) for m, v in got] == [(v, mask_value(column, v)) for v in TRICKY]
