"""Compiling definitions to SQL: a table of condition -> SQL and parameters, and validation.

No data needed: a hand-built catalog stands in for a dataset.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlglot

from core.catalog import Catalog, Column, TagInfo
from core.segments import (
    OPERATORS,
    Attribute,
    Segment,
    SegmentError,
    SegmentRef,
    compile_where,
    count_query,
    members_query,
    parse_segment,
    validate_against,
)

CATALOG = Catalog(
    as_of=date(2026, 6, 30),
    total_users=100,
    attributes={
        "city": Column("city", "string"),
        "age": Column("age", "integer"),
        "score": Column("score", "number"),
        "vip": Column("vip", "boolean"),
        "signup_at": Column("signup_at", "timestamp"),
        "birthday": Column("birthday", "date"),
    },
    tags={
        "interest/food/baking": TagInfo("interest/food/baking", "_tag_1"),
        "level/score": TagInfo("level/score", "_tag_2", "_tagv_2"),
    },
    events=("purchase", "add_to_cart"),
    event_properties={
        "product_category": Column("product_category", "string"),
        "quantity": Column("quantity", "integer"),
    },
    event_counters={("purchase", 30): "_ev_3_30", ("purchase", None): "_ev_3_all"},
)


def ts(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d)


def compiled(condition: dict, resolve=None):
    return compile_where(parse_segment({"conditions": [condition]}), CATALOG, resolve)


def attr(field: str, op: str, **operand) -> dict:
    return {"kind": "attribute", "field": field, "op": op, **operand}


def event(op: str, count: int, **rest) -> dict:
    return {
        "kind": "event",
        "event": rest.pop("event", "purchase"),
        "op": op,
        "count": count,
        **rest,
    }


def sub(where: str, having: str) -> str:
    """The events subquery the compiler emits, with its WHERE and HAVING."""
    return (
        'COALESCE("_uid" IN (SELECT "ev"."_uid" FROM event_rows AS ev WHERE '
        f'{where} GROUP BY "ev"."_uid" HAVING {having}), FALSE)'
    )


PURCHASE, ADD_TO_CART = 2, 1  # event codes: 1-based positions among the sorted event names
W45 = '"ev"."_ei" = $p0 AND "ev"."ts" >= $p1 AND "ev"."ts" < $p2'  # purchase in the last 45 days
W45_PARAMS = {"p0": PURCHASE, "p1": ts(2026, 5, 17), "p2": ts(2026, 7, 1)}

CASES = [
    # ---- text
    (attr("city", "eq", value="Shanghai"), 'COALESCE("city" = $p0, FALSE)', {"p0": "Shanghai"}),
    (attr("city", "ne", value="Shanghai"), 'NOT COALESCE("city" = $p0, FALSE)', {"p0": "Shanghai"}),
    (
        attr("city", "in", values=["Shanghai", "杭州"]),
        'COALESCE("city" IN ($p0, $p1), FALSE)',
        {"p0": "Shanghai", "p1": "杭州"},
    ),
    (  # past SHORT_LIST values the list is one parameter
        attr("city", "in", values=[f"c{i}" for i in range(17)]),
        'COALESCE("city" IN (SELECT UNNEST($p0)), FALSE)',
        {"p0": [f"c{i}" for i in range(17)]},
    ),
    (
        attr("city", "not_in", values=["a"]),
        'NOT COALESCE("city" IN ($p0), FALSE)',
        {"p0": "a"},
    ),
    (
        attr("city", "contains", value="50%_off"),
        'COALESCE(STRPOS(LOWER("city"), LOWER($p0)) > 0, FALSE)',
        {"p0": "50%_off"},
    ),
    (attr("city", "gt", value="M"), 'COALESCE("city" > $p0, FALSE)', {"p0": "M"}),
    (attr("city", "lte", value="M"), 'COALESCE("city" <= $p0, FALSE)', {"p0": "M"}),
    (
        attr("city", "eq", value=200000),
        'COALESCE("city" = $p0, FALSE)',
        {"p0": "200000"},
    ),  # a number typed for text
    (attr("city", "is_null"), '"city" IS NULL', {}),
    (attr("city", "not_null"), 'NOT "city" IS NULL', {}),
    (
        attr("user_id", "in", values=["u1", "u2"]),
        'COALESCE("user_id" IN ($p0, $p1), FALSE)',
        {"p0": "u1", "p1": "u2"},
    ),
    # ---- numbers
    (
        attr("age", "between", values=[25, 35]),
        'COALESCE("age" BETWEEN $p0 AND $p1, FALSE)',
        {"p0": 25, "p1": 35},
    ),
    (attr("age", "gte", value=18), 'COALESCE("age" >= $p0, FALSE)', {"p0": 18}),
    (attr("age", "lt", value=17.5), 'COALESCE("age" < $p0, FALSE)', {"p0": 17.5}),
    (
        attr("age", "in", values=[1, 2]),
        'COALESCE("age" IN ($p0, $p1), FALSE)',
        {"p0": 1, "p1": 2},
    ),
    (
        attr("age", "in", values=[1, 2.5]),
        'COALESCE("age" IN ($p0, $p1), FALSE)',
        {"p0": 1.0, "p1": 2.5},
    ),
    (attr("score", "eq", value=3), 'COALESCE("score" = $p0, FALSE)', {"p0": 3.0}),
    (attr("score", "ne", value=3.5), 'NOT COALESCE("score" = $p0, FALSE)', {"p0": 3.5}),
    # ---- true/false
    (attr("vip", "eq", value=True), 'COALESCE("vip" = $p0, FALSE)', {"p0": True}),
    (attr("vip", "ne", value=False), 'NOT COALESCE("vip" = $p0, FALSE)', {"p0": False}),
    # ---- timestamps compare whole days
    (
        attr("signup_at", "eq", value="2026-01-31"),
        'COALESCE("signup_at" >= $p0 AND "signup_at" < $p1, FALSE)',
        {"p0": ts(2026, 1, 31), "p1": ts(2026, 2, 1)},
    ),
    (
        attr("signup_at", "gt", value="2026-01-31"),
        'COALESCE("signup_at" >= $p0, FALSE)',
        {"p0": ts(2026, 2, 1)},
    ),
    (
        attr("signup_at", "gte", value="2026-01-31"),
        'COALESCE("signup_at" >= $p0, FALSE)',
        {"p0": ts(2026, 1, 31)},
    ),
    (
        attr("signup_at", "lt", value="2026-01-31"),
        'COALESCE("signup_at" < $p0, FALSE)',
        {"p0": ts(2026, 1, 31)},
    ),
    (
        attr("signup_at", "lte", value="2026-01-31"),
        'COALESCE("signup_at" < $p0, FALSE)',
        {"p0": ts(2026, 2, 1)},
    ),
    (
        attr("signup_at", "between", values=["2026-01-01", "2026-01-31"]),
        'COALESCE("signup_at" >= $p0 AND "signup_at" < $p1, FALSE)',
        {"p0": ts(2026, 1, 1), "p1": ts(2026, 2, 1)},
    ),
    (
        attr("signup_at", "within_last_days", value=7),
        'COALESCE("signup_at" >= $p0 AND "signup_at" < $p1, FALSE)',
        {"p0": ts(2026, 6, 24), "p1": ts(2026, 7, 1)},
    ),
    (
        attr("signup_at", "not_in", values=["2026-01-01", "2026-01-01", "2026-03-01"]),
        'NOT COALESCE(CAST("signup_at" AS DATE) IN ($p0, $p1), FALSE)',
        {"p0": date(2026, 1, 1), "p1": date(2026, 3, 1)},
    ),
    (
        attr("birthday", "gt", value="2000-02-28"),
        'COALESCE("birthday" >= $p0, FALSE)',
        {"p0": date(2000, 2, 29)},
    ),
    (
        attr("birthday", "within_last_days", value=1),
        'COALESCE("birthday" >= $p0 AND "birthday" < $p1, FALSE)',
        {"p0": date(2026, 6, 30), "p1": date(2026, 7, 1)},
    ),
    (
        attr("birthday", "in", values=["2000-01-01"]),
        'COALESCE("birthday" IN ($p0), FALSE)',
        {"p0": date(2000, 1, 1)},
    ),
    # ---- tags
    ({"kind": "tag", "tag": "interest/food/baking", "op": "has"}, 'COALESCE("_tag_1", FALSE)', {}),
    (
        {"kind": "tag", "tag": "interest/food/baking", "op": "has_not"},
        'NOT COALESCE("_tag_1", FALSE)',
        {},
    ),
    (
        {"kind": "tag", "tag": "level/score", "op": "eq", "value": "gold"},
        'COALESCE("_tagv_2" = $p0, FALSE)',
        {"p0": "gold"},
    ),
    (
        {"kind": "tag", "tag": "level/score", "op": "in", "values": ["a", "b"]},
        'COALESCE("_tagv_2" IN ($p0, $p1), FALSE)',
        {"p0": "a", "p1": "b"},
    ),
    (
        {"kind": "tag", "tag": "level/score", "op": "gte", "value": 3},
        'COALESCE(TRY_CAST("_tagv_2" AS DOUBLE) >= $p0 AND NOT ISNAN(TRY_CAST("_tagv_2" AS DOUBLE)), FALSE)',
        {"p0": 3.0},
    ),
    # ---- events: precomputed counters when there is no filter and the window has one
    (event(">=", 2, within_days=30), 'COALESCE("_ev_3_30", 0) >= $p0', {"p0": 2}),
    (event("=", 0), 'COALESCE("_ev_3_all", 0) = $p0', {"p0": 0}),
    (event("<", 3, within_days=30), 'COALESCE("_ev_3_30", 0) < $p0', {"p0": 3}),
    # ---- events: otherwise the ">= k" set over the events view
    (event(">=", 2, within_days=45), sub(W45, "COUNT(*) >= $p3"), {**W45_PARAMS, "p3": 2}),
    (event(">", 2, within_days=45), sub(W45, "COUNT(*) >= $p3"), {**W45_PARAMS, "p3": 3}),
    (event("=", 2, within_days=45), sub(W45, "COUNT(*) = $p3"), {**W45_PARAMS, "p3": 2}),
    (event("=", 0, within_days=45), "NOT " + sub(W45, "COUNT(*) >= $p3"), {**W45_PARAMS, "p3": 1}),
    (event("<", 3, within_days=45), "NOT " + sub(W45, "COUNT(*) >= $p3"), {**W45_PARAMS, "p3": 3}),
    (event("<=", 3, within_days=45), "NOT " + sub(W45, "COUNT(*) >= $p3"), {**W45_PARAMS, "p3": 4}),
    (event(">=", 0, within_days=45), "TRUE", {}),  # everyone has at least 0
    (event("<", 0, within_days=45), "FALSE", {}),  # nobody has fewer than 0
    (
        event(">=", 1, between=["2026-01-01", "2026-01-31"], event="add_to_cart"),
        sub('"ev"."_ei" = $p0 AND "ev"."ts" >= $p1 AND "ev"."ts" < $p2', "COUNT(*) >= $p3"),
        {"p0": ADD_TO_CART, "p1": ts(2026, 1, 1), "p2": ts(2026, 2, 1), "p3": 1},
    ),
    (  # a range past as_of stops at as_of: no window sees events after "today"
        event(">=", 1, between=["2026-06-01", "2026-12-31"]),
        sub('"ev"."_ei" = $p0 AND "ev"."ts" >= $p1 AND "ev"."ts" < $p2', "COUNT(*) >= $p3"),
        {"p0": PURCHASE, "p1": ts(2026, 6, 1), "p2": ts(2026, 7, 1), "p3": 1},
    ),
    (
        event(
            ">=",
            2,
            within_days=30,
            where=[{"field": "product_category", "op": "ne", "value": "cake"}],
        ),
        sub(
            '"ev"."_ei" = $p0 AND "ev"."ts" >= $p1 AND "ev"."ts" < $p2'
            ' AND NOT COALESCE("ev"."product_category" = $p3, FALSE)',
            "COUNT(*) >= $p4",
        ),
        {"p0": PURCHASE, "p1": ts(2026, 6, 1), "p2": ts(2026, 7, 1), "p3": "cake", "p4": 2},
    ),
    (  # all time with a filter: up to the end of as_of
        event(">=", 1, where=[{"field": "quantity", "op": "in", "values": [1, 2]}]),
        sub(
            '"ev"."_ei" = $p0 AND "ev"."ts" < $p1 AND COALESCE("ev"."quantity" IN ($p2, $p3), FALSE)',
            "COUNT(*) >= $p4",
        ),
        {"p0": PURCHASE, "p1": ts(2026, 7, 1), "p2": 1, "p3": 2, "p4": 1},
    ),
    # ---- model columns
    (
        {"kind": "rfm", "op": "in", "values": ["important_value", "none"]},
        'COALESCE("_rfm_class" IN ($p0, $p1), FALSE)',
        {"p0": "important_value", "p1": "none"},
    ),
    (
        {"kind": "aipl", "op": "not_in", "values": ["none"]},
        'NOT COALESCE("_aipl_stage" IN ($p0), FALSE)',
        {"p0": "none"},
    ),
    (
        {"kind": "lifecycle", "op": "in", "values": ["new"]},
        'COALESCE("_lifecycle" IN ($p0), FALSE)',
        {"p0": "new"},
    ),
    # ---- negation and groups
    (
        {**attr("city", "eq", value="x"), "negate": True},
        'NOT COALESCE("city" = $p0, FALSE)',
        {"p0": "x"},
    ),
    (
        {
            "kind": "group",
            "match": "any",
            "conditions": [attr("age", "gt", value=1), attr("city", "is_null")],
        },
        'COALESCE("age" > $p0, FALSE) OR "city" IS NULL',
        {"p0": 1},
    ),
    (
        {
            "kind": "group",
            "match": "any",
            "negate": True,
            "conditions": [attr("age", "gt", value=1), attr("city", "is_null")],
        },
        'NOT (COALESCE("age" > $p0, FALSE) OR "city" IS NULL)',
        {"p0": 1},
    ),
    ({"kind": "group", "match": "any", "conditions": []}, "TRUE", {}),
    ({"kind": "group", "match": "all", "negate": True, "conditions": []}, "NOT TRUE", {}),
]


@pytest.mark.parametrize(("condition", "sql", "params"), CASES)
def test_condition_compiles_to_sql_and_params(condition, sql, params):
    result = compiled(condition)
    assert result.sql == sql
    assert result.params == params
    assert [type(v) for v in result.params.values()] == [type(v) for v in params.values()]
    sqlglot.parse_one(result.sql, dialect="duckdb")  # the text is valid DuckDB SQL


def test_top_level_match_and_empty_definition():
    two = [attr("age", "gt", value=1), {"kind": "tag", "tag": "interest/food/baking", "op": "has"}]
    assert compile_where(parse_segment({"match": "all", "conditions": two}), CATALOG).sql == (
        'COALESCE("age" > $p0, FALSE) AND COALESCE("_tag_1", FALSE)'
    )
    assert compile_where(parse_segment({"match": "any", "conditions": two}), CATALOG).sql == (
        'COALESCE("age" > $p0, FALSE) OR COALESCE("_tag_1", FALSE)'
    )
    for match in ("all", "any"):
        empty = compile_where(parse_segment({"match": match, "conditions": []}), CATALOG)
        assert (empty.sql, empty.params) == ("TRUE", {})


def test_where_form_drops_wrappers_at_positive_positions_only():
    from core.segments.compile import where_form

    tag = {"kind": "tag", "tag": "interest/food/baking", "op": "has"}
    definition = {
        "match": "all",
        "conditions": [
            attr("age", "gt", value=1),
            tag,
            {"kind": "tag", "tag": "interest/food/baking", "op": "has_not"},
        ],
    }
    got = where_form(compile_where(parse_segment(definition), CATALOG).expression).sql("duckdb")
    # a bare tag column becomes `= TRUE`; under NOT the wrapper stays (NOT NULL would drop the row);
    # one chain of ANDs is one pair of parentheses
    assert got == '("age" > $p0 AND "_tag_1" = TRUE AND NOT COALESCE("_tag_1", FALSE))'


def test_nested_groups_keep_their_parentheses():
    seg = parse_segment(
        {
            "match": "all",
            "conditions": [
                attr("age", "gt", value=1),
                {
                    "kind": "group",
                    "match": "any",
                    "conditions": [attr("city", "is_null"), attr("vip", "eq", value=True)],
                },
            ],
        }
    )
    assert compile_where(seg, CATALOG).sql == (
        'COALESCE("age" > $p0, FALSE) AND ("city" IS NULL OR COALESCE("vip" = $p1, FALSE))'
    )


def test_params_are_numbered_in_reading_order_without_gaps():
    # "at least 0" folds to TRUE and must not leave its event name / window behind.
    seg = parse_segment(
        {
            "conditions": [
                attr("age", "gt", value=1),
                event(">=", 0, within_days=45),
                attr("city", "eq", value="x"),
            ]
        }
    )
    result = compile_where(seg, CATALOG)
    assert result.sql == 'COALESCE("age" > $p0, FALSE) AND TRUE AND COALESCE("city" = $p1, FALSE)'
    assert result.params == {"p0": 1, "p1": "x"}


def test_same_definition_gives_same_sql_and_params():
    text = (
        '{"conditions": [{"kind": "attribute", "field": "city", "op": "in", "values": ["b", "a"]}, '
        '{"kind": "event", "event": "purchase", "op": ">", "count": 1, "within_days": 45}]}'
    )
    first, second = (
        compile_where(parse_segment(text), CATALOG),
        compile_where(parse_segment(text), CATALOG),
    )
    assert (first.sql, first.params) == (second.sql, second.params)


def test_count_and_members_queries_wrap_the_expression():
    result = compiled(attr("city", "eq", value="Shanghai"))
    sql, params = count_query(result)
    assert sql == 'SELECT COUNT(*) FROM profile WHERE COALESCE("city" = $p0, FALSE)'
    assert params == {"p0": "Shanghai"} and params is not result.params
    sql, _ = members_query(result)
    assert sql == 'SELECT "user_id" FROM profile WHERE COALESCE("city" = $p0, FALSE) ORDER BY "user_id"'


def test_saved_segments_are_inlined_and_not_in_negates_them():
    saved = {"sh": {"conditions": [attr("city", "eq", value="Shanghai")]}}
    result = compiled({"kind": "segment", "op": "not_in", "segment": "sh"}, resolve=saved.get)
    assert (result.sql, result.params) == ('NOT COALESCE("city" = $p0, FALSE)', {"p0": "Shanghai"})
    # Used twice: inlined twice, sharing one parameter.
    seg = Segment(conditions=(SegmentRef("sh"), SegmentRef("sh", "not_in")))
    twice = compile_where(seg, CATALOG, saved)
    assert twice.sql == 'COALESCE("city" = $p0, FALSE) AND NOT COALESCE("city" = $p0, FALSE)'
    assert twice.params == {"p0": "Shanghai"}
    import duckdb

    con = duckdb.connect()
    con.execute("create table profile as select * from (values ('Shanghai'), ('Beijing'), (NULL)) t(city)")
    assert con.execute(count_query(twice)[0], twice.params).fetchone() == (0,)  # X and not X


def test_a_hand_built_tree_is_checked_like_json():
    bad = Segment(conditions=[Attribute("city", "in", values=[])])
    with pytest.raises(SegmentError, match="at least one value"):
        compile_where(bad, CATALOG)


# --------------------------------------------------------------------------- validation against the dataset

INVALID = [
    (
        attr("cty", "eq", value="x"),
        "conditions[0].field",
        ["unknown attribute 'cty'", "Did you mean 'city'"],
    ),
    (attr("_rfm_class", "eq", value="x"), "conditions[0].field", ["kind 'rfm'"]),
    (
        {"kind": "tag", "tag": "interest/food/bakng", "op": "has"},
        "conditions[0].tag",
        ["unknown tag", "'interest/food/baking'"],
    ),
    (
        event(">=", 1, event="purchse"),
        "conditions[0].event",
        ["unknown event 'purchse'", "Did you mean 'purchase'"],
    ),
    (
        event(">=", 1, where=[{"field": "product_categroy", "op": "eq", "value": "x"}]),
        "conditions[0].where[0].field",
        ["unknown event property 'product_categroy'", "'product_category'"],
    ),
    (
        event(">=", 1, where=[{"field": "ts", "op": "gt", "value": "2026-01-01"}]),
        "conditions[0].where[0].field",
        ["within_days"],
    ),
    (
        attr("age", "eq", value="abc"),
        "conditions[0].value",
        ["'age' is a whole-number column", "'abc' is not a number"],
    ),
    (attr("age", "eq", value="30"), "conditions[0].value", ["without quotes"]),
    (attr("age", "eq", value=True), "conditions[0].value", ["is not a number"]),
    (attr("age", "in", values=[1, "x", 3]), "conditions[0].values[1]", ["'x' is not a number"]),
    (attr("age", "gt", value=2**70), "conditions[0].value", ["too large"]),
    (attr("score", "between", values=[5, 1]), "conditions[0].values", ["swap them"]),
    (
        attr("signup_at", "gt", value="2026-02-30"),
        "conditions[0].value",
        ["'2026-02-30' is not a date written YYYY-MM-DD"],
    ),
    (attr("signup_at", "eq", value="yesterday"), "conditions[0].value", ["YYYY-MM-DD"]),
    (
        attr("signup_at", "between", values=["2026-02-01", "2026-01-01"]),
        "conditions[0].values",
        ["swap them"],
    ),
    (attr("birthday", "eq", value=20000101), "conditions[0].value", ["not a date"]),
    (
        attr("city", "eq", value=True),
        "conditions[0].value",
        ["'city' is a text column", "in quotes"],
    ),
    (attr("city", "eq", value=1.5), "conditions[0].value", ["text column"]),
    (attr("vip", "eq", value="true"), "conditions[0].value", ["true or false (without quotes)"]),
    (attr("vip", "gt", value=True), "conditions[0].op", ["'gt' does not apply to 'vip'"]),
    (
        attr("age", "contains", value="1"),
        "conditions[0].op",
        ["'contains' does not apply to 'age'"],
    ),
    (attr("city", "within_last_days", value=3), "conditions[0].op", ["does not apply to 'city'"]),
    (attr("city", "between", values=["a", "b"]), "conditions[0].op", ["does not apply"]),
    (
        {"kind": "tag", "tag": "interest/food/baking", "op": "eq", "value": "x"},
        "conditions[0].op",
        ["carries no values", "'has'"],
    ),
    (
        {"kind": "tag", "tag": "level/score", "op": "gt", "value": 10**400},
        "conditions[0].value",
        ["too large"],
    ),
    (
        {"kind": "segment", "op": "in", "segment": "vip"},
        "conditions[0].segment",
        ["no saved segments are available"],
    ),
]


@pytest.mark.parametrize(("condition", "path", "fragments"), INVALID)
def test_validation_names_the_path_and_suggests(condition, path, fragments):
    with pytest.raises(SegmentError) as err:
        validate_against(parse_segment({"conditions": [condition]}), CATALOG)
    (issue,) = err.value.issues
    assert issue.path == path
    for fragment in fragments:
        assert fragment in issue.message


def test_validation_reports_every_problem():
    seg = parse_segment(
        {
            "conditions": [
                attr("cty", "eq", value="x"),
                {
                    "kind": "group",
                    "conditions": [attr("age", "gt", value="old"), event(">", 1, event="nope")],
                },
            ]
        }
    )
    with pytest.raises(SegmentError) as err:
        compile_where(seg, CATALOG)
    assert [i.path for i in err.value.issues] == [
        "conditions[0].field",
        "conditions[1].conditions[0].value",
        "conditions[1].conditions[1].event",
    ]


def test_unknown_saved_segment_suggests_known_ids():
    seg = Segment(conditions=(SegmentRef("big-spender"),))
    with pytest.raises(SegmentError, match="unknown saved segment 'big-spender'. Did you mean 'big-spenders'"):
        validate_against(seg, CATALOG, {"big-spenders": Segment(), "churned": Segment()})

    def resolve(_id: str) -> None:
        return None

    resolve.known_ids = lambda: ["big-spenders"]  # type: ignore[attr-defined]
    with pytest.raises(SegmentError, match="Did you mean 'big-spenders'"):
        validate_against(seg, CATALOG, resolve)


def test_self_reference_is_refused():
    saved = {"a": Segment(conditions=(SegmentRef("a"),))}
    with pytest.raises(SegmentError) as err:
        compile_where(Segment(conditions=(SegmentRef("a"),)), CATALOG, saved)
    assert "segment 'a' refers to itself: a → a" in str(err.value)
    # Saving a definition under the id it refers to is refused before it is stored.
    with pytest.raises(SegmentError, match="refers to itself: b → b"):
        validate_against(Segment(conditions=(SegmentRef("b"),)), CATALOG, {"b": Segment()}, segment_id="b")


def test_indirect_cycles_are_refused_and_named():
    saved = {
        "a": Segment(conditions=(SegmentRef("b"),)),
        "b": Segment(conditions=(Attribute("age", "gt", 1), SegmentRef("c", "not_in"))),
        "c": Segment(match="any", conditions=(SegmentRef("a"),)),
    }
    with pytest.raises(SegmentError) as err:
        validate_against(Segment(conditions=(SegmentRef("a"),)), CATALOG, saved.get)
    (issue,) = err.value.issues
    assert "a → b → c → a" in issue.message and "through other saved segments" in issue.message


def test_a_stale_saved_segment_is_reported_inside_its_reference():
    saved = {"old": {"conditions": [attr("citty", "eq", value="x")]}}
    with pytest.raises(SegmentError) as err:
        compiled({"kind": "segment", "op": "in", "segment": "old"}, resolve=saved.get)
    (issue,) = err.value.issues
    assert issue.path == "conditions[0] → saved segment 'old' → conditions[0].field"
    assert "Did you mean 'city'" in issue.message


def test_diamond_references_cannot_explode():
    # Each saved segment uses the next one twice: 2**25 copies if inlined naively.
    saved = {
        f"s{i}": Segment(match="any", conditions=(SegmentRef(f"s{i + 1}"), SegmentRef(f"s{i + 1}", "not_in")))
        for i in range(25)
    }
    saved["s25"] = Segment(conditions=(Attribute("age", "gt", 1),))
    with pytest.raises(SegmentError, match="once saved segments are expanded|more than 20 deep"):
        validate_against(Segment(conditions=(SegmentRef("s0"),)), CATALOG, saved)


# --------------------------------------------------------------------------- the spec's operator table


SPEC = Path(__file__).resolve().parents[2] / "shared/design/SEGMENT_SPEC.md"


def _spec_operators() -> dict[str, set[str]]:
    text = SPEC.read_text(encoding="utf-8")
    ops = _table_operators(text.split("## Condition kinds and operators", 1)[1])
    if "| new kind |" in text:  # kinds being added (funnel) have their own table
        ops.update(_table_operators(text.split("| new kind |", 1)[1]))
    return ops


def _table_operators(table: str) -> dict[str, set[str]]:
    ops: dict[str, set[str]] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            if ops and not line.startswith("|"):
                break  # end of the table
            continue
        kind = cells[0].strip("`")
        ops[kind] = set(re.findall(r"`([^`]+)`", cells[2]))
    return ops


# A column for every attribute operator, so each can be compiled.
SAMPLE_OPERAND = {
    "eq": ("city", {"value": "x"}),
    "ne": ("city", {"value": "x"}),
    "in": ("city", {"values": ["x"]}),
    "not_in": ("city", {"values": ["x"]}),
    "gt": ("age", {"value": 1}),
    "gte": ("age", {"value": 1}),
    "lt": ("age", {"value": 1}),
    "lte": ("age", {"value": 1}),
    "between": ("age", {"values": [1, 2]}),
    "contains": ("city", {"value": "x"}),
    "is_null": ("city", {}),
    "not_null": ("city", {}),
    "within_last_days": ("signup_at", {"value": 7}),
}


def _sample(kind: str, op: str) -> dict:
    if kind == "attribute":
        field, operand = SAMPLE_OPERAND[op]
        return attr(field, op, **operand)
    if kind == "tag":
        operand = {"eq": {"value": "x"}, "in": {"values": ["x"]}}.get(op, {} if op.startswith("has") else {"value": 1})
        return {"kind": "tag", "tag": "level/score", "op": op, **operand}
    if kind == "event":
        return event(op, 1, within_days=45)
    if kind == "segment":
        return {"kind": "segment", "op": op, "segment": "s"}
    if kind == "funnel":
        return {
            "kind": "funnel",
            "op": op,
            "step": 1,
            "funnel": {"steps": [{"event": "purchase"}, {"event": "purchase"}]},
        }
    values = {"rfm": ["none"], "aipl": ["A"], "lifecycle": ["new"]}[kind]
    return {"kind": kind, "op": op, "values": values}


@pytest.mark.skipif(not SPEC.exists(), reason="design docs not beside the repo")
def test_operators_in_the_spec_table_are_exactly_the_implemented_ones():
    spec = _spec_operators()
    assert set(spec) == set(OPERATORS) | {"group"}
    assert spec.pop("group") == set()
    for kind, ops in spec.items():
        assert ops == set(OPERATORS[kind]), kind
        for op in sorted(ops):
            result = compiled(_sample(kind, op), resolve={"s": Segment()})
            assert result.sql, (kind, op)
