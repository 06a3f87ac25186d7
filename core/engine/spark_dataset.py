"""A Dataset whose queries Spark answers: the same core functions, another engine underneath.

`on_spark(ds)` gives a `SparkDataset`: the opened dataset's config, catalog and `as_of`, with
`run`, `query` and `cursor` answered by Spark (core/engine/spark.py) over the same derived
tables. Every core function that reads data through those three (size, reach, overlap,
breakdown, members, the export's plan and file, models at a past date) then runs on Spark
unchanged. What stays with DuckDB is only the writer of an export file (`COPY` of the rows
Spark computed), so the same rows and options give the same bytes.

A cursor receives the DuckDB SQL our trees were rendered to; it reads it back into the tree
(sqlglot, DuckDB dialect) and renders that for Spark with the rules of spark_sql.py. The text
holds no user values: they stay bound parameters.

A cursor's Spark work carries a tag of its own (a job tag on local Spark, an operation tag on
Spark Connect), added on the thread that runs it; `interrupt()` cancels that tag only, so the
other users' queries on the shared session go on.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

import sqlglot
from sqlglot import exp

from core.dataset import Dataset
from core.engine import EngineError
from core.engine import spark as spark_engine
from core.engine.spark_tags import TaggedWork
from core.problems import ValidationReport
from core.queries import named_query

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession


@contextlib.contextmanager
def spark_errors() -> Iterator[None]:
    """Spark's exceptions as core's EngineError (its first line), as DuckDB's are (core.problems)."""
    from core.problems import EngineError as QueryError

    try:
        yield
    except Exception as err:
        from pyspark.errors import PySparkException

        if not isinstance(err, PySparkException):
            raise
        text = str(err).strip().splitlines()
        raise QueryError(f"Spark could not answer: {text[0] if text else type(err).__name__}") from err


class NoBitmaps:
    """The bitmap indexes of a Spark dataset: none (they live in an app server's memory); every answer is a scan."""

    def count(self, condition: exp.Expression, params: dict[str, object]) -> None:
        return None

    def members(self, conditions: list[exp.Expression], params: dict[str, object]) -> None:
        return None

    def split(self, condition: exp.Expression, params: dict[str, object], column: str) -> None:
        return None

    def answers(self, *conditions: exp.Expression) -> bool:
        return False

    def close(self) -> None:
        return None


_NO_BITMAPS = NoBitmaps()


@dataclass
class SparkDataset(Dataset):
    """The dataset with Spark answering its queries (see the module docstring)."""

    engine: ClassVar[str] = "spark"

    base: Dataset | None = field(default=None, repr=False)
    spark: Any = field(default=None, repr=False)
    folder: Any = field(default=None, repr=False)

    def activate(self) -> SparkSession:
        """The session with THIS dataset's tables as `profile` and `event_rows` (another may have replaced them)."""
        if spark_engine.register(self.spark, self.folder):
            from core.models import forget_tables

            forget_tables(self)  # the model views were another dataset's
        return self.spark

    def cursor(self) -> SparkCursor:  # type: ignore[override]
        return SparkCursor(self)

    def query(self, name: str, **params: object) -> SparkCursor:  # type: ignore[override]
        from core.queries import named_query

        cur = SparkCursor(self)
        cur.run_tree(named_query(name), params)
        return cur

    def run(self, query: exp.Expression, params: dict[str, object] | None = None) -> list[tuple]:
        with spark_errors():
            if isinstance(query, exp.Create):
                create_view(self.activate(), self.local(query), params or {})
                return []
            return spark_engine.run(self.activate(), self.local(query), params)

    def local(self, tree: exp.Expression) -> exp.Expression:
        """The tree as this dataset reads it: under a data scope, the scope's views (core/engine/spark_scope.py)."""
        if self.schema is None:
            return tree
        from core.engine.spark_scope import scoped_tree

        return scoped_tree(tree, self.schema)

    def bitmap_index(self) -> NoBitmaps:  # type: ignore[override]
        return _NO_BITMAPS

    def close(self) -> None:
        if self.base is not None:
            self.base.close()


_MODEL_LOCK = threading.Lock()


