"""The definition model: parsing, canonical form, structural checks, words, and URL form."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from core.segments import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_VALUES,
    OPERATOR_LABELS,
    OPERATORS,
    Aipl,
    Attribute,
    Event,
    EventFilter,
    Group,
    Lifecycle,
    Rfm,
    Segment,
    SegmentError,
    SegmentRef,
    Tag,
    decode_segment,
    describe,
    describe_lines,
    encode_segment,
    parse_segment,
    referenced_segments,
)

SPEC_EXAMPLE = {
    "version": 1,
    "match": "all",
    "conditions": [
        {"kind": "attribute", "field": "city", "op": "in", "values": ["Shanghai", "Hangzhou"]},
        {"kind": "attribute", "field": "age", "op": "between", "values": [25, 35]},
        {"kind": "tag", "tag": "interest/food/baking", "op": "has"},
        {
            "kind": "event",
            "event": "purchase",
            "op": ">=",
            "count": 2,
            "within_days": 90,
            "where": [{"field": "product_category", "op": "eq", "value": "cake"}],
        },
        {"kind": "event", "event": "add_to_cart", "op": "=", "count": 0, "within_days": 30},
        {"kind": "rfm", "op": "in", "values": ["important_value", "important_retention"]},
        {"kind": "aipl", "op": "in", "values": ["I", "P"]},
        {"kind": "segment", "op": "not_in", "segment": "complained-last-month"},
        {
            "kind": "group",
            "match": "any",
            "conditions": [
                {"kind": "attribute", "field": "member_level", "op": "gte", "value": 3},
                {"kind": "tag", "tag": "identity/kol", "op": "has"},
            ],
        },
    ],
}


def _issues(obj) -> list[tuple[str, str]]:
    with pytest.raises(SegmentError) as err:
        parse_segment(obj)
    return [(i.path, i.message) for i in err.value.issues]


def _one(condition: dict) -> tuple[str, str]:
    issues = _issues({"conditions": [condition]})
    assert len(issues) == 1, issues
    return issues[0]


# --------------------------------------------------------------------------- parsing


def test_the_spec_example_parses_into_the_typed_tree():
    seg = parse_segment(SPEC_EXAMPLE)
    assert seg.conditions[0] == Attribute("city", "in", values=("Shanghai", "Hangzhou"))
    assert seg.conditions[1] == Attribute("age", "between", values=(25, 35))
    assert seg.conditions[2] == Tag("interest/food/baking", "has")
    assert seg.conditions[3] == Event(
        "purchase", ">=", 2, within_days=90, where=(EventFilter("product_category", "eq", "cake"),)
    )
    assert seg.conditions[4] == Event("add_to_cart", "=", 0, within_days=30)
    assert seg.conditions[5] == Rfm("in", ("important_value", "important_retention"))
    assert seg.conditions[6] == Aipl("in", ("I", "P"))
    assert seg.conditions[7] == SegmentRef("complained-last-month", "not_in")
    assert seg.conditions[8] == Group("any", (Attribute("member_level", "gte", 3), Tag("identity/kol", "has")))
    assert referenced_segments(seg) == ("complained-last-month",)


def test_json_text_and_bytes_parse_like_the_dict():
    text = json.dumps(SPEC_EXAMPLE, ensure_ascii=False)
    assert parse_segment(text) == parse_segment(text.encode("utf-8")) == parse_segment(SPEC_EXAMPLE)


def test_to_dict_of_a_canonical_definition_is_the_same_dict():
    assert parse_segment(SPEC_EXAMPLE).to_dict() == SPEC_EXAMPLE


def test_canonical_form_fills_defaults_and_drops_false_negate():
    seg = parse_segment(
        {
            "conditions": [
                {
                    "kind": "group",
                    "conditions": [{"kind": "tag", "tag": "a/b", "op": "has", "negate": False}],
                }
            ]
        }
    )
    assert seg.to_dict() == {
        "version": 1,
        "match": "all",
        "conditions": [
            {
                "kind": "group",
                "match": "all",
                "conditions": [{"kind": "tag", "tag": "a/b", "op": "has"}],
            }
        ],
    }
    assert parse_segment({}) == Segment() and Segment().to_dict() == {
        "version": 1,
        "match": "all",
        "conditions": [],
    }


def test_negate_true_is_kept_and_round_trips():
    d = {"kind": "lifecycle", "op": "not_in", "values": ["churned"], "negate": True}
    seg = parse_segment({"conditions": [d]})
    assert seg.conditions[0] == Lifecycle("not_in", ("churned",), negate=True)
    assert seg.to_dict()["conditions"] == [d]


def test_round_trip_is_stable_and_json_text_is_canonical():
    seg = parse_segment(SPEC_EXAMPLE)
    assert parse_segment(seg.to_dict()) == seg
    shuffled = json.loads(json.dumps(SPEC_EXAMPLE), object_pairs_hook=lambda kv: dict(reversed(kv)))
    assert parse_segment(shuffled).to_json() == seg.to_json()
    assert " " not in seg.to_json().replace("complained-last-month", "")  # compact


def test_definitions_are_immutable_and_hashable():
    seg = parse_segment(SPEC_EXAMPLE)
    assert {seg: 1}[parse_segment(SPEC_EXAMPLE)] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        seg.match = "any"  # type: ignore[misc]
    built = Segment(conditions=[Attribute("city", "in", values=["a", "b"])])  # lists from Python code
    assert isinstance(built.conditions, tuple) and isinstance(built.conditions[0].values, tuple)
    hash(built)


# --------------------------------------------------------------------------- structural problems

STRUCTURAL = [
    (
        {"kind": "attribute", "feild": "city", "op": "is_null"},
        "conditions[0].feild",
        "Did you mean 'field'",
    ),
    (
        {"kind": "attribut", "field": "city", "op": "is_null"},
        "conditions[0].kind",
        "Did you mean 'attribute'",
    ),
    ({"field": "city", "op": "is_null"}, "conditions[0].kind", "missing 'kind'"),
    (
        {"kind": "attribute", "field": "city", "op": "equals", "value": "x"},
        "conditions[0].op",
        "unknown operator 'equals'",
    ),
    ({"kind": "attribute", "field": "city", "op": "eq"}, "conditions[0].value", "needs a 'value'"),
    (
        {"kind": "attribute", "field": "city", "op": "in", "value": "x"},
        "conditions[0].value",
        "takes 'values' (a list)",
    ),
    (
        {"kind": "attribute", "field": "city", "op": "eq", "values": ["x"]},
        "conditions[0].values",
        "takes one 'value'",
    ),
    (
        {"kind": "attribute", "field": "age", "op": "between", "values": [1, 2, 3]},
        "conditions[0].values",
        "exactly two",
    ),
    (
        {"kind": "attribute", "field": "age", "op": "between", "values": [1]},
        "conditions[0].values",
        "exactly two",
    ),
    (
        {"kind": "attribute", "field": "city", "op": "in", "values": []},
        "conditions[0].values",
        "at least one value",
    ),
    (
        {"kind": "attribute", "field": "city", "op": "in", "values": "x"},
        "conditions[0].values",
        "must be a list",
    ),
    (
        {"kind": "attribute", "field": "city", "op": "is_null", "value": 1},
        "conditions[0].value",
        "takes no value",
    ),
    (
        {"kind": "attribute", "field": "city", "op": "eq", "value": None},
        "conditions[0].value",
        "is_null",
    ),
    (
        {"kind": "attribute", "field": "city", "op": "eq", "value": [1]},
        "conditions[0].value",
        "got a list",
    ),
    (
        {"kind": "attribute", "field": "city", "op": "in", "values": ["a", {"x": 1}]},
        "conditions[0].values[1]",
        "got an object",
    ),
    ({"kind": "attribute", "field": "", "op": "is_null"}, "conditions[0].field", "non-empty"),
    ({"kind": "attribute", "field": 7, "op": "is_null"}, "conditions[0].field", "non-empty text"),
    (
        {"kind": "attribute", "field": "signup_at", "op": "within_last_days", "value": 1.5},
        "conditions[0].value",
        "whole number of days",
    ),
    (
        {"kind": "attribute", "field": "signup_at", "op": "within_last_days", "value": "7"},
        "conditions[0].value",
        "whole number of days",
    ),
    (
        {"kind": "attribute", "field": "signup_at", "op": "within_last_days", "value": 0},
        "conditions[0].value",
        "whole number of days",
    ),
    (
        {"kind": "attribute", "field": "signup_at", "op": "within_last_days", "value": True},
        "conditions[0].value",
        "whole number of days",
    ),
    (
        {"kind": "attribute", "field": "city", "op": "contains", "value": 5},
        "conditions[0].value",
        "looks for text",
    ),
    (
        {"kind": "attribute", "field": "city", "op": "eq", "value": "x", "negate": "yes"},
        "conditions[0].negate",
        "true or false",
    ),
    (
        {"kind": "tag", "tag": "level/score", "op": "eq", "value": 5},
        "conditions[0].value",
        "tag values are text",
    ),
    (
        {"kind": "tag", "tag": "level/score", "op": "in", "values": ["a", 5]},
        "conditions[0].values[1]",
        "tag values are text",
    ),
    (
        {"kind": "tag", "tag": "level/score", "op": "gt", "value": "5"},
        "conditions[0].value",
        "as a number",
    ),
    (
        {"kind": "tag", "tag": "level/score", "op": "ne", "value": "5"},
        "conditions[0].op",
        "Use one of: has, has_not",
    ),
    (
        {"kind": "event", "event": "purchase", "op": ">=", "count": -1},
        "conditions[0].count",
        "whole number ≥ 0",
    ),
    (
        {"kind": "event", "event": "purchase", "op": ">=", "count": True},
        "conditions[0].count",
        "whole number ≥ 0",
    ),
    (
        {"kind": "event", "event": "purchase", "op": ">=", "count": "2"},
        "conditions[0].count",
        "whole number ≥ 0",
    ),
    ({"kind": "event", "event": "purchase", "op": ">="}, "conditions[0].count", "missing 'count'"),
    (
        {"kind": "event", "event": "purchase", "op": "gte", "count": 1},
        "conditions[0].op",
        "Use one of: >=, >, =, <, <=",
    ),
    (
        {"kind": "event", "event": "purchase", "op": ">=", "count": 1, "within_days": 0},
        "conditions[0].within_days",
        "whole number of days",
    ),
    (
        {
            "kind": "event",
            "event": "purchase",
            "op": ">=",
            "count": 1,
            "within_days": 7,
            "between": ["2026-01-01", "2026-01-02"],
        },
        "conditions[0].between",
        "not both",
    ),
    (
        {
            "kind": "event",
            "event": "purchase",
            "op": ">=",
            "count": 1,
            "between": ["2026-13-01", "2026-01-02"],
        },
        "conditions[0].between[0]",
        "not a date",
    ),
    (
        {
            "kind": "event",
            "event": "purchase",
            "op": ">=",
            "count": 1,
            "between": ["2026/01/01", "2026-01-02"],
        },
        "conditions[0].between[0]",
        "YYYY-MM-DD",
    ),
    (
        {
            "kind": "event",
            "event": "purchase",
            "op": ">=",
            "count": 1,
            "between": ["2026-02-01", "2026-01-02"],
        },
        "conditions[0].between",
        "swap them",
    ),
    (
        {
            "kind": "event",
            "event": "purchase",
            "op": ">=",
            "count": 1,
            "where": [{"field": "x", "op": "eq", "value": 1, "negate": True}],
        },
        "conditions[0].where[0].negate",
        "unknown key 'negate' in an event filter",
    ),
    (
        {"kind": "event", "event": "purchase", "op": ">=", "count": 1, "where": {"field": "x"}},
        "conditions[0].where",
        "list of filters",
    ),
    (
        {"kind": "rfm", "op": "in", "values": ["important"]},
        "conditions[0].values[0]",
        "'important' is not a rfm value",
    ),
    (
        {"kind": "rfm", "op": "in", "values": ["important_valu"]},
        "conditions[0].values[0]",
        "Did you mean 'important_value'",
    ),
    ({"kind": "aipl", "op": "in", "values": ["a"]}, "conditions[0].values[0]", "Did you mean 'A'"),
    (
        {"kind": "lifecycle", "op": "eq", "values": ["new"]},
        "conditions[0].op",
        "Use one of: in, not_in",
    ),
    ({"kind": "lifecycle", "op": "in", "values": []}, "conditions[0].values", "non-empty list"),
    ({"kind": "segment", "op": "in"}, "conditions[0].segment", "missing 'segment'"),
    ({"kind": "group", "match": "some", "conditions": []}, "conditions[0].match", '"all"'),
    (
        {"kind": "group", "conditions": {"kind": "tag"}},
        "conditions[0].conditions",
        "must be a list",
    ),
    ("city = Shanghai", "conditions[0]", "must be a JSON object"),
]


@pytest.mark.parametrize(("condition", "path", "fragment"), STRUCTURAL)
def test_structural_problems_name_the_path_and_the_fix(condition, path, fragment):
    got_path, message = _one(condition)
    assert got_path == path
    assert fragment in message


@pytest.mark.parametrize(
    ("root", "path", "fragment"),
    [
        ({"version": 2}, "version", "unsupported version 2"),
        ({"version": True}, "version", "unsupported version"),
        ({"match": "every"}, "match", '"all"'),
        ({"conditons": []}, "conditons", "Did you mean 'conditions'"),
        ({"conditions": "all"}, "conditions", "must be a list"),
        ([], "", "must be a JSON object"),
    ],
)
def test_problems_at_the_top_level(root, path, fragment):
    issues = _issues(root)
    assert any(p == path and fragment in m for p, m in issues), issues


def test_every_problem_is_reported_not_just_the_first():
    issues = _issues(
        {
            "match": "x",
            "conditions": [
                {"kind": "attribute", "field": "city", "op": "eq", "value": "ok"},
                {"kind": "tag", "tag": "a", "op": "bogus"},
                {"kind": "group", "conditions": [{"kind": "aipl", "op": "in", "values": ["Z"]}]},
            ],
        }
    )
    assert [p for p, _ in issues] == [
        "match",
        "conditions[1].op",
        "conditions[2].conditions[0].values[0]",
    ]


def test_error_text_lists_every_issue_with_its_path():
    with pytest.raises(SegmentError) as err:
        parse_segment(
            {
                "conditions": [
                    {"kind": "tag", "tag": "", "op": "has"},
                    {"kind": "rfm", "op": "in", "values": ["x"]},
                ]
            }
        )
    text = str(err.value)
    assert "2 problems" in text and "conditions[0].tag" in text and "conditions[1].values[0]" in text


def test_json_text_problems_say_where():
    with pytest.raises(SegmentError, match=r"not valid JSON: .* line 1, column 17"):
        parse_segment('{"conditions": [}')
    with pytest.raises(SegmentError, match="not UTF-8"):
        parse_segment(b'{"conditions": ["\xff"]}')
    with pytest.raises(SegmentError, match="not a finite number"):
        parse_segment('{"conditions": [{"kind": "attribute", "field": "age", "op": "gt", "value": NaN}]}')


# --------------------------------------------------------------------------- limits


def _nested(depth: int) -> dict:
    node: dict = {"kind": "tag", "tag": "a/b", "op": "has"}
    for _ in range(depth):
        node = {"kind": "group", "match": "any", "conditions": [node]}
    return {"conditions": [node]}


def test_groups_nest_up_to_the_limit_and_no_deeper():
    seg = parse_segment(_nested(MAX_DEPTH))
    assert seg.count_conditions() == MAX_DEPTH + 1
    ((path, message),) = _issues(_nested(MAX_DEPTH + 1))
    assert f"more than {MAX_DEPTH} deep" in message
    assert path.count("conditions") == MAX_DEPTH + 1


def test_condition_count_is_capped():
    ok = {"conditions": [{"kind": "tag", "tag": "a/b", "op": "has"}] * MAX_CONDITIONS}
    assert len(parse_segment(ok).conditions) == MAX_CONDITIONS
    issues = _issues({"conditions": [{"kind": "tag", "tag": "a/b", "op": "has"}] * (MAX_CONDITIONS + 1)})
    assert len(issues) == 1 and f"more than {MAX_CONDITIONS} conditions" in issues[0][1]


def test_value_lists_are_capped_at_the_limit():
    values = [f"id{i}" for i in range(MAX_VALUES)]
    seg = parse_segment({"conditions": [{"kind": "attribute", "field": "user_id", "op": "in", "values": values}]})
    assert len(seg.conditions[0].values) == MAX_VALUES
    ((path, message),) = _issues(
        {
            "conditions": [
                {
                    "kind": "attribute",
                    "field": "user_id",
                    "op": "in",
                    "values": values + ["one more"],
                }
            ]
        }
    )
    assert path == "conditions[0].values" and "100,001 values" in message


# --------------------------------------------------------------------------- words

EN = (
    "city is one of Shanghai, Hangzhou AND age is between 25 and 35 AND has tag interest/food/baking"
    " AND did purchase at least 2 times in the last 90 days (where product_category is cake)"
    " AND did not do add_to_cart in the last 30 days"
    " AND RFM class is one of important_value, important_retention AND AIPL stage is one of I, P"
    " AND is not in saved segment complained-last-month"
    " AND any of (member_level is at least 3 OR has tag identity/kol)"
)
ZH = (
    "城市 属于 Shanghai、Hangzhou 且 年龄 介于 25 和 35 之间 且 拥有标签 interest/food/baking"
    " 且 近90天内 purchase 至少 2 次（条件：商品品类 等于 cake）"
    " 且 近30天内 未发生 add_to_cart"
    " 且 RFM 分类 属于 重要价值客户、重要保持客户 且 AIPL 阶段 属于 I、P"
    " 且 不属于已保存分群 complained-last-month"
    " 且 满足任一（会员等级 大于等于 3 或 拥有标签 identity/kol）"
)


def test_describe_reads_the_spec_example_in_english_and_chinese():
    seg = parse_segment(SPEC_EXAMPLE)
    assert describe(seg) == EN
    assert describe(seg, lang="zh") == ZH


def test_describe_lines_gives_one_line_per_top_level_condition():
    seg = parse_segment(SPEC_EXAMPLE)
    lines = describe_lines(seg)
    assert len(lines) == len(SPEC_EXAMPLE["conditions"])
    assert " AND ".join(lines) == EN
    assert describe_lines(Segment()) == ["all users"] and describe_lines(Segment(), lang="zh") == ["全部用户"]


@pytest.mark.parametrize(
    ("condition", "en", "zh"),
    [
        (
            Group("all", (Tag("a/b"), Tag("c/d")), negate=True),
            "NOT (has tag a/b AND has tag c/d)",
            "非（拥有标签 a/b 且 拥有标签 c/d）",
        ),
        (
            Group("any", (Tag("a/b"), Group("all", (Tag("c/d"), Tag("e/f")))), negate=True),
            "NOT any of (has tag a/b OR (has tag c/d AND has tag e/f))",
            "非满足任一（拥有标签 a/b 或 （拥有标签 c/d 且 拥有标签 e/f））",
        ),
        (Group("all", (Tag("a/b"),), negate=True), "NOT (has tag a/b)", "非（拥有标签 a/b）"),
        (
            Attribute("city", "ne", "Shanghai", negate=True),
            "NOT (city is not Shanghai)",
            "非（城市 不等于 Shanghai）",
        ),
        (Group("any", ()), "all users", "全部用户"),
        (Event("purchase", "=", 1), "did purchase exactly 1 time", "purchase 恰好 1 次"),
        (
            Event("purchase", "<", 1, between=("2026-01-01", "2026-01-31")),
            "did not do purchase between 2026-01-01 and 2026-01-31",
            "2026-01-01 至 2026-01-31 期间 未发生 purchase",
        ),
        (Attribute("city", "contains", "50%_off"), 'city contains "50%_off"', "城市 包含“50%_off”"),
        (
            Attribute("signup_at", "within_last_days", 7),
            "signup_at is within the last 7 days",
            "注册时间 在最近 7 天内",
        ),
        (Attribute("vip", "eq", True), "vip is true", "vip 等于 是"),
        (Attribute("age", "is_null"), "age is empty", "年龄 为空"),
        (
            Tag("level/score", "gt", 3),
            "has tag level/score with value greater than 3",
            "标签 level/score 的值 大于 3",
        ),
        (
            Tag("pref/color", "eq", "red"),
            "has tag pref/color with value red",
            "标签 pref/color 的值 等于 red",
        ),
        (Lifecycle("in", ("churned",)), "lifecycle state is one of churned", "生命周期 属于 流失"),
    ],
)
def test_describe_each_kind(condition, en, zh):
    seg = Segment(conditions=(condition,))
    assert describe(seg) == en
    assert describe(seg, lang="zh") == zh


def test_describe_uses_date_words_when_the_catalog_says_timestamp():
    from datetime import date

    from core.catalog import Catalog, Column

    cat = Catalog(
        as_of=date(2026, 6, 30),
        total_users=0,
        attributes={"signup_at": Column("signup_at", "timestamp")},
    )
    seg = Segment(conditions=(Attribute("signup_at", "gt", "2026-01-01"),))
    assert describe(seg, cat) == "signup_at is after 2026-01-01"
    assert describe(seg, cat, lang="zh") == "注册时间 晚于 2026-01-01"
    assert describe(seg) == "signup_at is greater than 2026-01-01"


def test_describe_shortens_long_lists():
    seg = Segment(conditions=(Attribute("user_id", "in", values=tuple(f"u{i}" for i in range(50_000))),))
    text = describe(seg)
    assert text.startswith("user_id is one of u0, u1,") and text.endswith("… (50,000 values)")
    assert len(text) < 200


def test_operator_labels_cover_every_operator_in_both_languages():
    every_op = {op for ops in OPERATORS.values() for op in ops}
    for lang in ("en", "zh"):
        assert every_op <= set(OPERATOR_LABELS[lang]), every_op - set(OPERATOR_LABELS[lang])
        assert all(label.strip() for label in OPERATOR_LABELS[lang].values())
    assert OPERATOR_LABELS["en"]["eq"] == "is" and OPERATOR_LABELS["zh"]["eq"] == "等于"


def test_describe_refuses_an_unknown_language():
    with pytest.raises(ValueError, match="language"):
        describe(Segment(), lang="fr")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- URL form


def test_url_form_round_trips_and_is_url_safe_and_short():
    seg = parse_segment(SPEC_EXAMPLE)
    text = encode_segment(seg)
    assert text.startswith("1")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", text)
    assert len(text) < len(seg.to_json())  # deflate pays off on a real definition
    assert decode_segment(text) == seg
    assert decode_segment(f"  {text}\n") == seg  # pasted with whitespace
    assert encode_segment(parse_segment(seg.to_json())) == text  # deterministic


def test_url_form_round_trips_unicode_and_big_lists():
    seg = Segment(
        conditions=(
            Attribute("city", "in", values=("上海", "Xi'an 🍰", 'a"b', "\\")),
            Attribute("user_id", "in", values=tuple(f"user-{i}" for i in range(20_000))),
        )
    )
    assert decode_segment(encode_segment(seg)) == seg


def test_url_form_refuses_to_encode_a_broken_hand_built_tree():
    with pytest.raises(SegmentError, match="not a finite number"):
        encode_segment(Segment(conditions=(Attribute("age", "gt", float("nan")),)))
