"""The cache build's last steps: tags as bit masks, `profile`, its compression, and the metadata tables."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB

from core.catalog import COUNTER_WINDOWS, UID, event_codes
from core.config import DatasetConfig
from core.dataset.build_events import create_table
from core.dataset.build_rollup import counter
from core.dataset.connection import type_of
from core.dataset.metadata import TABLES as METADATA_TABLES
from core.dataset.metadata import health_problems, metadata_counts, metadata_rows
from core.models.aipl import stage_case
from core.models.lifecycle import bounds as lifecycle_bounds
from core.models.lifecycle import state_case
from core.problems import Problem

if TYPE_CHECKING:
    pass


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return column in {d[0] for d in con.execute(exp.select("*").from_(table).limit(0).sql("duckdb")).description}


MASK_BITS = 64  # tags per UBIGINT mask


def build_tags(con: duckdb.DuckDBPyConnection, files: dict[str, list[Path]]) -> list[tuple[str, str, str | None]]:
    """Each member's tags as bit masks (one UBIGINT per 64 tags) + one value column per tag that has values.

    One BIT_OR per 64 tags instead of one aggregate per tag (or a list per member): the
    profile then unpacks one BOOLEAN column per tag from the masks.
    """
    if not files.get("tags"):
        return []
    has_value_column = _has_column(con, "tags", "value")  # `value` is optional in the contract
    if has_value_column:
        rows = con.execute(
            "select tag, count(value) > 0 as has_values from tags"
            " where tag is not null and user_id is not null group by tag order by tag"
        ).fetchall()
    else:
        rows = con.execute(
            "select tag, false as has_values from tags"
            " where tag is not null and user_id is not null group by tag order by tag"
        ).fetchall()
    if not rows:
        return []
    cols: list[tuple[str, str, str | None]] = []
    params: dict[str, object] = {"tags": [r[0] for r in rows]}
    ti = exp.column("ti")  # 0-based tag number
    masks = -(-len(rows) // MASK_BITS)
    aggs: list[exp.Expression] = []
    for m in range(masks):
        bit = exp.BitwiseLeftShift(
            this=exp.Cast(this=exp.Literal.number(1), to=exp.DataType.build("UBIGINT", dialect="duckdb")),
            expression=exp.Mod(this=ti.copy(), expression=exp.Literal.number(MASK_BITS)),
        )
        if masks > 1:
            in_mask = exp.EQ(
                this=exp.IntDiv(this=ti.copy(), expression=exp.Literal.number(MASK_BITS)),
                expression=exp.Literal.number(m),
            )
            bit = exp.Case(
                ifs=[exp.If(this=in_mask, true=bit)],
                default=exp.Cast(this=exp.Literal.number(0), to=exp.DataType.build("UBIGINT", dialect="duckdb")),
            )
        aggs.append(exp.alias_(exp.func("bit_or", bit), f"mask_{m}", quoted=True))
    for i, (tag, has_values) in enumerate(rows):
        value_col = None
        if has_values:
            value_col = f"_tagv_{i}"
            is_tag = exp.EQ(this=ti, expression=exp.Literal.number(i))
            agg = exp.Filter(
                this=exp.Max(this=exp.Cast(this=exp.column("value"), to=exp.DataType.build("VARCHAR"))),
                expression=exp.Where(this=is_tag),
            )
            aggs.append(exp.alias_(agg, value_col, quoted=True))
        cols.append((tag, f"_tag_{i}", value_col))
    value = exp.column("value") if has_value_column else exp.alias_(exp.null(), "value")
    coded = (
        exp.select(
            exp.column("user_id"),
            exp.alias_(
                exp.Sub(
                    this=exp.func("list_position", exp.Placeholder(this="tags"), exp.column("tag")),
                    expression=exp.Literal.number(1),
                ),
                "ti",
            ),
            value,
        )
        .from_("tags")
        .where(exp.and_(exp.column("user_id").is_(exp.null()).not_(), exp.column("tag").is_(exp.null()).not_()))
    )
    grouped = (
        exp.select(exp.column("user_id"), *aggs)
        .from_(exp.alias_(exp.Subquery(this=coded), "c"))
        .group_by(exp.column("user_id"))
    )
    select = (
        exp.select(
            exp.column(UID, table="u", quoted=True), *[exp.column(a.alias, table="g", quoted=True) for a in aggs]
        )
        .from_(exp.alias_(exp.Subquery(this=grouped), "g"))
        .join(
            exp.alias_(exp.to_table("_uids"), "u"),
            on=exp.EQ(this=exp.column("user_id", table="u"), expression=exp.column("user_id", table="g")),
        )
    )
    create_table(con, "tag_pivot", select, params, temp=True)
    return cols


def build_profile(con, config: DatasetConfig, as_of_end: datetime, events: list[str], counter_cols, tag_cols) -> None:
    u = "u"
    user_cols = [d[0] for d in con.execute("select * from users limit 0").description]
    select_cols: list[exp.Expression] = [
        exp.column(c, table=u, quoted=True) for c in user_cols if not c.startswith("_")
    ]
    aipl_stage, aipl_params = stage_case("c", config)
    select_cols += [
        exp.column(UID, table=u, quoted=True),
        exp.alias_(
            exp.func("coalesce", exp.column("rfm_class", table="r"), exp.Literal.string("none")),
            "_rfm_class",
            quoted=True,
        ),
        exp.alias_(exp.column("recency_days", table="r"), "_recency_days", quoted=True),
        exp.alias_(
            exp.func("coalesce", exp.column("frequency", table="r"), exp.Literal.number(0)), "_frequency", quoted=True
        ),
        exp.alias_(
            exp.func("coalesce", exp.column("monetary", table="r"), exp.Literal.number(0)), "_monetary", quoted=True
        ),
        exp.alias_(exp.column("r_score", table="r"), "_r_score", quoted=True),
        exp.alias_(exp.column("f_score", table="r"), "_f_score", quoted=True),
        exp.alias_(exp.column("m_score", table="r"), "_m_score", quoted=True),
        # the AIPL rule over the roll-up's columns in place: one join (and one 10M-row table) fewer
        exp.alias_(exp.func("coalesce", aipl_stage, exp.Literal.string("none")), "_aipl_stage", quoted=True),
        exp.alias_(exp.column("first_event_at", table="c"), "_first_event_at", quoted=True),
        exp.alias_(exp.column("last_event_at", table="c"), "_last_event_at", quoted=True),
    ]
    has_signup = "signup_at" in user_cols
    last_event = exp.column("last_event_at", table="c")
    lifecycle = state_case(
        exp.column("signup_at", table=u) if has_signup else exp.null(),
        last_event,
        exp.Not(this=exp.Is(this=last_event.copy(), expression=exp.null())),
    )
    select_cols.append(exp.alias_(lifecycle, "_lifecycle", quoted=True))
    codes = event_codes(events)
    for (ev, w), col in counter_cols.items():
        select_cols.append(exp.alias_(counter(codes[ev], COUNTER_WINDOWS.index(w), table="c"), col, quoted=True))
    for i, (_tag, col, value_col) in enumerate(tag_cols):
        # CAST((coalesce(mask, 0) >> i) & 1 AS BOOLEAN): the coalesce is one per mask (a common
        # subexpression), not one per tag; ~40% less work than coalesce(((mask >> i) & 1) = 1, false)
        mask = exp.func("coalesce", exp.column(f"mask_{i // MASK_BITS}", table="t", quoted=True), exp.Literal.number(0))
        bit = exp.BitwiseAnd(
            this=exp.BitwiseRightShift(this=mask, expression=exp.Literal.number(i % MASK_BITS)),
            expression=exp.Literal.number(1),
        )
        select_cols.append(
            exp.alias_(exp.Cast(this=exp.paren(bit), to=exp.DataType.build("BOOLEAN")), col, quoted=True)
        )
        if value_col:
            select_cols.append(exp.column(value_col, table="t", quoted=True))
    query = exp.select(*select_cols).from_(exp.alias_(exp.to_table("users_n"), u))
    joins = [("rfm", "r"), ("user_events", "c")] + ([("tag_pivot", "t")] if tag_cols else [])
    for table, alias in joins:
        query = query.join(
            exp.alias_(exp.to_table(table), alias),
            on=exp.EQ(this=exp.column(UID, table=alias, quoted=True), expression=exp.column(UID, table=u, quoted=True)),
            join_type="left",
        )
    params = {**lifecycle_bounds(as_of_end.date() - timedelta(days=1), config), **aipl_params}
    # user_id and the PII columns are one value per member: dictionary and FSST compression
    # buy little on them and cost ~0.6 s per column at 10M members to write
    unique = {"user_id", *config.privacy.pii_columns}
    _create_compressed_table(con, "profile", query, params, uncompressed=unique)


class _DuckDBWithCompression(DuckDB):
    """DuckDB's SQL plus a column's `USING COMPRESSION method` (sqlglot has no DuckDB form for it)."""

    class Generator(DuckDB.Generator):
        TRANSFORMS = {
            **DuckDB.Generator.TRANSFORMS,
            exp.CompressColumnConstraint: lambda self, e: f"USING COMPRESSION {self.sql(e, 'this')}",
        }


# The method DuckDB's analysis picks for these types anyway (the profile's integers: bit packing, a few sparse
# counters RLE at about the same size; text: dict_fsst): naming it skips trying the others on every column
# segment, ~10% of the profile's write (1 M members, 2026-12-03); counts read them as fast
_BY_TYPE = {
    "BOOLEAN": "roaring",
    "TINYINT": "bitpacking",
    "SMALLINT": "bitpacking",
    "INTEGER": "bitpacking",
    "BIGINT": "bitpacking",
    "DATE": "bitpacking",
    "TIMESTAMP": "bitpacking",
    "VARCHAR": "dict_fsst",
}


def _compression(col: str, typ: str, uncompressed: set[str]) -> str | None:
    if typ == "VARCHAR" and col in uncompressed:
        return "uncompressed"
    return _BY_TYPE.get(typ)


def _create_compressed_table(
    con: duckdb.DuckDBPyConnection,
    name: str,
    query: exp.Select,
    params: dict[str, object],
    *,
    uncompressed: set[str] = frozenset(),
) -> None:
    """CREATE TABLE name AS query, each column stored with its type's method (`_BY_TYPE`).

    Every BOOLEAN column is a roaring bitmap; text columns named in `uncompressed` are stored as they are.

    DuckDB otherwise tries every method on every boolean column and mostly picks bit
    packing: the profile's ~50 tag columns then cost twice the time to write, and take
    more space, than as roaring bitmaps (which count as fast). Falls back to a plain
    CREATE TABLE AS when a column's type cannot be written out.
    """
    try:
        columns = [
            exp.ColumnDef(
                this=exp.to_identifier(col, quoted=True),
                kind=exp.DataType.build(typ, dialect="duckdb"),
                constraints=[exp.ColumnConstraint(kind=exp.CompressColumnConstraint(this=exp.var(method)))]
                if (method := _compression(col, typ, uncompressed))
                else [],
            )
            for col, typ, *_ in con.execute(exp.Describe(this=query.copy()).sql("duckdb"), params or None).fetchall()
        ]
    except (sqlglot.errors.ParseError, ValueError):
        create_table(con, name, query, params)
        return
    try:
        con.execute(
            exp.Create(this=exp.Schema(this=exp.to_table(name, quoted=True), expressions=columns), kind="TABLE").sql(
                dialect=_DuckDBWithCompression
            )
        )
        con.execute(exp.insert(query, exp.to_table(name, quoted=True)).sql("duckdb"), params or None)
    except duckdb.Error:
        # a type sqlglot spells differently from DuckDB: the plain way
        con.execute(exp.Drop(this=exp.to_table(name, quoted=True), kind="TABLE", exists=True).sql("duckdb"))
        create_table(con, name, query, params)


def build_metadata(
    con,
    root: Path,
    config: DatasetConfig,
    as_of: date,
    events,
    props,
    counter_cols,
    tag_cols,
    warnings: tuple[Problem, ...],
    unknown: int,
) -> None:
    """The metadata tables (core/dataset/metadata.py makes their rows; Spark's build makes the same ones)."""
    profile_types = con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_name = 'profile' order by ordinal_position"
    ).fetchall()
    # attributes: users columns as they are in profile, with distinct counts for the UI's widget choice
    attr = [(n, type_of(t)) for n, t in profile_types if not n.startswith("_") and n != "user_id"]
    properties = [(n, type_of(t)) for n, t in props]
    counts = metadata_counts(
        con, [col for _, col, _ in tag_cols], [n for n, _ in attr], [n for n, _ in properties], per_column=True
    )
    health = health_problems(warnings, unknown)
    rows = metadata_rows(root, config, as_of, events, counter_cols, tag_cols, attr, properties, counts, health)
    for table, columns in METADATA_TABLES.items():
        con.execute(
            exp.Create(
                this=exp.Schema(
                    this=exp.to_table(table),
                    expressions=[
                        exp.ColumnDef(this=exp.to_identifier(c), kind=exp.DataType.build(t)) for c, t in columns
                    ],
                ),
                kind="TABLE",
            ).sql("duckdb")
        )
        if rows[table]:
            insert = exp.insert(exp.values([tuple(exp.Placeholder() for _ in columns)]), exp.to_table(table)).sql(
                "duckdb"
            )
            con.executemany(insert, rows[table])
