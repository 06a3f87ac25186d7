"""Random definitions: the compiled SQL on real Parquet equals an independent pandas oracle.

Hypothesis builds trees of every condition kind (nested groups, negations,
NULL-heavy columns, windows, event filters, numeric and non-numeric tag
values, saved-segment references); each is compiled, run by DuckDB over the
sample dataset, and compared user by user with tests/segment_oracle.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.catalog import AIPL_STAGES, LIFECYCLE_STATES, RFM_CLASSES
from core.dataset import open_dataset
from core.segments import (
    Aipl,
    Attribute,
    Event,
    EventFilter,
    Group,
    Lifecycle,
    Rfm,
    Segment,
    SegmentRef,
    Tag,
    compile_where,
    count_query,
    decode_segment,
    describe,
    describe_lines,
    encode_segment,
    members_query,
    parse_segment,
)
from tests.segment_oracle import (
    AS_OF,
    ATTRIBUTE_TYPES,
    CATEGORIES,
    CITIES,
    COLORS,
    EVENTS,
    PROPERTY_TYPES,
    TAG_VALUES,
    Oracle,
    OracleData,
    sample_tables,
    write_sample_dataset,
)

# Operators per column type, as SEGMENT_SPEC.md and the compiler brief list them.
OPS_BY_TYPE = {
    "string": [
        "eq",
        "ne",
        "in",
        "not_in",
        "contains",
        "gt",
        "gte",
        "lt",
        "lte",
        "is_null",
        "not_null",
    ],
    "integer": [
        "eq",
        "ne",
        "in",
        "not_in",
        "gt",
        "gte",
        "lt",
        "lte",
        "between",
        "is_null",
        "not_null",
    ],
    "number": [
        "eq",
        "ne",
        "in",
        "not_in",
        "gt",
        "gte",
        "lt",
        "lte",
        "between",
        "is_null",
        "not_null",
    ],
    "boolean": ["eq", "ne", "is_null", "not_null"],
    "timestamp": [
        "eq",
        "ne",
        "in",
        "not_in",
        "gt",
        "gte",
        "lt",
        "lte",
        "between",
        "is_null",
        "not_null",
        "within_last_days",
    ],
}
OPS_BY_TYPE["date"] = OPS_BY_TYPE["timestamp"]

SAVED = {
    "shanghai": Segment(conditions=(Attribute("city", "in", values=("Shanghai", "上海")),)),
    "buyers": Segment(conditions=(Event("purchase", ">=", 2, within_days=365),)),
    "mixed": Segment(
        match="any",
        conditions=(SegmentRef("shanghai", "not_in"), Tag("interest/food/baking", "has")),
    ),
    "everyone": Segment(),
}


def resolve(segment_id: str) -> Segment | None:
    return SAVED.get(segment_id)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """The sample dataset on Parquet, opened, and the oracle over the same frames."""
    root = tmp_path_factory.mktemp("segprops") / "shop"
    tables = sample_tables()
    write_sample_dataset(root, tables)
    ds = open_dataset(root, cache_dir=root.parent / "cache")
    ds.bitmap_index().build_when_needed()  # every count below is also made from bitmaps
    model = ds.cursor().execute("select user_id, _rfm_class, _aipl_stage, _lifecycle from profile").df()
    users = tables["users"].merge(model, on="user_id", how="left")
    assert len(users) == len(tables["users"]) == ds.total_users
    # The model columns come from the dataset; they must at least be in the spec's vocabularies.
    assert set(users["_rfm_class"]) <= set(RFM_CLASSES)
    assert set(users["_aipl_stage"]) <= set(AIPL_STAGES)
    assert set(users["_lifecycle"]) <= set(LIFECYCLE_STATES)
    oracle = Oracle(
        OracleData(
            users=users,
            events=tables["events"],
            tags=tables["tags"],
            as_of=AS_OF,
            attribute_types=ATTRIBUTE_TYPES,
            property_types=PROPERTY_TYPES,
            saved=SAVED,
        )
    )
    yield ds, oracle
    ds.close()


# --------------------------------------------------------------------------- strategies

iso = st.dates(min_value=AS_OF - timedelta(days=450), max_value=AS_OF + timedelta(days=3)).map(lambda d: d.isoformat())
birthdays = st.dates(min_value=AS_OF.replace(year=1989), max_value=AS_OF.replace(year=2015)).map(
    lambda d: d.isoformat()
)
CONTAINS = ["shang", "SHANG", "%", "_", "%_", "'", "an", "🍰", "海", "", "ake", "cake_"]


def scalar_for(kind: str, field: str) -> st.SearchStrategy:
    if kind == "string":
        return st.sampled_from(CITIES + CATEGORIES + ["Shang", "A", "zzz", "Cake"])
    if kind == "integer":
        return st.integers(-1, 75)
    if kind == "number":
        return st.one_of(st.integers(-5, 100), st.sampled_from([9.9, 20.0, 35.5, 49.5, 50.0, 0.1]))
    if kind == "boolean":
        return st.booleans()
    return birthdays if field == "birthday" else iso


@st.composite
def comparison(draw, types: dict[str, str], op: str | None = None):
    """(field, op, value, values) valid for the field's type."""
    field = draw(st.sampled_from(sorted(types)))
    kind = types[field]
    op = op or draw(st.sampled_from(OPS_BY_TYPE[kind]))
    value, values = None, None
    if op in ("in", "not_in"):
        values = tuple(draw(st.lists(scalar_for(kind, field), min_size=1, max_size=4)))
    elif op == "between":
        a, b = draw(scalar_for(kind, field)), draw(scalar_for(kind, field))
        values = (a, b) if a <= b else (b, a)
    elif op == "within_last_days":
        value = draw(st.integers(1, 400))
    elif op == "contains":
        value = draw(st.sampled_from(CONTAINS))
    elif op not in ("is_null", "not_null"):
        value = draw(scalar_for(kind, field))
    return field, op, value, values


