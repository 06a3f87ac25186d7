"""The contract's assignments resolved per member on first need, once per data version (core/analyses/ab_members.py)."""

from __future__ import annotations

import logging
import threading

import pandas as pd
import pytest

from core.analyses import ab_members, ab_read
from core.analyses.ab import experiment_list
from core.analyses.experiments import aggregates, find
from core.dataset import open_dataset
from tests.datasets import namesake, new_version, write_dataset
from tests.test_ab_experiments import TOML, _check, _data, oracle


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    users, events, assignments = _data()
    path = write_dataset(tmp_path_factory.mktemp("abm") / "abm", users, events, toml=TOML, assignments=assignments)
    return path, (users, events, assignments)


def pandas_members(users: pd.DataFrame, assignments: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, tuple[int, int]]]:
    """Per (experiment, member): member number (row in `users`), first assignment, variants; unknown ids."""
    number = pd.Series(range(len(users)), index=users["user_id"])
    a = assignments.dropna(subset=["experiment", "user_id", "variant", "assigned_at"])
    per = a.groupby(["experiment", "user_id"]).agg(
        assigned_at=("assigned_at", "min"), variants=("variant", "nunique"), variant=("variant", "first")
    )
    per = per.reset_index()
    per["multiple"] = per["variants"] > 1
    known = per[per["user_id"].isin(number.index)].copy()
    known["_uid"] = known["user_id"].map(number).astype(int)
    unknown = per[~per["user_id"].isin(number.index)]
    counts = {e: (int(g["multiple"].sum()), int((~g["multiple"]).sum())) for e, g in unknown.groupby("experiment")}
    return known, counts


def _files_match_pandas(ds, users, assignments) -> None:
    files = ab_members.files_for(ds)
    got = pd.read_parquet(files["ab_members"])
    want, unknown = pandas_members(users, assignments)
    assert len(got) == len(want)
    merged = got.merge(want, on=["experiment", "_uid"], suffixes=("", "_pd"), validate="one_to_one")
    assert len(merged) == len(want)
    assert (merged["assigned_at"] == merged["assigned_at_pd"]).all()
    assert (merged["multiple"] == merged["multiple_pd"]).all()
    single = merged[~merged["multiple"]]
    assert (single["variant"] == single["variant_pd"]).all()  # one variant: its name
    u = pd.read_parquet(files["ab_unknown"])
    assert {r.experiment: (r.multiple_exposure, r.unknown_users) for r in u.itertuples()} == unknown
    assert unknown["three_way"][1] == 7  # the seven ghosts of the data


def test_the_build_leaves_them_out_and_the_first_read_writes_them_once(root, tmp_path, monkeypatch):
    path, (users, events, assignments) = root
    steps: list[str] = []
    ds = open_dataset(path, cache_dir=tmp_path / "cache", progress=steps.append)
    try:
        assert steps and not any("assignment" in s for s in steps)
        cur = ds.cursor()
        tables = {
            r[0] for r in cur.execute("select table_name from duckdb_tables() where database_name = 'cache'").fetchall()
        }
        cur.close()
        assert "profile" in tables and not tables & {"ab_members", "ab_unknown"}
        files = ab_members.files_for(ds)
        assert not ab_members.is_resolved(ds) and not any(p.exists() for p in files.values())
        expected = oracle(users, events, assignments, "three_way", 10, "purchase")
        _check(aggregates(ds, find(ds, "three_way")), expected)
        assert all(p.exists() for p in files.values()) and ab_members.is_resolved(ds)
        _files_match_pandas(ds, users, assignments)
        listed = {s.experiment.name: dict(s.variants) for s in experiment_list(ds)}
        assert listed["three_way"] == {k: v["users"] for k, v in expected[0].items()}
    finally:
        ds.close()
    written = {n: p.stat().st_mtime_ns for n, p in files.items()}

    def no_second_resolution(*_a, **_k):
        raise AssertionError("resolved again")

    monkeypatch.setattr(ab_members, "_write", no_second_resolution)
    again = open_dataset(path, cache_dir=tmp_path / "cache")  # another process, the same data version
    try:
        assert ab_members.is_resolved(again)
        _check(
            aggregates(again, find(again, "claims")), oracle(users, events, assignments, "claims", 7, "coupon_claim")
        )
        assert {n: p.stat().st_mtime_ns for n, p in files.items()} == written
    finally:
        again.close()


