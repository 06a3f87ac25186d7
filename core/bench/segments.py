"""Segment counts: p50/p95 of `size()` over representative definitions, against pandas masks in the same run.

The pandas baseline evaluates the same definitions with boolean masks on the
same per-user table held in memory (and the raw events, for clauses the
per-user counters cannot answer). Both run warm: the DuckDB cache is built and
the pandas frames are loaded before any timing starts.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from core.bench import median, percentile, timed
from core.bench.segments_pandas import ContractPandasBaseline, PandasBaseline

A = "attribute"

# (name, definition). Names and values fit the demo dataset (`adesk demo`).
DEFINITIONS: list[tuple[str, dict]] = [
    ("city in 2", {"conditions": [{"kind": A, "field": "city", "op": "in", "values": ["Shanghai", "Hangzhou"]}]}),
    ("age between", {"conditions": [{"kind": A, "field": "age", "op": "between", "values": [25, 35]}]}),
    ("city ne (incl. missing)", {"conditions": [{"kind": A, "field": "city", "op": "ne", "value": "Beijing"}]}),
    ("age is null", {"conditions": [{"kind": A, "field": "age", "op": "is_null"}]}),
    ("store_code contains", {"conditions": [{"kind": A, "field": "store_code", "op": "contains", "value": "SH0"}]}),
    (
        "signed up last 90 days",
        {"conditions": [{"kind": A, "field": "signup_at", "op": "within_last_days", "value": 90}]},
    ),
    ("tag has", {"conditions": [{"kind": "tag", "tag": "interest/food/baking", "op": "has"}]}),
    ("tag has_not", {"conditions": [{"kind": "tag", "tag": "identity/kol", "op": "has_not"}]}),
    ("tag value eq", {"conditions": [{"kind": "tag", "tag": "occasion/cake_month", "op": "eq", "value": "03"}]}),
    (
        "tag value gt (number)",
        {"conditions": [{"kind": "tag", "tag": "value/predicted_ltv", "op": "gt", "value": 500}]},
    ),
    ("rfm in", {"conditions": [{"kind": "rfm", "op": "in", "values": ["important_value", "important_retention"]}]}),
    (
        "aipl + lifecycle",
        {
            "conditions": [
                {"kind": "aipl", "op": "in", "values": ["I", "P"]},
                {"kind": "lifecycle", "op": "not_in", "values": ["churned"]},
            ]
        },
    ),
    (
        "5 clauses attr+tag",
        {
            "conditions": [
                {"kind": A, "field": "city", "op": "in", "values": ["Shanghai", "Beijing", "Shenzhen"]},
                {"kind": A, "field": "age", "op": "between", "values": [20, 40]},
                {"kind": "tag", "tag": "interest/food/baking", "op": "has"},
                {"kind": A, "field": "sms_opt_in", "op": "eq", "value": True},
                {"kind": A, "field": "member_level", "op": "gte", "value": 2},
            ]
        },
    ),
    (
        "10 clauses with OR group + negation",
        {
            "conditions": [
                {"kind": A, "field": "gender", "op": "eq", "value": "female"},
                {"kind": A, "field": "age", "op": "gte", "value": 22},
                {"kind": A, "field": "age", "op": "lte", "value": 45},
                {"kind": A, "field": "city", "op": "not_in", "values": ["Wuhan"]},
                {"kind": "tag", "tag": "scene/commuter", "op": "has"},
                {"kind": "tag", "tag": "value/low_value", "op": "has_not"},
                {
                    "kind": "group",
                    "match": "any",
                    "conditions": [
                        {"kind": "tag", "tag": "interest/food/coffee", "op": "has"},
                        {"kind": "tag", "tag": "interest/food/dessert", "op": "has"},
                        {"kind": A, "field": "member_level", "op": "gte", "value": 4},
                    ],
                },
                {
                    "kind": "group",
                    "match": "all",
                    "negate": True,
                    "conditions": [
                        {"kind": A, "field": "wechat_opt_in", "op": "eq", "value": False},
                    ],
                },
            ]
        },
    ),
    (
        "nested OR of ANDs",
        {
            "conditions": [
                {
                    "kind": "group",
                    "match": "any",
                    "conditions": [
                        {
                            "kind": "group",
                            "match": "all",
                            "conditions": [
                                {"kind": A, "field": "city", "op": "eq", "value": "Shanghai"},
                                {"kind": "tag", "tag": "identity/koc", "op": "has"},
                            ],
                        },
                        {
                            "kind": "group",
                            "match": "all",
                            "conditions": [
                                {"kind": A, "field": "city", "op": "eq", "value": "Beijing"},
                                {"kind": "tag", "tag": "value/high_value", "op": "has"},
                            ],
                        },
                    ],
                }
            ]
        },
    ),
    (
        "event: purchase >= 2 in 90 days",
        {"conditions": [{"kind": "event", "event": "purchase", "op": ">=", "count": 2, "within_days": 90}]},
    ),
    (
        "event: no add_to_cart in 30 days",
        {"conditions": [{"kind": "event", "event": "add_to_cart", "op": "=", "count": 0, "within_days": 30}]},
    ),
    (
        "event + attr + tag",
        {
            "conditions": [
                {"kind": A, "field": "city", "op": "in", "values": ["Shanghai", "Hangzhou"]},
                {"kind": "tag", "tag": "interest/food/baking", "op": "has"},
                {"kind": "event", "event": "product_view", "op": ">=", "count": 3, "within_days": 30},
            ]
        },
    ),
    (
        "event: cake purchase in 365 days (where)",
        {
            "conditions": [
                {
                    "kind": "event",
                    "event": "purchase",
                    "op": ">=",
                    "count": 1,
                    "within_days": 365,
                    "where": [{"field": "product_category", "op": "eq", "value": "cake"}],
                }
            ]
        },
    ),
    (
        "event: product_view >= 3 in 45 days (raw)",
        {"conditions": [{"kind": "event", "event": "product_view", "op": ">=", "count": 3, "within_days": 45}]},
    ),
    (
        "event: did not purchase in 2026-06 (between)",
        {
            "conditions": [
                {"kind": "event", "event": "purchase", "op": "=", "count": 0, "between": ["2026-06-01", "2026-06-30"]}
            ]
        },
    ),
]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data",
        nargs="?",
        default=os.environ.get("ADESK_BENCH_DATA", "/tmp/demo10m"),
        help="a demo dataset (default /tmp/demo10m)",
    )
    p.add_argument("--repeat", type=int, default=21, help="timed runs per definition (default 21)")
    p.add_argument("--pandas-repeat", type=int, default=5, help="timed pandas runs per definition (default 5)")
    p.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    p.add_argument(
        "--contract-pandas",
        action="store_true",
        help="also time pandas over the data-contract tables (users, long tags, raw events) without our cache: "
        "contract_pandas_p50_ms",
    )


def _clauses(conds: list[dict]) -> int:
    return sum(_clauses(c["conditions"]) if c["kind"] == "group" else 1 for c in conds)


def _has_event(conds: list[dict]) -> bool:
    return any(_has_event(c["conditions"]) if c["kind"] == "group" else c["kind"] == "event" for c in conds)


def run(args: argparse.Namespace) -> dict:
    from core.dataset import open_dataset
    from core.segments.model import parse_segment
    from core.segments.operations import counted_by, size

    ds = open_dataset(Path(args.data))
    segments = [(name, d, parse_segment({"version": 1, "match": "all", **d})) for name, d in DEFINITIONS]
    baseline = None if args.no_pandas else PandasBaseline(ds, [d for _, d, _ in segments])
    contract = (
        ContractPandasBaseline(ds, [d for _, d, _ in segments]) if args.contract_pandas and not args.no_pandas else None
    )
    # Warm-up: every count once, which also asks for the bitmap indexes its columns need; timing
    # starts once they are built (their build times are reported with the results).
    index = ds.bitmap_index().build_in_background()
    started = time.perf_counter()
    scanned = {name: size(ds, seg, bitmaps=False).count for name, _, seg in segments}
    for _, _, seg in segments:
        size(ds, seg)
    index.wait()
    index_wait = time.perf_counter() - started
    rows = []
    for name, d, seg in segments:
        count = size(ds, seg).count
        if count != scanned[name]:
            raise RuntimeError(f"{name}: the bitmap index counted {count}, the scan {scanned[name]}")
        times = timed(lambda seg=seg: size(ds, seg), args.repeat)
        scan_times = timed(lambda seg=seg: size(ds, seg, bitmaps=False), args.repeat)
        row = {
            "name": name,
            "clauses": _clauses(d["conditions"]),
            "has_event_clause": _has_event(d["conditions"]),
            "count": count,
            "p50_ms": round(median(times), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
            "pandas_p50_ms": None,
            "engine": counted_by(ds, seg),
            "scan_p50_ms": round(median(scan_times), 1),
        }
        if baseline is not None:
            pandas_count = int(baseline.mask(d["conditions"]).sum())
            if pandas_count != count:
                raise RuntimeError(f"{name}: DuckDB counted {count}, pandas {pandas_count}")
            ptimes = timed(lambda d=d: baseline.mask(d["conditions"]).sum(), args.pandas_repeat)
            row["pandas_p50_ms"] = round(median(ptimes), 1)
        if contract is not None:
            row["contract_pandas_p50_ms"] = None
            if contract.supports(d["conditions"]):
                contract_count = int(contract.mask(d["conditions"]).sum())
                if contract_count != count:
                    raise RuntimeError(
                        f"{name}: DuckDB counted {count}, pandas over the contract tables {contract_count}"
                    )
                ctimes = timed(lambda d=d: contract.mask(d["conditions"]).sum(), args.pandas_repeat)
                row["contract_pandas_p50_ms"] = round(median(ctimes), 1)
        rows.append(row)
    stats = index.stats()
    return {
        "users": ds.total_users,
        "events": _event_count(ds),
        "cores": int(os.environ.get("ADESK_THREADS", os.cpu_count() or 1)),
        "bitmap_index": {
            "columns": stats["columns"],
            "megabytes": stats["megabytes"],
            "build_seconds_total": round(sum(stats["build_seconds"].values()), 1),
            "build_seconds_max": max(stats["build_seconds"].values(), default=0.0),
            "warm_up_seconds": round(index_wait, 1),
        },
        "definitions": rows,
    }


def _event_count(ds) -> int:
    return ds.cursor().execute("select count(*) from events").fetchall()[0][0]


def render(r: dict) -> str:
    contract = any("contract_pandas_p50_ms" in d for d in r["definitions"])
    head = (
        f"{'definition':44} {'clauses':>7} {'count':>11} {'engine':>7} {'p50 ms':>8} {'p95 ms':>8} {'scan p50':>8}"
        f" {'pandas p50':>10} {'speed-up':>8}"
    )
    ix = r.get("bitmap_index") or {}
    lines = [
        f"{r['users']:,} users, {r['events']:,} events, {r['cores']} cores (warm)",
        f"bitmap indexes: {ix.get('columns', 0)} columns, {ix.get('megabytes', 0)} MB, "
        f"built in {ix.get('build_seconds_total', 0)} s"
        f" (slowest column {ix.get('build_seconds_max', 0)} s; warm-up {ix.get('warm_up_seconds', 0)} s)",
        head + (f" {'contract pandas':>15} {'speed-up':>8}" if contract else ""),
    ]
    for d in r["definitions"]:
        ratio = f"{d['pandas_p50_ms'] / d['p50_ms']:.1f}×" if d["pandas_p50_ms"] and d["p50_ms"] else "—"
        pandas = f"{d['pandas_p50_ms']:.1f}" if d["pandas_p50_ms"] is not None else "—"
        line = (
            f"{d['name'][:44]:44} {d['clauses']:>7} {d['count']:>11,} {d.get('engine', ''):>7} {d['p50_ms']:>8.1f}"
            f" {d['p95_ms']:>8.1f} {d.get('scan_p50_ms', float('nan')):>8.1f} {pandas:>10} {ratio:>8}"
        )
        if contract:
            c = d.get("contract_pandas_p50_ms")
            line += f" {c:>15.1f} {c / d['p50_ms']:>7.1f}×" if c else f" {'—':>15} {'—':>8}"
        lines.append(line)
    return "\n".join(lines)
