"""Which engine answers queries: DuckDB (embedded, the default) or Apache Spark.

`ADESK_ENGINE=duckdb|spark` picks it; `ADESK_SPARK_REMOTE` says where Spark runs:
`sc://host:15002` for a Spark Connect server, `local[*]` (the default) for a Spark in
this process's JVM. The DuckDB path is never changed by this package: with the default
engine every caller keeps calling core/segments and core/dataset as before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ENGINES = ("duckdb", "spark")
DEFAULT_REMOTE = "local[*]"


class EngineError(ValueError):
    """A bad engine setting, or a query the chosen engine cannot answer the same way."""


@dataclass(frozen=True)
class EngineSettings:
    """The engine and, for Spark, where it runs."""

    engine: str = "duckdb"
    spark_remote: str = DEFAULT_REMOTE

    @property
    def is_connect(self) -> bool:
        """True for a Spark Connect server (`sc://…`), False for a local Spark."""
        return self.spark_remote.startswith("sc://")


def engine_settings(environ: dict[str, str] | None = None) -> EngineSettings:
    """The engine settings from the environment; a bad value raises EngineError with the fix."""
    env = os.environ if environ is None else environ
    engine = (env.get("ADESK_ENGINE") or "duckdb").strip().lower()
    if engine not in ENGINES:
        raise EngineError(f"ADESK_ENGINE={engine!r} is not an engine; use one of: {', '.join(ENGINES)}.")
    remote = (env.get("ADESK_SPARK_REMOTE") or DEFAULT_REMOTE).strip()
    if not (remote.startswith("sc://") or remote.startswith("local")):
        raise EngineError(
            f"ADESK_SPARK_REMOTE={remote!r} is neither a Spark Connect address (sc://host:15002) "
            "nor a local master (local[*])."
        )
    return EngineSettings(engine, remote)


def engine_dataset(ds, settings: EngineSettings | None = None):
    """The opened dataset answered by the chosen engine: itself for DuckDB, a SparkDataset for Spark."""
    settings = settings or engine_settings()
    if settings.engine == "duckdb":
        return ds
    from core.engine.spark_dataset import on_spark

    return on_spark(ds)
