"""Team access (issue 16): grants, roles, data scopes ANDed into every read, and no way around them."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.access import (
    AccessError,
    access_for,
    grant,
    grants,
    revoke,
    scoped_dataset,
    subject_of,
    team_mode,
    use_for_process,
)
from core.dataset import open_dataset
from core.export import ExportError, ExportOptions, plan_export, write_export
from core.segments import operations as ops
from core.segments.model import parse_segment
from core.store import AppStore
from core.tags import list_tags, value_distribution
from dashboard.cli import main
from tests.datasets import random_dataset

SCOPE = {"conditions": [{"kind": "attribute", "field": "city", "op": "in", "values": ["Shanghai", "Hangzhou"]}]}
ALL = {"conditions": []}
BUYERS = {"conditions": [{"kind": "event", "event": "purchase", "op": ">=", "count": 1, "within_days": 90}]}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = random_dataset(tmp_path_factory.mktemp("access") / "shop", n_users=600, n_events=9000, seed=4)
    ds = open_dataset(root, cache_dir=root.parent / "cache")
    users = pd.read_parquet(root / "users.parquet")
    events = pd.read_parquet(root / "events")
    yield root, ds, users, events
    ds.close()


@pytest.fixture
def store(tmp_path):
    return AppStore(tmp_path / "app.db")


def _in_scope(users: pd.DataFrame) -> pd.Series:
    return users["city"].isin(["Shanghai", "Hangzhou"])


def _buyers(users: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    end = pd.Timestamp("2026-07-01")
    recent = events[
        (events["event"] == "purchase") & (events["ts"] >= end - pd.Timedelta(days=90)) & (events["ts"] < end)
    ]
    return users["user_id"].isin(set(recent["user_id"]))


def test_subjects_are_normalised_and_nonsense_refused():
    assert subject_of(" Ann@Brand.COM ") == "email:ann@brand.com"
    assert subject_of("group:crm-shanghai") == "group:crm-shanghai"
    for bad in ("ann", "email:", "a@b@c", "@brand.com"):
        with pytest.raises(AccessError):
            subject_of(bad)


def test_grants_are_kept_logged_and_revoked(store):
    assert not team_mode(store)
    grant(store, "root@x.com", "admin", None, "setup")
    made = grant(store, "group:crm-sh", "operator", SCOPE, "root@x.com")
    assert made.scope == parse_segment(SCOPE) and team_mode(store)
    with pytest.raises(AccessError, match="Unknown role"):
        grant(store, "x@y.com", "superuser", None, "root@x.com")
    with pytest.raises(AccessError, match="saved segments"):  # a scope must not change behind an admin's back
        grant(
            store,
            "x@y.com",
            "viewer",
            {"conditions": [{"kind": "segment", "op": "in", "segment": "vip"}]},
            "root@x.com",
        )
    assert [g.subject for g in grants(store)] == ["email:root@x.com", "group:crm-sh"]
    assert revoke(store, "group:crm-sh", "root@x.com") and not revoke(store, "group:crm-sh", "root@x.com")
    with store.reader() as conn:
        log = [tuple(r) for r in conn.execute("select subject, action, who from access_log order by seq")]
    assert log == [
        ("email:root@x.com", "grant", "setup"),
        ("group:crm-sh", "grant", "root@x.com"),
        ("group:crm-sh", "revoke", "root@x.com"),
    ]


def test_which_grant_applies(store):
    grant(store, "group:readers", "viewer", None, "t")
    grant(store, "group:crm-sh", "operator", SCOPE, "t")
    grant(store, "ann@brand.com", "pii", None, "t")
    assert access_for(store, "Ann@brand.com", ("crm-sh",)).role.role == "pii"  # her own grant wins
    bob = access_for(store, "bob@brand.com", ("readers", "crm-sh"))
    assert (bob.role.role, bob.grant, bob.scope) == ("operator", "group:crm-sh", parse_segment(SCOPE))
    assert access_for(store, "eve@brand.com", ()).role.role == "viewer"  # unknown: viewer by default
    with pytest.raises(AccessError, match="no access"):
        access_for(store, "eve@brand.com", (), unknown="refuse")


def test_access_is_read_again_only_after_a_grant_changes(store, monkeypatch):
    """Every rerun asks for the person's access: scopes are parsed again only after a grant or revoke, never stale."""
    import core.access as access_module

    reads = []
    real = access_module.parse_segment
    grant(store, "group:crm-sh", "operator", SCOPE, "t")
    monkeypatch.setattr(access_module, "parse_segment", lambda text: reads.append(text) or real(text))
    for _ in range(3):
        bob = access_for(store, "bob@brand.com", ("crm-sh",))
        assert (bob.role.role, bob.scope) == ("operator", parse_segment(SCOPE))
    assert len(reads) == 1  # parsed once, then reused while no grant changed
    # a change made through another connection (another server process, the CLI) is seen at once
    other = AppStore(store.path)
    grant(other, "group:crm-sh", "viewer", SCOPE, "t")
    before = len(reads)
    assert access_for(store, "bob@brand.com", ("crm-sh",)).role.role == "viewer"
    assert access_for(store, "bob@brand.com", ("crm-sh",)).role.role == "viewer"
    assert len(reads) == before + 1  # parsed again once, after the change
    grant(other, "bob@brand.com", "pii", None, "t")
    assert access_for(store, "bob@brand.com", ("crm-sh",)).role.role == "pii"
    revoke(other, "bob@brand.com", "t")
    revoke(other, "group:crm-sh", "t")
    with pytest.raises(AccessError, match="no access"):
        access_for(store, "bob@brand.com", ("crm-sh",), unknown="refuse")


