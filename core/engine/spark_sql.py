"""Our DuckDB-dialect SQL trees rendered for Spark SQL, with a rule for each known difference.

sqlglot's Spark dialect translates names; where the two engines give DIFFERENT ANSWERS for
the same spelling, a rule below rewrites the tree so Spark computes what DuckDB computes
(tests/test_engine_rules.py runs each rule on both engines with the same values):

- `list_position(l, x)`: DuckDB gives NULL for a miss, Spark's array_position 0 -> NULLIF(…, 0).
- `len(list)`: Spark's length() is for text -> size() when the argument is a list.
- `date_diff(unit, a, b)`: DuckDB counts boundaries crossed (23:00 -> 01:00 is one day),
  Spark's datediff(unit, …) counts whole units -> spelled out from calendar fields.
- `dayofweek` (DuckDB Sunday = 0, Spark Sunday = 1) and `isodow` (Monday = 1 … Sunday = 7).
- `list(x ORDER BY y)`: Spark's collect_list drops the order -> sort (key, value) structs.
- integer casts: DuckDB rounds (half to even for DOUBLE, half away from zero for a decimal
  literal), Spark truncates -> bround / round first.
- `a / b` by zero: DuckDB gives ±inf / NaN (IEEE), Spark under ANSI mode raises -> a CASE.
  Integer overflow and `%`, `//` by zero raise on both (ANSI mode stays on).
- `epoch(ts)`: elapsed seconds of an instant (DST-safe windows compare these) -> unix_micros.
- `epoch_us(ts)`: microseconds since 1970 of the wall-clock time -> unix_micros (session zone UTC).
- `range(a, b) AS t(k)` as a table (DuckDB's column is `range`): Spark's range(a, b) with the same
  alias (Spark's column is `id`, so a bare range gets the alias `range_rows(range)`).
- `[a, b, …][i]` with a computed index (DuckDB 1-based; sqlglot shifts only literal indexes, so
  Spark's 0-based `[i]` would read the next element) -> try_element_at(array(…), nullif(i, 0)): 1-based,
  NULL out of range and for 0 as DuckDB.
- `SELECT unnest(a) AS x, unnest(b) AS y`: DuckDB zips the lists, Spark's two generators would give
  their cross product -> `SELECT inline(arrays_zip(a, b)) AS (x, y)` (NULL-padded, as DuckDB).
- `regexp_matches(x, p)` (a search in both) -> `x RLIKE p`.
- `TRY_CAST(text AS BOOLEAN)` (consent columns stored as text): DuckDB reads t/true/y/yes/1 and
  f/false/n/no/0 in any case but never trims, Spark trims -> the same words on the untrimmed
  text; a non-text value keeps the cast (a number: non-zero is true on both).
- `TRY_CAST` stays TRY_CAST (sqlglot would write CAST, which raises under ANSI mode).
- `quantile_disc(x, q)` (one q or a list): DuckDB's value is the ceil(n·q)-th smallest non-NULL
  value; Spark's percentile_disc takes numbers only (not dates or times) -> element_at of the
  sorted list of values, for any orderable type. NULL for no values, as DuckDB.
- unsigned integers (`1::UBIGINT << k`, bit masks of periods): Spark has none -> the signed type of
  the same width or wider; a shift count is an INT in Spark. Masks of up to 63 bits read the same,
  bit 63 is the sign bit (`>>` then `& 1` still reads it).
- `hash(x)`: refused (engine-specific values); SHA-256 renders as sha2(x, 256), and a hex
  text cast to a number (`CAST('0x' || hex AS BIGINT)`, the holdout rule) as conv(hex, 16, 10).

Bound parameters stay bound: `$name` becomes Spark's named parameter `:name` and the values
go in `args` (dates, numbers, text, lists as they are; date-times as ISO text inside a cast,
so Spark never reads them in its own time zone).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlglot import exp

from core.engine import EngineError

_UNSIGNED = {
    exp.DataType.Type.UTINYINT: "SMALLINT",
    exp.DataType.Type.USMALLINT: "INT",
    exp.DataType.Type.UINT: "BIGINT",
    exp.DataType.Type.UBIGINT: "BIGINT",
}
_INT_TYPES = {
    exp.DataType.Type.TINYINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
}


def _f(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _num(n: int | float) -> exp.Literal:
    return exp.Literal.number(n)


def _is_list(node: exp.Expression, params: dict[str, Any]) -> bool:
    """Whether the node is known to be a list (the only way to tell len(list) from len(text))."""
    if isinstance(node, exp.Array | exp.ArrayAgg | exp.Split):
        return True
    if isinstance(node, exp.Placeholder):
        return isinstance(params.get(node.name), list | tuple)
    if isinstance(node, exp.Anonymous):
        return node.name.lower().startswith(("list_", "array_"))
    return False


def _date(node: exp.Expression) -> exp.Expression:
    return exp.Cast(this=node.copy(), to=exp.DataType.build("DATE"))


def _date_diff(node: exp.DateDiff) -> exp.Expression:
    """DuckDB's boundaries-crossed count, from calendar fields (Spark's own counts whole units)."""
    unit = (node.text("unit") or "day").lower().strip("'")
    end, start = node.this, node.expression  # DuckDB date_diff(unit, start, end) parses as this=end
    days = _f("datediff", _date(end), _date(start))
    if unit in ("day", "days", "d"):
        return days
    if unit in ("week", "weeks", "w"):  # DuckDB: whole weeks of the day difference (truncated)
        return exp.Cast(this=exp.Div(this=days, expression=_num(7)), to=exp.DataType.build("BIGINT"))
    if unit in ("month", "months", "mon"):
        years = exp.Sub(this=exp.Year(this=end.copy()), expression=exp.Year(this=start.copy()))
        months = exp.Sub(this=exp.Month(this=end.copy()), expression=exp.Month(this=start.copy()))
        return exp.Add(this=exp.Mul(this=exp.Paren(this=years), expression=_num(12)), expression=exp.Paren(this=months))
    if unit in ("year", "years", "y"):
        return exp.Sub(this=exp.Year(this=end.copy()), expression=exp.Year(this=start.copy()))
    key = unit.rstrip("s")
    if key in ("hour", "minute", "second"):
        total: exp.Expression = days
        for name, per in [("hour", 24), ("minute", 60), ("second", 60)]:
            part = exp.Sub(this=_f(name, end.copy()), expression=_f(name, start.copy()))
            total = exp.Add(
                this=exp.Mul(this=exp.Paren(this=total), expression=_num(per)), expression=exp.Paren(this=part)
            )
            if name == key:
                return total
    raise EngineError(f"date_diff by {unit!r} has no Spark rule yet.")


def _ordered_list(node: exp.ArrayAgg) -> exp.Expression:
    """`list(x ORDER BY y)`: collect (null-last flag, key, value) structs, sort them, keep the values."""
    inner = node.this
    if not isinstance(inner, exp.Order):
        return exp.Anonymous(this="collect_list", expressions=[inner.copy()])  # no order promised
    value = inner.this
    orders = inner.expressions
    if len(orders) != 1:
        raise EngineError("an ordered list aggregate with several sort keys has no Spark rule yet.")
    ordered: exp.Ordered = orders[0]
    key, desc = ordered.this, bool(ordered.args.get("desc"))
    nulls_first = bool(ordered.args.get("nulls_first"))
    # DuckDB puts NULL keys last by default, ascending or descending; the flag sorts them there.
    # sort_array puts FALSE before TRUE ascending (after it descending): the flag sorts NULL keys
    # where DuckDB puts them (last by default, ascending or descending).
    null_flag: exp.Expression = exp.Is(this=key.copy(), expression=exp.Null())
    if desc != nulls_first:
        null_flag = exp.not_(null_flag)
    struct = _f(
        "named_struct",
        exp.Literal.string("n"),
        null_flag,
        exp.Literal.string("k"),
        key.copy(),
        exp.Literal.string("v"),
        value.copy(),
    )
    sort = _f("sort_array", _f("collect_list", struct), exp.false() if desc else exp.true())
    lam = exp.Lambda(
        this=exp.Dot(this=exp.to_identifier("s"), expression=exp.to_identifier("v")),
        expressions=[exp.to_identifier("s")],
    )
    return _f("transform", sort, lam)


def _int_cast(node: exp.Cast) -> exp.Expression:
    """DuckDB rounds a number cast to an integer (DOUBLE half to even, DECIMAL half away from 0)."""
    source = node.this
    if isinstance(source, exp.Literal) and source.is_string:
        return node
    literal = source.this if isinstance(source, exp.Neg) else source
    if isinstance(literal, exp.Literal) and not literal.is_string and "." in literal.name:
        rounded = _f("round", source.copy(), _num(0))  # a decimal literal: half away from zero
    else:
        rounded = _f("bround", source.copy(), _num(0))  # DOUBLE: half to even (an integer: itself)
    return exp.Cast(this=rounded, to=node.to.copy())


def _hex_cast(node: exp.Cast) -> exp.Expression | None:
    """`CAST('0x' || hex AS BIGINT)` (DuckDB reads hex) -> CAST(conv(hex, 16, 10) AS BIGINT)."""
    src = node.this
    if isinstance(src, exp.DPipe) and isinstance(src.this, exp.Literal) and src.this.name.lower() == "0x":
        return exp.Cast(this=_f("conv", src.expression.copy(), _num(16), _num(10)), to=node.to.copy())
    return None


def _ieee_divide(node: exp.Div) -> exp.Expression:
    """DuckDB's `/` is float division with IEEE results by zero: ±inf, NaN for 0/0, NULL for NULL."""
    a, b = node.this, node.expression

    def inf(sign: str) -> exp.Expression:
        return exp.Cast(this=exp.Literal.string(f"{sign}Infinity"), to=exp.DataType.build("DOUBLE"))

    by_zero = exp.Case(
        ifs=[
            exp.If(
                this=exp.Is(this=a.copy(), expression=exp.Null()),
                true=exp.Cast(this=exp.Null(), to=exp.DataType.build("DOUBLE")),
            ),
            exp.If(this=exp.GT(this=a.copy(), expression=_num(0)), true=inf("")),
            exp.If(this=exp.LT(this=a.copy(), expression=_num(0)), true=inf("-")),
        ],
        default=exp.Cast(this=exp.Literal.string("NaN"), to=exp.DataType.build("DOUBLE")),
    )
    divide = exp.Div(
        this=exp.Cast(this=a.copy(), to=exp.DataType.build("DOUBLE")),
        expression=exp.Cast(this=b.copy(), to=exp.DataType.build("DOUBLE")),
    )
    return exp.Case(ifs=[exp.If(this=exp.EQ(this=b.copy(), expression=_num(0)), true=by_zero)], default=divide)


