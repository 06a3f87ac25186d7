"""The tag catalog as operators browse it: hierarchy, metadata, coverage, staleness, values, related tags.

Metadata comes from the dataset's optional `tag_catalog` table; coverage from the
derived `profile` (one BOOLEAN column per tag, see core/catalog.py). A tag is
**stale** when its last refresh is older than twice its update cycle, counted back
from the end of the dataset's `as_of` day (never the wall clock). Tags refreshed
`once` are never stale. Related tags are ranked by lift,
P(A and B) / (P(A) P(B)), counted in one query over the tag columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sqlglot import exp

from core.messages import CodedError, hint, msg
from core.queries import named_query

if TYPE_CHECKING:
    from core.dataset import Dataset

CYCLE_DAYS: dict[str, int | None] = {"daily": 1, "weekly": 7, "monthly": 30, "once": None}
STALE_FACTOR = 2  # stale = not refreshed for more than this many update cycles
CATALOG_COLUMNS = ("tag", "description", "owner", "source", "update_cycle", "status", "last_refresh")
DEFAULT_MIN_BOTH = 10  # related tags need at least this many users carrying both (small counts make lift noise)
NUMERIC_SHARE = 0.95  # a value column whose values are (almost) all numbers is shown in ranges
NUMERIC_MIN_DISTINCT = 13  # ... when it has more distinct values than a month tag (01-12)


class TagError(CodedError, ValueError):
    """A tag that is not in this dataset; the message names it and the closest tags."""


@dataclass(frozen=True)
class TagEntry:
    tag: str
    category: str
    subcategory: str  # "" for two-level paths such as identity/kol
    name: str
    description: str | None
    owner: str | None
    source: str | None  # fact / rule / model
    update_cycle: str | None  # daily / weekly / monthly / once
    status: str | None  # active / deprecated; None when the tag is not in the catalog
    last_refresh: datetime | None
    users: int
    coverage: float | None  # users / all users; None for an empty dataset
    stale: bool | None  # None: unknown (no cycle or no refresh time)
    in_catalog: bool
    in_data: bool  # some user carries it (only then can a segment use it)
    has_values: bool

    @property
    def needs_attention(self) -> bool:
        """Deprecated, stale, uncatalogued or unused: candidates to fix or retire."""
        return bool(self.stale) or self.status == "deprecated" or not self.in_catalog or not self.in_data


@dataclass(frozen=True)
class DistributionRow:
    label: str  # a value, a range "low – high", "has" / "has not", "(other)"
    users: int
    share: float | None  # of the users carrying the tag (values) or of all users (presence)
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class TagDistribution:
    tag: str
    kind: Literal["presence", "values", "numeric"]
    users: int  # users carrying the tag
    total_users: int
    rows: tuple[DistributionRow, ...]
    missing_value: int = 0  # users carrying the tag without a value


@dataclass(frozen=True)
class RelatedTag:
    tag: str
    both: int  # users carrying both tags
    users: int  # users carrying the related tag
    lift: float  # P(A and B) / (P(A) P(B))
    confidence: float  # P(B | A)


def split_path(tag: str) -> tuple[str, str, str]:
    """(category, sub-category, name): 'interest/food/baking' -> ('interest', 'food', 'baking')."""
    parts = [p for p in tag.split("/") if p]
    if not parts:
        return tag, "", tag
    if len(parts) == 1:
        return parts[0], "", parts[0]
    if len(parts) == 2:
        return parts[0], "", parts[1]
    return parts[0], parts[1], "/".join(parts[2:])


def is_stale(last_refresh: datetime | None, update_cycle: str | None, as_of: date) -> bool | None:
    """Last refresh older than STALE_FACTOR x the cycle before the end of `as_of`; None when unknown."""
    if last_refresh is None or update_cycle is None or update_cycle not in CYCLE_DAYS:
        return None
    days = CYCLE_DAYS[update_cycle]
    if days is None:
        return False  # refreshed once by design
    as_of_end = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
    return as_of_end - last_refresh > timedelta(days=STALE_FACTOR * days)


def _columns(ds: Dataset, view: str) -> set[str]:
    cur = ds.cursor()
    try:
        rows = cur.execute(
            "select column_name from information_schema.columns "
            "where table_name = ? and table_catalog = current_database()",
            [view],
        ).fetchall()
    finally:
        cur.close()
    return {r[0] for r in rows}


def _catalog_rows(ds: Dataset) -> dict[str, dict[str, object]]:
    present = _columns(ds, "tag_catalog")
    if "tag" not in present:
        return {}
    wanted = [c for c in CATALOG_COLUMNS if c in present]
    query = exp.select(*[exp.column(c, quoted=True) for c in wanted]).from_("tag_catalog")
    cur = ds.cursor()
    try:
        rows = cur.execute(query.sql("duckdb")).fetchall()
    finally:
        cur.close()
    out: dict[str, dict[str, object]] = {}
    for row in rows:
        record = dict(zip(wanted, row, strict=True))
        if isinstance(record.get("tag"), str):
            out.setdefault(record["tag"], record)  # first row wins when a tag is listed twice
    return out


def _refresh_from_tags(ds: Dataset) -> dict[str, datetime]:
    """Latest `updated_at` per tag, for catalogs without `last_refresh` (one scan of `tags`)."""
    if not {"tag", "updated_at"} <= _columns(ds, "tags"):
        return {}
    cur = ds.cursor()
    try:
        rows = cur.execute("select tag, max(updated_at) from tags where tag is not null group by tag").fetchall()
    finally:
        cur.close()
    return {tag: ts for tag, ts in rows if ts is not None}


def _as_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time())
    return None


def list_tags(ds: Dataset) -> tuple[TagEntry, ...]:
    """Every tag in the data or the catalog, by path, with metadata, coverage and the stale flag."""
    catalog = ds.catalog
    meta = _catalog_rows(ds)
    need_refresh = any(_as_datetime(meta.get(t, {}).get("last_refresh")) is None for t in {*meta, *catalog.tags})
    refreshed = _refresh_from_tags(ds) if need_refresh else {}
    total = catalog.total_users
    entries = []
    for tag in sorted({*meta, *catalog.tags}):
        record = meta.get(tag, {})
        info = catalog.tags.get(tag)
        users = info.users if info is not None else 0
        last = _as_datetime(record.get("last_refresh")) or refreshed.get(tag)
        cycle = record.get("update_cycle")
        cycle = cycle if isinstance(cycle, str) else None
        category, sub, name = split_path(tag)
        entries.append(
            TagEntry(
                tag=tag,
                category=category,
                subcategory=sub,
                name=name,
                description=_text(record.get("description")),
                owner=_text(record.get("owner")),
                source=_text(record.get("source")),
                update_cycle=cycle,
                status=_text(record.get("status")) if tag in meta else None,
                last_refresh=last,
                users=users,
                coverage=users / total if total else None,
                stale=is_stale(last, cycle, ds.as_of),
                in_catalog=tag in meta,
                in_data=info is not None,
                has_values=info is not None and info.value_column is not None,
            )
        )
    return tuple(entries)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _info(ds: Dataset, tag: str):
    info = ds.catalog.tags.get(tag)
    if info is None:
        raise TagError(msg("tags.unknown_tag", tag=tag, hint=hint(tag, list(ds.catalog.tags))))
    return info


def value_distribution(ds: Dataset, tag: str, limit: int = 12) -> TagDistribution:
    """How a tag's users spread over its values (ranges for numbers); has / has not for plain tags."""
    info = _info(ds, tag)
    total = ds.catalog.total_users
    users = info.users
    if info.value_column is None:
        rows = (
            DistributionRow("has", users, users / total if total else None),
            DistributionRow("has not", total - users, (total - users) / total if total else None),
        )
        return TagDistribution(tag, "presence", users, total, rows)
    has = exp.column(info.column, quoted=True)
    value = exp.column(info.value_column, quoted=True)
    number = exp.TryCast(this=value.copy(), to=exp.DataType.build("DOUBLE"))
    stats = (
        exp.select(
            exp.Count(this=value.copy()),
            exp.Count(this=number),
            exp.func("approx_count_distinct", value.copy()),
        )
        .from_("profile")
        .where(has.copy())
    )
    cur = ds.cursor()
    try:
        with_value, numeric, distinct = cur.execute(stats.sql("duckdb")).fetchone()
        if with_value and numeric >= NUMERIC_SHARE * with_value and distinct >= NUMERIC_MIN_DISTINCT:
            query = named_query("tag_value_bins", value=value, has=has)
            found = cur.execute(query.sql("duckdb")).fetchall()
            rows = tuple(
                DistributionRow(_range_label(low, high), int(n), int(n) / numeric, float(low), float(high))
                for _bin, low, high, n in found
            )
            kind: Literal["values", "numeric"] = "numeric"
            counted = numeric
        else:
            query = (
                exp.select(exp.alias_(value.copy(), "v"), exp.alias_(exp.Count(this=exp.Star()), "n"))
                .from_("profile")
                .where(exp.and_(has.copy(), exp.not_(exp.Is(this=value.copy(), expression=exp.Null()))))
                .group_by(exp.column("v"))
                .order_by(exp.Ordered(this=exp.column("n"), desc=True), exp.column("v"))
            )
            found = cur.execute(query.sql("duckdb")).fetchall()
            top = [DistributionRow(str(v), int(n), int(n) / with_value) for v, n in found[:limit]]
            rest = sum(int(n) for _v, n in found[limit:])
            if rest:
                top.append(DistributionRow("(other)", rest, rest / with_value))
            rows = tuple(top)
            kind = "values"
            counted = with_value
    finally:
        cur.close()
    missing = users - int(with_value)
    if kind == "numeric":
        missing = users - int(counted)
    return TagDistribution(tag, kind, users, total, rows, missing_value=missing)


