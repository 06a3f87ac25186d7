"""Masking of personal data (phone numbers, emails, openids) before anyone sees it.

Two versions of the same rule, kept in step by a test:

- `mask_value(column, value)` — pure Python, for values already in memory.
- `mask_expression(column, expr)` — the same rule as a sqlglot expression, so that
  unmasked values never leave DuckDB (member lists, large exports).

The rule, chosen by the column's name:

- phone-like (a name with the word `phone`, `mobile`, `tel`…): first 3 + `****` + last 4 characters,
  e.g. `13812345678` → `138****5678`; values shorter than 10 characters use the
  generic rule (the phone pattern would reveal almost all of them).
- email-like (a name with the word `email` or `mail`): first character + `***@` + the domain,
  e.g. `alice@example.com` → `a***@example.com`; a value without a local part
  before `@` uses the generic rule.
- anything else: first 2 + `****` + last 2 characters; values of 4 characters or
  fewer become `****` (showing 2 + 2 would show everything).

NULL stays NULL; non-string values are masked as their text form.
"""

from __future__ import annotations

import re
from typing import Literal

from sqlglot import exp

MASK = "****"
MaskKind = Literal["phone", "email", "generic"]

_PHONE_WORDS = frozenset({"phone", "mobile", "tel", "telephone", "cellphone", "msisdn"})
_EMAIL_WORDS = frozenset({"email", "mail"})
_PHONE_MIN_LENGTH = 10
_GENERIC_MIN_LENGTH = 5


def mask_kind(column: str) -> MaskKind:
    """Which masking rule applies to a column, decided by its name."""
    name = column.lower()
    # Whole words, so that e.g. "hotel" is not taken for "tel".
    words = set(re.split(r"[^a-z0-9]+", name))
    if words & _PHONE_WORDS or "phone" in name:
        return "phone"
    if words & _EMAIL_WORDS or "email" in name:
        return "email"
    return "generic"


def _mask_generic(text: str) -> str:
    if len(text) < _GENERIC_MIN_LENGTH:
        return MASK
    return text[:2] + MASK + text[-2:]


def mask_value(column: str, value: object) -> str | None:
    """Mask one value of a PII column; None stays None.

    >>> mask_value("phone", "13812345678")
    '138****5678'
    >>> mask_value("email", "alice@example.com")
    'a***@example.com'
    >>> mask_value("openid", "oAbCdEfGh12")
    'oA****12'
    """
    if value is None:
        return None
    try:
        # pandas NA / NaN: treat as missing, never print "nan" masked.
        if value != value:  # NaN check without importing pandas
            return None
    except (TypeError, ValueError):
        pass
    text = value if isinstance(value, str) else str(value)
    kind = mask_kind(column)
    if kind == "phone" and len(text) >= _PHONE_MIN_LENGTH:
        return text[:3] + MASK + text[-4:]
    if kind == "email":
        at = text.find("@")
        if at >= 1:
            return text[0] + "***@" + text[at + 1 :]
    return _mask_generic(text)


def mask_expression(column: str, expr: exp.Expression) -> exp.Expression:
    """The same rule as `mask_value`, as a DuckDB expression over `expr` (aliasing is the caller's)."""
    text = exp.cast(expr, "VARCHAR")
    length = exp.func("length", text.copy())

    def lit(s: str) -> exp.Literal:
        return exp.Literal.string(s)

    def num(n: int) -> exp.Literal:
        return exp.Literal.number(n)

    def concat(*parts: exp.Expression) -> exp.Expression:
        return exp.DPipe(this=parts[0], expression=concat(*parts[1:])) if len(parts) > 1 else parts[0]

    generic = exp.If(
        this=exp.LT(this=length.copy(), expression=num(_GENERIC_MIN_LENGTH)),
        true=lit(MASK),
        false=concat(
            exp.Left(this=text.copy(), expression=num(2)),
            lit(MASK),
            exp.Right(this=text.copy(), expression=num(2)),
        ),
    )
    kind = mask_kind(column)
    if kind == "phone":
        masked: exp.Expression = exp.If(
            this=exp.GTE(this=length.copy(), expression=num(_PHONE_MIN_LENGTH)),
            true=concat(
                exp.Left(this=text.copy(), expression=num(3)),
                lit(MASK),
                exp.Right(this=text.copy(), expression=num(4)),
            ),
            false=generic,
        )
    elif kind == "email":
        at = exp.func("strpos", text.copy(), lit("@"))
        masked = exp.If(
            this=exp.GTE(this=at.copy(), expression=num(2)),
            true=concat(
                exp.Left(this=text.copy(), expression=num(1)),
                lit("***@"),
                exp.Substring(this=text.copy(), start=exp.Add(this=at.copy(), expression=num(1))),
            ),
            false=generic,
        )
    else:
        masked = generic
    # CASE keeps NULL as NULL explicitly rather than relying on NULL propagation.
    return exp.Case(
        ifs=[exp.If(this=exp.Is(this=expr.copy(), expression=exp.Null()), true=exp.Null())],
        default=masked,
    )
