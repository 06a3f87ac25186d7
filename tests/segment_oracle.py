"""An independent, plain-pandas reading of SEGMENT_SPEC.md, to check the SQL compiler against.

Written from the spec's sentences, not from core/segments/compile.py: day
comparisons are done on calendar dates (`ts.date() > d`), not on the
half-open bounds the compiler binds; event counts are counted row by row;
complements are set differences over all users. It shares no code with the
compiler beyond the frozen definition objects.

Also holds `sample_tables()`, the small NULL-heavy dataset the property and
hostile tests write to Parquet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from core.segments.model import (
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
)

_NUMBER_TEXT = re.compile(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*")


@dataclass
class OracleData:
    """Everything the oracle reads: plain frames and the column types."""

    users: pd.DataFrame  # user_id, attributes, _rfm_class, _aipl_stage, _lifecycle
    events: pd.DataFrame  # user_id, event, ts, properties
    tags: pd.DataFrame  # user_id, tag, value (long format, one row per user and tag)
    as_of: date
    attribute_types: dict[str, str]
    property_types: dict[str, str]
    saved: dict[str, Segment] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ids = pd.Index(self.users["user_id"].astype(str))


def _missing(x: object) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _as_day(x: object) -> date:
    """The calendar date of a timestamp / date cell."""
    if isinstance(x, datetime):
        return x.date()
    if isinstance(x, pd.Timestamp):
        return x.date()
    if isinstance(x, date):
        return x
    return pd.Timestamp(x).date()


def _number_or_none(text: object) -> float | None:
    if _missing(text) or not isinstance(text, str) or not _NUMBER_TEXT.fullmatch(text):
        return None
    return float(text)


def cell_matches(cell: object, kind: str, op: str, value: object, values: tuple | None, as_of: date) -> bool:
    """One value against one comparison, as the spec words it (missing never matches a positive op)."""
    negatives = {"ne": "eq", "not_in": "in", "not_null": "is_null"}
    if op in negatives:
        return not cell_matches(cell, kind, negatives[op], value, values, as_of)
    if op == "is_null":
        return _missing(cell)
    if _missing(cell):
        return False
    if kind in ("timestamp", "date"):
        day = _as_day(cell)
        if op == "within_last_days":
            return as_of - timedelta(days=int(value)) < day <= as_of
        if op == "in":
            return day in {date.fromisoformat(v) for v in values}
        if op == "between":
            return date.fromisoformat(values[0]) <= day <= date.fromisoformat(values[1])
        ref = date.fromisoformat(value)
        return {
            "eq": day == ref,
            "gt": day > ref,
            "gte": day >= ref,
            "lt": day < ref,
            "lte": day <= ref,
        }[op]
    if kind == "string":
        text = str(cell)
        if op == "contains":
            return str(value).lower() in text.lower()
        if op == "in":
            return text in {str(v) for v in values}
        other = str(value)
        return {
            "eq": text == other,
            "gt": text > other,
            "gte": text >= other,
            "lt": text < other,
            "lte": text <= other,
        }[op]
    if kind == "boolean":
        return bool(cell) == value  # eq only
    x = float(cell)
    if op == "in":
        return any(x == float(v) for v in values)
    if op == "between":
        return float(values[0]) <= x <= float(values[1])
    v = float(value)
    return {"eq": x == v, "gt": x > v, "gte": x >= v, "lt": x < v, "lte": x <= v}[op]


class Oracle:
    def __init__(self, data: OracleData) -> None:
        self.data = data
        self.everyone = set(data.ids)
        # Events by name as plain dicts, with their calendar day, read once.
        self.events_by_name: dict[str, list[dict]] = {}
        for row in data.events.to_dict("records"):
            if _missing(row["ts"]) or _missing(row["user_id"]) or row["user_id"] not in self.everyone:
                continue
            row["_day"] = _as_day(row["ts"])
            self.events_by_name.setdefault(row["event"], []).append(row)

    def members(self, segment: Segment) -> set[str]:
        return self.match(segment.match, segment.conditions)

    def match(self, how: str, conditions: tuple) -> set[str]:
        if not conditions:
            return set(self.everyone)
        sets = [self.condition(c) for c in conditions]
        return set.intersection(*sets) if how == "all" else set.union(*sets)

    def condition(self, c: object) -> set[str]:
        inside = self.positive(c)
        return self.everyone - inside if c.negate else inside

    def positive(self, c: object) -> set[str]:
        d = self.data
        if isinstance(c, Group):
            return self.match(c.match, c.conditions)
        if isinstance(c, Attribute):
            kind = "string" if c.field == "user_id" else d.attribute_types[c.field]
            return {
                uid
                for uid, cell in zip(d.users["user_id"], d.users[c.field], strict=True)
                if cell_matches(cell, kind, c.op, c.value, c.values, d.as_of)
            }
        if isinstance(c, Tag):
            rows = d.tags[d.tags["tag"] == c.tag]
            holders = set(rows["user_id"])
            if c.op == "has":
                return holders
            if c.op == "has_not":
                return self.everyone - holders
            out = set()
            for uid, v in zip(rows["user_id"], rows["value"], strict=True):
                if _missing(v):
                    continue
                if c.op == "eq" and v == c.value or c.op == "in" and v in c.values:
                    out.add(uid)
                elif c.op in ("gt", "gte", "lt", "lte"):
                    x = _number_or_none(v)
                    if x is not None and cell_matches(x, "number", c.op, c.value, None, d.as_of):
                        out.add(uid)
            return out
        if isinstance(c, Event):
            return self.event(c)
        if isinstance(c, (Rfm, Aipl, Lifecycle)):
            column = {"rfm": "_rfm_class", "aipl": "_aipl_stage", "lifecycle": "_lifecycle"}[c.kind]
            inside = {uid for uid, v in zip(d.users["user_id"], d.users[column], strict=True) if v in c.values}
            return inside if c.op == "in" else self.everyone - inside
        if isinstance(c, SegmentRef):
            inside = self.members(d.saved[c.segment])
            return inside if c.op == "in" else self.everyone - inside
        raise TypeError(type(c).__name__)

    def event(self, c: Event) -> set[str]:
        d = self.data
        counts: dict[str, int] = dict.fromkeys(self.everyone, 0)
        for row in self.events_by_name.get(c.event, []):
            day = row["_day"]
            if day > d.as_of:
                continue  # after "today": no window may see it
            if c.within_days is not None and not as_of_window(d.as_of, c.within_days, day):
                continue
            if c.between is not None and not (
                date.fromisoformat(c.between[0]) <= day <= date.fromisoformat(c.between[1])
            ):
                continue
            if all(self.event_filter(f, row) for f in c.where):
                counts[row["user_id"]] += 1
        compare = {
            ">=": np.greater_equal,
            ">": np.greater,
            "=": np.equal,
            "<": np.less,
            "<=": np.less_equal,
        }[c.op]
        return {uid for uid, n in counts.items() if compare(n, c.count)}

    def event_filter(self, f: EventFilter, row: dict) -> bool:
        kind = self.data.property_types[f.field]
        return cell_matches(row[f.field], kind, f.op, f.value, f.values, self.data.as_of)


def as_of_window(as_of: date, days: int, day: date) -> bool:
    """`day` is one of the `days` calendar days ending on as_of."""
    return as_of - timedelta(days=days) < day <= as_of


# --------------------------------------------------------------------------- sample data

AS_OF = date(2026, 6, 30)
CITIES = ["Shanghai", "Hangzhou", "Beijing", "上海", "shanghai", "100%_real", "O'Brien", "Xi'an 🍰"]
EVENTS = ["purchase", "product_view", "add_to_cart", "ad_impression", "review"]
CATEGORIES = ["cake", "bread", "coffee", "Cake_50%"]
TAG_VALUES = ["5", "12.5", "-3", "abc", "", " 7 ", "1e2", "nan", "0.5", "gold"]
COLORS = ["red", "blue", "绿色", "it's"]


def sample_tables(n_users: int = 300, seed: int = 11) -> dict[str, pd.DataFrame]:
    """users / events / tags frames: NULL-heavy attributes, exact-midnight and late-evening events."""
    rng = np.random.default_rng(seed)
    ids = [f"u{i:04d}" for i in range(n_users)]
    end = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)

    def nullify(values, share: float):
        s = pd.Series(values)
        return s.where(rng.random(len(s)) > share)

    signup = (
        end
        - pd.to_timedelta(rng.integers(0, 500, n_users), unit="D")
        - pd.to_timedelta(rng.choice([86400, 1, 43200, 86399], n_users), unit="s")
    )
    users = pd.DataFrame(
        {
            "user_id": ids,
            "city": nullify(rng.choice(CITIES, n_users), 0.3),
            "age": pd.array(rng.integers(16, 70, n_users), dtype="Int64"),
            "score": nullify(np.round(rng.normal(50, 20, n_users), 1), 0.3),
            "vip": pd.array(rng.random(n_users) > 0.6, dtype="boolean"),
            "signup_at": nullify(signup, 0.25),
            "birthday": nullify(
                [date(1990, 1, 1) + timedelta(days=int(x)) for x in rng.integers(0, 9000, n_users)],
                0.3,
            ),
            "member_level": pd.array(rng.integers(0, 6, n_users), dtype="Int64"),
        }
    )
    users.loc[rng.random(n_users) < 0.3, "age"] = pd.NA
    users.loc[rng.random(n_users) < 0.2, "vip"] = pd.NA
    users.loc[rng.random(n_users) < 0.2, "member_level"] = pd.NA
    users["birthday"] = users["birthday"].astype("object")

    n_events = 4000
    active = rng.choice(ids[: int(n_users * 0.7)], n_events)  # 30% never act
    days_back = rng.integers(0, 420, n_events)
    seconds = rng.choice([0, 1, 43200, 86399], n_events)
    ts = end - pd.to_timedelta(days_back, unit="D") - pd.to_timedelta(86400 - seconds, unit="s")
    names = rng.choice(EVENTS, n_events, p=[0.3, 0.3, 0.15, 0.15, 0.1])
    events = pd.DataFrame(
        {
            "user_id": active,
            "event": names,
            "ts": ts,
            "amount": np.where(names == "purchase", rng.choice([9.9, 20.0, 35.5, np.nan], n_events), np.nan),
            "product_category": nullify(rng.choice(CATEGORIES, n_events), 0.3),
            "quantity": pd.array(rng.integers(1, 5, n_events), dtype="Int64"),
        }
    )
    events.loc[rng.random(n_events) < 0.2, "quantity"] = pd.NA
    late = events.sample(15, random_state=seed).assign(ts=end + pd.Timedelta(hours=3))  # after as_of
    events = pd.concat([events, late], ignore_index=True)

    tag_rows = []
    for uid in ids:
        if rng.random() < 0.4:
            tag_rows.append((uid, "interest/food/baking", None))
        if rng.random() < 0.1:
            tag_rows.append((uid, "identity/kol", None))
        if rng.random() < 0.6:
            value = rng.choice(TAG_VALUES) if rng.random() > 0.1 else None
            tag_rows.append((uid, "level/score", value))
        if rng.random() < 0.5:
            tag_rows.append((uid, "pref/color", rng.choice(COLORS)))
    tags = pd.DataFrame(tag_rows, columns=["user_id", "tag", "value"])
    tags["value"] = tags["value"].astype("string")
    return {"users": users, "events": events, "tags": tags}


ATTRIBUTE_TYPES = {
    "city": "string",
    "age": "integer",
    "score": "number",
    "vip": "boolean",
    "signup_at": "timestamp",
    "birthday": "date",
    "member_level": "integer",
}
PROPERTY_TYPES = {"amount": "number", "product_category": "string", "quantity": "integer"}


def write_sample_dataset(root, tables: dict[str, pd.DataFrame]) -> None:
    """The tables as a dataset directory (events as a partition directory)."""
    root.mkdir(parents=True, exist_ok=True)
    tables["users"].to_parquet(root / "users.parquet", index=False)
    (root / "events").mkdir(exist_ok=True)
    tables["events"].to_parquet(root / "events" / "part-0.parquet", index=False)
    tables["tags"].to_parquet(root / "tags.parquet", index=False)
    (root / "dataset.toml").write_text(f'as_of = "{AS_OF.isoformat()}"\n', encoding="utf-8")