@st.composite
def attributes(draw):
    if draw(st.integers(0, 15)) == 0:  # a pasted id list now and then
        ids = tuple(draw(st.lists(st.sampled_from([f"u{i:04d}" for i in range(0, 320, 7)]), min_size=1, max_size=6)))
        return Attribute(
            "user_id",
            draw(st.sampled_from(["in", "not_in"])),
            values=ids,
            negate=draw(st.booleans()),
        )
    field, op, value, values = draw(comparison(ATTRIBUTE_TYPES))
    return Attribute(field, op, value, values, negate=draw(st.booleans()))


@st.composite
def tags(draw, tag: str | None = None, op: str | None = None):
    tag = tag or draw(st.sampled_from(["interest/food/baking", "identity/kol", "level/score", "pref/color"]))
    negate = draw(st.booleans())
    valued = tag in ("level/score", "pref/color")
    op = op or draw(
        st.sampled_from(["has", "has_not", "eq", "in", "gt", "gte", "lt", "lte"] if valued else ["has", "has_not"])
    )
    text_values = st.sampled_from(TAG_VALUES + COLORS + ["zzz"])
    if op == "eq":
        return Tag(tag, op, value=draw(text_values), negate=negate)
    if op == "in":
        return Tag(
            tag,
            op,
            values=tuple(draw(st.lists(text_values, min_size=1, max_size=3))),
            negate=negate,
        )
    if op in ("gt", "gte", "lt", "lte"):
        number = draw(st.one_of(st.integers(-5, 120), st.sampled_from([0.5, 12.5, 7.0, 99.9])))
        return Tag(tag, op, value=number, negate=negate)
    return Tag(tag, op, negate=negate)


