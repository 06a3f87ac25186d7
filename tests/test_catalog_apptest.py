"""Tag Catalog in AppTest: numbers recomputed from Parquet; detail and "add to segment" agree with `adesk count`."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta

import pandas as pd
import pytest

from core.segments.model import parse_segment
from core.segments.urlcodec import decode_segment
from tests.apptest_harness import cli_count, metric, open_page, table_with, texts

CYCLE_DAYS = {"daily": 1, "weekly": 7, "monthly": 30}


@pytest.fixture(autouse=True)
def _data(monkeypatch, demo_dir):
    monkeypatch.setenv("ADESK_DATA", str(demo_dir))


@pytest.fixture(scope="module")
def files(demo_dir):
    """The tag catalog, the long tags table and as_of, read straight from the dataset's files."""
    catalog = pd.read_parquet(demo_dir / "tag_catalog.parquet")
    tags = pd.read_parquet(demo_dir / "tags.parquet")
    as_of = tomllib.loads((demo_dir / "dataset.toml").read_text())["as_of"]
    return catalog, tags, datetime.fromisoformat(as_of)


def _stale(row, as_of: datetime) -> bool:
    days = CYCLE_DAYS.get(row.update_cycle)
    return days is not None and (as_of + timedelta(days=1)) - row.last_refresh > timedelta(days=2 * days)


def test_summary_counts_match_the_files(files) -> None:
    catalog, tags, as_of = files
    at = open_page("catalog")
    assert not at.exception
    all_tags = set(catalog["tag"]) | set(tags["tag"])
    assert metric(at, "Tags") == f"{len(all_tags):,}"
    assert metric(at, "Deprecated") == f"{int((catalog['status'] == 'deprecated').sum()):,}"
    assert metric(at, "Stale") == f"{sum(_stale(r, as_of) for r in catalog.itertuples()):,}"
    assert metric(at, "Not in catalog") == f"{len(set(tags['tag']) - set(catalog['tag'])):,}"
    table = table_with(at, "tag")
    assert sorted(table["tag"]) == sorted(all_tags)
    users = tags.groupby("tag")["user_id"].nunique()
    shown = dict(zip(table["tag"], table["users"], strict=True))
    assert all(shown[t] == users.get(t, 0) for t in all_tags)
    stale_shown = set(table.loc[table["stale"], "tag"])
    assert stale_shown == {r.tag for r in catalog.itertuples() if _stale(r, as_of)}
    assert "twice its update cycle" in texts(at)


def test_search_category_and_attention_filters(files) -> None:
    catalog, tags, as_of = files
    at = open_page("catalog")
    at.text_input(key="catalog-q").input("food").run()
    shown = table_with(at, "tag")
    meta = catalog.set_index("tag")
    expected = {
        t for t in set(catalog["tag"]) | set(tags["tag"])
        if "food" in t or "food" in str(meta["description"].get(t, "")).lower()
        or "food" in str(meta["owner"].get(t, "")).lower()
    }  # fmt: skip
    assert set(shown["tag"]) == expected
    at.text_input(key="catalog-q").input("").run()
    at.pills(key="catalog-category").set_value("interest").run()
    at.pills(key="catalog-subcategory").set_value("food").run()
    assert set(table_with(at, "tag")["tag"]) == {
        t for t in set(tags["tag"]) | set(catalog["tag"]) if t.startswith("interest/food/")
    }
    at.pills(key="catalog-category").set_value(None).run()
    at.toggle(key="catalog-attention").set_value(True).run()
    attention = set(table_with(at, "tag")["tag"])
    deprecated = set(catalog.loc[catalog["status"] == "deprecated", "tag"])
    stale = {r.tag for r in catalog.itertuples() if _stale(r, as_of)}
    uncatalogued = set(tags["tag"]) - set(catalog["tag"])
    assert attention == deprecated | stale | uncatalogued | (set(catalog["tag"]) - set(tags["tag"]))


def test_tag_detail_numbers_equal_the_cli_and_pandas(demo_dir, files, capsys, tmp_path) -> None:
    _catalog, tags, _as_of = files
    tag = "interest/food/baking"
    at = open_page("catalog")
    at.selectbox(key="catalog-tag").select(tag).run()
    assert not at.exception
    expected = cli_count(capsys, demo_dir, {"conditions": [{"kind": "tag", "tag": tag, "op": "has"}]}, tmp_path)
    assert metric(at, "Members") == f"{expected['count']:,}"
    assert metric(at, "Coverage") == f"{expected['share'] * 100:.1f}%"
    # related tags: lift recomputed from the long tags table
    holders = tags.groupby("tag")["user_id"].apply(set)
    n = expected["total_users"]
    a = holders[tag]
    related = table_with(at, "Lift")
    top = related.iloc[0]
    b = holders[top["Tag"]]
    assert top["Lift"] == f"×{len(a & b) * n / (len(a) * len(b)):.2f}"
    assert top["Members with both"] == f"{len(a & b):,}"
    best = max(
        (t for t in holders.index if t != tag and len(a & holders[t]) >= 10),
        key=lambda t: len(a & holders[t]) / len(holders[t]),
    )
    assert top["Tag"] == best


def test_value_tag_detail_and_stale_warning(files) -> None:
    catalog, _tags, _as_of = files
    stale_value_tag = "model/churn_risk"  # daily, refreshed months before as_of; values low/medium/high
    at = open_page("catalog")
    at.selectbox(key="catalog-tag").select(stale_value_tag).run()
    warnings = " ".join(w.value for w in at.warning)
    last = catalog.set_index("tag").loc[stale_value_tag, "last_refresh"].strftime("%Y-%m-%d")
    assert "Stale" in warnings and last in warnings
    assert not at.exception


def test_add_to_current_segment_opens_the_builder_with_that_tag(demo_dir, capsys, tmp_path) -> None:
    at = open_page("catalog")
    at.selectbox(key="catalog-tag").select("identity/koc").run()
    at.button(key="catalog-add").click().run()
    assert not at.exception
    expected = {"version": 1, "match": "all", "conditions": [{"kind": "tag", "tag": "identity/koc", "op": "has"}]}
    assert decode_segment(at.query_params["s"]) == parse_segment(expected)
    assert metric(at, "Audience size") == f"{cli_count(capsys, demo_dir, expected, tmp_path)['count']:,}"


def test_catalog_in_chinese(files) -> None:
    catalog, tags, _as_of = files
    at = open_page("catalog", lang="zh")
    assert metric(at, "标签数") == f"{len(set(catalog['tag']) | set(tags['tag'])):,}"
    assert "标签目录" in [t.value for t in at.title]
    assert not at.exception
