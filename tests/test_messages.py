"""Core's messages as codes + parameters: English from core, 简体中文 from dashboard/texts/messages.py."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from core.export import ExportError, ExportOptions
from core.messages import Message, all_templates, msg, placeholders
from core.problems import Problem
from core.segments.model import SegmentError, parse_segment
from core.segments.urlcodec import encode_segment
from dashboard import cli
from dashboard.messages import error_text, issue_text, problem_text
from dashboard.texts.messages import ZH
from tests.apptest_harness import open_page

ROOT = Path(__file__).resolve().parents[1]


def test_every_code_has_a_chinese_template_with_the_same_parameters():
    english = all_templates()
    missing = sorted(set(english) - set(ZH))
    assert not missing, f"codes without a Chinese template in dashboard/texts/messages.py: {missing}"
    assert not sorted(set(ZH) - set(english)), "Chinese templates for codes core no longer has"
    for code, zh in ZH.items():
        # the Chinese may leave out a parameter (an English article) but never invent one
        assert placeholders(zh) <= placeholders(english[code]), code


def test_every_code_used_in_the_source_has_an_english_template():
    used: set[str] = set()
    for path in [*ROOT.glob("core/**/*.py"), *ROOT.glob("dashboard/**/*.py")]:
        used |= set(re.findall(r"\bmsg\(\s*f?\"([a-z0-9_.]+)", path.read_text(encoding="utf-8")))
    assert used, "the scan found no msg() calls"
    english = all_templates()
    assert sorted(c for c in used if c not in english and not c.endswith(".")) == []


def test_english_is_core_text_and_chinese_is_the_same_code_rendered():
    with pytest.raises(SegmentError) as err:
        parse_segment({"conditions": [{"kind": "attribut", "field": "city", "op": "eq", "value": "x"}]})
    (issue,) = err.value.issues
    english = "unknown kind 'attribut'. Did you mean 'attribute'? Use one of: "
    assert issue.message.startswith(english) and issue.detail is not None
    assert issue.detail.code == "segment.unknown_kind"
    assert issue_text(issue, "en") == str(issue)
    zh = issue_text(issue, "zh")
    assert zh.startswith("conditions[0].kind: 未知的条件类型 'attribut'。是否想用 'attribute'？请使用：")
    assert error_text(err.value, "zh") == f"分群定义无效：{zh}"
    assert error_text(err.value, "en") == str(err.value) == f"Invalid segment: {issue}"


def test_a_coded_refusal_and_a_validation_problem_render_in_both_languages():
    with pytest.raises(ExportError) as err:
        ExportOptions(channel="sms", format="xlsx").checked()
    assert str(err.value) == "Unknown format 'xlsx'; use csv or parquet."
    assert error_text(err.value, "zh") == "未知的格式 'xlsx'；请使用 csv 或 parquet。"
    problem = Problem.of("users.parquet", "age", msg("segment.not_a_date", value="'x'"), "plain English fix")
    assert problem.message == "'x' is not a date; write YYYY-MM-DD."
    assert problem_text(problem, "zh") == ("'x' 不是日期；请写成 YYYY-MM-DD。", "plain English fix")


def test_a_message_without_a_translation_falls_back_to_english():
    m = Message("segment.null_value", {})
    assert m.render({}) == m.render({"other.code": "x"}) == str(m)
    assert error_text(ValueError("plain"), "zh") == "plain"
    with pytest.raises(KeyError):
        msg("segment.no_such_code")


def test_the_cli_keeps_english_and_speaks_chinese_with_lang(capsys, demo_dir, tmp_path):
    seg = tmp_path / "seg.json"
    seg.write_text(
        '{"conditions": [{"kind": "attribute", "field": "citty", "op": "eq", "value": "x"}]}', encoding="utf-8"
    )
    assert cli.main(["count", str(demo_dir), "--segment", str(seg)]) == 2
    err = capsys.readouterr().err
    assert "conditions[0].field: unknown attribute 'citty'. Did you mean 'city'?" in err
    for argv in (["--lang", "zh", "count", str(demo_dir), "--segment", str(seg)],
                 ["count", str(demo_dir), "--segment", str(seg), "--lang", "zh"]):  # fmt: skip
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        # the command's frame stays English; core's reason is in Chinese
        assert "the segment cannot be used on this dataset" in err
        assert "conditions[0].field: 未知的用户属性 'citty'。是否想用 'city'？" in err


@pytest.mark.parametrize(
    ("lang", "says"),
    [("en", "unknown attribute 'citty'. Did you mean 'city'?"), ("zh", "未知的用户属性 'citty'。是否想用 'city'？")],
)
def test_the_builder_shows_a_bad_link_in_the_interface_language(monkeypatch, demo_dir, lang, says):
    monkeypatch.setenv("ADESK_DATA", str(demo_dir))
    bad = encode_segment(
        parse_segment({"conditions": [{"kind": "attribute", "field": "citty", "op": "eq", "value": "x"}]})
    )
    at = open_page("builder", {"s": bad}, lang=lang)
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert says in errors, errors


# --- the validator's value, cross-table and dataset.toml checks, the Overview's health, the store ----------


def _members(root: Path, ids: list[str], events: list[str]) -> None:
    """users with `ids` (repeats allowed) and one product_view per entry of `events` (a user_id each)."""
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"user_id": ids, "city": ["Shanghai"] * len(ids)}).to_parquet(root / "users.parquet", index=False)
    pd.DataFrame(
        {
            "user_id": events,
            "event": ["product_view"] * len(events),
            "ts": pd.date_range("2026-05-01", periods=len(events), freq="h"),
        }
    ).to_parquet(root / "events.parquet", index=False)


def _table_text(at) -> str:
    return "\n".join(t.value.to_string() for t in at.table)


def test_an_unusable_dataset_lists_its_value_problems_in_chinese(monkeypatch, tmp_path):
    ids = ["u1", "u1", "u2", "u3", "u3", "u3", "u4"]
    _members(tmp_path / "ds", ids, ["u1", "u2"])
    duplicated = pd.Series(ids).value_counts()
    n_ids, n_rows = int((duplicated > 1).sum()), int(duplicated[duplicated > 1].sum())  # 2 ids on 5 rows
    monkeypatch.setenv("ADESK_DATA", str(tmp_path / "ds"))
    at = open_page("builder", lang="zh")
    assert not at.exception
    shown = _table_text(at)
    assert f"{n_ids} 个 user_id 出现了不止一次（{n_rows} 行）" in shown, shown
    assert "每个 user_id 只保留一行" in shown and "错误" in shown
    assert "more than once" not in shown and "Keep one row" not in shown
    english = _table_text(open_page("builder", lang="en"))
    assert f"{n_ids} user_ids appear more than once ({n_rows} rows)" in english


def test_the_overview_shows_the_health_warnings_in_chinese(monkeypatch, tmp_path):
    root = tmp_path / "ds"
    events = ["u1", "u2", "ghost", "ghost", "u2", "nobody"]
    _members(root, ["u1", "u2", "u3"], events)
    (root / "dataset.toml").write_text('[privacy]\npii_columns = ["phone"]\n', encoding="utf-8")
    unknown = sum(1 for e in events if e not in {"u1", "u2", "u3"})  # events of users not in users
    monkeypatch.setenv("ADESK_DATA", str(root))
    at = open_page("overview", lang="zh")
    assert not at.exception
    shown = _table_text(at)
    # the validator's check against dataset.toml, and the build's count: both kept, with their codes, in the cache
    assert "dataset.toml 中列出的个人信息列 'phone' 不是 users 的列。" in shown, shown
    assert f"{unknown} 条事件（截至 as_of）属于 users 中没有的用户。" in shown, shown
    assert "警告" in shown and "named in dataset.toml" not in shown and "belong to users" not in shown
    english = _table_text(open_page("overview", lang="en"))
    assert f"{unknown} events (up to as_of) belong to users not in users." in english


def test_a_dataset_toml_problem_and_a_store_refusal_in_chinese(tmp_path):
    from core.config import load_config
    from core.store import AppStore, StoreError

    (tmp_path / "dataset.toml").write_text('[rfm]\nwindow_days = "365"\n', encoding="utf-8")
    _, problems = load_config(tmp_path)
    texts = {p.column: problem_text(p, "zh") for p in problems}
    assert texts["rfm.window_days"] == ("'rfm.window_days' 是 '365'，应为整数。", "请把 'rfm.window_days' 写成整数。")
    assert [p.message for p in problems if p.column == "rfm.window_days"] == [
        "'rfm.window_days' is '365', expected a whole number."
    ]
    store = AppStore(tmp_path / "app.db")
    with pytest.raises(StoreError) as err:
        store.delete_segment("no-such-segment")
    assert (
        str(err.value) == "There is no saved segment 'no-such-segment'. `adesk segments list` shows the saved segments."
    )
    assert error_text(err.value, "zh") == "没有已保存分群 'no-such-segment'。`adesk segments list` 列出全部已保存分群。"


def test_an_access_refusal_in_chinese():
    from core.access import AccessError, subject_of

    with pytest.raises(AccessError) as err:
        subject_of("ann.brand.com")
    assert str(err.value) == "'ann.brand.com' is neither an e-mail address nor 'group:NAME'."
    assert error_text(err.value, "zh") == "'ann.brand.com' 既不是电子邮件地址，也不是 'group:名称'。"
