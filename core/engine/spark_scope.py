"""Data scopes (team access, core/access.py) on Spark: a scoped person's queries read only their members.

DuckDB applies a scope with views in a schema of its in-memory database that a scoped cursor reads
first. Spark's temporary views are one namespace per session, so a scoped Spark dataset renames
instead: every per-member table a query reads (`profile`, `event_rows`, `ab_members`, and the model
tables at past days) becomes `<schema>__<table>`, a view holding only the scope's members (their
`_uid`s computed once by Spark from the scope's definition, checkpointed). Two scopes, or a scope
and the whole dataset, never share a view. The contract's `events` (the Overview's event count and
dates) has no member column in Spark's copy: a scoped query reading it is refused with the reason.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlglot import exp

from core.engine import EngineError

if TYPE_CHECKING:
    from core.engine.spark_dataset import SparkDataset

SCOPED = ("profile", "event_rows", "ab_members")
_MODEL_TABLE = re.compile(r"^_(rfm|aipl|lifecycle)_at_\d{8}$")


def view_name(schema: str, table: str) -> str:
    return f"{schema}__{table}"


def scoped_tree(tree: exp.Expression, schema: str) -> exp.Expression:
    """The tree reading the scope's views: per-member tables (and model tables) renamed `<schema>__<name>`."""

    def rename(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Table) or node.db == "information_schema":
            return node
        name = node.name
        if name == "events":
            raise EngineError(
                "The contract's events under a data scope are not on Spark yet (Overview's event counts)."
            )
        if name in SCOPED or _MODEL_TABLE.match(name):
            return exp.Table(this=exp.to_identifier(view_name(schema, name), quoted=True), alias=node.args.get("alias"))
        return node

    return tree.transform(rename)


def scope_views(whole: SparkDataset, schema: str) -> None:
    """Spark's views of the scope's members and of each per-member table (once per session and scope)."""
    from core.segments.counts import segment_condition

    spark = whole.activate()
    members = view_name(schema, "members")
    if spark.catalog.tableExists(members):
        return
    scope = whole.scope
    condition, params = segment_condition(whole, scope, None, prefix="scope_")
    query = exp.select(exp.column("_uid")).from_("profile").where(condition)
    from core.engine import spark as spark_engine

    sql, args = spark_engine.to_spark(query, params)
    spark.sql(sql, args=args or None).localCheckpoint().createOrReplaceTempView(members)
    for table in SCOPED:
        inside = exp.In(this=exp.column("_uid"), query=exp.Subquery(this=exp.select(exp.column("_uid")).from_(members)))
        view = exp.select(exp.Star()).from_(table).where(inside)
        spark.sql(spark_engine.to_spark(view)[0]).createOrReplaceTempView(view_name(schema, table))


def on_spark_scoped(ds, spark) -> SparkDataset:
    """A scoped dataset (core.access.scoped_dataset) answered by Spark through its scope's views."""
    from core.engine.spark_dataset import on_spark

    # the tables as written (never the scoped DuckDB views), with a fingerprint of its own: the model
    # tables it makes for the scope's definition are the whole dataset's, not the scope's views
    whole = on_spark(replace(ds, schema=None, fingerprint=f"{ds.fingerprint}+whole"), spark)
    scope_views(whole, ds.schema)
    # the catalog Spark computed is the whole dataset's: its member counts (total, users per tag) are the
    # scope's, as core.access.scoped_dataset counted them, so shares and coverage use the scoped base
    tags = {
        tag: replace(info, users=ds.catalog.tags[tag].users) if tag in ds.catalog.tags else info
        for tag, info in whole.catalog.tags.items()
    }
    catalog = replace(whole.catalog, total_users=ds.catalog.total_users, tags=tags)
    return replace(whole, schema=ds.schema, fingerprint=ds.fingerprint, base=ds, catalog=catalog)
