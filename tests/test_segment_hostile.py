"""Hostile definitions: injection, odd characters, huge lists, deep nesting, cycles, garbage links.

Each either gives the correct count (checked against pandas on the same
frames) or a `SegmentError` with a message naming what is wrong. User values
never appear in the SQL text, and the dataset files are never modified.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import zlib
from datetime import date
from pathlib import Path

import pytest

from core.dataset import open_dataset
from core.segments import (
    MAX_DEPTH,
    Attribute,
    Group,
    Segment,
    SegmentError,
    SegmentRef,
    Tag,
    compile_where,
    count_query,
    decode_segment,
    encode_segment,
    parse_segment,
    validate_against,
)
from tests.segment_oracle import (
    AS_OF,
    ATTRIBUTE_TYPES,
    PROPERTY_TYPES,
    Oracle,
    OracleData,
    sample_tables,
    write_sample_dataset,
)

HOSTILE_TEXT = [
    "'; DROP TABLE profile; --",
    "Robert'); DROP TABLE users;--",
    "O'Brien",
    '"; SELECT 1; --',
    "$1 ? :name $$x",
    "\\",
    "100%_real",
    "Xi'an 🍰",
    "上海",
    "\x00nul",
    "' OR '1'='1",
]


def _hash_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = tmp_path_factory.mktemp("seghostile") / "shop"
    tables = sample_tables()
    write_sample_dataset(root, tables)
    before = _hash_tree(root)
    ds = open_dataset(root, cache_dir=root.parent / "cache")
    yield ds, tables, before
    ds.close()


def _count(ds, segment: Segment, resolve=None) -> int:
    sql, params = count_query(compile_where(segment, ds.catalog, resolve))
    return ds.cursor().execute(sql, params).fetchone()[0]


def _city(op: str, value: str) -> Segment:
    return Segment(conditions=(Attribute("city", op, value),))


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_hostile_text_is_only_ever_a_value(shop, text):
    ds, tables, _ = shop
    cities = tables["users"]["city"]
    for op, expected in (
        ("eq", int((cities == text).sum())),
        ("ne", int(len(cities) - (cities == text).sum())),  # missing cities included
        ("contains", int(cities.dropna().map(lambda c: text.lower() in c.lower()).sum())),
    ):
        segment = _city(op, text)
        compiled = compile_where(segment, ds.catalog)
        assert text not in compiled.sql
        assert list(compiled.params.values()) == [text]
        assert _count(ds, segment) == expected, (op, text)


def test_percent_and_underscore_in_contains_are_literal(shop):
    ds, tables, _ = shop
    cities = tables["users"]["city"].dropna()
    for needle in ("%", "_", "%_", "0%_r", "_real"):
        expected = int(cities.map(lambda c, n=needle: n in c.lower()).sum())
        assert _count(ds, _city("contains", needle)) == expected
    # "%" alone would match every city under LIKE; only "100%_real" holds one.
    assert _count(ds, _city("contains", "%")) == int((cities == "100%_real").sum()) > 0
    assert _count(ds, _city("contains", "_")) < len(cities)


def test_unicode_values_count_exactly(shop):
    ds, tables, _ = shop
    users, tags = tables["users"], tables["tags"]
    assert _count(ds, _city("eq", "上海")) == int((users["city"] == "上海").sum()) > 0
    assert (
        _count(ds, _city("contains", "🍰"))
        == int(users["city"].str.contains("🍰", regex=False).fillna(False).sum())
        > 0
    )
    color = Segment(conditions=(Tag("pref/color", "eq", "绿色"),))
    assert _count(ds, color) == int(((tags["tag"] == "pref/color") & (tags["value"] == "绿色")).sum()) > 0


def test_a_hundred_thousand_value_list_counts_correctly_and_fast(shop):
    ds, tables, _ = shop
    real = [uid for i, uid in enumerate(tables["users"]["user_id"]) if i % 3 == 0]
    values = real + [f"ghost-{i}" for i in range(100_000 - len(real))]
    assert len(values) == 100_000
    text = json.dumps({"conditions": [{"kind": "attribute", "field": "user_id", "op": "in", "values": values}]})
    started = time.perf_counter()
    segment = parse_segment(text)
    inside = _count(ds, segment)
    elapsed = time.perf_counter() - started
    assert inside == len(real) == 100
    outside = _count(ds, Segment(conditions=(Attribute("user_id", "not_in", values=tuple(values)),)))
    assert outside == ds.total_users - len(real)
    assert elapsed < 10
    assert "ghost" not in compile_where(segment, ds.catalog).sql


def test_ten_thousand_levels_of_nesting_are_refused_clearly():
    depth = 10_000
    text = '{"conditions": [' + '{"kind": "group", "conditions": [' * depth + "]}" * depth + "]}"
    with pytest.raises(SegmentError, match="nested far too deep"):
        parse_segment(text)
    # The same depth handed over as Python objects stops at the limit, without recursion errors.
    node: dict = {"kind": "tag", "tag": "x", "op": "has"}
    for _ in range(depth):
        node = {"kind": "group", "conditions": [node]}
    with pytest.raises(SegmentError) as err:
        parse_segment({"conditions": [node]})
    (issue,) = err.value.issues
    assert f"nested more than {MAX_DEPTH} deep" in issue.message


def test_oversized_and_malformed_json_text_are_refused():
    with pytest.raises(SegmentError, match="larger than 5 MB"):
        parse_segment('{"conditions": []}' + " " * 5_000_001)
    with pytest.raises(SegmentError, match="not valid JSON"):
        parse_segment(
            '{"conditions": [{"kind": "attribute", "field": "age", "op": "gt", "value": ' + "9" * 5000 + "}]}"
        )
    with pytest.raises(SegmentError, match="not valid JSON"):
        parse_segment("{'single': 'quotes'}")


@pytest.mark.parametrize(
    ("condition", "fragments"),
    [
        (
            {"kind": "attribute", "field": "age", "op": "gt", "value": "thirty"},
            ["'age'", "'thirty' is not a number"],
        ),
        (
            {"kind": "attribute", "field": "signup_at", "op": "lt", "value": "last tuesday"},
            ["'last tuesday' is not a date"],
        ),
        ({"kind": "attribute", "field": "vip", "op": "eq", "value": 1}, ["true or false"]),
        (
            {"kind": "attribute", "field": "citi", "op": "eq", "value": "x"},
            ["unknown attribute 'citi'", "'city'"],
        ),
        (
            {"kind": "tag", "tag": "pref/colour", "op": "has"},
            ["unknown tag 'pref/colour'", "'pref/color'"],
        ),
        (
            {"kind": "event", "event": "purchases", "op": ">=", "count": 1},
            ["unknown event 'purchases'", "'purchase'"],
        ),
        (
            {
                "kind": "event",
                "event": "purchase",
                "op": ">=",
                "count": 1,
                "where": [{"field": "qty", "op": "gt", "value": 1}],
            },
            ["unknown event property 'qty'"],
        ),
        (
            {"kind": "attribute", "field": "'; DROP TABLE profile; --", "op": "is_null"},
            ["unknown attribute"],
        ),
    ],
)
def test_wrong_types_and_unknown_names_on_a_real_dataset(shop, condition, fragments):
    ds, _, _ = shop
    with pytest.raises(SegmentError) as err:
        validate_against(parse_segment({"conditions": [condition]}), ds.catalog)
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message


def test_cycles_through_saved_segments_are_refused(shop):
    ds, _, _ = shop
    saved = {
        "self": Segment(conditions=(SegmentRef("self"),)),
        "ping": Segment(conditions=(SegmentRef("pong", "not_in"),)),
        "pong": Segment(conditions=(Group("any", (Tag("identity/kol"), SegmentRef("ping"))),)),
        "fine": Segment(conditions=(Tag("identity/kol"),)),
    }
    with pytest.raises(SegmentError, match="self → self"):
        compile_where(Segment(conditions=(SegmentRef("self"),)), ds.catalog, saved.get)
    with pytest.raises(SegmentError, match="ping → pong → ping"):
        compile_where(Segment(conditions=(SegmentRef("ping"),)), ds.catalog, saved.get)
    # A reference to a healthy saved segment still counts exactly.
    kol = Segment(conditions=(Tag("identity/kol"),))
    assert _count(ds, Segment(conditions=(SegmentRef("fine"),)), saved.get) == _count(ds, kol) > 0


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


GOOD = encode_segment(Segment(conditions=(Attribute("city", "in", values=("Shanghai", "上海")),)))
GARBAGE = [
    ("", "empty"),
    ("   ", "empty"),
    ("hello", "does not start with version"),
    ("2" + GOOD[1:], "does not start with version"),
    ("1abc$def", "'$'"),
    ("1abc def", "' '"),
    ("1" + "A" * 5, "cut short"),  # 5 base64 chars cannot be whole bytes
    ("1" + _b64(b"not deflate at all, just bytes"), "damaged"),
    (GOOD[:-6], "cut short"),
    (GOOD + _b64(b"tail"), "extra characters"),
    ("1" + _b64(_deflate(b"\xff\xfe not utf-8")), "not UTF-8"),
    ("1" + _b64(_deflate(b"{not json")), "not valid JSON"),
    ("1" + _b64(_deflate(b'{"conditions": [{"kind": "nope"}]}')), "unknown kind 'nope'"),
    ("1" + _b64(_deflate(b" " * 6_000_000)), "expands to more than 5 MB"),  # a zip bomb
    ("1" + "A" * 7_000_000, "too long"),
]


@pytest.mark.parametrize(("text", "fragment"), GARBAGE, ids=[f"garbage{i}" for i in range(len(GARBAGE))])
def test_garbage_links_give_a_clear_error(text, fragment):
    with pytest.raises(SegmentError) as err:
        decode_segment(text)
    assert fragment in str(err.value)
    assert "segment link" in str(err.value) or "JSON" in str(err.value) or "UTF-8" in str(err.value)


def test_a_link_deep_enough_to_break_the_json_reader_is_refused():
    depth = 10_000
    text = '{"conditions": [' + '{"kind": "group", "conditions": [' * depth + "]}" * depth + "]}"
    link = "1" + _b64(_deflate(text.encode()))
    assert len(link) < 2_000  # tiny link, huge nesting
    with pytest.raises(SegmentError, match="nested far too deep"):
        decode_segment(link)


def test_decode_refuses_non_text():
    with pytest.raises(SegmentError, match="must be text"):
        decode_segment(None)  # type: ignore[arg-type]


def test_no_value_reaches_the_sql_text(shop):
    ds, _, _ = shop
    conditions = []
    for text in HOSTILE_TEXT:
        conditions += [
            {"kind": "attribute", "field": "city", "op": "in", "values": [text, "x"]},
            {"kind": "attribute", "field": "city", "op": "contains", "value": text},
            {"kind": "tag", "tag": "pref/color", "op": "eq", "value": text},
            {
                "kind": "event",
                "event": "purchase",
                "op": ">=",
                "count": 1,
                "where": [{"field": "product_category", "op": "ne", "value": text}],
            },
        ]
    segment = parse_segment({"match": "any", "conditions": conditions})
    compiled = compile_where(segment, ds.catalog)
    for text in HOSTILE_TEXT:
        assert text not in compiled.sql
    _, tables, _ = shop
    oracle = Oracle(
        OracleData(tables["users"], tables["events"], tables["tags"], AS_OF, ATTRIBUTE_TYPES, PROPERTY_TYPES)
    )
    assert _count(ds, segment) == len(oracle.members(segment))  # each value was a value, nothing more


def test_dataset_files_are_unchanged_after_hostile_queries(shop):
    ds, _, before = shop
    for text in HOSTILE_TEXT:
        _count(ds, _city("eq", text))
        _count(ds, Segment(conditions=(Tag("pref/color", "in", values=(text,)),)))
    assert _count(ds, Segment()) == ds.total_users == 300  # profile still there, whole
    assert _hash_tree(ds.path) == before


def test_a_huge_list_stays_fast_inside_negations_on_many_rows():
    # 200,000 members x 100,000 values, negated twice over: a per-row scan of the
    # list would take tens of seconds; a hashed membership test takes well under one.
    import duckdb

    from core.catalog import Catalog, Column

    con = duckdb.connect()
    con.execute("create table profile as select 'u' || i as user_id, 'c' || (i % 7) as city from range(200000) t(i)")
    catalog = Catalog(as_of=date(2026, 6, 30), total_users=200_000, attributes={"city": Column("city", "string")})
    values = tuple(f"u{i}" for i in range(0, 200_000, 2))  # every other member
    segment = Segment(
        conditions=(
            Group(
                "any",
                (Attribute("user_id", "not_in", values=values), Attribute("city", "is_null")),
                negate=True,
            ),
        )
    )
    sql, params = count_query(compile_where(segment, catalog))
    started = time.perf_counter()
    assert con.execute(sql, params).fetchone() == (100_000,)
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("match", ["all", "any"])
def test_the_widest_definition_counts_in_every_operation(shop, match):
    """MAX_CONDITIONS conditions in one group, over several columns: once a RecursionError (a pair of
    parentheses per condition in the scan's WHERE, one Python frame per condition in the bitmap plan)."""
    from core.segments import MAX_CONDITIONS
    from core.segments import operations as ops

    ds, tables, _ = shop
    users = tables["users"]
    conditions = []
    mask = None
    low = 20 if match == "all" else 55  # "any" of many loose tests would take everyone
    for i in range(MAX_CONDITIONS):
        if i % 3 == 0:
            c, m = Attribute("age", "gte", low + i % 7), users["age"].ge(low + i % 7).fillna(False)
        elif i % 3 == 1:
            level = 2 + i % 3 if match == "all" else 0
            c, m = Attribute("member_level", "lte", level), users["member_level"].le(level).fillna(False)
        elif match == "all":
            c, m = Attribute("city", "ne", f"nowhere {i}"), users["city"].ne(f"nowhere {i}")
        else:
            c, m = Attribute("city", "eq", f"nowhere {i}"), users["city"].eq(f"nowhere {i}").fillna(False)
        conditions.append(c)
        m = m.astype(bool)
        mask = m if mask is None else (mask & m if match == "all" else mask | m)
    segment = Segment(match=match, conditions=tuple(conditions))
    want = int(mask.sum())
    assert 0 < want < len(users)  # neither nobody nor everybody: the conditions decide
    ds.bitmap_index().build_when_needed()
    for bitmaps in (True, False):
        assert ops.size(ds, segment, bitmaps=bitmaps).count == want
        assert (
            ops.reach(ds, segment, bitmaps=bitmaps)["sms"].excluded
            + ops.reach(ds, segment, bitmaps=bitmaps)["sms"].reachable
            == want
        )
        assert ops.breakdown(ds, segment, "city", bitmaps=bitmaps).segment_size == want
        assert ops.overlap(ds, [("a", segment), ("b", Segment())], bitmaps=bitmaps).matrix[0][1] == want
    assert ops.counted_by(ds, segment) == "bitmaps"
    assert ops.members(ds, segment, page_size=10).total == want
    assert _count(ds, segment) == want


def test_saved_segments_expanding_to_a_thousand_conditions_count_by_scan_too(shop):
    """Two saved segments of MAX_CONDITIONS tests each: the scan's check for flag tests walked the
    1,000-long chain one Python frame per test (a RecursionError)."""
    from core.segments import MAX_CONDITIONS
    from core.segments import operations as ops

    ds, tables, _ = shop
    users = tables["users"]
    # tags: tests of flags, which the scan counts with count_if after walking the whole chain
    tags = ("interest/food/baking", "identity/kol")
    saved = {
        f"s{k}": Segment(match="any", conditions=tuple(Tag(tags[k], "has") for _ in range(MAX_CONDITIONS)))
        for k in range(2)
    }
    segment = Segment(match="any", conditions=(SegmentRef("s0"), SegmentRef("s1")))
    holders = set(tables["tags"].loc[tables["tags"]["tag"].isin(tags), "user_id"])
    want = int(users["user_id"].isin(holders).sum())
    assert 0 < want < len(users)
    for bitmaps in (False, True):
        assert ops.size(ds, segment, saved.get, bitmaps=bitmaps).count == want


def test_saved_segments_nested_too_deep_are_refused_clearly(shop):
    """Each saved segment may nest 20 groups and refer 20 deep; expanded, that is 400 levels, which no
    SQL writer takes. Past MAX_EXPANDED_DEPTH the definition is refused with the place named."""
    from core.segments import operations as ops
    from core.segments.compile import MAX_EXPANDED_DEPTH

    ds, _, _ = shop

    def nested(depth: int, inner) -> Group:
        node = inner
        for d in range(depth):
            node = Group(
                match="any" if d % 2 else "all", conditions=(Attribute("age", "gte", 20 + d % 30), node), negate=True
            )
        return node

    saved = {}
    for k in range(12):
        inner = SegmentRef(f"s{k + 1}", op="not_in") if k < 11 else Tag("interest/food/baking", "has")
        saved[f"s{k}"] = Segment(conditions=(nested(19, inner),))
    segment = Segment(conditions=(SegmentRef("s0"),))
    with pytest.raises(SegmentError) as refused:
        ops.size(ds, segment, saved.get)
    assert f"more than {MAX_EXPANDED_DEPTH} deep once saved segments are expanded" in str(refused.value)
    assert "saved segment 's2'" in str(refused.value)  # where the limit was crossed
    shallow = {"s0": Segment(conditions=(nested(19, Tag("interest/food/baking", "has")),))}
    assert ops.size(ds, segment, shallow.get).count == ops.size(ds, segment, shallow.get, bitmaps=False).count
