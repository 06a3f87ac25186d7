"""The models' tables at past days are bounded (core/models `KEPT`): older ones dropped, answers unchanged."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlglot import exp

from core import models
from core.segments import parse_segment
from core.segments.operations import size
from tests.oracles import expected_models, open_random

DAYS = [date(2026, 6, 30) - timedelta(days=17 * k + 3) for k in range(7)]  # seven past days: more than KEPT


@pytest.fixture(scope="module")
def rand(tmp_path_factory):
    ds, users, events = open_random(tmp_path_factory, "lru", seed=11, n_users=300, n_events=5000)
    expected = {day: expected_models(users, events, day) for day in DAYS}
    yield ds, expected
    ds.close()


def _in_duckdb(ds) -> set[str]:
    """The model tables DuckDB holds in the dataset's in-memory database (not our bookkeeping)."""
    cur = ds.cursor()
    try:
        rows = cur.execute("select table_name from duckdb_tables() where database_name = 'memory'").fetchall()
    finally:
        cur.close()
    return {name for (name,) in rows if models.parse_table_name(name)}


def _count(ds, model: str, value: str, day: date) -> int:
    cond = {"kind": model, "op": "in", "values": [value], "as_of": day.isoformat()}
    return size(ds, parse_segment({"conditions": [cond]}), bitmaps=False).count  # the scan: it reads the day's table


def test_more_days_than_the_bound_stay_right_and_old_tables_go(rand, monkeypatch):
    ds, expected = rand
    monkeypatch.setattr(models, "GRACE_S", 0.0)  # no grace: the bound holds after every question
    for day in [*DAYS, *DAYS[:2]]:  # the first two again after they were dropped: made again, same answer
        want = expected[day]
        assert _count(ds, "rfm", "important_value", day) == int((want["rfm"] == "important_value").sum())
        assert _count(ds, "lifecycle", "dormant", day) == int((want["lifecycle"] == "dormant").sum())
        held = models.tables_held(ds)
        assert len(held) <= models.KEPT and _in_duckdb(ds) == set(held)
        assert held[-2:] == [models.table_name("rfm", day), models.table_name("lifecycle", day)]  # the newest kept
    last_two = [models.table_name(m, d) for d in DAYS[:2] for m in ("rfm", "lifecycle")]
    assert models.tables_held(ds) == last_two and _in_duckdb(ds) == set(last_two)  # the other days: dropped


def test_a_held_table_is_not_dropped_until_released(rand, monkeypatch):
    ds, expected = rand
    monkeypatch.setattr(models, "GRACE_S", 0.0)
    first = models.table_name("rfm", DAYS[0])
    with models.held(ds, [("rfm", DAYS[0])]):
        for day in DAYS[1:]:  # more days than the bound asked meanwhile
            _count(ds, "lifecycle", "dormant", day)
        # six newer tables were made after it: without the hold it would have been the first to go
        assert first in _in_duckdb(ds) and models.tables_held(ds)[0] == first and len(_in_duckdb(ds)) == models.KEPT
        # the held table still answers
        cur = ds.cursor()
        try:
            query = exp.select("count(*)").from_(exp.to_table(first, quoted=True)).where("value = $v")
            read = cur.execute(query.sql("duckdb"), {"v": "important_value"}).fetchone()[0]
        finally:
            cur.close()
        assert read == int((expected[DAYS[0]]["rfm"] == "important_value").sum())
    _count(ds, "rfm", "general_value", DAYS[1])  # one more table after the release: the oldest, no longer held, goes
    assert first not in _in_duckdb(ds) and len(_in_duckdb(ds)) == models.KEPT


def test_the_grace_keeps_a_table_just_asked_for(rand):
    ds, _ = rand
    for day in DAYS:  # the default grace: every table asked for a moment ago stays
        _count(ds, "rfm", "general_value", day)
    assert {models.table_name("rfm", d) for d in DAYS} <= _in_duckdb(ds)


def test_threads_asking_for_many_days_at_once_get_right_answers(rand, monkeypatch):
    ds, expected = rand
    monkeypatch.setattr(models, "GRACE_S", 0.0)  # tables dropped as soon as the bound allows, while others read
    jobs = [(model, value, day) for day in DAYS for model, value in (("rfm", "general_value"), ("lifecycle", "active"))]
    got: dict[tuple, int] = {}
    errors: list[BaseException] = []

    def work(part: list[tuple]) -> None:
        try:
            for _ in range(2):
                for model, value, day in part:
                    got[(model, value, day)] = _count(ds, model, value, day)
        except BaseException as e:  # noqa: BLE001 - reported by the test below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(jobs[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for (model, value, day), n in got.items():
        assert n == int((expected[day][model] == value).sum()), (model, value, day)
    assert len(got) == len(jobs) and sum(got.values()) > 0 and len(_in_duckdb(ds)) <= models.KEPT