def create_view(spark: SparkSession, create: exp.Create, params: dict[str, object]) -> None:
    """`CREATE TABLE t AS SELECT …` (a model at a past day) as a cached Spark view named t.

    DuckDB stores the value as an ENUM (one byte); Spark keeps the text: the values are the same.
    """
    select = create.expression.copy()
    for cast in list(select.find_all(exp.Cast)):
        if cast.to.this == exp.DataType.Type.ENUM:
            cast.replace(cast.this)
    name = create.this.name
    with _MODEL_LOCK:
        sql, args = spark_engine.to_spark(select, params)
        frame = spark.sql(sql, args=args or None)
        # computed once and kept, as DuckDB keeps its in-memory table (dropping it changes no answer)
        frame.localCheckpoint().createOrReplaceTempView(name)


# what the app server reads of a dataset besides the member data Spark holds: the tag catalog file and
# the tags' refresh times (the Tag Catalog page's metadata), and DuckDB's column lists of them
LOCAL_TABLES = frozenset({"tag_catalog", "tags"})


def reads_local(tree: exp.Expression) -> bool:
    """Whether the statement reads only the app server's metadata (LOCAL_TABLES, information_schema)."""
    tables = list(tree.find_all(exp.Table))
    return bool(tables) and all(t.name in LOCAL_TABLES or t.db == "information_schema" for t in tables)


class SparkCursor:
    """A DuckDB-cursor look-alike for the calls core makes: execute, fetchone, fetchall, df, description.

    Every Spark action of the cursor runs under the cursor's tag on the calling thread (`work.running()`);
    `interrupt()`, from any thread, cancels that tag: this cursor's work only.
    """

    def __init__(self, ds: SparkDataset) -> None:
        self.ds = ds
        self._rows: list[tuple] | None = None
        self._frame: Any = None
        self._local: Any = None  # a DuckDB cursor for metadata (reads_local)
        self.description: list[tuple] | None = None
        self.work = TaggedWork(lambda: ds.spark, "adesk-cursor")  # its Spark actions, under one tag

    def execute(self, sql: str, params: Any = None) -> SparkCursor:
        tree = sqlglot.parse_one(sql, read="duckdb")
        if reads_local(tree) and self.ds.base is not None:
            # metadata of the app server's own catalog (tag catalog, column lists): DuckDB reads it,
            # as it built the dataset's catalog that this dataset shares
            self._local = self.ds.base.cursor()
            self._local.execute(sql, params)
            self._rows = self._local.fetchall()
            self.description = self._local.description
            return self
        if isinstance(tree, exp.Copy):
            with spark_errors(), self.work.running():
                self._rows = [(copy_from_spark(self.ds, tree, dict(params or {})),)]
            return self
        return self.run_tree(tree, dict(params or {}))

    def run_tree(self, tree: exp.Expression, params: dict[str, object]) -> SparkCursor:
        with spark_errors(), self.work.running():
            return self._run_tree(tree, params)

    def _run_tree(self, tree: exp.Expression, params: dict[str, object]) -> SparkCursor:
        tree = self.ds.local(tree)
        if isinstance(tree, exp.Create):
            create_view(self.ds.activate(), tree, params)
            self._rows = []
            return self
        if not isinstance(tree, exp.Query):
            raise EngineError(f"{type(tree).__name__} statements do not run on Spark here.")
        sql, args = spark_engine.to_spark(tree, params)
        self._frame = self.ds.activate().sql(sql, args=args or None)
        self.description = [(name, None) for name in self._frame.columns]
        self._rows = None
        return self

    def _all(self) -> list[tuple]:
        if self._rows is None:
            with spark_errors(), self.work.running():
                self._rows = [tuple(r) for r in self._frame.collect()]
        return self._rows

    def fetchall(self) -> list[tuple]:
        return list(self._all())

    def fetchone(self) -> tuple | None:
        rows = self._all()
        return rows[0] if rows else None

    def df(self) -> pd.DataFrame:
        """The result as pandas, converted by DuckDB (the same pandas types as a DuckDB cursor's .df())."""
        import duckdb

        with spark_errors(), self.work.running():
            table = self._frame.toArrow()
        con = duckdb.connect()
        try:
            return con.from_arrow(table).df()
        finally:
            con.close()

    def query_progress(self) -> float:
        return -1

    def interrupt(self) -> None:
        """Stop this cursor's Spark work only (its tag; see core/engine/spark_tags.py)."""
        self.work.interrupt()

    @property
    def tag(self) -> str:
        return self.work.tag

    @property
    def interrupted(self) -> bool:
        return self.work.interrupted

    def close(self) -> None:
        self._frame = None
        if self._local is not None:
            self._local.close()
            self._local = None