def _quantile_disc(node: exp.PercentileDisc) -> exp.Expression:
    """DuckDB's quantile_disc: the ceil(n·q)-th smallest non-NULL value (checked against DuckDB in the rule tests)."""
    value, qs = node.this, node.expression
    values = _f("array_sort", _f("collect_list", value.copy()))
    n = _f("size", values.copy())

    def pick(q: exp.Expression) -> exp.Expression:
        index = _f(
            "greatest",
            _num(1),
            exp.Cast(this=_f("ceil", exp.Mul(this=n.copy(), expression=q.copy())), to=exp.DataType.build("INT")),
        )
        return _f("try_element_at", values.copy(), index)

    empty = exp.EQ(this=n.copy(), expression=_num(0))
    if isinstance(qs, exp.Array):
        picked: exp.Expression = exp.Array(expressions=[pick(q) for q in qs.expressions])
        return exp.Case(ifs=[exp.If(this=empty, true=exp.Null())], default=picked)
    return pick(qs)


def _text_to_boolean(node: exp.TryCast) -> exp.Expression:
    """DuckDB's TRY_CAST(text AS BOOLEAN): the words in any case, no trimming (Spark trims)."""
    value = node.this
    text = exp.Lower(this=exp.Cast(this=value.copy(), to=exp.DataType.build("STRING", dialect="spark")))

    def words(*ws: str) -> exp.Expression:
        return exp.In(this=text.copy(), expressions=[exp.Literal.string(w) for w in ws])

    as_text = exp.Case(
        ifs=[
            exp.If(this=words("t", "true", "y", "yes", "1"), true=exp.true()),
            exp.If(this=words("f", "false", "n", "no", "0"), true=exp.false()),
        ],
        default=exp.Cast(this=exp.Null(), to=exp.DataType.build("BOOLEAN")),
    )
    kept = node.copy()
    kept.set("safe", True)
    is_text = exp.EQ(this=_f("typeof", value.copy()), expression=exp.Literal.string("string"))
    return exp.Case(ifs=[exp.If(this=is_text, true=as_text)], default=kept)