def _range_label(low: float, high: float) -> str:
    def fmt(x: float) -> str:
        return f"{int(x):,}" if float(x).is_integer() else f"{x:,.3g}"

    return fmt(low) if low == high else f"{fmt(low)} – {fmt(high)}"


def related_tags(ds: Dataset, tag: str, limit: int = 10, min_both: int = DEFAULT_MIN_BOTH) -> tuple[RelatedTag, ...]:
    """Tags most over-represented among this tag's users (highest lift), counted in one query."""
    info = _info(ds, tag)
    total = ds.catalog.total_users
    others = [t for t in ds.catalog.tags.values() if t.tag != tag and t.users > 0]
    if not others or info.users == 0 or total == 0:
        return ()
    selects: list[exp.Expression] = [exp.alias_(exp.Count(this=exp.Star()), "n_a")]
    for i, other in enumerate(others):
        both = exp.Filter(
            this=exp.Count(this=exp.Star()), expression=exp.Where(this=exp.column(other.column, quoted=True))
        )
        selects.append(exp.alias_(both, f"b{i}"))
    query = exp.select(*selects).from_("profile").where(exp.column(info.column, quoted=True))
    cur = ds.cursor()
    try:
        row = cur.execute(query.sql("duckdb")).fetchone()
    finally:
        cur.close()
    n_a = int(row[0])
    related = []
    for other, both in zip(others, row[1:], strict=True):
        both = int(both)
        if both < max(1, min_both):
            continue
        lift = both * total / (n_a * other.users)
        if math.isfinite(lift):
            related.append(RelatedTag(other.tag, both, other.users, lift, both / n_a))
    related.sort(key=lambda r: (-r.lift, -r.both, r.tag))
    return tuple(related[:limit])


