"""Per-variant aggregates of experiments against an independent pandas computation from ANALYSES.md §5."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from core.analyses.ab import ABSpec, ab_result, experiment_list
from core.analyses.experiments import UnknownExperiment, aggregates, find
from core.dataset import open_dataset
from core.export import ExportOptions, plan_export, write_export
from core.roles import RoleInfo
from core.store import AppStore
from tests.datasets import write_dataset
from tests.oracles import millionths

AS_OF = "2026-06-30"
END = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)
TOML = f"""as_of = "{AS_OF}"

[experiments.three_way]
control = "A"
metric_window_days = 10
expected_split = {{ A = 0.5, B = 0.25, C = 0.25 }}

[experiments.claims]
metric_window_days = 7
conversion_event = "coupon_claim"
"""


def _data(seed: int = 4):
    rng = np.random.default_rng(seed)
    n = 300
    users = pd.DataFrame(
        {
            "user_id": [f"u{i:03d}" for i in range(n)],
            "city": rng.choice(["Shanghai", "Wuhan"], n),
        }
    )
    rows = []
    for i in range(n):
        uid = f"u{i:03d}"
        # assigned in June; the last ones within 10 days of as_of, so their windows are cut
        t0 = pd.Timestamp("2026-06-01") + pd.Timedelta(
            days=int(rng.integers(0, 29)), seconds=int(rng.integers(0, 86400))
        )
        rows.append(("three_way", uid, rng.choice(["A", "A", "B", "C"]), t0))
        if i % 17 == 0:  # a duplicate row in the same variant, later: the earliest counts
            rows.append(("three_way", uid, rows[-1][2], t0 + pd.Timedelta(days=3)))
        if i % 23 == 0:  # a second variant: multiple exposure
            rows.append(("three_way", uid, "B" if rows[-1][2] != "B" else "C", t0 + pd.Timedelta(hours=1)))
        rows.append(("claims", uid, rng.choice(["x", "y"]), t0))
    for j in range(7):  # users not in `users`
        rows.append(("three_way", f"ghost{j}", "A", pd.Timestamp("2026-06-05")))
    assignments = pd.DataFrame(rows, columns=["experiment", "user_id", "variant", "assigned_at"])
    events = []
    first = assignments.groupby(["experiment", "user_id"])["assigned_at"].min()
    for (_exp, uid), t0 in first.items():
        if not uid.startswith("u"):
            continue
        for _ in range(int(rng.integers(0, 5))):
            kind = rng.choice(["purchase", "coupon_claim", "product_view"])
            offset = rng.choice(
                [
                    pd.Timedelta(0),  # exactly at assignment: in the window
                    pd.Timedelta(days=10),
                    pd.Timedelta(days=7),  # exactly at a window's end: out
                    -pd.Timedelta(days=10),
                    -pd.Timedelta(days=7),  # exactly at the pre-period's start: in
                    pd.Timedelta(seconds=int(rng.integers(-20 * 86400, 20 * 86400))),
                ]
            )
            amount = float(rng.choice([9.5, 20.0, 35.0])) if kind == "purchase" else np.nan
            events.append((uid, kind, t0 + offset, amount))
    events = pd.DataFrame(events, columns=["user_id", "event", "ts", "amount"])
    return users, events, assignments


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    users, events, assignments = _data()
    root = write_dataset(tmp_path_factory.mktemp("ab") / "ab", users, events, toml=TOML, assignments=assignments)
    d = open_dataset(root, cache_dir=tmp_path_factory.mktemp("cache"))
    d.test_frames = (users, events, assignments)
    yield d
    d.close()


def oracle(users, events, assignments, experiment, window_days, conversion, cities=None):
    """Per variant from the definition: earliest row, exclusions, [t0, t0 + W) cut at as_of, pre-period [t0 − W, t0)."""
    a = assignments[assignments["experiment"] == experiment]
    variants = a.groupby("user_id")["variant"].nunique()
    multiple = set(variants[variants > 1].index)
    known = set(users["user_id"])
    single = a[~a["user_id"].isin(multiple)]
    unknown = set(single["user_id"]) - known
    units = single[single["user_id"].isin(known)].sort_values("assigned_at").groupby("user_id").first().reset_index()
    if cities is not None:
        units = units[units["user_id"].isin(users[users["city"].isin(cities)]["user_id"])]
    w = pd.Timedelta(days=window_days)
    ev = events[events["ts"] < END]
    out = {}
    for variant, group in units.groupby("variant"):
        conv = rev = rev2 = pconv = cprod = prev = prev2 = rprod = unfinished = 0
        for _, u in group.iterrows():
            t0 = u["assigned_at"]
            t1 = min(t0 + w, END)
            mine = ev[ev["user_id"] == u["user_id"]]
            post = mine[(mine["ts"] >= t0) & (mine["ts"] < t1)]
            pre = mine[(mine["ts"] >= t0 - w) & (mine["ts"] < min(t0, t1))]
            c = int((post["event"] == conversion).any())
            pc = int((pre["event"] == conversion).any())
            # exact sums in millionths (Python integers): the app's sums are exact (tests/oracles.py says why)
            r = sum(map(millionths, post.loc[post["event"] == "purchase", "amount"]))
            pr = sum(map(millionths, pre.loc[pre["event"] == "purchase", "amount"]))
            conv += c
            pconv += pc
            cprod += c * pc
            rev += r
            rev2 += r * r
            prev += pr
            prev2 += pr * pr
            rprod += r * pr
            unfinished += int(t0 + w > END)
        out[variant] = dict(
            users=len(group),
            conversions=conv,
            revenue_sum=float(Fraction(rev, 10**6)),
            revenue_sum_sq=float(Fraction(rev2, 10**12)),
            pre_conversions=pconv,
            conversion_products=cprod,
            pre_revenue_sum=float(Fraction(prev, 10**6)),
            pre_revenue_sum_sq=float(Fraction(prev2, 10**12)),
            revenue_products=float(Fraction(rprod, 10**12)),
            unfinished=unfinished,
        )
    return out, len(multiple), len(unknown)


def _check(agg, expected):
    want, multiple, unknown = expected
    assert (agg.multiple_exposure, agg.unknown_users) == (multiple, unknown)
    got = {v.name: v for v in agg.variants}
    assert set(got) == set(want)
    for name, fields in want.items():
        for key, value in fields.items():
            assert getattr(got[name], key) == value, (name, key)  # revenue too: exact sums, to the last bit


def test_three_variants_match_pandas(ds):
    agg = aggregates(ds, find(ds, "three_way"))
    expected = oracle(*ds.test_frames, "three_way", 10, "purchase")
    _check(agg, expected)
    assert expected[1] > 0 and expected[2] == 7 and sum(v["unfinished"] for v in expected[0].values()) > 0


def test_conversion_event_and_window_from_the_config(ds):
    _check(aggregates(ds, find(ds, "claims")), oracle(*ds.test_frames, "claims", 7, "coupon_claim"))


def test_base_segment_restricts_the_units(ds):
    shanghai = {"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Shanghai"}]}
    from core.segments.model import parse_segment

    agg = aggregates(ds, find(ds, "three_way"), segment=parse_segment(shanghai))
    _check(agg, oracle(*ds.test_frames, "three_way", 10, "purchase", cities=["Shanghai"]))
    result = ab_result(ds, ABSpec("three_way", segment=shanghai))
    assert result.users == sum(v.users for v in agg.variants) and "Shanghai" in result.segment_description


def test_data_scope_sees_only_its_members(ds):
    """Under a data scope the cached per-member assignments hold only the scope's members: no unknown ids."""
    from core.access import scoped_dataset
    from core.segments.model import parse_segment

    users, events, assignments = ds.test_frames
    scoped = scoped_dataset(
        ds, parse_segment({"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Wuhan"}]})
    )
    wuhan = users[users["city"] == "Wuhan"]
    expected = oracle(
        wuhan, events, assignments[assignments["user_id"].isin(wuhan["user_id"])], "three_way", 10, "purchase"
    )
    _check(aggregates(scoped, find(scoped, "three_way")), expected)
    assert expected[1] > 0 and expected[2] == 0
    listed = {s.experiment.name: s for s in experiment_list(scoped)}["three_way"]
    assert listed.users == sum(v["users"] for v in expected[0].values()) < listed_all(ds)


