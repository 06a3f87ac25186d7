"""A/B results: the experiments list and each experiment's results end to end, against plain pandas in the same run.

Timed: `experiment_list` (every experiment's users per variant, dates, status) and `ab_result`
(per-variant aggregates over the events + statistics), plain and with CUPED, medians of `--repeat`
runs, each computed afresh (the answers kept per dataset are dropped before each run; the kept
answer's read is timed apart). Also one experiment within a base segment (`--within`, default the
demo's largest experiment among members aged 27–34: ~2 M members at 10 M). Baseline: the same
per-variant users, conversions and revenue computed with pandas from the Parquet files (assignments
of the experiment; purchase events of its period read with pyarrow filters), median of fewer runs;
every count is cross-checked. `--first`: the first question of a data version apart — the contract's
assignments resolved per member (once per data version, ~0 s when their files exist), the first list,
the first experiment's first result.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from core.bench import median, timed


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data",
        nargs="?",
        default=os.environ.get("ADESK_BENCH_DATA", "/tmp/demo10m"),
        help="a demo dataset (default /tmp/demo10m)",
    )
    p.add_argument(
        "--repeat", type=int, default=5, help="timed runs per measurement (default 5; pandas: half, at least 1)"
    )
    p.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    p.add_argument(
        "--no-reference",
        action="store_true",
        help="skip the reference: the same aggregates by the one SQL query the read used before (timed, same run)",
    )
    p.add_argument(
        "--only", default="", help="comma-separated experiments to read one by one (default every one; '-' none)"
    )
    p.add_argument(
        "--within",
        default="coupon_copy_test:27-34",
        help="EXPERIMENT:LOW-HIGH: also read that experiment among members aged LOW..HIGH"
        " (default coupon_copy_test:27-34; '' skips)",
    )
    p.add_argument(
        "--first",
        action="store_true",
        help="also report the first question of a data version apart (`first_question`): the assignments resolved"
        " per member (0 s when their files exist), the first list, the first experiment's first result",
    )


def pandas_aggregates(
    root: Path, name: str, window_days: int, as_of_end, conversion: str, ages: tuple[int, int] | None = None
) -> dict[str, tuple[int, int, float]]:
    """(users, conversions, revenue) per variant with plain pandas, by ANALYSES.md §5 (conversion = purchase)."""
    import pandas as pd

    a = pd.read_parquet(
        root / "assignments.parquet",
        filters=[("experiment", "==", name)],
        columns=["user_id", "variant", "assigned_at"],
    )
    per = a.groupby("user_id").agg(
        variants=("variant", "nunique"), variant=("variant", "min"), t0=("assigned_at", "min")
    )
    per = per[per["variants"] == 1]
    filters = None if ages is None else [("age", ">=", ages[0]), ("age", "<=", ages[1])]
    known = pd.read_parquet(root / "users.parquet", columns=["user_id"], filters=filters)["user_id"]
    per = per[per.index.isin(known)].reset_index()
    w = pd.Timedelta(days=window_days)
    lo, hi = per["t0"].min(), min(per["t0"].max() + w, pd.Timestamp(as_of_end))
    ev = pd.read_parquet(
        root / "events",
        columns=["user_id", "ts", "amount"],
        filters=[("event", "==", conversion), ("ts", ">=", lo), ("ts", "<", hi)],
    )
    m = ev.merge(per[["user_id", "t0"]], on="user_id")
    m = m[(m["ts"] >= m["t0"]) & (m["ts"] < (m["t0"] + w).clip(upper=pd.Timestamp(as_of_end)))]
    by_user = m.groupby("user_id").agg(rev=("amount", "sum"))
    per = per.merge(by_user, left_on="user_id", right_index=True, how="left")
    per["conv"] = per["rev"].notna().astype(int)
    per["rev"] = per["rev"].fillna(0.0)
    out = per.groupby("variant").agg(users=("user_id", "size"), conv=("conv", "sum"), rev=("rev", "sum"))
    return {v: (int(r.users), int(r.conv), float(r.rev)) for v, r in out.iterrows()}


def _within(text: str) -> tuple[str, tuple[int, int]] | None:
    if not text:
        return None
    name, _, span = text.partition(":")
    low, _, high = span.partition("-")
    return name, (int(low), int(high))


def _reference(ds, spec, experiment) -> object:
    """The same result from the one SQL query (`aggregates_sql`, rows resolved on the read): the read before this."""
    from core.analyses.ab import build_result
    from core.analyses.experiments import aggregates_sql
    from core.segments.model import parse_segment

    segment = parse_segment(spec.segment) if spec.segment is not None else None
    return build_result(experiment, spec, ds.as_of, aggregates_sql(ds, experiment, segment=segment, keep=False))


def _measure(ds, root: Path, spec, experiment, args: argparse.Namespace, ages=None) -> dict:
    """One experiment's read afresh (plain, CUPED), its kept answer, and the pandas baseline cross-checked."""
    from dataclasses import replace

    from core.analyses import ab_read
    from core.analyses.ab import ab_result

    def fresh(s=spec) -> object:
        ab_read.forget(ds)  # time the read, not the kept answer
        return ab_result(ds, s)

    result = fresh()  # warm-up
    plain = timed(fresh, args.repeat)
    cuped = timed(lambda: fresh(replace(spec, cuped=True)), args.repeat)
    kept = timed(lambda: ab_result(ds, replace(spec, sequential=True)), args.repeat)
    reference = None if args.no_reference else timed(lambda: _reference(ds, spec, experiment), args.repeat)
    row = {
        "experiment": spec.experiment,
        "segment": None if ages is None else f"age {ages[0]}-{ages[1]}",
        "assigned_users": result.users,
        "p50_ms": round(median(plain), 1),
        "cuped_p50_ms": round(median(cuped), 1),
        "kept_p50_ms": round(median(kept), 2),
        "srm_flag": result.srm_flag,
    }
    if reference is not None:
        row["sql_reference_p50_ms"] = round(median(reference), 1)
    if not args.no_pandas and experiment.conversion_event == ds.config.purchase_event:
        window, end, found = experiment.window_days, ds.as_of_end, {}

        def baseline() -> None:
            found.update(pandas_aggregates(root, spec.experiment, window, end, ds.config.purchase_event, ages))

        pandas_ms = timed(baseline, max(1, args.repeat // 2))  # the last run's numbers are cross-checked
        got = {v.name: (v.aggregate.users, v.aggregate.conversions, v.aggregate.revenue_sum) for v in result.variants}
        for variant, (users, conv, rev) in found.items():
            g = got[variant]
            if (g[0], g[1]) != (users, conv) or abs(g[2] - rev) > 1e-6 * max(1.0, abs(rev)):
                raise SystemExit(f"pandas disagrees on {spec.experiment}/{variant}: {g} vs {(users, conv, rev)}")
        row["pandas_p50_ms"] = round(median(pandas_ms), 1)
        row["speedup"] = round(row["pandas_p50_ms"] / row["p50_ms"], 1)
    return row


def run(args: argparse.Namespace) -> dict:
    from core.analyses import ab_members
    from core.analyses.ab import ABSpec, experiment_list
    from core.dataset import open_dataset

    root = Path(args.data)
    if not (root / "dataset.toml").exists():
        raise SystemExit(f"{root} is not a dataset (make one with `adesk demo --users 10000000 --out {root}`).")
    t0 = time.perf_counter()
    ds = open_dataset(root)
    open_seconds = time.perf_counter() - t0
    # the first question of a data version resolves the contract's assignments per member (ab_members.py)
    were_resolved = ab_members.is_resolved(ds)
    t0 = time.perf_counter()
    ab_members.ensure(ds)
    resolve_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    summaries = experiment_list(ds)  # warm-up
    first = {
        "assignments_were_resolved": were_resolved,
        "assignments_resolve_s": round(resolve_seconds, 2),
        "first_list_ms": round((time.perf_counter() - t0) * 1000, 1),
    }
    if args.first and summaries:
        from core.analyses import ab_read
        from core.analyses.ab import ab_result

        name = summaries[0].experiment.name
        t0 = time.perf_counter()
        ab_result(ds, ABSpec(name))
        first |= {"experiment": name, "first_result_ms": round((time.perf_counter() - t0) * 1000, 1)}
        ab_read.forget(ds)  # the timed reads below compute afresh
    list_ms = timed(lambda: experiment_list(ds), args.repeat)
    only = {n for n in args.only.split(",") if n}
    rows = [
        _measure(ds, root, ABSpec(s.experiment.name), s.experiment, args)
        for s in summaries
        if not only or s.experiment.name in only
    ]
    within = _within(args.within)
    known = {s.experiment.name: s.experiment for s in summaries}
    if within is not None and within[0] in known and "age" in ds.catalog.attributes:
        name, (low, high) = within
        segment = {"conditions": [{"kind": "attribute", "field": "age", "op": "between", "values": [low, high]}]}
        rows.append(_measure(ds, root, ABSpec(name, segment=segment), known[name], args, (low, high)))
    ds.close()
    return {
        "dataset": str(root),
        "users": ds.total_users,
        "open_seconds": round(open_seconds, 1),
        "list_p50_ms": round(median(list_ms), 1),
        "experiments": rows,
        **({"first_question": first} if args.first else {}),
    }


def render(result: dict) -> str:
    lines = [f"{result['dataset']}: {result['users']:,} users; experiments list p50 {result['list_p50_ms']:,.1f} ms"]
    if "first_question" in result:
        f = result["first_question"]
        done = "already resolved" if f["assignments_were_resolved"] else "resolved now"
        lines.append(
            f"  first question: assignments per member {f['assignments_resolve_s']:,.2f} s ({done}),"
            f" list {f['first_list_ms']:,.1f} ms, {f.get('experiment', '-')} {f.get('first_result_ms', 0):,.1f} ms"
        )
    for r in result["experiments"]:
        pandas = f"  pandas {r['pandas_p50_ms']:,.1f} ms ({r['speedup']}x)" if "pandas_p50_ms" in r else ""
        if "sql_reference_p50_ms" in r:
            pandas = f"  one-query SQL {r['sql_reference_p50_ms']:,.1f} ms" + pandas
        name = r["experiment"] + (f" ({r['segment']})" if r.get("segment") else "")
        lines.append(
            f"  {name:<36} {r['assigned_users']:>10,} users  p50 {r['p50_ms']:,.1f} ms"
            f"  CUPED {r['cuped_p50_ms']:,.1f} ms"
            f"  kept {r['kept_p50_ms']:,.2f} ms{pandas}"
        )
    return "\n".join(lines)
