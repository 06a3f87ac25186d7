"""`dataset.toml`: the optional per-dataset settings, with defaults and typo detection."""

from __future__ import annotations

import difflib
import functools
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from core.messages import Message, hint, msg
from core.problems import Problem

DEFAULT_AWARENESS = ("ad_impression", "article_view", "live_view")
DEFAULT_INTEREST = ("product_view", "add_to_cart", "favorite", "follow", "coupon_claim")
DEFAULT_LOYALTY = ("review", "share", "member_join")


@dataclass(frozen=True)
class AiplConfig:
    awareness: tuple[str, ...] = DEFAULT_AWARENESS
    interest: tuple[str, ...] = DEFAULT_INTEREST
    loyalty_events: tuple[str, ...] = DEFAULT_LOYALTY
    loyalty_min_purchases: int = 2
    lookback_days: int = 180


@dataclass(frozen=True)
class LifecycleConfig:
    new_days: int = 30
    active_days: int = 30
    dormant_days: int = 90


@dataclass(frozen=True)
class PrivacyConfig:
    pii_columns: tuple[str, ...] = ("phone", "openid", "email")
    consent: tuple[tuple[str, str], ...] = (
        ("sms", "sms_opt_in"),
        ("wechat", "wechat_opt_in"),
        ("email", "email_opt_in"),
    )

    @property
    def consent_columns(self) -> dict[str, str]:
        return dict(self.consent)


@dataclass(frozen=True)
class ExperimentConfig:
    name: str
    control: str | None = None
    metric_window_days: int = 14
    expected_split: tuple[tuple[str, float], ...] = ()
    conversion_event: str | None = None  # None: the dataset's purchase event


@dataclass(frozen=True)
class DatasetConfig:
    as_of: date | None = None
    timezone: str = "UTC"
    purchase_event: str = "purchase"
    aipl: AiplConfig = field(default_factory=AiplConfig)
    rfm_window_days: int = 365
    lifecycle: LifecycleConfig = field(default_factory=LifecycleConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    experiments: tuple[ExperimentConfig, ...] = ()


# Every valid key, by table path; "*" stands for any experiment name.
_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "": {
        "as_of": (str, date),
        "timezone": str,
        "purchase_event": str,
        "aipl": dict,
        "rfm": dict,
        "lifecycle": dict,
        "privacy": dict,
        "experiments": dict,
    },
    "aipl": {
        "awareness": list,
        "interest": list,
        "loyalty_events": list,
        "loyalty_min_purchases": int,
        "lookback_days": int,
    },
    "rfm": {"window_days": int},
    "lifecycle": {"new_days": int, "active_days": int, "dormant_days": int},
    "privacy": {"pii_columns": list, "consent": dict},
    "experiments.*": {"control": str, "metric_window_days": int, "expected_split": dict, "conversion_event": str},
}


def _type_name(t: type | tuple[type, ...]) -> Message:
    """'a string', 'a string or a date': the expected type in words."""
    if not isinstance(t, tuple):
        return msg(f"validate.config.type.{t.__name__}")
    out = _type_name(t[0])
    for other in t[1:]:
        out = msg("validate.config.type.either", first=out, second=_type_name(other))
    return out


def closest(name: str, candidates: list[str] | tuple[str, ...] | set[str], n: int = 3) -> list[str]:
    """The known names closest to `name`, best first (for 'did you mean' messages)."""
    cands = sorted(set(candidates))
    found = difflib.get_close_matches(name, cands, n=n, cutoff=0.5)
    if not found:
        low = name.lower()
        found = [c for c in cands if low and (low in c.lower() or c.lower() in low)][:n]
    return found


def did_you_mean(name: str, candidates) -> str:
    found = closest(name, candidates)
    return f" Did you mean {', '.join(repr(f) for f in found)}?" if found else ""


def _check_table(path: str, table: dict[str, Any], problems: list[Problem]) -> None:
    schema_key = "experiments.*" if path.startswith("experiments.") else path
    schema = _SCHEMA[schema_key]
    for key, value in table.items():
        where = f"{path}.{key}" if path else key
        if key not in schema:
            problems.append(
                Problem.of(
                    "dataset.toml",
                    where,
                    msg("validate.config.unknown_key", key=where),
                    msg("validate.config.unknown_key.fix", hint=hint(key, schema)),
                )
            )
            continue
        expected = schema[key]
        if isinstance(value, bool) or not isinstance(value, expected):
            problems.append(
                Problem.of(
                    "dataset.toml",
                    where,
                    msg("validate.config.wrong_type", key=where, value=repr(value), type=_type_name(expected)),
                    msg("validate.config.wrong_type.fix", key=where, type=_type_name(expected)),
                )
            )
            continue
        if isinstance(value, int) and key.endswith("_days") and value <= 0:
            problems.append(
                Problem.of(
                    "dataset.toml", where, msg("validate.config.days", key=where), msg("validate.config.days.fix")
                )
            )
        if key == "expected_split":
            for variant, share in value.items():
                if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
                    problems.append(
                        Problem.of(
                            "dataset.toml",
                            f"{where}.{variant}",
                            msg("validate.config.share", value=repr(share)),
                            msg("validate.config.share.fix"),
                        )
                    )
        if key == "experiments":
            for name, sub in value.items():
                if not isinstance(sub, dict):
                    problems.append(
                        Problem.of(
                            "dataset.toml",
                            f"experiments.{name}",
                            msg("validate.config.not_table"),
                            msg("validate.config.not_table.fix", name=name),
                        )
                    )
                else:
                    _check_table(f"experiments.{name}", sub, problems)
        elif isinstance(value, dict) and f"{path}.{key}".strip(".") in _SCHEMA:
            _check_table(f"{path}.{key}".strip("."), value, problems)