def _range_table(node: exp.Table) -> exp.Expression:
    """`range(a, b) AS t(k)` in a FROM: Spark's range table function (end excluded, as DuckDB's range)."""
    series: exp.GenerateSeries = node.this
    if not series.args.get("is_end_exclusive"):
        raise EngineError("generate_series (end included) in a FROM has no Spark rule yet; use range().")
    start = series.args.get("start")
    end = series.args.get("end")
    args = [a.copy() for a in (start, end) if a is not None]
    alias = node.args.get("alias")
    if alias is None or not alias.columns:
        name = alias.this.copy() if alias is not None and alias.this else exp.to_identifier("range_rows")
        alias = exp.TableAlias(this=name, columns=[exp.to_identifier("range")])
    return exp.Table(this=_f("range", *args), alias=alias.copy())


def _rule(node: exp.Expression, params: dict[str, Any]) -> exp.Expression:
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name in ("list_position", "list_indexof", "array_position"):
            return _f("nullif", _f("array_position", *[a.copy() for a in node.expressions]), _num(0))
        if name in ("hash", "md5_number", "xxhash64", "murmur3"):
            raise EngineError(f"{name}() gives engine-specific values; use SHA-256 (as the holdout rule does).")
        if name == "regexp_matches" and len(node.expressions) == 2:  # both search, not full-match
            return exp.RegexpLike(this=node.expressions[0].copy(), expression=node.expressions[1].copy())
        if name == "sha256" and len(node.expressions) == 1:
            return exp.SHA2(this=node.expressions[0].copy(), length=_num(256))
        if name == "epoch":
            return _epoch(node.expressions[0])
        if name == "epoch_us":
            return _f("unix_micros", exp.Cast(this=node.expressions[0].copy(), to=exp.DataType.build("TIMESTAMP")))
    if isinstance(node, exp.Select) and _parallel_unnests(node):
        return _zipped_unnest(node)
    if isinstance(node, exp.Bracket) and isinstance(node.this, exp.Array) and _is_column_index(node):
        # index 0 raises in Spark even under try_: NULL as DuckDB
        return _f("try_element_at", node.this.copy(), _f("nullif", node.expressions[0].copy(), _num(0)))
    if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
        return _range_table(node)
    if isinstance(node, exp.TryCast) and node.to.this == exp.DataType.Type.BOOLEAN:
        return _text_to_boolean(node)
    if isinstance(node, exp.TryCast) and not node.args.get("safe"):
        # sqlglot writes a TryCast without `safe` as CAST for Spark, which raises under ANSI mode
        safe = node.copy()
        safe.set("safe", True)
        return safe
    if isinstance(node, exp.TimeToUnix):
        return _epoch(node.this)
    if isinstance(node, exp.Length) and _is_list(node.this, params):
        return _f("size", node.this.copy())
    if isinstance(node, exp.DateDiff):
        return _date_diff(node)
    if isinstance(node, exp.DayOfWeekIso):
        return exp.Add(this=_f("weekday", node.this.copy()), expression=_num(1))
    if isinstance(node, exp.DayOfWeek):
        return exp.Paren(this=exp.Sub(this=_f("dayofweek", node.this.copy()), expression=_num(1)))
    if isinstance(node, exp.ArrayAgg):
        return _ordered_list(node)
    if isinstance(node, exp.PercentileDisc) and node.expression is not None:
        return _quantile_disc(node)
    if isinstance(node, exp.Cast) and node.to.this in _UNSIGNED:
        signed = node.copy()
        signed.set("to", exp.DataType.build(_UNSIGNED[node.to.this]))
        return signed
    if isinstance(node, exp.BitwiseLeftShift | exp.BitwiseRightShift):
        shifted = node.copy()
        shifted.set("expression", exp.Cast(this=node.expression.copy(), to=exp.DataType.build("INT")))
        return shifted
    if isinstance(node, exp.Cast) and not isinstance(node, exp.TryCast) and node.to.this in _INT_TYPES:
        return _hex_cast(node) or _int_cast(node)
    if isinstance(node, exp.Div):
        return _ieee_divide(node)
    return node