def listed_all(ds) -> int:
    return {s.experiment.name: s for s in experiment_list(ds)}["three_way"].users


def test_result_json_shape_three_variants_and_holm(ds):
    r = ab_result(ds, ABSpec("three_way", cuped=True)).to_dict()
    assert list(r) == [
        "experiment",
        "control",
        "srm_p_value",
        "srm_flag",
        "excluded_multiple_exposure",
        "excluded_unknown_users",
        "windows_incomplete",
        "variants",
    ]
    assert [v["name"] for v in r["variants"]] == ["A", "B", "C"] and r["control"] == "A"
    control = r["variants"][0]["metrics"]["conversion"]
    assert control["lift"] is None and control["p_value"] is None and control["risk"] is None
    ps = [v["metrics"][m]["p_value"] for v in r["variants"][1:] for m in ("conversion", "revenue")]
    adjusted = [v["metrics"][m]["p_value_adjusted"] for v in r["variants"][1:] for m in ("conversion", "revenue")]
    from statsmodels.stats.multitest import multipletests

    present = [i for i, p in enumerate(ps) if p is not None]
    want = multipletests([ps[i] for i in present], method="holm")[1]
    assert [adjusted[i] for i in present] == pytest.approx(list(want), rel=1e-9)
    users = [v["users"] for v in r["variants"]]
    from scipy.stats import chisquare

    assert r["srm_p_value"] == pytest.approx(
        chisquare(users, np.array([0.5, 0.25, 0.25]) * sum(users)).pvalue, rel=1e-9
    )


