"""Every query kind gives the same answer on DuckDB and on Spark (core/engine/spark_dataset.py).

The same core functions run twice: on the opened dataset (DuckDB) and on `on_spark(ds)`,
whose queries Spark answers over the same derived tables. Sizes, reach, overlaps,
breakdowns by every kind of dimension, member pages, models at a past date and
`adesk export` files (consent, masking, hashing, holdout, formula escaping, BOM, Parquet)
must be equal; on hypothesis-generated awkward data too. Scans only (no bitmap indexes), so
both engines really compute. Data: the NULL-heavy sample dataset with consent and PII columns.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from core import models
from core.analyses import aipl, retention
from core.analyses.overview import overview
from core.dataset import open_dataset
from core.engine.spark_dataset import on_spark
from core.export import ExportOptions, plan_export, write_export
from core.roles import RoleInfo
from core.segments import Aipl, Attribute, Event, Lifecycle, Rfm, Segment, SegmentRef, Tag
from core.segments import operations as ops
from core.store import AppStore
from dashboard.cli import main
from tests.segment_oracle import sample_tables, write_sample_dataset
from tests.test_segment_properties import SAVED, resolve

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

PHONES = ["13800001111", "=1+2", "+8613900002222", None, "  ", "-5", "@cmd"]
EMAILS = ["a@b.com", "@SUM(A1)", "-x@y", None, "Ünï@例子.cn", 'quote"d@x.cn', "line\nbreak@x.cn"]


def _with_privacy(tables: dict[str, pd.DataFrame], seed: int = 3) -> dict[str, pd.DataFrame]:
    """The sample users plus consent columns (boolean with NULLs; text a TRY_CAST must read) and PII."""
    u = tables["users"]
    rng = np.random.default_rng(seed)
    u["sms_opt_in"] = pd.array(rng.random(len(u)) > 0.4, dtype="boolean")
    u.loc[rng.random(len(u)) < 0.2, "sms_opt_in"] = None
    u["wechat_opt_in"] = rng.choice(["true", "false", "yes", "1", None, "garbage", " TRUE "], len(u))
    u["phone"] = rng.choice(np.array(PHONES, dtype=object), len(u))
    u["email"] = rng.choice(np.array(EMAILS, dtype=object), len(u))
    return tables


@pytest.fixture(scope="module")
def pair(tmp_path_factory, spark):
    """(DuckDB dataset, the same dataset answered by Spark)."""
    root = tmp_path_factory.mktemp("kinds") / "shop"
    write_sample_dataset(root, _with_privacy(sample_tables()))
    ds = open_dataset(root, cache_dir=root.parent / "cache")
    yield ds, on_spark(ds, spark)
    ds.close()


SEGMENTS = [
    Segment(conditions=(Attribute("age", "gte", 30), Tag("interest/food/baking", "has", negate=True))),
    Segment(match="any", conditions=(Event("purchase", ">=", 2, within_days=90), Attribute("city", "is_null"))),
    Segment(conditions=(Aipl("in", ("I", "P"), as_of="2026-03-31"),)),
    Segment(conditions=(Rfm("in", ("important_value", "general_retention", "none"), as_of="2026-01-15"),)),
    Segment(conditions=(Lifecycle("not_in", ("active", "dormant"), as_of="2025-12-31"),)),
    Segment(
        match="any",
        conditions=(SegmentRef("mixed", "in"), Event("review", "=", 0, between=("2026-06-30", "2026-06-30"))),
    ),
]


def test_sizes_and_reach_are_the_same(pair):
    ds, sd = pair
    for seg in SEGMENTS:
        want = ops.size(ds, seg, resolve, bitmaps=False)
        assert ops.size(sd, seg, resolve) == want
        assert ops.reach(sd, seg, resolve) == ops.reach(ds, seg, resolve, bitmaps=False)
    # reach read plainly for one definition: sms_opt_in TRUE among members aged 30+ without the baking tag
    users = pd.read_parquet(ds.path / "users.parquet")
    tags = pd.read_parquet(ds.path / "tags.parquet")
    baking = set(tags.loc[tags["tag"] == "interest/food/baking", "user_id"])
    members = users[(users["age"] >= 30).fillna(False) & ~users["user_id"].isin(baking)]
    assert ops.reach(sd, SEGMENTS[0])["sms"].reachable == int(members["sms_opt_in"].fillna(False).sum())


def test_overlap_is_the_same(pair):
    ds, sd = pair
    named = [(str(i), s) for i, s in enumerate(SEGMENTS)]
    got = ops.overlap(sd, named, resolve)
    assert got == ops.overlap(ds, named, resolve, bitmaps=False)
    assert got.sizes[1] == ops.size(ds, SEGMENTS[1], resolve, bitmaps=False).count
    assert 0 < got.matrix[0][1] < min(got.sizes[0], got.sizes[1])


@pytest.mark.parametrize(
    "by",
    [
        "city",
        "vip",
        "member_level",
        "age",
        "score",
        "signup_at",
        "birthday",
        "aipl",
        "rfm",
        "lifecycle",
        "interest/food/baking",
        "level/score",
        "pref/color",
    ],
)
def test_breakdown_is_the_same(pair, by):
    ds, sd = pair
    want = ops.breakdown(ds, SEGMENTS[1], by, bitmaps=False, limit=4)
    assert ops.breakdown(sd, SEGMENTS[1], by, limit=4) == want
    assert sum(r.count_in_base for r in want.rows) == ds.total_users


def test_member_pages_are_the_same(pair):
    ds, sd = pair
    columns = [
        "city",
        "score",
        "signup_at",
        "birthday",
        "vip",
        "_rfm_class",
        "_monetary",
        "phone",
        "email",
        "pref/color",
    ]
    for seg, page in ((SEGMENTS[0], 1), (SEGMENTS[2], 0)):
        want = ops.members(ds, seg, page=page, page_size=25, columns=columns)
        got = ops.members(sd, seg, page=page, page_size=25, columns=columns)
        assert got.total == want.total > 25 * page
        pd.testing.assert_frame_equal(got.rows, want.rows)  # values and pandas types
        assert got.masked_columns == want.masked_columns == ("phone", "email")


def test_models_per_member_are_the_same_at_past_dates(pair):
    """RFM, AIPL and lifecycle per member at as_of (profile) and at past dates (the rules over the events)."""
    ds, sd = pair
    per_member = exp.select(
        *(exp.column(c, quoted=True) for c in ("_uid", "_rfm_class", "_aipl_stage", "_lifecycle"))
    ).from_("profile")
    assert sorted(sd.run(per_member)) == sorted(ds.run(per_member))
    for model in ("rfm", "aipl", "lifecycle"):
        for day in (date(2025, 12, 31), date(2026, 3, 31)):
            name = models.at(ds, model, day)
            assert models.at(sd, model, day) == name
            table = exp.select(exp.column("_uid", quoted=True), exp.column("value", quoted=True)).from_(
                exp.to_table(name, quoted=True)
            )
            duck = sorted((u, str(v)) for u, v in ds.run(table))
            assert sorted(sd.run(table)) == duck
            assert len(duck) == ds.total_users and len({v for _u, v in duck}) >= 2  # the rule tells members apart


def _export(data, tmp_path, name, args, monkeypatch, capsys, engine):
    monkeypatch.setenv("ADESK_ENGINE", engine)
    out = tmp_path / name
    assert main(["export", str(data), *args, "--out", str(out), "--db", str(tmp_path / f"{engine}.db"), "--json"]) == 0
    return json.loads(capsys.readouterr().out), out


@pytest.mark.parametrize(
    "args",
    [
        ["--channel", "sms", "--columns", "city,phone,email,score,signup_at,birthday,vip,rfm_class"],
        ["--channel", "wechat", "--columns", "city,phone,email", "--holdout", "0.3", "--bom", "--pii", "hashed"],
        ["--columns", "city,email,phone", "--pii", "raw", "--format", "parquet"],
        ["--columns", "city,email,phone", "--pii", "raw", "--raw-text"],
    ],
    ids=["csv-sms-masked", "csv-holdout-hashed-bom", "parquet-raw", "csv-raw-text"],
)
def test_adesk_export_gives_the_same_sha256(pair, tmp_path, monkeypatch, capsys, args):
    ds, _sd = pair
    monkeypatch.setenv("ADESK_ROLE", "pii")
    seg = tmp_path / "seg.json"
    seg.write_text(json.dumps(SEGMENTS[1].to_dict()), encoding="utf-8")
    ext = "parquet" if "parquet" in args else "csv"
    duck, duck_file = _export(
        ds.path, tmp_path, f"duck.{ext}", ["--segment", str(seg), *args], monkeypatch, capsys, "duckdb"
    )
    spark, spark_file = _export(
        ds.path, tmp_path, f"spark.{ext}", ["--segment", str(seg), *args], monkeypatch, capsys, "spark"
    )
    assert spark["sha256"] == hashlib.sha256(spark_file.read_bytes()).hexdigest()
    if "--holdout" in args:
        # the holdout is drawn from the export id, new for each export: DuckDB re-creates Spark's export
        # (same id, same definition) and must write the very bytes Spark's run logged
        assert spark["export_id"] != duck["export_id"]
        monkeypatch.setenv("ADESK_ENGINE", "duckdb")
        again = [
            "exports",
            "recreate",
            spark["export_id"],
            "--out",
            str(tmp_path / "again.csv"),
            "--db",
            str(tmp_path / "spark.db"),
            "--json",
        ]
        assert main(again) == 0
        assert json.loads(capsys.readouterr().out)["sha256"] == spark["sha256"]
        assert 0 < spark["holdout_rows"] < spark["rows_written"]
    else:
        assert spark["sha256"] == duck["sha256"]
    for key in ("excluded_by_consent", "segment_size"):
        assert spark[key] == duck[key]
    assert duck["rows_written"] > 20
    if "sms" in args:  # consent read plainly: TRUE only
        users = pd.read_parquet(ds.path / "users.parquet").set_index("user_id")
        written = pd.read_csv(spark_file, dtype=str)["user_id"]
        assert users.loc[written, "sms_opt_in"].fillna(False).all()
        assert duck["excluded_by_consent"] > 0
    if "--raw-text" not in args and ext == "csv":  # formula escaping: no cell opens with = + - @
        text = spark_file.read_text(encoding="utf-8-sig")
        assert "\n=1+2" not in text and ",=1+2" not in text and ",@SUM" not in text


# --- hostile data generated by hypothesis --------------------------------------------------------

AWKWARD = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            '=HYPERLINK("x")',
            "+1",
            "-1",
            "@a",
            "'",
            '"',
            "a,b",
            "a\nb",
            "\t",
            "NULL",
            "null",
            "上海",
            "🍰",
            "\\",
        ]
    ),
    st.text(min_size=0, max_size=8),
    st.none(),
)
NUMBERS = st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=True, width=64), st.integers(-(2**53), 2**53).map(float)
)


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(texts=st.lists(AWKWARD, min_size=12, max_size=12), numbers=st.lists(NUMBERS, min_size=12, max_size=12))
def test_awkward_values_count_and_export_the_same(tmp_path_factory, spark, texts, numbers):
    tables = _with_privacy(sample_tables(n_users=60, seed=5))
    users = tables["users"]
    users["city"] = [texts[i % len(texts)] for i in range(len(users))]
    numbers = [1.5, *numbers]  # one number at least: the column stays a DOUBLE
    users["score"] = [numbers[i % len(numbers)] for i in range(len(users))]
    users["phone"] = [texts[(i + 5) % len(texts)] for i in range(len(users))]
    root = tmp_path_factory.mktemp("awkward") / "shop"
    write_sample_dataset(root, tables)
    ds = open_dataset(root, cache_dir=root.parent / "cache")
    try:
        sd = on_spark(ds, spark)
        probe = next((t for t in texts if t), "x")
        finite = next((n for n in numbers if n is not None and np.isfinite(n)), 0.0)
        segs = [
            Segment(conditions=(Attribute("city", "eq", probe),)),
            Segment(conditions=(Attribute("city", "contains", probe[:2] or probe),)),
            Segment(match="any", conditions=(Attribute("city", "gt", probe), Attribute("score", "lte", finite))),
            Segment(conditions=(Attribute("score", "gt", finite, negate=True),)),
        ]
        for seg in segs:
            assert ops.size(sd, seg) == ops.size(ds, seg, bitmaps=False)
        everyone = Segment()
        for by in ("city", "score"):
            assert ops.breakdown(sd, everyone, by, limit=5) == ops.breakdown(ds, everyone, by, bitmaps=False, limit=5)
        options = ExportOptions(columns=("city", "phone", "score"), pii_mode="raw", holdout=0.2)
        role = RoleInfo("pii", "test")
        shas = []
        for name, d in (("duck", ds), ("spark", sd)):
            plan = plan_export(d, everyone, options, role=role, export_id="exp-awkward")
            store = AppStore(root.parent / f"{name}.db")
            shas.append(write_export(d, plan, store, out=root.parent / f"{name}.csv").sha256)
        assert shas[0] == shas[1]
    finally:
        ds.close()


def test_saved_references_resolve_the_same(pair):
    ds, sd = pair
    for key in SAVED:
        seg = Segment(conditions=(SegmentRef(key, "not_in"), Attribute("vip", "eq", True)))
        assert ops.size(sd, seg, resolve) == ops.size(ds, seg, resolve, bitmaps=False)


def test_bench_engines_gives_the_same_answers(tmp_path, spark, capsys):
    """`adesk bench engines`: every count and the export's SHA-256 agree; one count read plainly with pandas."""
    from core.demo import generate

    demo_dir = tmp_path / "demo"
    generate(demo_dir, users=3_000, seed=7)
    assert main(["bench", "engines", str(demo_dir), "--repeat", "1", "--definitions", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["all_same"] and out["export"]["same_sha256"] and out["export"]["spark"]["rows"] > 300
    assert all(c["same"] and c["spark_ms"] > 0 for c in out["counts"])
    tags = pd.read_parquet(demo_dir / "tags.parquet", columns=["user_id", "tag"])
    baking = tags.loc[tags["tag"] == "interest/food/baking", "user_id"].nunique()
    assert [c["name"] for c in out["counts"]] == ["city in 2", "tag has"]
    assert {c["name"]: c["members"] for c in out["counts"]}["tag has"] == baking


# --- analyses -------------------------------------------------------------------------------------


def test_overview_is_the_same(pair):
    ds, sd = pair
    got = overview(sd).to_dict()
    assert got == overview(ds).to_dict()
    events = pd.read_parquet(ds.path / "events")
    assert got["events"] == len(events) and got["last_event"] == events["ts"].max().date().isoformat()


def test_aipl_funnel_flow_and_trend_are_the_same(pair):
    ds, sd = pair
    past, base = date(2026, 3, 31), SEGMENTS[0]
    for args in ((None,), (past,), (past, base)):
        assert aipl.funnel(sd, *args, resolve=resolve).to_dict() == aipl.funnel(ds, *args, resolve=resolve).to_dict()
    flow = aipl.flow(sd, past, ds.as_of)
    assert flow.to_dict() == aipl.flow(ds, past, ds.as_of).to_dict()
    assert aipl.trend(sd, months=3).to_dict() == aipl.trend(ds, months=3).to_dict()


@pytest.mark.parametrize(
    ("spec", "base"),
    [
        (retention.RetentionSpec("month", date(2025, 11, 1), date(2026, 5, 1)), SEGMENTS[0]),
        (
            retention.RetentionSpec(
                "week", date(2025, 7, 7), date(2026, 6, 28), start="purchase", return_event="review", mode="on_or_after"
            ),
            None,
        ),
    ],
    ids=["signup-month-on-base", "purchase-week-on-or-after"],
)
def test_retention_is_the_same(pair, spec, base):
    ds, sd = pair
    want = retention.retention(ds, spec, base=base, resolve=resolve).to_dict()
    assert retention.retention(sd, spec, base=base, resolve=resolve).to_dict() == want
    assert sum(c["size"] for c in want["cohorts"]) > 0 and any(sum(c["retained"][1:]) for c in want["cohorts"])


def test_cli_commands_answer_the_same_on_spark(pair, tmp_path, monkeypatch, capsys):
    """`adesk overview`, `aipl`, `retention` and `breakdown` print the same JSON with ADESK_ENGINE=spark."""
    ds, _sd = pair
    seg = tmp_path / "seg.json"
    seg.write_text(json.dumps(SEGMENTS[1].to_dict()), encoding="utf-8")
    data = str(ds.path)
    commands = [
        ["overview", data, "--json"],
        ["aipl", "flow", data, "--from", "2026-03-31", "--json"],
        [
            "retention",
            data,
            "--start",
            "signup",
            "--period",
            "month",
            "--from",
            "2025-11-01",
            "--to",
            "2026-05-01",
            "--json",
        ],
        ["breakdown", data, "--segment", str(seg), "--by", "score", "--json"],
    ]
    for command in commands:
        printed = {}
        for engine in ("duckdb", "spark"):
            monkeypatch.setenv("ADESK_ENGINE", engine)
            assert main(command) == 0
            printed[engine] = json.loads(capsys.readouterr().out)
        assert printed["spark"] == printed["duckdb"], command[0]


def test_what_spark_cannot_answer_says_why(pair):
    """DuckDB's hash() is refused with the reason; a Spark failure is core's EngineError."""
    from core.engine import EngineError as RuleError
    from core.problems import EngineError as QueryError

    ds, sd = pair
    with pytest.raises(RuleError, match="SHA-256"):
        sd.run(exp.select(exp.func("hash", exp.column("user_id"))).from_("profile"))
    with pytest.raises(QueryError, match="Spark could not answer"):
        sd.run(exp.select("*").from_("no_such_table"))
