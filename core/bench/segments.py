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

import numpy as np
import pandas as pd

from core.bench import median, percentile, timed

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
        help="also time pandas over the data-contract tables (users, long tags, raw events) without our cache: contract_pandas_p50_ms",
    )


def _clauses(conds: list[dict]) -> int:
    return sum(_clauses(c["conditions"]) if c["kind"] == "group" else 1 for c in conds)


def _has_event(conds: list[dict]) -> bool:
    return any(_has_event(c["conditions"]) if c["kind"] == "group" else c["kind"] == "event" for c in conds)


def _parquet_frame(ds, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    """A contract table straight from its Parquet files into pandas categoricals (what a pandas user would do)."""
    import pyarrow.dataset as pads

    from core.validate import table_files

    files = [str(f) for f in table_files(ds.path)[table]]
    return pads.dataset(files, format="parquet").to_table(columns=columns).to_pandas(strings_to_categorical=True)


def _raw_events(ds) -> pd.DataFrame:
    ev = _parquet_frame(ds, "events", ["user_id", "event", "ts", "product_category"])
    return ev[ev["ts"] < pd.Timestamp(ds.as_of_end)]


class PandasBaseline:
    """The same definitions as boolean masks over in-memory frames: the per-user table and the raw events."""

    def __init__(self, ds, definitions: list[dict]):
        cols = {"user_id"}
        self.catalog = ds.catalog
        self.as_of_end = pd.Timestamp(ds.as_of_end)
        need_events = False
        for d in definitions:
            cols |= self._columns(d["conditions"])
            need_events |= self._needs_events(d["conditions"])
        cur = ds.cursor()
        # `profile` is the table both engines read; cols come from the catalog.
        self.users = cur.execute(_select_columns_sql(sorted(cols))).df()
        self.events = _raw_events(ds) if need_events else None
        self.uid = self.users["user_id"]

    def _columns(self, conds) -> set[str]:
        out: set[str] = set()
        for c in conds:
            k = c["kind"]
            if k == "group":
                out |= self._columns(c["conditions"])
            elif k == "attribute":
                out.add(c["field"])
            elif k == "tag":
                info = self.catalog.tags[c["tag"]]
                out.add(info.value_column if c["op"] not in {"has", "has_not"} else info.column)
            elif k in {"rfm", "aipl", "lifecycle"}:
                out.add({"rfm": "_rfm_class", "aipl": "_aipl_stage", "lifecycle": "_lifecycle"}[k])
            elif k == "event" and self._counter(c):
                out.add(self._counter(c))
        return out

    def _counter(self, c) -> str | None:
        if c.get("where") or c.get("between"):
            return None
        return self.catalog.counter_column(c["event"], c.get("within_days"))

    def _needs_events(self, conds) -> bool:
        return any(
            self._needs_events(c["conditions"])
            if c["kind"] == "group"
            else (c["kind"] == "event" and not self._counter(c))
            for c in conds
        )

    def mask(self, conds, match="all") -> np.ndarray:
        n = len(self.users)
        if not conds:
            return np.ones(n, bool)
        masks = [self._one(c) for c in conds]
        out = masks[0].copy()
        for m in masks[1:]:
            out = (out & m) if match == "all" else (out | m)
        return out

    def _one(self, c) -> np.ndarray:
        k = c["kind"]
        if k == "group":
            m = self.mask(c["conditions"], c.get("match", "all"))
        elif k == "attribute":
            m = self._attribute(self.users[c["field"]], c)
        elif k == "tag":
            m = self._tag(c)
        elif k in {"rfm", "aipl", "lifecycle"}:
            col = {"rfm": "_rfm_class", "aipl": "_aipl_stage", "lifecycle": "_lifecycle"}[k]
            m = self.users[col].isin(c["values"]).to_numpy(bool)
            m = ~m if c["op"] == "not_in" else m
        elif k == "event":
            m = self._event(c)
        else:
            raise ValueError(f"baseline does not evaluate {k}")
        return ~m if c.get("negate") else m

    def _tag(self, c) -> np.ndarray:
        info = self.catalog.tags[c["tag"]]
        if c["op"] in {"has", "has_not"}:
            m = self.users[info.column].to_numpy(bool)
            return ~m if c["op"] == "has_not" else m
        return _tag_value_mask(self.users[info.value_column], c)

    def _attribute(self, s: pd.Series, c) -> np.ndarray:
        op = c["op"]
        if op == "within_last_days":
            return (
                ((s >= self.as_of_end - pd.Timedelta(days=c["value"])) & (s < self.as_of_end))
                .fillna(False)
                .to_numpy(bool)
            )
        pos = {
            "eq": lambda: s == c.get("value"),
            "ne": lambda: s == c.get("value"),
            "in": lambda: s.isin(c.get("values", [])),
            "not_in": lambda: s.isin(c.get("values", [])),
            "gt": lambda: s > c["value"],
            "gte": lambda: s >= c["value"],
            "lt": lambda: s < c["value"],
            "lte": lambda: s <= c["value"],
            "between": lambda: (s >= c["values"][0]) & (s <= c["values"][1]),
            "contains": lambda: s.str.lower().str.contains(str(c["value"]).lower(), regex=False),
            "is_null": lambda: s.isna(),
            "not_null": lambda: s.isna(),
        }[op]()
        m = pd.Series(pos).fillna(False).to_numpy(bool)
        return ~m if op in {"ne", "not_in", "not_null"} else m

    def _event(self, c) -> np.ndarray:
        col = self._counter(c)
        if col:
            counts = self.users[col].to_numpy()
        else:
            ev = self.events
            sel = ev["event"] == c["event"]
            if c.get("within_days"):
                sel &= ev["ts"] >= self.as_of_end - pd.Timedelta(days=c["within_days"])
            if c.get("between"):
                a, b = c["between"]
                sel &= (ev["ts"] >= pd.Timestamp(a)) & (ev["ts"] < pd.Timestamp(b) + pd.Timedelta(days=1))
            for f in c.get("where", []):
                sel &= ev[f["field"]] == f["value"]
            per_user = ev.loc[sel, "user_id"].value_counts()
            counts = per_user.reindex(self.uid, fill_value=0).to_numpy()
        op, n = c["op"], c["count"]
        return {">=": counts >= n, ">": counts > n, "=": counts == n, "<": counts < n, "<=": counts <= n}[op]


class ContractPandasBaseline(PandasBaseline):
    """The same definitions in pandas over the data-contract tables as they are: users, the long
    tag table and the raw events, without our per-member cache (what an analyst has without it).

    Model dimensions (RFM, AIPL, lifecycle) need the derived models: those definitions get no figure.
    """

    def __init__(self, ds, definitions: list[dict]):
        self.catalog = ds.catalog
        self.as_of_end = pd.Timestamp(ds.as_of_end)
        # the users as the product reads them (timestamps in the dataset's zone, user_id as text)
        self.users = ds.cursor().execute("select * from users").df()
        self.uid = self.users["user_id"]
        self.tags = _parquet_frame(ds, "tags")
        self.events = _raw_events(ds)

    def supports(self, conds) -> bool:
        return all(
            self.supports(c["conditions"]) if c["kind"] == "group" else c["kind"] in {"attribute", "tag", "event"}
            for c in conds
        )

    def _counter(self, c) -> str | None:
        return None  # no per-member counters: every event clause counts raw events

    def _tag(self, c) -> np.ndarray:
        rows = self.tags[self.tags["tag"] == c["tag"]]
        if c["op"] in {"has", "has_not"}:
            m = self.uid.isin(rows["user_id"]).to_numpy(bool)
            return ~m if c["op"] == "has_not" else m
        # the product keeps a member's largest value as text (max of CAST(value AS VARCHAR))
        value = rows.assign(value=rows["value"].astype(object)).groupby("user_id", observed=True)["value"].max()
        return _tag_value_mask(pd.Series(self.uid.map(value), index=self.uid.index), c)


def _tag_value_mask(v: pd.Series, c) -> np.ndarray:
    """A tag-value clause over each member's value (text; compared as a number for gt/gte/lt/lte)."""
    if c["op"] == "eq":
        return (v == c["value"]).fillna(False).to_numpy(bool)
    num = pd.to_numeric(v, errors="coerce")
    return (
        {"gt": num > c["value"], "gte": num >= c["value"], "lt": num < c["value"], "lte": num <= c["value"]}[c["op"]]
        .fillna(False)
        .to_numpy(bool)
    )


def _select_columns_sql(columns: list[str]) -> str:
    from sqlglot import exp

    return exp.select(*[exp.column(c, quoted=True) for c in columns]).from_("profile").sql("duckdb")


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
        f"bitmap indexes: {ix.get('columns', 0)} columns, {ix.get('megabytes', 0)} MB, built in {ix.get('build_seconds_total', 0)} s"
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