def _parallel_unnests(node: exp.Select) -> bool:
    """A SELECT of two or more `unnest(list) AS name` and nothing else (DuckDB zips them)."""
    items = node.expressions
    return len(items) > 1 and all(isinstance(i, exp.Alias) and isinstance(i.this, exp.Explode) for i in items)


def _zipped_unnest(node: exp.Select) -> exp.Expression:
    """`SELECT unnest(a) AS x, unnest(b) AS y`: DuckDB zips the lists (NULL-padded), Spark would
    take the cross product of two generators -> `SELECT inline(arrays_zip(a, b)) AS (x, y)`."""
    zipped = _f("arrays_zip", *[i.this.this.copy() for i in node.expressions])
    names = [exp.to_identifier(i.alias) for i in node.expressions]
    out = node.copy()
    out.set("expressions", [exp.Aliases(this=_f("inline", zipped), expressions=names)])
    return out


def _is_column_index(node: exp.Bracket) -> bool:
    """`[a, b, …][i]` with a computed index: sqlglot shifts literal indexes only, so this one is still 1-based."""
    return len(node.expressions) == 1 and not isinstance(node.expressions[0], exp.Literal)


def _epoch(ts: exp.Expression) -> exp.Expression:
    """Seconds since 1970 of an instant (DuckDB's epoch(); the session time zone is UTC)."""
    micros = _f("unix_micros", exp.Cast(this=ts.copy(), to=exp.DataType.build("TIMESTAMP")))
    return exp.Div(this=micros, expression=exp.Literal.number("1000000.0D"))


