"""The pandas baselines of `adesk bench segments`: the same definitions as boolean masks over in-memory frames."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