def test_unknown_experiment_lists_the_known(ds):
    with pytest.raises(UnknownExperiment) as err:
        find(ds, "nope")
    assert err.value.known == ["claims", "three_way"]


def test_list_status(ds):
    summaries = {s.experiment.name: s for s in experiment_list(ds)}
    assert summaries["three_way"].status == "running"  # windows of late assignments are not over
    assert summaries["three_way"].users == sum(
        v["users"] for v in oracle(*ds.test_frames, "three_way", 10, "purchase")[0].values()
    )


# --- exports with a holdout -----------------------------------------------------------------------


def _future_dataset(root):
    """Events around now, so an export made now has a metric window inside the data."""
    rng = np.random.default_rng(9)
    now = pd.Timestamp(datetime.now(UTC).replace(tzinfo=None))
    n = 400
    users = pd.DataFrame({"user_id": [f"m{i:03d}" for i in range(n)], "sms_opt_in": rng.random(n) < 0.8})
    ts = now + pd.to_timedelta(rng.integers(-20 * 86400, 20 * 86400, 3000), unit="s")
    events = pd.DataFrame(
        {
            "user_id": rng.choice(users["user_id"], 3000),
            "event": rng.choice(["purchase", "product_view"], 3000),
            "ts": ts,
            "amount": rng.choice([10.0, 25.0], 3000),
        }
    )
    as_of = (now + pd.Timedelta(days=30)).date().isoformat()
    return write_dataset(root, users, events, toml=f'as_of = "{as_of}"\n'), users, events