@st.composite
def events(draw):
    name = draw(st.sampled_from(EVENTS))
    op = draw(st.sampled_from([">=", ">", "=", "<", "<="]))
    count = draw(st.integers(0, 4))
    window = draw(st.sampled_from(["none", "days", "between"]))
    within = between = None
    if window == "days":
        within = draw(st.sampled_from([1, 7, 30, 45, 90, 365, 400]))
    elif window == "between":
        a, b = sorted([draw(iso), draw(iso)])
        between = (a, b)
    where = tuple(EventFilter(*draw(comparison(PROPERTY_TYPES))) for _ in range(draw(st.integers(0, 2))))
    return Event(name, op, count, within, between, where, negate=draw(st.booleans()))


stages = st.one_of(
    st.builds(
        Rfm,
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(RFM_CLASSES), min_size=1, max_size=3).map(tuple),
        st.booleans(),
    ),
    st.builds(
        Aipl,
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(AIPL_STAGES), min_size=1, max_size=3).map(tuple),
        st.booleans(),
    ),
    st.builds(
        Lifecycle,
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(LIFECYCLE_STATES), min_size=1, max_size=3).map(tuple),
        st.booleans(),
    ),
)
refs = st.builds(SegmentRef, st.sampled_from(sorted(SAVED)), st.sampled_from(["in", "not_in"]), st.booleans())
leaves = st.one_of(attributes(), attributes(), tags(), events(), events(), stages, refs)
conditions = st.recursive(
    leaves,
    lambda children: st.builds(
        Group,
        st.sampled_from(["all", "any"]),
        st.lists(children, max_size=4).map(tuple),
        st.booleans(),
    ),
    max_leaves=8,
)
segments = st.builds(
    Segment,
    st.just(1),
    st.sampled_from(["all", "any"]),
    st.lists(conditions, max_size=4).map(tuple),
)

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _members(ds, segment: Segment) -> set[str]:
    sql, params = members_query(compile_where(segment, ds.catalog, resolve))
    return {row[0] for row in ds.cursor().execute(sql, params).fetchall()}


def _count(ds, segment: Segment) -> int:
    sql, params = count_query(compile_where(segment, ds.catalog, resolve))
    return ds.cursor().execute(sql, params).fetchone()[0]


def _bitmap_count(ds, segment: Segment) -> int | None:
    compiled = compile_where(segment, ds.catalog, resolve)
    return ds.bitmap_index().count(compiled.expression, compiled.params)


def _check(env, segment: Segment) -> bool:
    """Members equal the oracle's, user by user, and X / NOT X split every user.

    The same holds for the count from bitmap indexes, when they can answer: the
    return value says whether they did.
    """
    ds, oracle = env
    got = _members(ds, segment)
    want = oracle.members(segment)
    assert got == want, (
        f"{describe(segment)}\nonly SQL: {sorted(got - want)[:10]}\nonly oracle: {sorted(want - got)[:10]}\n"
        f"{compile_where(segment, ds.catalog, resolve).sql}"
    )
    negated = Segment(conditions=(Group(segment.match, segment.conditions, negate=True),))
    assert len(got) + _count(ds, negated) == ds.total_users == 300
    by_bitmaps = _bitmap_count(ds, segment)
    if by_bitmaps is None:
        return False
    assert by_bitmaps == len(want), f"{describe(segment)}: bitmaps {by_bitmaps}, oracle {len(want)}"
    assert _bitmap_count(ds, negated) == ds.total_users - len(want)
    return True


# One test per (field, operator), (tag, operator) and event shape, so every
# operator meets boundary values; then random trees for how they combine.
ATTRIBUTE_CASES = [(f, op) for f, kind in sorted(ATTRIBUTE_TYPES.items()) for op in OPS_BY_TYPE[kind]]
PROPERTY_CASES = [(f, op) for f, kind in sorted(PROPERTY_TYPES.items()) for op in OPS_BY_TYPE[kind]]
FOCUSED = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize(("field", "op"), ATTRIBUTE_CASES)
@FOCUSED
@given(data=st.data())
def test_each_attribute_operator_matches_the_oracle(env, field: str, op: str, data) -> None:
    _, op, value, values = data.draw(comparison({field: ATTRIBUTE_TYPES[field]}, op))
    # every column has at most 300 values here, so each has a bitmap index
    assert _check(
        env,
        Segment(conditions=(Attribute(field, op, value, values, negate=data.draw(st.booleans())),)),
    )