def _bind(tree: exp.Expression, params: dict[str, Any]) -> tuple[exp.Expression, dict[str, Any]]:
    """Date-times are bound as ISO text inside a cast (Spark would read a Python datetime in its zone)."""
    args: dict[str, Any] = {}
    for name, value in params.items():
        key = str(name).lstrip("$")
        if isinstance(value, datetime):
            args[key] = value.isoformat(sep=" ")
        elif isinstance(value, list | tuple) and value and all(isinstance(v, datetime) for v in value):
            args[key] = [v.isoformat(sep=" ") for v in value]
        elif isinstance(value, list | tuple):
            args[key] = list(value)
        else:
            args[key] = value

    def cast_placeholder(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Placeholder):
            return node
        value = params.get(node.name, params.get(f"${node.name}"))
        if isinstance(value, datetime):
            kind = "TIMESTAMP" if value.tzinfo is not None else "TIMESTAMP_NTZ"
            return exp.Cast(this=node.copy(), to=exp.DataType.build(kind, dialect="spark"))
        if isinstance(value, list | tuple) and value and all(isinstance(v, datetime) for v in value):
            lam = exp.Lambda(
                this=exp.Cast(this=exp.to_identifier("t"), to=exp.DataType.build("TIMESTAMP_NTZ", dialect="spark")),
                expressions=[exp.to_identifier("t")],
            )
            return _f("transform", node.copy(), lam)
        return node

    return tree.transform(cast_placeholder, copy=False), args


def to_spark(tree: exp.Expression, params: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """(Spark SQL text with `:name` parameters, the `args` for `spark.sql`) for a DuckDB tree."""
    params = dict(params or {})
    for node in tree.find_all(exp.Placeholder):
        if not node.name or node.name.isdigit():
            raise EngineError("positional parameters ($1, ?) have no Spark form; name them ($p0).")
    if tree.find(exp.ReadParquet) is not None or any(
        isinstance(f, exp.Anonymous) and f.name.lower() == "read_parquet" for f in tree.find_all(exp.Anonymous)
    ):
        raise EngineError(
            "files named in a query are not read on Spark (an export's holdout is read by "
            "core/engine/spark_assignments.py): run this with ADESK_ENGINE=duckdb."
        )
    rewritten = tree.copy()
    # children before parents (a rule copies its arguments already rewritten); iterative, since
    # a chain of conditions is one tree level per link
    for node in reversed(list(rewritten.walk(bfs=False))):
        new = _rule(node, params)
        if new is not node:
            if node is rewritten:
                rewritten = new
            else:
                node.replace(new)
    rewritten, args = _bind(rewritten, params)
    return rewritten.sql(dialect="spark"), args
