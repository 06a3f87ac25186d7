"""AIPL at past dates: stages, flow and 12-month trend, cold (first time) and warm, against plain pandas (same run).

Cold: the first answer for a date (the model computed from the events). Warm: the same
question again, as the page asks it (the answer kept for this version of the data);
`*_recount_ms`: the stages kept but the answer counted again. The pandas baseline
computes the AIPL stage at the same date from the event rows already in memory (loading
them is not timed) and must count what DuckDB counts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta

import numpy as np
import pandas as pd

from core.bench import median, timed
from core.dataset.caches import dataset_cache


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data",
        nargs="?",
        default=os.environ.get("ADESK_DATA", "data/demo"),
        help="dataset directory (default $ADESK_DATA or data/demo)",
    )
    p.add_argument("--cache-dir", default=None, help="derived-cache directory (default $ADESK_CACHE_DIR)")
    p.add_argument("--repeat", type=int, default=5, help="timed warm runs (default 5)")
    p.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")


def _say(result: dict) -> None:
    """The figures so far on stderr: a run cut short still leaves them."""
    print({k: v for k, v in result.items()}, file=sys.stderr, flush=True)


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _pandas_stages(ev: pd.DataFrame, ds, day: date) -> pd.Series:
    """Members per AIPL stage at `day` in plain pandas (DATA_CONTRACT.md), from (_uid, _ei, ts) rows."""
    cfg = ds.config.aipl
    end = np.datetime64(day + timedelta(days=1))
    start = end - np.timedelta64(cfg.lookback_days, "D")
    code = ds.catalog.event_codes or {}
    codes = lambda names: [code[n] for n in names if n in code]  # noqa: E731
    w = ev[(ev["ts"] >= start) & (ev["ts"] < end)]
    purchase = w["_ei"].isin(codes([ds.config.purchase_event]))
    loyal = w["_ei"].isin(codes(cfg.loyalty_events))
    per = (
        pd.DataFrame(
            {
                "uid": w["_uid"].to_numpy(),
                "buy": purchase.to_numpy(),
                "first_buy": np.where(purchase, w["ts"].to_numpy(), np.datetime64("NaT")),
                "last_loyal": np.where(loyal, w["ts"].to_numpy(), np.datetime64("NaT")),
                "interest": w["_ei"].isin(codes(cfg.interest)).to_numpy(),
                "aware": w["_ei"].isin(codes(cfg.awareness)).to_numpy(),
            }
        )
        .groupby("uid")
        .agg(
            buys=("buy", "sum"),
            first_buy=("first_buy", "min"),
            last_loyal=("last_loyal", "max"),
            interest=("interest", "any"),
            aware=("aware", "any"),
        )
    )
    stage = np.select(
        [
            per["buys"] >= cfg.loyalty_min_purchases,
            (per["buys"] >= 1) & (per["last_loyal"] > per["first_buy"]),
            per["buys"] >= 1,
            per["interest"],
            per["aware"],
        ],
        ["L", "L", "P", "I", "A"],
        "none",
    )
    counts = pd.Series(stage).value_counts()
    counts["none"] = counts.get("none", 0) + ds.total_users - len(per)
    return counts


def run(args: argparse.Namespace) -> dict:
    from core.analyses import aipl
    from core.dataset import open_dataset

    ds = open_dataset(args.data, cache_dir=args.cache_dir)
    as_of = ds.as_of
    result: dict = {
        "dataset": ds.name,
        "as_of": as_of.isoformat(),
        "users": ds.total_users,
        "events": ds.run(_count_events())[0][0],
    }

    # the stage history, once per version of the data (kept in a file next to the cache): built here
    # from the events whatever the file holds, so the figure is the first use of a new version
    from core.models import aipl_history

    history = None
    if aipl_history.supported(ds):
        t0, c0 = time.perf_counter(), time.process_time()
        history = aipl_history.build(ds)
        result["history_build_s"] = round(time.perf_counter() - t0, 2)
        # CPU seconds of this process (all its threads): on a shared machine the wall time is mostly waiting
        result["history_build_cpu_s"] = round(time.process_time() - c0, 2)
        result["history_ranges"] = len(history.uid)
        result["history_megabytes"] = round((history.uid.nbytes + history.first.nbytes + history.last.nbytes) / 1e6, 1)
        path = aipl_history.file_for(ds)
        result["history_save_s"] = round(_seconds(lambda: aipl_history.save(path, history, ds)), 2)
        if path.exists():  # how long a later process takes to read it back
            result["history_load_s"] = round(_seconds(lambda: aipl_history.load(path, ds)), 2)
        aipl_history.keep(ds, history)
        _say(result)

    # the trend first, on a fresh dataset: its month ends are all cold
    result["trend_cold_s"] = round(_seconds(lambda: aipl.trend(ds, 12)), 2)
    result["trend_warm_ms"] = round(median(timed(lambda: aipl.trend(ds, 12), args.repeat)), 1)
    _say(result)
    answers = dataset_cache(ds, "aipl")
    result["trend_warm_recount_ms"] = round(
        median(timed(lambda: (answers.clear(), aipl.trend(ds, 12)), args.repeat)), 1
    )

    # days that no month end took: mid-month
    day = as_of - timedelta(days=45 + as_of.day % 7)
    result["stages_at_date_cold_s"] = round(_seconds(lambda: aipl.funnel(ds, day)), 2)
    result["stages_at_date_warm_ms"] = round(median(timed(lambda: aipl.funnel(ds, day), args.repeat)), 1)
    result["stages_at_date_recount_ms"] = round(
        median(timed(lambda: (answers.clear(), aipl.funnel(ds, day)), args.repeat)), 1
    )
    _say(result)
    result.update(_dated_counts(ds, day, args.repeat))
    _say(result)

    d1, d2 = as_of - timedelta(days=100), as_of - timedelta(days=10)
    result["flow_cold_s"] = round(_seconds(lambda: aipl.flow(ds, d1, d2)), 2)
    result["flow_warm_ms"] = round(median(timed(lambda: aipl.flow(ds, d1, d2), args.repeat)), 1)
    result["flow_warm_recount_ms"] = round(
        median(timed(lambda: (answers.clear(), aipl.flow(ds, d1, d2)), args.repeat)), 1
    )
    _say(result)
    result["model_tables"] = len(dataset_cache(ds, "models_at").get("tables", ()))

    result["pandas_stages_at_date_s"] = None
    if not args.no_pandas:
        cur = ds.cursor()
        try:
            # the rows of the day's window only (as a pandas user reads with a filter); loading is not timed
            end = day + timedelta(days=1)
            ev = cur.execute(
                _event_rows(), {"start": end - timedelta(days=ds.config.aipl.lookback_days), "end": end}
            ).df()
        finally:
            cur.close()
        counts = {}
        result["pandas_stages_at_date_s"] = round(
            median([_seconds(lambda: counts.update(_pandas_stages(ev, ds, day))) for _ in range(2)]), 2
        )
        ours = aipl.funnel(ds, day).in_stage
        if any(int(counts.get(s, 0)) != ours[s] for s in aipl.ALL_STAGES):
            raise RuntimeError(f"AIPL on {day}: DuckDB {ours}, pandas {dict(counts)}")
        del ev
    return result


def _dated_counts(ds, day: date, repeat: int) -> dict:
    """A count with `aipl` at `day` (its stages computed: the funnel above asked) from the bitmaps as the
    dashboard counts, with the same run's baselines: the undated count and the scan of before."""
    from core.catalog import MODEL_COLUMNS
    from core.segments.model import parse_segment
    from core.segments.operations import counted_by, size

    cond = {"kind": "aipl", "op": "in", "values": ["I"], "as_of": day.isoformat()}
    dated = parse_segment({"conditions": [cond]})
    undated = parse_segment({"conditions": [{k: v for k, v in cond.items() if k != "as_of"}]})
    # dated AND a tag AND an attribute (when the dataset has them, as the demo does), OR, NOT
    extra = []
    if "city" in ds.catalog.attributes:
        extra.append({"kind": "attribute", "field": "city", "op": "in", "values": ["Shanghai", "Beijing"]})
    if "interest/food/baking" in ds.catalog.tags:
        extra.append({"kind": "tag", "tag": "interest/food/baking", "op": "has"})
    combined = parse_segment({
        "match": "any",
        "conditions": [
            {"kind": "group", "match": "all", "conditions": [cond, *extra]},
            {"kind": "group", "match": "all", "negate": True, "conditions": [{**cond, "values": ["none", "A"]}]},
        ],
    })  # fmt: skip
    out: dict = {}
    index = ds.bitmap_index().build_in_background()  # as the dashboard: indexes built on first use
    index.build([MODEL_COLUMNS["aipl"], *(ds.catalog.tags[t["tag"]].column for t in extra if "tag" in t)])
    index.build(["city"] if "city" in ds.catalog.attributes else [])
    got: dict = {}
    out["dated_count_cold_ms"] = round(_seconds(lambda: got.update(dated=size(ds, dated).count)) * 1000, 1)
    out["dated_count_by"] = counted_by(ds, dated)
    out["dated_count_warm_ms"] = round(median(timed(lambda: size(ds, dated), repeat)), 1)
    out["undated_count_warm_ms"] = round(median(timed(lambda: size(ds, undated), repeat)), 1)  # baseline
    out["dated_combined_cold_ms"] = round(_seconds(lambda: got.update(combined=size(ds, combined).count)) * 1000, 1)
    out["dated_combined_by"] = counted_by(ds, combined)
    out["dated_combined_warm_ms"] = round(median(timed(lambda: size(ds, combined), repeat)), 1)
    # the scan, as every dated count was before: the first one writes the day's table of stages
    out["count_past_date_first_s"] = round(_seconds(lambda: size(ds, dated, bitmaps=False)), 2)
    out["count_past_date_condition_ms"] = round(median(timed(lambda: size(ds, dated, bitmaps=False), repeat)), 1)
    out["dated_combined_scan_ms"] = round(median(timed(lambda: size(ds, combined, bitmaps=False), repeat)), 1)
    for name, seg in (("dated", dated), ("combined", combined)):
        if size(ds, seg, bitmaps=False).count != got[name]:
            raise RuntimeError(f"{name} count on {day}: bitmaps {got[name]}, scan {size(ds, seg, bitmaps=False).count}")
    out["dated_count_members"], out["dated_combined_members"] = got["dated"], got["combined"]
    return out