def copy_from_spark(ds: SparkDataset, copy: exp.Copy, params: dict[str, object]) -> int:
    """An export's `COPY (SELECT …) TO file`: the rows computed by Spark, the file written by DuckDB's COPY.

    Spark's own CSV writer quotes, escapes and formats numbers and times differently; one writer
    for both engines gives the same bytes for the same rows. Rows arrive in the SELECT's order
    (user_id): Spark's sorted result is collected in that order. A bare column that is NOT NULL
    in DuckDB's `profile` (user_id) stays NOT NULL, so a Parquet file marks it REQUIRED as DuckDB's does.
    """
    import duckdb

    select = copy.this.this if isinstance(copy.this, exp.Subquery) else copy.this
    table = spark_engine.arrow(ds.activate(), ds.local(select), params)
    required = _required_outputs(ds, select)
    con = duckdb.connect()
    try:
        rows = con.from_arrow(table)
        columns = [
            exp.ColumnDef(
                this=exp.to_identifier(name, quoted=True),
                kind=exp.DataType.build(str(kind), dialect="duckdb"),
                constraints=[exp.ColumnConstraint(kind=exp.NotNullColumnConstraint())] if name in required else [],
            )
            for name, kind in zip(rows.columns, rows.types, strict=True)
        ]
        schema = exp.Schema(this=exp.to_table("spark_rows"), expressions=columns)
        con.execute(
            exp.Create(this=schema, kind="TABLE", properties=exp.Properties(expressions=[exp.TemporaryProperty()])).sql(
                "duckdb"
            )
        )
        rows.insert_into("spark_rows")
        local = copy.copy()
        local.set("this", exp.Subquery(this=exp.select("*").from_("spark_rows")))
        con.execute(local.sql("duckdb"))
    finally:
        con.close()
    return table.num_rows


def _required_outputs(ds: SparkDataset, select: exp.Expression) -> set[str]:
    """Output names of the SELECT that are a bare NOT NULL column of DuckDB's `profile`."""
    if ds.base is None or not isinstance(select, exp.Select):
        return set()
    not_null = {name for (name,) in ds.base.run(named_query("not_null_columns"), {"table": "profile"})}
    out = set()
    for item in select.expressions:
        inner = item.this if isinstance(item, exp.Alias) else item
        if isinstance(inner, exp.Column) and not inner.table and inner.name in not_null:
            out.add(item.alias_or_name)
    return out


def on_spark(ds: Dataset, spark: SparkSession | None = None) -> SparkDataset:
    """The dataset with its queries answered by Spark (the session: this process's, or `spark`)."""
    if ds.schema is not None:  # a data scope (team access): its own views on Spark
        from core.engine.spark_scope import on_spark_scoped

        return on_spark_scoped(ds, spark or spark_engine.spark_session())
    from core.engine.spark_build import spark_tables
    from core.engine.spark_metadata import spark_catalog

    session = spark or spark_engine.spark_session()
    folder = spark_tables(ds, session)  # built by Spark (core/engine/spark_build.py)
    spark_engine.register(session, folder)
    values = {f.name: getattr(ds, f.name) for f in fields(Dataset) if f.name not in ("memo", "_bitmaps")}
    found = spark_catalog(ds, folder)  # None for copies of DuckDB's tables (ADESK_SPARK_BUILD=duckdb)
    if found is not None:  # the catalog, as_of and health Spark computed with its tables
        as_of, catalog, health = found
        values.update(as_of=as_of, catalog=catalog, report=ValidationReport(str(ds.path), health))
    return SparkDataset(**values, base=ds, spark=session, folder=folder)
