"""Export options, the exportable columns, and the export's errors and constants."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from core.messages import CodedError, hint, msg
from core.roles import PII_MODES

if TYPE_CHECKING:
    from core.dataset import Dataset


ENV_EXPORT_DIR = "ADESK_EXPORT_DIR"
DEFAULT_EXPORT_DIR = Path("data") / "exports"
CHANNELS: tuple[str, ...] = ("sms", "wechat", "email")
FORMATS: tuple[str, ...] = ("csv", "parquet")
MAX_HOLDOUT = 0.5
HOLDOUT_BITS = 52  # 13 hex digits: exact in a double and in BIGINT
HASH_CHUNK_BYTES = 1 << 20
ASSIGNMENT_BATCH = 100_000
# Whitespace removed before hashing, in SQL and in Python alike.
HASH_TRIM = " \t\n\r\f\v"
# Model columns under readable names (and their short aliases).
MODEL_EXPORT_COLUMNS = {"rfm_class": "_rfm_class", "aipl_stage": "_aipl_stage", "lifecycle": "_lifecycle"}
MODEL_ALIASES = {
    "rfm": "rfm_class",
    "aipl": "aipl_stage",
    "_rfm_class": "rfm_class",
    "_aipl_stage": "aipl_stage",
    "_lifecycle": "lifecycle",
}
# The contact column an operator usually wants for each channel (pre-selected in the dialog).
CHANNEL_CONTACT = {"sms": "phone", "wechat": "openid", "email": "email"}

Format = Literal["csv", "parquet"]
PiiMode = Literal["masked", "raw", "hashed"]
Progress = Callable[[str, float | None], None]  # (stage, fraction done or None) -> None


class ExportError(CodedError):
    """An export that cannot be made as asked; the message says what is wrong and what to do."""


class EmptyExport(ExportError):
    """Nothing to write: the segment is empty, or no member may be contacted on the channel."""


# --- options and columns ------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportOptions:
    channel: str | None = None  # sms, wechat, email; None = no consent filter
    columns: tuple[str, ...] = ()  # besides user_id (always first)
    format: str = "csv"
    bom: bool = False  # CSV only: a UTF-8 byte-order mark so Excel reads Chinese text right
    holdout: float = 0.0  # share of consenting members held back, 0 .. 0.5
    pii_mode: str = "masked"  # masked, raw, hashed
    # CSV only: False escapes cells that a spreadsheet would run as a formula (see escape_formula);
    # True writes text exactly as stored, for systems that need the raw value.
    raw_text: bool = False

    def checked(self) -> ExportOptions:
        """The options normalised, or ExportError naming the bad one."""
        channel = self.channel
        if isinstance(channel, str) and channel.strip().lower() in ("", "none"):
            channel = None
        if channel is not None and channel not in CHANNELS:
            raise ExportError(
                msg(
                    "export.unknown_channel",
                    channel=channel,
                    channels=", ".join(CHANNELS),
                    hint=hint(str(channel), CHANNELS),
                )
            )
        if self.format not in FORMATS:
            raise ExportError(msg("export.unknown_format", format=self.format))
        if self.pii_mode not in PII_MODES:
            raise ExportError(msg("export.unknown_pii_mode", mode=self.pii_mode, modes=", ".join(PII_MODES)))
        holdout = self.holdout
        if (
            isinstance(holdout, bool)
            or not isinstance(holdout, int | float)
            or holdout != holdout
            or not 0 <= holdout <= MAX_HOLDOUT
        ):
            raise ExportError(msg("export.bad_holdout", limit=MAX_HOLDOUT, value=holdout))
        columns = tuple(dict.fromkeys(c.strip() for c in self.columns if c and c.strip() and c.strip() != "user_id"))
        csv = self.format == "csv"
        return replace(
            self,
            channel=channel,
            columns=columns,
            holdout=float(holdout),
            bom=bool(self.bom) and csv,
            raw_text=bool(self.raw_text) or not csv,  # Parquet is typed: nothing to escape
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "columns": list(self.columns),
            "format": self.format,
            "bom": self.bom,
            "holdout": self.holdout,
            "pii_mode": self.pii_mode,
            "raw_text": self.raw_text,
        }


@dataclass(frozen=True)
class OutputColumn:
    name: str  # header in the file
    source: str  # column of `profile`
    kind: Literal["user_id", "attribute", "tag", "model"]
    pii: bool = False  # listed in [privacy] pii_columns
    text: bool = False  # a text column: CSV cells may need escaping (escape_formula)


def exportable_columns(ds: Dataset) -> dict[str, list[str]]:
    """What may be exported, by kind (for the dialog's pickers and `--columns` help)."""
    return {
        "attribute": sorted(ds.catalog.attributes),
        "model": list(MODEL_EXPORT_COLUMNS),
        "tag": sorted(ds.catalog.tags),
    }


def resolve_columns(ds: Dataset, names: Sequence[str]) -> tuple[OutputColumn, ...]:
    """user_id, then each requested column: an attribute, a model column, or a tag (as has-tag true/false)."""
    catalog = ds.catalog
    pii = set(ds.config.privacy.pii_columns)
    out = [OutputColumn("user_id", "user_id", "user_id", text=True)]
    seen = {"user_id"}
    for raw in names:
        name = raw.strip()
        if name in catalog.attributes:
            col = OutputColumn(name, name, "attribute", pii=name in pii, text=catalog.attributes[name].type == "string")
        elif MODEL_ALIASES.get(name, name) in MODEL_EXPORT_COLUMNS:
            canonical = MODEL_ALIASES.get(name, name)
            col = OutputColumn(canonical, MODEL_EXPORT_COLUMNS[canonical], "model")
        elif name in catalog.tags:
            col = OutputColumn(name, catalog.tags[name].column, "tag")
        else:
            known = [*catalog.attributes, *MODEL_EXPORT_COLUMNS, *MODEL_ALIASES, *catalog.tags]
            raise ExportError(msg("export.unknown_column", name=name, hint=hint(name, known)))
        if col.name not in seen:
            seen.add(col.name)
            out.append(col)
    return tuple(out)