def load_config(dataset_dir: str | Path) -> tuple[DatasetConfig, list[Problem]]:
    """Read `dataset.toml` if present; return the config and every problem found in it.

    A problem-free default config is returned when the file is absent.
    """
    path = Path(dataset_dir) / "dataset.toml"
    problems: list[Problem] = []
    if not path.exists():
        return DatasetConfig(), problems
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        problems.append(
            Problem.of(
                "dataset.toml",
                None,
                msg("validate.config.bad_toml", error=str(err)),
                msg("validate.config.bad_toml.fix"),
            )
        )
        return DatasetConfig(), problems
    _check_table("", raw, problems)
    if problems:
        return DatasetConfig(), problems
    return _build(raw, problems), problems


@functools.lru_cache(maxsize=1)
def _timezones() -> tuple[str, ...]:
    """The time zone names DuckDB (ICU) knows: the ones `SET TimeZone` accepts."""
    import duckdb

    return tuple(r[0] for r in duckdb.connect().execute("select name from pg_timezone_names()").fetchall())


def _known_timezone(name: object) -> bool:
    return isinstance(name, str) and name in _timezones()


def _build(raw: dict[str, Any], problems: list[Problem]) -> DatasetConfig:
    as_of = raw.get("as_of")
    if isinstance(as_of, str):
        try:
            as_of = date.fromisoformat(as_of)
        except ValueError:
            problems.append(
                Problem.of(
                    "dataset.toml", "as_of", msg("validate.config.as_of", value=as_of), msg("validate.config.as_of.fix")
                )
            )
            as_of = None
    aipl_raw = raw.get("aipl", {})
    aipl = AiplConfig(
        awareness=tuple(aipl_raw.get("awareness", DEFAULT_AWARENESS)),
        interest=tuple(aipl_raw.get("interest", DEFAULT_INTEREST)),
        loyalty_events=tuple(aipl_raw.get("loyalty_events", DEFAULT_LOYALTY)),
        loyalty_min_purchases=aipl_raw.get("loyalty_min_purchases", 2),
        lookback_days=aipl_raw.get("lookback_days", 180),
    )
    lc = raw.get("lifecycle", {})
    lifecycle = LifecycleConfig(
        new_days=lc.get("new_days", 30), active_days=lc.get("active_days", 30), dormant_days=lc.get("dormant_days", 90)
    )
    pv = raw.get("privacy", {})
    default_privacy = PrivacyConfig()
    privacy = PrivacyConfig(
        pii_columns=tuple(pv.get("pii_columns", default_privacy.pii_columns)),
        consent=tuple(sorted(pv.get("consent", dict(default_privacy.consent)).items())),
    )
    experiments = tuple(
        ExperimentConfig(
            name=name,
            control=sub.get("control"),
            metric_window_days=sub.get("metric_window_days", 14),
            expected_split=tuple(sorted((str(k), float(v)) for k, v in sub.get("expected_split", {}).items())),
            conversion_event=sub.get("conversion_event"),
        )
        for name, sub in sorted(raw.get("experiments", {}).items())
    )
    timezone = raw.get("timezone", "UTC")
    if "timezone" in raw and not _known_timezone(timezone):  # the list is only loaded for a zone someone set
        problems.append(
            Problem.of(
                "dataset.toml",
                "timezone",
                msg("validate.config.timezone", value=str(timezone), hint=hint(str(timezone), _timezones())),
                msg("validate.config.timezone.fix"),
            )
        )
        timezone = "UTC"
    return DatasetConfig(
        as_of=as_of,
        timezone=timezone,
        purchase_event=raw.get("purchase_event", "purchase"),
        aipl=aipl,
        rfm_window_days=raw.get("rfm", {}).get("window_days", 365),
        lifecycle=lifecycle,
        privacy=privacy,
        experiments=experiments,
    )