def _count_events():
    from sqlglot import exp

    return exp.select(exp.Count(this=exp.Star())).from_("event_rows")


def _event_rows() -> str:
    from sqlglot import exp

    window = exp.and_(
        exp.GTE(this=exp.column("ts"), expression=exp.Placeholder(this="start")),
        exp.LT(this=exp.column("ts"), expression=exp.Placeholder(this="end")),
    )
    return (
        exp.select(exp.column("_uid", quoted=True), exp.column("_ei", quoted=True), exp.column("ts"))
        .from_("event_rows")
        .where(window)
        .sql("duckdb")
    )


def render(r: dict) -> str:
    pandas = "—" if r["pandas_stages_at_date_s"] is None else f"{r['pandas_stages_at_date_s']} s"
    return "\n".join([
        f"AIPL at past dates on {r['dataset']} ({r['users']:,} users, {r['events']:,} events, as of {r['as_of']})",
        f"  stages at a date   cold {r['stages_at_date_cold_s']} s   warm {r['stages_at_date_warm_ms']} ms"
        f"   recount {r['stages_at_date_recount_ms']} ms   (pandas {pandas})",
        f"  flow d1 → d2       cold {r['flow_cold_s']} s   warm {r['flow_warm_ms']} ms"
        f"   recount {r['flow_warm_recount_ms']} ms",
        f"  12-month trend     cold {r['trend_cold_s']} s   warm {r['trend_warm_ms']} ms"
        f"   recount {r['trend_warm_recount_ms']} ms",
        f"  count, aipl at a past date: bitmaps cold {r['dated_count_cold_ms']} ms,"
        f" warm {r['dated_count_warm_ms']} ms (undated {r['undated_count_warm_ms']} ms);"
        f" scan {r['count_past_date_condition_ms']} ms (first: {r['count_past_date_first_s']} s)",
        f"  combined (dated AND tag AND city, OR NOT dated): bitmaps warm {r['dated_combined_warm_ms']} ms,"
        f" scan {r['dated_combined_scan_ms']} ms",
        f"  stage history (once per version of the data): built in {r.get('history_build_s', '—')} s"
        f" ({r.get('history_build_cpu_s', '—')} CPU s), read back in {r.get('history_load_s', '—')} s",
    ])  # fmt: skip