def test_a_database_made_again_at_the_same_path_is_not_mistaken_for_the_old(tmp_path):
    path = tmp_path / "app.db"
    grant(AppStore(path), "group:crm-sh", "operator", SCOPE, "t")
    assert access_for(AppStore(path), "bob@brand.com", ("crm-sh",)).scope == parse_segment(SCOPE)
    path.unlink()
    for extra in tmp_path.glob("app.db-*"):
        extra.unlink()
    fresh = AppStore(path)
    grant(fresh, "group:crm-sh", "pii", None, "t")  # the same number of grants and log entries as before
    bob = access_for(fresh, "bob@brand.com", ("crm-sh",))
    assert (bob.role.role, bob.scope) == ("pii", None)


def test_every_read_of_a_scoped_person_is_limited_to_the_scope(shop):
    _root, ds, users, events = shop
    scoped = scoped_dataset(ds, parse_segment(SCOPE))
    inside = _in_scope(users)
    assert scoped.total_users == inside.sum() < ds.total_users
    size = ops.size(scoped, parse_segment(BUYERS))
    assert size.count == (_buyers(users, events) & inside).sum()
    assert size.share == pytest.approx(size.count / inside.sum())  # shares use the scoped base
    # a crafted definition naming another region finds nobody: it is ANDed with the scope
    other = {"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Beijing"}]}
    assert ops.size(scoped, parse_segment(other)).count == 0
    rows = ops.breakdown(scoped, parse_segment(ALL), "city").rows
    expected = users.loc[inside, "city"].value_counts()
    assert {r.value: r.count_in_base for r in rows} == expected.to_dict()
    overlap = ops.overlap(scoped, [("a", parse_segment(ALL)), ("b", parse_segment(BUYERS))])
    assert overlap.total_users == inside.sum() and overlap.sizes[0] == inside.sum()
    page = ops.members(scoped, parse_segment(ALL), page_size=1000)
    assert set(page.rows["user_id"]) == set(users.loc[inside, "user_id"])
    assert set(ops.sample(scoped, parse_segment(ALL), n=1000)["user_id"]) <= set(users.loc[inside, "user_id"])
    # the raw views too (analyses read them): events and users of the scope's members only
    cur = scoped.cursor()
    seen = {r[0] for r in cur.execute("select distinct user_id from events").fetchall()}
    n_users = cur.execute("select count(*) from users").fetchone()[0]
    cur.close()
    assert seen == set(events["user_id"]) & set(users.loc[inside, "user_id"]) and n_users == inside.sum()
    assert ops.size(ds, parse_segment(ALL)).count == len(users)  # the unscoped dataset is untouched


def test_a_scoped_export_holds_only_the_scope_and_names_its_maker(shop, store, tmp_path):
    _root, ds, users, _events = shop
    scoped = scoped_dataset(ds, parse_segment(SCOPE))
    person = access_for_operator(store)
    plan = plan_export(scoped, ALL, ExportOptions(columns=("city",)), role=person.role)
    result = write_export(scoped, plan, store, out=tmp_path / "a.csv", who=person.who)
    written = pd.read_csv(result.path, dtype=str)
    assert set(written["user_id"]) == set(users.loc[_in_scope(users), "user_id"])
    assert store.get_export(result.export_id).created_by == "ann@brand.com"
    with pytest.raises(ExportError, match="needs the 'pii' role"):
        plan_export(scoped, ALL, ExportOptions(pii_mode="raw"), role=person.role)


def access_for_operator(store):
    grant(store, "ann@brand.com", "operator", SCOPE, "t")
    return access_for(store, "ann@brand.com")


