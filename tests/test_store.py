"""The app-state store: saved segments, versions, renames, guarded deletes, cycles, concurrency."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from core.catalog import Catalog, Column
from core.segments.compile import compile_where
from core.segments.model import SegmentError, parse_segment
from core.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    AppStore,
    SegmentCycle,
    SegmentInUse,
    SegmentNotFound,
    StoreError,
    UnknownSegmentRef,
    current_user,
    referenced_ids,
    slugify,
)


def city(*values: str):
    return parse_segment({"conditions": [{"kind": "attribute", "field": "city", "op": "in", "values": list(values)}]})


def refers_to(segment_id: str, op: str = "in", nested: bool = False):
    ref = {"kind": "segment", "op": op, "segment": segment_id}
    if nested:  # two groups deep, next to another condition
        ref = {"kind": "group", "match": "any", "conditions": [
            {"kind": "tag", "tag": "identity/kol", "op": "has"},
            {"kind": "group", "match": "all", "conditions": [ref]},
        ]}  # fmt: skip
    return parse_segment(
        {
            "match": "all",
            "conditions": [{"kind": "attribute", "field": "age", "op": "gte", "value": 18}, ref],
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> AppStore:
    return AppStore(tmp_path / "state" / "app.db")


def test_created_on_first_use_with_wal_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "app.db"
    assert not path.exists()
    store = AppStore(path)
    assert path.is_file()
    assert store.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"segments", "segment_versions", "segment_log"} <= tables


def test_every_migration_sets_its_user_version() -> None:
    for i, script in enumerate(MIGRATIONS):
        assert f"PRAGMA user_version = {i + 1};" in script


def test_reopening_keeps_data_and_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    saved = AppStore(path).save_segment("Shanghai", city("Shanghai"), "ann")
    again = AppStore(path)
    assert again.get_segment(saved.id) == saved
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer"):
        AppStore(path)


def test_default_path_env_override_and_never_inside_a_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADESK_APP_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    AppStore()
    assert (tmp_path / "data" / "app.db").is_file()

    monkeypatch.setenv("ADESK_APP_DB", str(tmp_path / "elsewhere" / "state.db"))
    assert AppStore().path == tmp_path / "elsewhere" / "state.db"
    assert (tmp_path / "elsewhere" / "state.db").is_file()

    dataset = tmp_path / "shop"
    (dataset / "events").mkdir(parents=True)
    (dataset / "users.parquet").write_bytes(b"PAR1")
    for inside in (dataset / "app.db", dataset / "state" / "app.db"):
        with pytest.raises(StoreError, match="inside the dataset directory"):
            AppStore(inside)
        assert not inside.exists()
    # The default path while working inside the dataset directory is refused too.
    monkeypatch.delenv("ADESK_APP_DB")
    monkeypatch.chdir(dataset)
    with pytest.raises(StoreError, match="inside the dataset directory"):
        AppStore()
    assert sorted(p.name for p in dataset.iterdir()) == ["events", "users.parquet"]
    # Next to the dataset is fine.
    assert AppStore(tmp_path / "app.db").path.parent == tmp_path


def test_slugs_are_url_safe_and_unique(store: AppStore) -> None:
    assert slugify("  VIP Buyers — Shanghai (Q3) ") == "vip-buyers-shanghai-q3"
    assert slugify("Café Crème") == "cafe-creme"
    a = store.save_segment("VIP Buyers", city("Shanghai"), "ann")
    b = store.save_segment("vip buyers!", city("Hangzhou"), "ann")
    c = store.save_segment("高价值客户", city("Beijing"), "ann")
    d = store.save_segment("重要客户", city("Wuhan"), "ann")
    assert [a.id, b.id] == ["vip-buyers", "vip-buyers-2"]
    assert {c.id, d.id} == {"segment", "segment-2"}
    assert c.name == "高价值客户"
    for saved in (a, b, c, d):
        assert all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in saved.id)
    # An id stays taken after its segment is deleted: links to it never point at another segment.
    store.delete_segment(a.id, "ann")
    assert store.save_segment("VIP Buyers", city("Shanghai"), "ann").id == "vip-buyers-3"


def test_versions_get_and_list(store: AppStore) -> None:
    first = store.save_segment("Shanghai buyers", city("Shanghai"), "ann")
    assert (first.version, first.saved_by) == (1, "ann")
    second = store.save_segment("Shanghai buyers", city("Shanghai", "Hangzhou"), "bob", segment_id=first.id)
    assert (second.id, second.version, second.saved_by) == (first.id, 2, "bob")
    other = store.save_segment("Beijing", city("Beijing"), "ann")

    latest = store.get_segment(first.id)
    assert latest is not None and latest.version == 2 and latest.segment == city("Shanghai", "Hangzhou")
    old = store.get_segment(first.id, version=1)
    assert old is not None and old.segment == city("Shanghai") and old.saved_by == "ann"
    assert store.get_segment(first.id, version=3) is None
    assert store.get_segment("nope") is None
    assert [v.version for v in store.versions(first.id)] == [1, 2]
    assert [(s.id, s.version) for s in store.list_segments()] == [(other.id, 1), (first.id, 2)]
    assert latest.to_dict()["definition"] == city("Shanghai", "Hangzhou").to_dict()

    with pytest.raises(SegmentNotFound):
        store.save_segment("x", city("A"), "ann", segment_id="missing")


def test_save_accepts_json_and_refuses_bad_definitions_and_names(store: AppStore) -> None:
    saved = store.save_segment(
        "From JSON", '{"conditions": [{"kind": "tag", "tag": "identity/kol", "op": "has"}]}', "ann"
    )
    assert saved.segment.to_dict()["conditions"][0]["tag"] == "identity/kol"
    with pytest.raises(SegmentError):
        store.save_segment("Bad", '{"conditions": [{"kind": "atribute"}]}', "ann")
    with pytest.raises(StoreError, match="name"):
        store.save_segment("   ", city("A"), "ann")
    assert [s.id for s in store.list_segments()] == [saved.id]


def test_rename_keeps_id_and_versions(store: AppStore) -> None:
    saved = store.save_segment("Old name", city("Shanghai"), "ann")
    store.save_segment(None, city("Wuhan"), "ann", segment_id=saved.id)
    renamed = store.rename_segment(saved.id, "  New   name ", "bob")
    assert (renamed.id, renamed.name, renamed.version) == (saved.id, "New name", 2)
    assert [s.name for s in store.list_segments()] == ["New name"]
    assert all(v.name == "New name" for v in store.versions(saved.id))
    assert [(h["action"], h["who"]) for h in store.history(saved.id)] == [
        ("create", "ann"),
        ("save", "ann"),
        ("rename", "bob"),
    ]
    assert store.history(saved.id)[-1]["detail"] == {"from": "Old name", "to": "New name"}
    with pytest.raises(SegmentNotFound):
        store.rename_segment("missing", "x", "bob")


def test_delete_refused_while_referred_to_at_any_depth(store: AppStore) -> None:
    base = store.save_segment("Complained", city("Shanghai"), "ann")
    direct = store.save_segment("Excluding complainers", refers_to(base.id, "not_in"), "ann")
    deep = store.save_segment("Deep user", refers_to(base.id, nested=True), "ann")
    assert referenced_ids(deep.segment) == {base.id}

    with pytest.raises(SegmentInUse) as err:
        store.delete_segment(base.id, "ann")
    assert set(err.value.referrers) == {
        (direct.id, "Excluding complainers"),
        (deep.id, "Deep user"),
    }
    assert direct.id in str(err.value) and "Deep user" in str(err.value)
    assert store.get_segment(base.id) is not None

    # Only the latest definition counts: once the referrers stop referring, delete works.
    store.save_segment(None, city("Wuhan"), "ann", segment_id=direct.id)
    store.delete_segment(deep.id, "ann")
    store.delete_segment(base.id, "bob")
    assert store.get_segment(base.id) is None
    assert store.get_segment(base.id, include_deleted=True) is not None
    assert [s.id for s in store.list_segments()] == [direct.id]
    assert store.versions(base.id) == []
    assert store.history(base.id)[-1]["action"] == "delete"
    with pytest.raises(SegmentNotFound):
        store.delete_segment(base.id, "bob")
    # A deleted segment cannot be referred to by a new definition.
    with pytest.raises(UnknownSegmentRef):
        store.save_segment("Refers to deleted", refers_to(base.id), "ann")


def test_reference_cycles_are_refused_and_nothing_is_written(store: AppStore) -> None:
    a = store.save_segment("A", city("Shanghai"), "ann")
    b = store.save_segment("B", refers_to(a.id), "ann")
    c = store.save_segment("C", refers_to(b.id, nested=True), "ann")

    with pytest.raises(SegmentCycle) as err:  # a -> c -> b -> a
        store.save_segment(None, refers_to(c.id, "not_in"), "ann", segment_id=a.id)
    assert err.value.path == (a.id, c.id, b.id, a.id)
    with pytest.raises(SegmentCycle):  # directly itself
        store.save_segment(None, refers_to(a.id, nested=True), "ann", segment_id=a.id)
    with pytest.raises(SegmentCycle):  # a new segment naming the id it is about to get
        store.save_segment("D", refers_to("d"), "ann")
    with pytest.raises(UnknownSegmentRef):
        store.save_segment("E", refers_to("no-such-segment"), "ann")

    assert [v.version for v in store.versions(a.id)] == [1]
    assert sorted(s.id for s in store.list_segments()) == sorted([a.id, b.id, c.id])
    # Refusals leave no half-written rows behind.
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT count(*) FROM segments").fetchone()[0] == 3
        assert conn.execute("SELECT count(*) FROM segment_versions").fetchone()[0] == 3


def test_resolver_feeds_the_compiler_current_definitions(store: AppStore) -> None:
    catalog = Catalog(
        as_of=date(2026, 6, 30),
        total_users=0,
        attributes={"city": Column("city", "string"), "age": Column("age", "integer")},
    )
    base = store.save_segment("Shanghai", city("Shanghai"), "ann")
    resolve = store.resolver()
    assert resolve(base.id) == city("Shanghai")
    assert resolve("missing") is None
    assert resolve.known_ids() == [base.id]

    user = parse_segment({"conditions": [{"kind": "segment", "op": "in", "segment": base.id}]})
    assert compile_where(user, catalog, resolve=resolve).params == {"p0": "Shanghai"}
    store.save_segment(None, city("Hangzhou"), "ann", segment_id=base.id)
    assert compile_where(user, catalog, resolve=resolve).params == {"p0": "Hangzhou"}
    store.delete_segment(base.id, "ann")
    assert resolve(base.id) is None
    with pytest.raises(SegmentError, match=base.id):
        compile_where(user, catalog, resolve=resolve)


def test_who_comes_from_env_or_login(store: AppStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADESK_USER", "operator-7")
    assert current_user() == "operator-7"
    saved = store.save_segment("Mine", city("Shanghai"))
    assert saved.saved_by == "operator-7" and store.history(saved.id)[0]["who"] == "operator-7"
    monkeypatch.delenv("ADESK_USER")
    assert current_user()  # the login name, or "unknown" without a passwd entry


def _run_at_once(calls: list[str]) -> list[int]:
    """Run each call (a function of this module) in its own Python process, all at once; exit codes."""
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", f"from tests.test_store import _writer, _creator; {call}"], cwd=repo, env=env
        )
        for call in calls
    ]
    return [p.wait(timeout=120) for p in procs]


def _writer(path: str, worker: int, shared_id: str, rounds: int) -> None:
    store = AppStore(path)
    for i in range(rounds):
        store.save_segment("Same name", city(f"w{worker}-{i}"), f"worker-{worker}")
        store.save_segment(None, city(f"shared-{worker}-{i}"), f"worker-{worker}", segment_id=shared_id)
        store.rename_segment(shared_id, f"renamed by {worker} #{i}", f"worker-{worker}")


def test_two_processes_writing_at_once_do_not_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    shared = AppStore(path).save_segment("Shared", city("start"), "ann")
    rounds = 15
    assert _run_at_once([f"_writer({str(path)!r}, {w}, {shared.id!r}, {rounds})" for w in (1, 2)]) == [0, 0]

    store = AppStore(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    listed = store.list_segments()
    same = [s for s in listed if s.id != shared.id]
    assert len(same) == 2 * rounds
    assert len({s.id for s in same}) == 2 * rounds  # unique slugs despite the same name at once
    assert {s.id for s in same} == {"same-name"} | {f"same-name-{n}" for n in range(2, 2 * rounds + 1)}
    # Every version was written exactly once, numbered without gaps.
    versions = store.versions(shared.id)
    assert [v.version for v in versions] == list(range(1, 2 * rounds + 2))
    written = {v.segment.to_dict()["conditions"][0]["values"][0] for v in versions[1:]}
    assert written == {f"shared-{w}-{i}" for w in (1, 2) for i in range(rounds)}
    assert len([h for h in store.history(shared.id) if h["action"] == "rename"]) == 2 * rounds


def _creator(path: str, worker: int) -> None:
    store = AppStore(path)  # both processes find no database and create it at once
    for i in range(5):
        store.save_segment(f"Worker {worker}", city(f"{worker}-{i}"), f"worker-{worker}")


def test_two_processes_creating_the_database_at_once(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "app.db"
    assert _run_at_once([f"_creator({str(path)!r}, {w})" for w in (1, 2, 3)]) == [0, 0, 0]
    store = AppStore(path)
    assert store.schema_version() == SCHEMA_VERSION
    expected = {f"worker-{w}" + ("" if i == 0 else f"-{i + 1}") for w in (1, 2, 3) for i in range(5)}
    assert {s.id for s in store.list_segments()} == expected