@pytest.mark.parametrize(("field", "op"), PROPERTY_CASES)
@FOCUSED
@given(data=st.data())
def test_each_event_filter_operator_matches_the_oracle(env, field: str, op: str, data) -> None:
    f = EventFilter(*data.draw(comparison({field: PROPERTY_TYPES[field]}, op)))
    event = data.draw(st.sampled_from(EVENTS))
    within = data.draw(st.sampled_from([None, 30, 90, 400]))
    count_op = data.draw(st.sampled_from([">=", ">", "=", "<", "<="]))
    _check(
        env,
        Segment(conditions=(Event(event, count_op, data.draw(st.integers(0, 3)), within, where=(f,)),)),
    )


@pytest.mark.parametrize("op", [">=", ">", "=", "<", "<="])
@pytest.mark.parametrize("window", ["all time", "counter window", "other window", "between", "where"])
@FOCUSED
@given(data=st.data())
def test_each_event_shape_matches_the_oracle(env, op: str, window: str, data) -> None:
    within = between = None
    where: tuple = ()
    if window == "counter window":
        within = data.draw(st.sampled_from([7, 30, 90, 180, 365]))
    elif window == "other window":
        within = data.draw(st.sampled_from([1, 2, 45, 400]))
    elif window == "between":
        a, b = sorted([data.draw(iso), data.draw(iso)])
        between = (a, b)
    elif window == "where":
        where = (EventFilter("product_category", "in", values=("cake", "Cake_50%")),)
    event = Event(data.draw(st.sampled_from(EVENTS)), op, data.draw(st.integers(0, 4)), within, between, where)
    _check(env, Segment(conditions=(event,)))


@pytest.mark.parametrize(
    ("tag", "op"),
    [(t, op) for t in ("interest/food/baking", "identity/kol") for op in ("has", "has_not")]
    + [
        (t, op)
        for t in ("level/score", "pref/color")
        for op in ("has", "has_not", "eq", "in", "gt", "gte", "lt", "lte")
    ],
)
@FOCUSED
@given(data=st.data())
def test_each_tag_operator_matches_the_oracle(env, tag: str, op: str, data) -> None:
    assert _check(env, Segment(conditions=(data.draw(tags(tag, op)),)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(condition=st.one_of(stages, refs))
def test_model_stages_and_saved_segments_match_the_oracle(env, condition) -> None:
    _check(env, Segment(conditions=(condition,)))


@SETTINGS
@given(segment=segments)
def test_random_trees_match_the_oracle_and_split_every_user(env, segment: Segment) -> None:
    _check(env, segment)


@settings(max_examples=150, deadline=None)
@given(segment=segments)
def test_every_representation_round_trips(segment: Segment) -> None:
    assert parse_segment(segment.to_dict()) == segment
    assert parse_segment(segment.to_json()) == segment
    assert decode_segment(encode_segment(segment)) == segment
    assert hash(parse_segment(segment.to_dict())) == hash(segment)
    for lang in ("en", "zh"):
        text = describe(segment, lang=lang)
        assert text.strip()
        assert len(describe_lines(segment, lang=lang)) == max(1, len(segment.conditions))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segment=segments)
def test_compiling_is_deterministic(env, segment: Segment) -> None:
    ds, _ = env
    first = compile_where(segment, ds.catalog, resolve)
    again = compile_where(parse_segment(segment.to_json()), ds.catalog, resolve)
    assert (first.sql, first.params) == (again.sql, again.params)
