"""An export's holdout resolved once per data version (core/analyses/ab_holdouts.py): the campaign lift is unchanged."""

from __future__ import annotations

import pandas as pd
import pytest

from core.analyses import ab_holdouts, ab_read
from core.analyses.ab import ABSpec, ab_result, experiment_list
from core.analyses.experiments import aggregates, aggregates_sql, find
from core.dataset import open_dataset
from core.demo.campaign_record import record_campaign
from core.store import AppStore
from tests.test_demo_campaign import campaign_by_pandas


@pytest.fixture(scope="module")
def campaign(demo_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("holdouts")
    store = AppStore(tmp / "app.db")
    recorded = record_campaign(demo_dir, store, users=20_000, seed=7, out=tmp / "campaign.csv")
    ds = open_dataset(demo_dir, cache_dir=tmp / "cache")
    yield ds, store, recorded.export_id
    ds.close()


def test_the_campaign_lift_is_unchanged_and_resolved_once(demo_dir, campaign, monkeypatch):
    ds, store, export_id = campaign
    e = find(ds, export_id, store)
    path = ab_holdouts.file_for(ds, e)
    assert e.kind == "export" and e.holdout_sha256 and not path.exists()
    # the reference: the holdout file's rows joined to `profile` and grouped on this read (the path before)
    reference = aggregates_sql(ds, e, store=store, keep=False)
    assert not path.exists()
    ab_read.forget(ds)
    first = ab_result(ds, ABSpec(export_id), store=store)
    assert path.exists() and path.parent == ab_holdouts.folder_for(ds)
    written = path.stat().st_mtime_ns

    def no_second_resolution(*_a, **_k):
        raise AssertionError("resolved again")

    monkeypatch.setattr(ab_holdouts, "_write", no_second_resolution)
    ab_read.forget(ds)
    again = ab_result(ds, ABSpec(export_id), store=store)
    listed = {s.experiment.name: s for s in experiment_list(ds, store)}[export_id]
    assert path.stat().st_mtime_ns == written
    assert again.to_dict() == first.to_dict()
    got = {v.name: v.aggregate for v in first.variants}
    for ref in reference.variants:
        mine = got[ref.name]
        assert (mine.users, mine.conversions, mine.unfinished) == (ref.users, ref.conversions, ref.unfinished)
        assert mine.revenue_sum == ref.revenue_sum  # exact sums on both paths
    assert (first.excluded_multiple_exposure, first.excluded_unknown_users) == (
        reference.multiple_exposure,
        reference.unknown_users,
    )
    # and both as plain pandas computes the campaign from the Parquet files
    expected = campaign_by_pandas(demo_dir, export_id)
    assert {n: (a.users, a.conversions) for n, a in got.items()} == {k: v[:2] for k, v in expected.items()}
    assert dict(listed.variants) == {k: v[0] for k, v in expected.items()}
    (h_users, h_conv, _), (t_users, t_conv, _) = expected["holdout"], expected["target"]
    lift = {v["name"]: v for v in first.to_dict()["variants"]}["target"]["metrics"]["conversion"]["lift"]
    assert lift == pytest.approx((t_conv / t_users - h_conv / h_users) / (h_conv / h_users), rel=1e-9) and lift > 0


def test_the_resolved_file_holds_every_member_and_a_scope_reads_its_own(campaign):
    from core.access import scoped_dataset
    from core.segments.model import parse_segment

    ds, store, export_id = campaign
    e = find(ds, export_id, store)
    path = ab_holdouts.resolved_file(ds, e, store)
    resolved = pd.read_parquet(path)
    holdout = pd.read_parquet(store.holdout_file(export_id).path)
    assert len(resolved) == holdout["user_id"].nunique() and resolved["_uid"].notna().all()
    assert resolved.groupby("variant").size().to_dict() == holdout.groupby("variant").size().to_dict()
    # a scope: members outside it count as unknown ids, exactly as when the rows are joined to its profile
    shanghai = parse_segment({"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Shanghai"}]})
    scoped = scoped_dataset(ds, shanghai)
    mine, before = aggregates(scoped, e, store=store), aggregates_sql(scoped, e, store=store, keep=False)
    assert [(v.name, v.users, v.conversions) for v in mine.variants] == [
        (v.name, v.users, v.conversions) for v in before.variants
    ]
    assert (mine.multiple_exposure, mine.unknown_users) == (before.multiple_exposure, before.unknown_users)
    assert mine.unknown_users > 0 and sum(v.users for v in mine.variants) < len(resolved)


def test_unwritable_folder_falls_back_to_resolving_on_each_read(campaign, monkeypatch, tmp_path):
    ds, store, export_id = campaign
    e = find(ds, export_id, store)
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    monkeypatch.setattr(ab_holdouts, "folder_for", lambda _ds: blocked / "sub")
    assert ab_holdouts.resolved_file(ds, e, store) is None
    ab_read.forget(ds)
    got = aggregates(ds, e, store=store)
    ref = aggregates_sql(ds, e, store=store, keep=False)
    assert [(v.name, v.users, v.conversions) for v in got.variants] == [
        (v.name, v.users, v.conversions) for v in ref.variants
    ]
