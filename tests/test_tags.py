"""Tag catalog logic and widget value lookups on real Parquet, checked against plain pandas."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from core import tags as T
from core import values as V
from core.dataset import open_dataset
from tests.datasets import write_dataset

AS_OF = datetime(2026, 6, 30)
AS_OF_END = AS_OF + timedelta(days=1)
N_USERS = 300

# tag -> (update cycle, last refresh or None, status) as the catalog lists them
CATALOG = {
    "fresh/daily/edge": ("daily", AS_OF_END - timedelta(days=2), "active"),  # exactly two cycles: not stale
    "stale/daily/late": ("daily", AS_OF_END - timedelta(days=2, minutes=1), "active"),
    "stale/weekly/old": ("weekly", AS_OF_END - timedelta(days=15), "active"),
    "fresh/monthly/edge": ("monthly", AS_OF_END - timedelta(days=60), "active"),
    "stale/monthly/old": ("monthly", AS_OF_END - timedelta(days=61), "deprecated"),
    "once/legacy": ("once", AS_OF_END - timedelta(days=900), "deprecated"),
    "value/score": ("weekly", None, "active"),  # no refresh in the catalog: taken from tags.updated_at
    "value/risk": ("daily", AS_OF_END - timedelta(hours=3), "active"),
    "ghost/nobody": ("daily", AS_OF_END - timedelta(hours=3), "active"),  # in the catalog, carried by nobody
}


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    """A dataset whose tags overlap on purpose, plus the frames the test reasons about."""
    rng = np.random.default_rng(11)
    root = tmp_path_factory.mktemp("tags") / "ds"
    user_ids = [f"u{i:04d}" for i in range(N_USERS)]
    cities = ["Shanghai", "Hangzhou", "100%_pure", "Beijing"]
    users = pd.DataFrame({
        "user_id": user_ids,
        "city": pd.Series(rng.choice(cities, N_USERS, p=[0.4, 0.3, 0.1, 0.2])).where(rng.random(N_USERS) > 0.1),
        "store_code": [f"SHA-{i % 150:04d}" for i in range(N_USERS)],
        "age": rng.integers(18, 70, N_USERS),
        "phone": [f"138{i:08d}" for i in range(N_USERS)],
    })  # fmt: skip
    events = pd.DataFrame({
        "user_id": rng.choice(user_ids, 2000),
        "event": rng.choice(["purchase", "product_view"], 2000),
        "ts": pd.Timestamp(AS_OF) - pd.to_timedelta(rng.integers(0, 200 * 86400, 2000), unit="s"),
        "product_category": rng.choice(["cake", "bread", "coffee"], 2000),
        "amount": rng.integers(1, 500, 2000).astype(float),
    })  # fmt: skip
    baker = rng.random(N_USERS) < 0.3
    rows = []
    updated = AS_OF_END - timedelta(days=40)
    for i, uid in enumerate(user_ids):
        if baker[i]:
            rows.append((uid, "fresh/daily/edge", None, updated))
            if rng.random() < 0.8:  # strongly tied to the first tag
                rows.append((uid, "stale/daily/late", None, updated))
        if rng.random() < 0.25:
            rows.append((uid, "stale/weekly/old", None, updated))
        if rng.random() < 0.5:
            rows.append(
                (uid, "value/score", str(round(float(rng.random()), 3)), AS_OF_END - timedelta(days=3, hours=i % 5))
            )
        if rng.random() < 0.4:
            rows.append((uid, "value/risk", str(rng.choice(["low", "medium", "high"])), updated))
        if rng.random() < 0.1:
            rows.append((uid, "uncatalogued/tag", None, updated))
        for tag in ("fresh/monthly/edge", "stale/monthly/old", "once/legacy"):
            if rng.random() < 0.15:
                rows.append((uid, tag, None, updated))
    tags = pd.DataFrame(rows, columns=["user_id", "tag", "value", "updated_at"])
    catalog = pd.DataFrame(
        {
            "tag": list(CATALOG),
            "description": [f"about {t}" for t in CATALOG],
            "owner": ["data-team" if i % 2 else "crm-team" for i in range(len(CATALOG))],
            "source": ["rule"] * len(CATALOG),
            "update_cycle": [c for c, _, _ in CATALOG.values()],
            "status": [s for _, _, s in CATALOG.values()],
            "last_refresh": pd.Series([r for _, r, _ in CATALOG.values()], dtype="datetime64[us]"),
        }
    )
    write_dataset(root, users, events, tags, toml='as_of = "2026-06-30"\n', tag_catalog=catalog)
    ds = open_dataset(root, cache_dir=tmp_path_factory.mktemp("cache"))
    yield ds, users, events, tags
    ds.close()


# --------------------------------------------------------------------------- catalog listing


def test_every_tag_is_listed_with_metadata_coverage_and_stale_flag(tagged) -> None:
    ds, _users, _events, tags = tagged
    entries = {e.tag: e for e in T.list_tags(ds)}
    assert set(entries) == set(CATALOG) | set(tags["tag"])
    holders = tags.groupby("tag")["user_id"].nunique()
    for tag, entry in entries.items():
        users = int(holders.get(tag, 0))
        assert entry.users == users, tag
        assert entry.coverage == pytest.approx(users / N_USERS)
        assert entry.in_catalog == (tag in CATALOG)
        assert entry.in_data == (users > 0)
    # stale: refreshed longer ago than two cycles before the end of the as-of day; 'once' never
    expected_stale = {"stale/daily/late", "stale/weekly/old", "stale/monthly/old"}
    assert {t for t, e in entries.items() if e.stale} == expected_stale
    assert entries["once/legacy"].stale is False
    assert entries["uncatalogued/tag"].stale is None and entries["uncatalogued/tag"].status is None
    # a catalog row without last_refresh falls back to the latest updated_at in tags
    assert entries["value/score"].last_refresh == tags.loc[tags["tag"] == "value/score", "updated_at"].max()
    assert entries["value/score"].stale is False  # weekly, last updated 3 days before the end of as_of
    assert (entries["stale/weekly/old"].category, entries["stale/weekly/old"].subcategory) == ("stale", "weekly")


def test_split_path_handles_two_and_three_levels() -> None:
    assert T.split_path("interest/food/baking") == ("interest", "food", "baking")
    assert T.split_path("identity/kol") == ("identity", "", "kol")
    assert T.split_path("a/b/c/d") == ("a", "b", "c/d")


def test_filters_and_hierarchy(tagged) -> None:
    ds = tagged[0]
    entries = T.list_tags(ds)
    assert [e.tag for e in T.filter_tags(entries, text="MONTHLY")] == ["fresh/monthly/edge", "stale/monthly/old"]
    assert [e.tag for e in T.filter_tags(entries, text="crm")] == [e.tag for e in entries if e.owner == "crm-team"]
    assert {e.tag for e in T.filter_tags(entries, category="stale", subcategory="daily")} == {"stale/daily/late"}
    assert {e.tag for e in T.filter_tags(entries, statuses=["deprecated"])} == {"stale/monthly/old", "once/legacy"}
    assert {e.tag for e in T.filter_tags(entries, statuses=["uncatalogued"])} == {"uncatalogued/tag"}
    attention = {e.tag for e in T.filter_tags(entries, attention_only=True)}
    assert attention == {
        "stale/daily/late",
        "stale/weekly/old",
        "stale/monthly/old",
        "once/legacy",
        "uncatalogued/tag",
        "ghost/nobody",
    }
    tree = T.hierarchy(entries)
    assert tree["stale"] == {"daily": 1, "monthly": 1, "weekly": 1}
    assert tree["once"] == {"": 1}


# --------------------------------------------------------------------------- value distribution


def test_text_values_are_counted_per_value(tagged) -> None:
    ds, _u, _e, tags = tagged
    dist = T.value_distribution(ds, "value/risk")
    expected = tags[tags["tag"] == "value/risk"].groupby("value")["user_id"].nunique()
    assert dist.kind == "values"
    assert {r.label: r.users for r in dist.rows} == expected.to_dict()
    assert [r.users for r in dist.rows] == sorted(expected.tolist(), reverse=True)
    assert sum(r.share for r in dist.rows) == pytest.approx(1.0)


def test_numeric_values_fall_into_disjoint_ranges_that_cover_them(tagged) -> None:
    ds, _u, _e, tags = tagged
    dist = T.value_distribution(ds, "value/score")
    scores = tags.loc[tags["tag"] == "value/score"].drop_duplicates("user_id")["value"].astype(float)
    assert dist.kind == "numeric"
    assert sum(r.users for r in dist.rows) == len(scores)
    for before, after in zip(dist.rows, dist.rows[1:], strict=False):
        assert before.high < after.low
    for r in dist.rows:
        assert r.users == int(((scores >= r.low) & (scores <= r.high)).sum())
    assert dist.rows[0].low == scores.min() and dist.rows[-1].high == scores.max()


def test_plain_tags_show_has_and_has_not(tagged) -> None:
    ds, _u, _e, tags = tagged
    dist = T.value_distribution(ds, "stale/weekly/old")
    holders = tags.loc[tags["tag"] == "stale/weekly/old", "user_id"].nunique()
    assert dist.kind == "presence"
    assert [(r.label, r.users) for r in dist.rows] == [("has", holders), ("has not", N_USERS - holders)]


def test_unknown_tag_is_a_clear_error(tagged) -> None:
    with pytest.raises(T.TagError, match="did you mean|Did you mean"):
        T.value_distribution(tagged[0], "stale/weekly/olde")
    with pytest.raises(T.TagError, match="no member carries"):
        T.related_tags(tagged[0], "ghost/nobody")


# --------------------------------------------------------------------------- related tags by lift


def test_related_tags_are_ranked_by_lift_computed_independently(tagged) -> None:
    ds, _u, _e, tags = tagged
    holders = tags.groupby("tag")["user_id"].apply(set).to_dict()
    a = holders["fresh/daily/edge"]
    expected = {}
    for tag, users in holders.items():
        both = len(a & users)
        if tag != "fresh/daily/edge" and both >= 5:
            expected[tag] = both * N_USERS / (len(a) * len(users))
    related = T.related_tags(ds, "fresh/daily/edge", limit=50, min_both=5)
    assert {r.tag: r.lift for r in related} == pytest.approx(expected)
    assert [r.lift for r in related] == sorted((r.lift for r in related), reverse=True)
    assert related[0].tag == "stale/daily/late"  # the tag built to go with it
    assert related[0].confidence == pytest.approx(len(a & holders["stale/daily/late"]) / len(a))
    assert len(T.related_tags(ds, "fresh/daily/edge", limit=2, min_both=5)) == 2


# --------------------------------------------------------------------------- widget value lookups


def test_top_values_are_the_most_frequent_and_say_when_the_list_is_complete(tagged) -> None:
    ds, users, events, tags = tagged
    counts = users["city"].value_counts()
    full = V.top_values(ds, "attribute", "city", limit=10)
    assert full.complete and {v.value: v.rows for v in full.values} == counts.to_dict()
    top2 = V.top_values(ds, "attribute", "city", limit=2)
    assert not top2.complete and [v.value for v in top2.values] == counts.index[:2].tolist()
    cats = V.top_values(ds, "event_property", "product_category", limit=10)
    assert {v.value: v.rows for v in cats.values} == events["product_category"].value_counts().to_dict()
    risk = V.top_values(ds, "tag", "value/risk", limit=10)
    assert {v.value for v in risk.values} == set(tags.loc[tags["tag"] == "value/risk", "value"])


def test_search_finds_substrings_literally_and_is_bounded(tagged) -> None:
    ds, users, _e, _t = tagged
    found = V.search_values(ds, "attribute", "store_code", "a-001", limit=100)
    expected = users.loc[
        users["store_code"].str.lower().str.contains("a-001", regex=False), "store_code"
    ].value_counts()
    assert {v.value: v.rows for v in found} == expected.to_dict()
    assert len(V.search_values(ds, "attribute", "store_code", "SHA", limit=7)) == 7
    # '%' and '_' are ordinary characters, not wildcards
    assert [v.value for v in V.search_values(ds, "attribute", "city", "0%_")] == ["100%_pure"]
    assert V.search_values(ds, "attribute", "city", "%") == V.search_values(ds, "attribute", "city", "0%")
    assert V.search_values(ds, "attribute", "city", "  ") == ()
    # values starting with the text come first
    assert V.search_values(ds, "attribute", "city", "h")[0].value in {"Hangzhou"}


def test_numeric_range_and_unknown_columns(tagged) -> None:
    ds, users, events, _t = tagged
    assert V.numeric_range(ds, "attribute", "age") == (users["age"].min(), users["age"].max())
    assert V.numeric_range(ds, "event_property", "amount") == (events["amount"].min(), events["amount"].max())
    assert V.numeric_range(ds, "attribute", "city") is None
    with pytest.raises(V.ValueLookupError, match="unknown attribute 'cty'"):
        V.top_values(ds, "attribute", "cty")
    with pytest.raises(V.ValueLookupError, match="carries no values"):
        V.top_values(ds, "tag", "stale/weekly/old")
    assert V.is_low_cardinality(ds.catalog, "attribute", "city") is True
    assert V.is_low_cardinality(ds.catalog, "attribute", "phone", limit=100) is False