def test_a_viewer_may_count_but_not_export(shop, store):
    _root, ds, _users, _events = shop
    grant(store, "vic@brand.com", "viewer", None, "t")
    viewer = access_for(store, "vic@brand.com")
    assert not viewer.may_export and not viewer.role.sees_members
    with pytest.raises(ExportError, match="not export members"):
        plan_export(ds, ALL, ExportOptions(), role=viewer.role)


def test_the_cli_needs_a_grant_and_applies_the_scope(shop, tmp_path, monkeypatch, capsys):
    root, _ds, users, events = shop
    db = tmp_path / "team.db"
    monkeypatch.setenv("ADESK_APP_DB", str(db))
    seg = tmp_path / "buyers.json"
    seg.write_text(json.dumps(BUYERS))
    scope = tmp_path / "scope.json"
    scope.write_text(json.dumps(SCOPE))
    monkeypatch.setenv("ADESK_USER", "root@x.com")
    assert main(["access", "grant", "root@x.com", "--role", "admin"]) == 0
    assert main(["access", "grant", "ann@brand.com", "--role", "operator", "--scope", str(scope)]) == 0
    capsys.readouterr()
    monkeypatch.setenv("ADESK_USER", "mallory@brand.com")  # no grant
    assert main(["count", str(root), "--segment", str(seg), "--json"]) == 2
    assert "no access" in capsys.readouterr().err
    assert main(["access", "grant", "mallory@brand.com", "--role", "admin"]) == 2  # only admins grant
    monkeypatch.setenv("ADESK_USER", "ann@brand.com")
    assert main(["count", str(root), "--segment", str(seg), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == (_buyers(users, events) & _in_scope(users)).sum()
    assert out["total_users"] == _in_scope(users).sum()
    assert main(["access", "revoke", "root@x.com"]) == 2  # an operator cannot change access
    monkeypatch.setenv("ADESK_USER", "root@x.com")
    assert main(["count", str(root), "--segment", str(seg), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_users"] == len(users)  # unscoped admin: all members
    use_for_process(None)


def test_a_saved_segment_made_by_an_unscoped_person_stays_within_the_scope(shop, store):
    _root, ds, users, _events = shop
    wide = {"conditions": [{"kind": "attribute", "field": "city", "op": "in", "values": ["Beijing", "Shanghai"]}]}
    saved = store.save_segment("Beijing and Shanghai", parse_segment(wide), who="root@x.com")
    scoped = scoped_dataset(ds, parse_segment(SCOPE))
    ref = parse_segment({"conditions": [{"kind": "segment", "op": "in", "segment": saved.id}]})
    count = ops.size(scoped, ref, store.resolver()).count
    assert count == (users["city"] == "Shanghai").sum()  # Beijing is outside the scope
    assert ops.size(ds, ref, store.resolver()).count == users["city"].isin(["Beijing", "Shanghai"]).sum()


def test_models_at_a_past_day_are_kept_apart_per_scope(shop):
    _root, ds, users, _events = shop
    dated = parse_segment(
        {"conditions": [{"kind": "aipl", "op": "in", "values": ["A", "I", "P", "L"], "as_of": "2026-03-31"}]}
    )
    everyone = ops.size(ds, dated).count
    scoped = scoped_dataset(ds, parse_segment(SCOPE))
    within = ops.size(scoped, dated).count
    inside = set(users.loc[_in_scope(users), "user_id"])
    staged = set(ops.members(ds, dated, page_size=1000).rows["user_id"])
    assert within == len(staged & inside) < everyone
    assert ops.size(ds, dated).count == everyone  # the scoped answer did not replace the unscoped one


def test_the_tag_catalog_of_a_scoped_person_counts_only_the_scope(shop):
    root, ds, users, _events = shop
    scoped = scoped_dataset(ds, parse_segment(SCOPE))
    tags = pd.read_parquet(root / "tags.parquet")
    inside = set(users.loc[_in_scope(users), "user_id"])
    expected = tags[tags["user_id"].isin(inside)].groupby("tag")["user_id"].nunique()
    entries = {e.tag: e for e in list_tags(scoped) if e.in_data}
    assert entries and {t: e.users for t, e in entries.items()} == {t: int(expected.get(t, 0)) for t in entries}
    assert all(e.coverage == pytest.approx(e.users / len(inside)) for e in entries.values())
    plain = next(t for t, info in scoped.catalog.tags.items() if info.value_column is None)
    rows = {r.label: r.users for r in value_distribution(scoped, plain).rows}
    assert rows == {"has": expected.get(plain, 0), "has not": len(inside) - expected.get(plain, 0)}
    # the unscoped catalog still counts everyone
    assert {e.tag: e.users for e in list_tags(ds) if e.in_data} == tags.groupby("tag")["user_id"].nunique().to_dict()
