"""The export's rules as SQL and in Python: hashing, holdout, formula escaping, consent."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from sqlglot import exp

from core.export.options import HASH_TRIM, HOLDOUT_BITS, OutputColumn
from core.privacy import mask_expression

# Private helpers shared on purpose: one definition of "member" and of "consented"
# for the builder's live counts and for the export.
from core.segments.operations import consent_true

if TYPE_CHECKING:
    from core.dataset import Dataset


# --- the rules as SQL, and the same rules in Python (tests keep them equal) ----------------------


def hash_value(value: object) -> str | None:
    """SHA-256 (hex) of the normalised value, as ad platforms expect: trimmed, lower-cased.

    None, and values that are empty after trimming, give None (no hash of nothing).
    """
    if value is None:
        return None
    text = (value if isinstance(value, str) else str(value)).strip(HASH_TRIM).lower()
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


def hash_expression(expr: exp.Expression) -> exp.Expression:
    """`hash_value` as a DuckDB expression."""
    normal = exp.Lower(this=exp.Trim(this=exp.cast(expr, "VARCHAR"), expression=exp.Literal.string(HASH_TRIM)))
    return exp.Case(
        ifs=[
            exp.If(
                this=exp.func("coalesce", exp.EQ(this=normal.copy(), expression=exp.Literal.string("")), exp.true()),
                true=exp.Null(),
            )
        ],
        default=exp.func("sha256", normal),
    )


def holdout_threshold(share: float) -> int:
    """Users whose 52-bit bucket is below this are held out."""
    return round(share * 2**HOLDOUT_BITS)


def holdout_bucket(export_id: str, user_id: str) -> int:
    """The user's bucket for an export: the first 52 bits of sha256('<export_id>|<user_id>')."""
    digest = hashlib.sha256(f"{export_id}|{user_id}".encode()).hexdigest()
    return int(digest[: HOLDOUT_BITS // 4], 16)


def in_holdout(export_id: str, user_id: str, share: float) -> bool:
    """Whether the export held this user back (the same rule as the SQL)."""
    return holdout_bucket(export_id, user_id) < holdout_threshold(share)


def holdout_expression() -> exp.Expression:
    """The SQL twin of `in_holdout`, with parameters $x_export_id and $x_threshold."""
    key = exp.DPipe(
        this=exp.DPipe(this=exp.Placeholder(this="x_export_id"), expression=exp.Literal.string("|")),
        expression=exp.column("user_id", quoted=True),
    )
    hex_digits = exp.Substring(
        this=exp.func("sha256", key), start=exp.Literal.number(1), length=exp.Literal.number(HOLDOUT_BITS // 4)
    )
    bucket = exp.Cast(
        this=exp.DPipe(this=exp.Literal.string("0x"), expression=hex_digits), to=exp.DataType.build("BIGINT")
    )
    return exp.LT(this=bucket, expression=exp.Placeholder(this="x_threshold"))


# CSV formula injection (OWASP): a spreadsheet runs a cell that begins with = + - @ (or a tab or
# carriage return before one) as a formula. A cell beginning with =, @, a tab or a CR, or with + or -
# not followed by a plain number, is written with a leading apostrophe, which spreadsheets show as
# text; "+8613800138000" and "-12.5" stay as they are. The same rule in SQL and in Python.
FORMULA_START = r"^[=@\t\r]"
SIGNED = r"^[+-]"
PLAIN_SIGNED_NUMBER = r"^[+-][0-9]+(\.[0-9]+)?$"


def needs_formula_escape(value: str) -> bool:
    """True for a text cell a spreadsheet would run as a formula (the rule above)."""
    # fullmatch, not match: Python's `$` also matches before a final newline ("+12\n"), DuckDB's does not
    plain = re.fullmatch(PLAIN_SIGNED_NUMBER.removeprefix("^").removesuffix("$"), value)
    return bool(re.match(FORMULA_START, value)) or (bool(re.match(SIGNED, value)) and not plain)


def escape_formula(expr: exp.Expression) -> exp.Expression:
    """`expr` with a leading apostrophe where `needs_formula_escape` holds (NULL stays NULL)."""

    # Only a cell whose first character is one of = @ tab CR + - can be risky (a cheap test, so the
    # regular expression runs on those rows only: AND skips its right side where the left is false).
    # Given that first character, the rule above is "not a plain signed number": a cell starting with
    # = @ tab or CR never matches PLAIN_SIGNED_NUMBER, and one starting with + or - is risky exactly
    # when it does not; so one regular expression decides, where FORMULA_START and SIGNED took two more.
    first = exp.In(this=exp.func("ascii", expr.copy()), expressions=[exp.Literal.number(ord(c)) for c in "=@\t\r+-"])
    number = exp.func("regexp_matches", expr.copy(), exp.Literal.string(PLAIN_SIGNED_NUMBER))
    escaped = exp.DPipe(this=exp.Literal.string("'"), expression=expr.copy())
    return exp.Case(ifs=[exp.If(this=exp.and_(first, exp.not_(number)), true=escaped)], default=expr.copy())


def consent_expression(ds: Dataset, channel: str | None) -> tuple[exp.Expression, str | None, bool]:
    """(condition, consent column, column present) for a channel; no channel = everyone."""
    if channel is None:
        return exp.true(), None, True
    column = ds.config.privacy.consent_columns.get(channel)
    if column is None or column not in ds.catalog.attributes:
        return exp.false(), column, False  # nobody has said yes
    return consent_true(ds, column), column, True


def value_expression(col: OutputColumn, pii_mode: str) -> exp.Expression:
    source = exp.column(col.source, quoted=True)
    if col.pii and pii_mode == "masked":
        return mask_expression(col.name, source)
    if col.pii and pii_mode == "hashed":
        return hash_expression(source)
    return source
