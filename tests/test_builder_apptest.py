"""Segment Builder in AppTest: widgets driven by key; every number shown equals `adesk` for the same definition."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.segments.model import parse_segment
from core.segments.urlcodec import decode_segment, encode_segment
from core.store import AppStore, default_db_path
from tests.apptest_harness import (
    cli_count,
    cli_json,
    metric,
    open_page,
    row_keys,
    table_with,
    texts,
)
from tests.datasets import THREE_CONDITIONS


@pytest.fixture(autouse=True)
def _data(monkeypatch, demo_dir):
    monkeypatch.setenv("ADESK_DATA", str(demo_dir))


@pytest.fixture(scope="module")
def users(demo_dir) -> pd.DataFrame:
    return pd.read_parquet(demo_dir / "users.parquet")


def _shown_size(at) -> str:
    return metric(at, "Audience size")


def test_building_by_widgets_shows_the_cli_count_and_keeps_the_url_in_sync(demo_dir, users, capsys, tmp_path) -> None:
    at = open_page("builder")
    assert not at.exception
    assert _shown_size(at) == f"{len(users):,}"  # no conditions: every member
    at.button(key="b-root-addrow").click().run()
    at.selectbox(key="b-r1-target").select("city").run()
    assert at.selectbox(key="b-r1-op").value == "in"
    at.multiselect(key="b-r1-multi").select("Shanghai").select("Hangzhou").run()
    at.button(key="b-root-addgroup").click().run()
    at.segmented_control(key="b-g2-match").set_value("any").run()
    at.selectbox(key="b-r3-kind").select("tag").run()
    at.selectbox(key="b-r3-target").select("interest/food/baking").run()
    at.button(key="b-g2-addrow").click().run()
    at.selectbox(key="b-r4-kind").select("event").run()
    at.selectbox(key="b-r4-target").select("purchase").run()
    at.number_input(key="b-r4-count").set_value(2).run()
    at.number_input(key="b-r4-days").set_value(90).run()
    assert not at.exception

    expected = cli_count(capsys, demo_dir, THREE_CONDITIONS, tmp_path)
    assert _shown_size(at) == f"{expected['count']:,}"
    assert metric(at, "Share of all members") == f"{expected['share'] * 100:.1f}%"
    # the URL carries exactly this definition
    assert decode_segment(at.query_params["s"]) == parse_segment(THREE_CONDITIONS)
    # reach per channel: members with consent TRUE, recomputed here from the Parquet file
    members = users[users["city"].isin(["Shanghai", "Hangzhou"])]
    assert expected["count"] < len(members)  # the OR group really narrows it
    in_city_sms = int(members["sms_opt_in"].fillna(False).astype(bool).sum())
    assert int(metric(at, "Reachable by SMS").replace(",", "")) <= in_city_sms
    # "how this was counted" names the count, the base and as_of
    body = texts(at)
    assert f"**{expected['count']:,}** of **{len(users):,}** members" in body
    assert f"as of **{expected['as_of']}**" in body
    assert "did purchase at least 2 times in the last 90 days" in body


def test_negate_duplicate_and_remove_rows(demo_dir, capsys, tmp_path) -> None:
    at = open_page("builder", {"s": encode_segment(parse_segment(THREE_CONDITIONS))})
    first = row_keys(at)[0].removesuffix("-kind")
    at.toggle(key=f"{first}-not").set_value(True).run()
    negated = json.loads(json.dumps(THREE_CONDITIONS))
    negated["conditions"][0]["negate"] = True
    assert _shown_size(at) == f"{cli_count(capsys, demo_dir, negated, tmp_path)['count']:,}"
    assert decode_segment(at.query_params["s"]) == parse_segment(negated)

    at.button(key=f"{first}-dup").click().run()
    assert len(row_keys(at)) == 4
    assert decode_segment(at.query_params["s"]).conditions[0] == decode_segment(at.query_params["s"]).conditions[1]
    at.button(key=f"{first}-del").click().run()
    at.button(key=f"{row_keys(at)[0].removesuffix('-kind')}-del").click().run()
    only_group = {"version": 1, "match": "all", "conditions": [THREE_CONDITIONS["conditions"][1]]}
    assert decode_segment(at.query_params["s"]) == parse_segment(only_group)
    assert _shown_size(at) == f"{cli_count(capsys, demo_dir, only_group, tmp_path)['count']:,}"


def test_a_share_link_restores_the_rows_and_the_count(demo_dir, capsys, tmp_path) -> None:
    at = open_page("builder", {"s": encode_segment(parse_segment(THREE_CONDITIONS))})
    assert not at.exception and not at.error
    assert len(row_keys(at)) == 3
    assert at.multiselect(key="b-r1-multi").value == ["Shanghai", "Hangzhou"]
    assert at.segmented_control(key=f"b-{_group_id(at)}-match").value == "any"
    expected = cli_count(capsys, demo_dir, THREE_CONDITIONS, tmp_path)
    assert _shown_size(at) == f"{expected['count']:,}"
    link = [c.value for c in at.code if "?s=" in c.value][0]
    assert link.startswith("/builder?s=") and "lang=en" in link


def _group_id(at) -> str:
    return (
        next(w.key for w in at.segmented_control if w.key.startswith("b-g")).removeprefix("b-").removesuffix("-match")
    )


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"s": "1abc!!"}, "cannot be read"),
        ({"s": "9xyz"}, "cannot be read"),
        (
            {
                "s": encode_segment(
                    parse_segment({"conditions": [{"kind": "attribute", "field": "citty", "op": "eq", "value": "x"}]})
                )
            },
            "citty",
        ),
        (
            {
                "s": encode_segment(
                    parse_segment({"conditions": [{"kind": "tag", "tag": "interest/food/bakin", "op": "has"}]})
                )
            },
            "interest/food/baking",
        ),
        ({"segment": "no-such-segment"}, "no-such-segment"),
    ],
)
def test_a_bad_link_shows_why_and_an_empty_builder(users, query: dict, says: str) -> None:
    at = open_page("builder", query)
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert says in errors and "Traceback" not in errors
    assert row_keys(at) == []
    assert _shown_size(at) == f"{len(users):,}"


def test_a_link_to_a_deleted_saved_segment_is_refused(users) -> None:
    store = AppStore(default_db_path())
    saved = store.save_segment(
        "Old campaign", parse_segment({"conditions": [{"kind": "aipl", "op": "in", "values": ["P"]}]})
    )
    store.delete_segment(saved.id)
    ref = {"conditions": [{"kind": "segment", "op": "in", "segment": saved.id}]}
    for query in ({"s": encode_segment(parse_segment(ref))}, {"segment": saved.id}):
        at = open_page("builder", query)
        assert not at.exception
        assert saved.id in " ".join(e.value for e in at.error)
        assert row_keys(at) == [] and _shown_size(at) == f"{len(users):,}"


def test_import_from_file_and_paste(demo_dir, users, capsys, tmp_path) -> None:
    at = open_page("builder")
    at.file_uploader(key="builder-import-file").upload(
        "vip.json", json.dumps(THREE_CONDITIONS).encode(), "application/json"
    ).run()
    assert not at.exception
    assert _shown_size(at) == f"{cli_count(capsys, demo_dir, THREE_CONDITIONS, tmp_path)['count']:,}"
    assert len(row_keys(at)) == 3

    at.text_area(key="builder-import-text").input(
        '{"conditions": [{"kind": "attribute", "field": "age", "op": "between"}]}'
    )
    at.button(key="builder-json-import").click().run()
    assert "'between' needs 'values'" in " ".join(e.value for e in at.error)
    assert row_keys(at) == [] and _shown_size(at) == f"{len(users):,}"

    at.text_area(key="builder-import-text").input("{not json").run()
    at.button(key="builder-json-import").click().run()
    assert "not valid JSON" in " ".join(e.value for e in at.error)
    assert not at.exception


def test_save_save_as_load_rename_and_delete(demo_dir, capsys, tmp_path) -> None:
    store = AppStore(default_db_path())
    at = open_page("builder", {"s": encode_segment(parse_segment(THREE_CONDITIONS))})
    at.text_input(key="builder-saveas-name").input("Baking fans in SH/HZ")
    at.button(key="builder-saveas-confirm").click().run()
    (saved,) = store.list_segments()
    assert saved.name == "Baking fans in SH/HZ" and saved.segment == parse_segment(THREE_CONDITIONS)
    assert at.query_params["segment"] == saved.id
    assert at.button(key="builder-save").disabled  # nothing changed since saving

    first = row_keys(at)[0].removesuffix("-kind")
    at.toggle(key=f"{first}-not").set_value(True).run()
    at.button(key="builder-save").click().run()
    assert store.get_segment(saved.id).version == 2
    assert store.get_segment(saved.id).segment.conditions[0].negate

    at.text_input(key="builder-rename-name").input("Bakers outside SH/HZ")
    at.button(key="builder-rename-confirm").click().run()
    assert store.get_segment(saved.id).name == "Bakers outside SH/HZ"

    at.button(key="builder-new").click().run()
    assert row_keys(at) == []
    at.selectbox(key="builder-saved-pick").select(saved.id).run()
    assert len(row_keys(at)) == 3
    definition = store.get_segment(saved.id).segment.to_dict()
    assert _shown_size(at) == f"{cli_count(capsys, demo_dir, definition, tmp_path)['count']:,}"

    at.button(key="builder-delete-confirm").click().run()
    assert store.get_segment(saved.id) is None
    assert "segment" not in at.query_params
    assert len(row_keys(at)) == 3  # the conditions stay, unsaved


def test_overlap_with_a_saved_segment_equals_the_cli(demo_dir, capsys, tmp_path) -> None:
    shanghai = {
        "version": 1,
        "match": "all",
        "conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Shanghai"}],
    }
    buyers = {
        "version": 1,
        "match": "all",
        "conditions": [{"kind": "event", "event": "purchase", "op": ">=", "count": 1, "within_days": 180}],
    }
    saved = AppStore(default_db_path()).save_segment("Shanghai", parse_segment(shanghai))
    at = open_page("builder", {"s": encode_segment(parse_segment(buyers))})
    at.session_state["builder-tabs"] = "Overlap"
    at.run()
    at.multiselect(key="builder-overlap").select(saved.id).run()
    table = table_with(at, "In both")
    both = {"version": 1, "match": "all", "conditions": shanghai["conditions"] + buyers["conditions"]}
    assert table.iloc[0]["In both"] == f"{cli_count(capsys, demo_dir, both, tmp_path)['count']:,}"
    assert table.iloc[0]["Its size"] == f"{cli_count(capsys, demo_dir, shanghai, tmp_path)['count']:,}"


def test_breakdown_equals_the_cli(demo_dir, capsys, tmp_path) -> None:
    at = open_page("builder", {"s": encode_segment(parse_segment(THREE_CONDITIONS))})
    at.selectbox(key="builder-by").select("member_level").run()
    table = table_with(at, "Index")
    path = tmp_path / "three.json"
    path.write_text(json.dumps(THREE_CONDITIONS))
    expected = cli_json(capsys, ["breakdown", str(demo_dir), "--segment", str(path), "--by", "member_level"])
    assert table["Value"].tolist() == [
        r["value"] if r["kind"] == "value" else "(missing)" if r["kind"] == "missing" else "(other)"
        for r in expected["rows"]
    ]
    assert table["In segment"].tolist() == [f"{r['count_in_segment']:,}" for r in expected["rows"]]
    assert table["All members"].tolist() == [f"{r['count_in_base']:,}" for r in expected["rows"]]


def test_high_cardinality_text_is_searched_not_listed_and_personal_data_is_never_suggested(
    demo_dir, capsys, tmp_path, users
) -> None:
    at = open_page("builder")
    at.button(key="b-root-addrow").click().run()
    at.selectbox(key="b-r1-target").select("store_code").run()
    assert at.multiselect(key="b-r1-multi").options == []  # thousands of codes: nothing loaded up front
    codes = users["store_code"].dropna()
    needle = codes.iloc[0][:6].lower()  # e.g. "csx-51": a few dozen codes at most
    at.text_input(key="b-r1-q").input(needle).run()
    options = [o.split(" · ")[0] for o in at.multiselect(key="b-r1-multi").options]
    matches = codes[codes.str.lower().str.contains(needle, regex=False)]
    assert len(options) == min(50, matches.nunique()) and set(options) <= set(matches)
    code = options[0]
    at.multiselect(key="b-r1-multi").select(code).run()
    expected = {
        "version": 1,
        "match": "all",
        "conditions": [{"kind": "attribute", "field": "store_code", "op": "in", "values": [code]}],
    }
    assert _shown_size(at) == f"{cli_count(capsys, demo_dir, expected, tmp_path)['count']:,}"
    assert _shown_size(at) == f"{int((codes == code).sum()):,}"

    at.selectbox(key="b-r1-target").select("phone").run()
    assert at.multiselect(key="b-r1-multi").options == []
    assert not [w for w in at.text_input if w.key == "b-r1-q"]  # no search box for personal data


def test_chinese_labels_same_numbers(demo_dir, capsys, tmp_path) -> None:
    at = open_page("builder", {"s": encode_segment(parse_segment(THREE_CONDITIONS))}, lang="zh")
    expected = cli_count(capsys, demo_dir, THREE_CONDITIONS, tmp_path)
    assert metric(at, "人群规模") == f"{expected['count']:,}"
    assert metric(at, "占全部会员") == f"{expected['share'] * 100:.1f}%"
    body = texts(at)
    assert "满足以下**全部**条件的会员" in body and "近90天内 purchase 至少 2 次" in body
    assert "标签" in at.selectbox(key="b-r1-kind").options and "用户属性" in at.selectbox(key="b-r1-kind").options
    assert not at.exception


def test_the_stale_saved_segment_loads_with_a_warning_not_a_crash() -> None:
    store = AppStore(default_db_path())
    stale = store.save_segment("Made on another dataset", parse_segment({"conditions": [
        {"kind": "tag", "tag": "interest/food/gone", "op": "eq", "value": "x"},
        {"kind": "event", "event": "purchase", "op": ">=", "count": 1,
         "where": [{"field": "colour", "op": "eq", "value": "red"}]},
    ]}))  # fmt: skip
    at = open_page("builder")
    at.selectbox(key="builder-saved-pick").select(stale.id).run()
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "interest/food/gone" in warning and "colour" in warning
    assert len(row_keys(at)) == 2  # loaded, so the operator can fix the rows


def test_bench_reports_builder_rerun_times(demo_dir) -> None:
    import argparse

    from dashboard import builder_bench as bench

    result = bench.run(argparse.Namespace(data=str(demo_dir), runs=3, cache_dir=None))
    for scenario in ("edit_with_breakdown", "edit_with_overlap_of_2_saved"):
        times = result[scenario]["server_ms"]
        assert 0 < times["p50"] <= times["max"] < 60_000
        assert result[scenario]["runs"] == 3
    assert result["users"] == 20_000
    assert "meets target" in bench.render(result)