def filter_tags(
    entries: tuple[TagEntry, ...] | list[TagEntry],
    text: str = "",
    category: str | None = None,
    subcategory: str | None = None,
    statuses: tuple[str, ...] | list[str] | None = None,
    attention_only: bool = False,
) -> tuple[TagEntry, ...]:
    """The entries a catalog view shows: text in path, description or owner; hierarchy; status.

    `statuses` may hold "active", "deprecated" and "uncatalogued" (not in the catalog); None = all.
    """
    needle = (text or "").strip().lower()
    out = []
    for e in entries:
        if category and e.category != category:
            continue
        if subcategory is not None and category and e.subcategory != subcategory:
            continue
        status = e.status if e.in_catalog else "uncatalogued"
        if statuses is not None and status not in statuses:
            continue
        if attention_only and not e.needs_attention:
            continue
        if needle and not any(needle in (s or "").lower() for s in (e.tag, e.description, e.owner)):
            continue
        out.append(e)
    return tuple(out)


def hierarchy(entries: tuple[TagEntry, ...] | list[TagEntry]) -> dict[str, dict[str, int]]:
    """category -> sub-category ("" for two-level tags) -> number of tags, in path order."""
    tree: dict[str, dict[str, int]] = {}
    for e in sorted(entries, key=lambda x: x.tag):
        subs = tree.setdefault(e.category, {})
        subs[e.subcategory] = subs.get(e.subcategory, 0) + 1
    return tree