@pytest.mark.parametrize("legacy", [False, True])
def test_export_holdout_is_an_experiment(tmp_path, legacy):
    root, users, events = _future_dataset(tmp_path / "fut")
    d = open_dataset(root, cache_dir=tmp_path / "cache")
    store = AppStore(tmp_path / "app.db")
    plan = plan_export(d, {"conditions": []}, ExportOptions(channel="sms", holdout=0.3), role=RoleInfo("none", "test"))
    write_export(d, plan, store, out=tmp_path / "out.csv")
    record = store.get_export(plan.export_id)
    if legacy:  # an export made before holdout files: its rows in SQLite only
        import sqlite3

        frame = pd.read_parquet(store.holdout_file(plan.export_id).path)
        with sqlite3.connect(store.path) as conn:
            conn.execute("delete from export_holdouts")
            conn.executemany(
                "insert into experiment_assignments values (?, ?, ?)",
                [(plan.export_id, u, v) for u, v in zip(frame["user_id"], frame["variant"], strict=True)],
            )
    e = find(d, plan.export_id, store)
    assert (e.kind, e.control, e.legacy) == ("export", "holdout", legacy)
    t0 = pd.Timestamp(datetime.fromisoformat(record.created_at).astimezone(UTC).replace(tzinfo=None))
    consenting = users[users["sms_opt_in"]]["user_id"]
    from core.export import in_holdout

    assigned = pd.DataFrame(
        {
            "experiment": plan.export_id,
            "user_id": consenting,
            "variant": ["holdout" if in_holdout(plan.export_id, u, 0.3) else "target" for u in consenting],
            "assigned_at": t0,
        }
    )
    global END
    saved, END = END, pd.Timestamp(d.as_of) + pd.Timedelta(days=1)
    try:
        expected = oracle(users, events, assigned, plan.export_id, 14, "purchase")
    finally:
        END = saved
    _check(aggregates(d, e, store=store), expected)
    summary = {s.experiment.name: s for s in experiment_list(d, store)}[plan.export_id]
    assert dict(summary.variants) == {k: v["users"] for k, v in expected[0].items()}
    d.close()


# --- the CLI --------------------------------------------------------------------------------------


def test_cli_json_and_unknown_experiment(ds, capsys, tmp_path):
    import json

    from dashboard.cli import main

    seg = tmp_path / "seg.json"
    seg.write_text(json.dumps({"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Wuhan"}]}))
    assert main(["ab", str(ds.path), "--experiment", "three_way", "--segment", str(seg), "--cuped", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    want, multiple, unknown = oracle(*ds.test_frames, "three_way", 10, "purchase", cities=["Wuhan"])
    assert {v["name"]: v["users"] for v in out["variants"]} == {k: v["users"] for k, v in want.items()}
    assert (out["excluded_multiple_exposure"], out["excluded_unknown_users"]) == (multiple, unknown)
    assert out["windows_incomplete"] == sum(v["unfinished"] for v in want.values())
    b = next(v for v in out["variants"] if v["name"] == "B")["metrics"]["conversion"]
    assert set(b) == {"mean", "lift", "ci_low", "ci_high", "p_value", "p_value_adjusted", "chance_to_win", "risk"}
    assert b["mean"] == pytest.approx(want["B"]["conversions"] / want["B"]["users"])

    assert main(["ab", str(ds.path), "--experiment", "nope", "--json"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "claims" in err and "three_way" in err

    assert main(["ab", "list", str(ds.path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [e["experiment"] for e in listed["experiments"]] == ["claims", "three_way"]


def test_bench_ab_cross_checks_pandas_on_the_demo(demo_dir, capsys):
    import json

    from dashboard.cli import main

    # run() raises if the pandas baseline disagrees on any variant's users, conversions or revenue
    assert main(["bench", "ab", str(demo_dir), "--repeat", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"dataset", "users", "open_seconds", "list_p50_ms", "experiments"}
    names = {r["experiment"]: r for r in out["experiments"]}
    assert set(names) == {"coupon_copy_test", "push_time_test", "banner_color_test"}
    assert names["banner_color_test"]["srm_flag"] and not names["coupon_copy_test"]["srm_flag"]
    assert all(r["pandas_p50_ms"] > 0 and r["p50_ms"] > 0 for r in out["experiments"])