def test_unwritable_folder_keeps_them_in_memory(root, tmp_path, monkeypatch, caplog):
    path, (users, events, assignments) = root
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    monkeypatch.setattr(ab_members, "folder_for", lambda _ds: blocked / "sub")
    ds = open_dataset(path, cache_dir=tmp_path / "cache")
    try:
        with caplog.at_level(logging.WARNING, logger="core.analyses.ab_members"):
            _check(
                aggregates(ds, find(ds, "three_way")), oracle(users, events, assignments, "three_way", 10, "purchase")
            )
        assert "kept in memory" in caplog.text
        ab_read.forget(ds)
        _check(aggregates(ds, find(ds, "claims")), oracle(users, events, assignments, "claims", 7, "coupon_claim"))
        assert not (blocked / "sub").exists()
    finally:
        ds.close()


def _city_scope(ds, users, events, assignments, city: str):
    """The dataset scoped to one city's members, and the pandas oracle of `three_way` over just them."""
    from core.access import scoped_dataset
    from core.segments.model import parse_segment

    members = users[users["city"] == city]
    scope = parse_segment({"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": city}]})
    mine = assignments[assignments["user_id"].isin(members["user_id"])]
    return scoped_dataset(ds, scope), oracle(members, events, mine, "three_way", 10, "purchase")


def test_background_resolution_then_many_readers_and_a_scope(root, tmp_path):
    path, (users, events, assignments) = root
    ds = open_dataset(path, cache_dir=tmp_path / "cache")
    try:
        thread = ab_members.build_in_background(ds)
        assert thread is not None
        # readers asking while it runs wait for it and read the same numbers
        expected = oracle(users, events, assignments, "three_way", 10, "purchase")
        answers: list = []

        def read() -> None:
            answers.append({s.experiment.name: dict(s.variants) for s in experiment_list(ds)}["three_way"])

        readers = [threading.Thread(target=read) for _ in range(3)]
        for t in readers:
            t.start()
        for t in [thread, *readers]:
            t.join()
        assert answers == [{k: v["users"] for k, v in expected[0].items()}] * 3
        assert ab_members.build_in_background(ds) is None  # nothing left to do
        # a scope opened after: only its members, and no unknown ids (as before the move)
        scoped, want = _city_scope(ds, users, events, assignments, "Wuhan")
        _check(aggregates(scoped, find(scoped, "three_way")), want)
    finally:
        ds.close()


def test_a_scope_opened_before_the_resolution(root, tmp_path):
    path, (users, events, assignments) = root
    ds = open_dataset(path, cache_dir=tmp_path / "cache")
    try:
        scoped, want = _city_scope(ds, users, events, assignments, "Shanghai")
        _check(aggregates(scoped, find(scoped, "three_way")), want)
        assert want[1] > 0 and want[2] == 0
        # the files hold every member: the whole dataset still reads all of them
        _check(aggregates(ds, find(ds, "three_way")), oracle(users, events, assignments, "three_way", 10, "purchase"))
        _files_match_pandas(ds, users, assignments)
    finally:
        ds.close()


def test_two_datasets_of_the_same_name_keep_each_others_files(root, tmp_path):
    """Another `abm` (same folder name, other data) and a new version of this
    one each resolve theirs; only this dataset's older version is removed, never the other dataset's."""
    path, (users, events, assignments) = root
    other = namesake(path, tmp_path / "elsewhere")
    cache = tmp_path / "cache"
    first = open_dataset(path, cache_dir=cache)
    second = open_dataset(other, cache_dir=cache)
    try:
        assert first.fingerprint != second.fingerprint
        expected = oracle(users, events, assignments, "three_way", 10, "purchase")
        _check(aggregates(first, find(first, "three_way")), expected)
        _check(aggregates(second, find(second, "three_way")), expected)  # resolves its own folder
        # the first dataset's views still read their files (before, its folder was removed here)
        assert all(p.exists() for p in ab_members.files_for(first).values())
        _check(aggregates(first, find(first, "three_way")), expected)
        old_folder = ab_members.folder_for(second)
    finally:
        first.close()
        second.close()
    new_version(other)
    newer = open_dataset(other, cache_dir=cache)
    try:
        _check(aggregates(newer, find(newer, "three_way")), expected)
        assert not old_folder.exists()  # its own older version: removed
        assert all(p.exists() for p in ab_members.files_for(first).values())  # the other dataset's: kept
    finally:
        newer.close()
