"""Shared fixtures: a small demo dataset per session, and Chromium for browser tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.browser.server import CHROMIUM, LAUNCH_ARGS


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """A 20,000-user demo dataset (the same generator as `adesk demo`)."""
    from core.demo import generate

    out = tmp_path_factory.mktemp("demo") / "demo"
    generate(out, users=20_000, seed=7)
    return out


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("adesk-cache")


@pytest.fixture(autouse=True)
def _isolated_state(monkeypatch, cache_dir, tmp_path):
    """Never touch the developer's cache, app store or export folder."""
    monkeypatch.setenv("ADESK_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("ADESK_APP_DB", str(tmp_path / "app.db"))
    monkeypatch.setenv("ADESK_EXPORT_DIR", str(tmp_path / "exports"))  # `adesk demo` records an export


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def spark():
    """ONE local Spark for every Spark test of a worker (mark them xdist_group('spark') to share it)."""
    pytest.importorskip("pyspark", reason="pyspark is the optional 'spark' extra (make test installs it)")
    from pyspark.sql import SparkSession

    from core.engine.spark import use_session

    # Python workers (a funnel's walk in mapInArrow) run this interpreter, which has numpy and pyarrow
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("adesk-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.ansi.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("OFF")
    use_session(session)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_demo(tmp_path_factory, spark):
    """(DuckDB dataset, the same answered by Spark): a 1,500-member demo, built once for every Spark test file."""
    from core.dataset import open_dataset
    from core.demo import generate
    from core.engine.spark_dataset import on_spark

    root = tmp_path_factory.mktemp("demo_small") / "demo"
    generate(root, users=1_500, seed=11)
    ds = open_dataset(root, cache_dir=root.parent / "cache")
    yield ds, on_spark(ds, spark)
    ds.close()
