"""Per-dataset caches (core/dataset/caches.py): one per opened connection and scope, gone with the dataset."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.access import scoped_dataset
from core.dataset import open_dataset
from core.dataset.caches import dataset_cache
from core.models import at as model_at
from core.segments.model import parse_segment


def test_each_opened_dataset_and_scope_has_its_own_caches(demo_dir, tmp_path):
    a = open_dataset(demo_dir, cache_dir=tmp_path)
    b = open_dataset(demo_dir, cache_dir=tmp_path)  # same files, another connection
    try:
        assert a.fingerprint == b.fingerprint
        dataset_cache(a, "owner")["k"] = 1
        assert dataset_cache(a, "owner") == {"k": 1}
        assert dataset_cache(b, "owner") == {}  # in-memory tables of `a` do not exist in `b`
        assert dataset_cache(a, "other") == {}  # each module owns its dict

        scope = parse_segment({"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Shanghai"}]})
        scoped = scoped_dataset(a, scope)
        assert dataset_cache(scoped, "owner") == {}  # a scope never reads the whole dataset's answers

        # a model at a past day is made once per connection: its table name is remembered where it exists
        day = a.as_of - timedelta(days=30)
        name = model_at(a, "aipl", day)
        assert name in dataset_cache(a, "models_at")["tables"]
        assert "tables" not in dataset_cache(b, "models_at")
        assert model_at(b, "aipl", day) == name  # made again in b's own connection
        ((rows,),) = b.run(_count(name))
        assert rows == b.total_users
    finally:
        a.close()
        b.close()


def test_closing_drops_the_caches_and_stops_the_bitmap_index(demo_dir, tmp_path, monkeypatch):
    ds = open_dataset(demo_dir, cache_dir=tmp_path)
    index = ds.bitmap_index()
    assert ds.bitmap_index() is index  # one per opened dataset
    closed = []
    close = index.close
    monkeypatch.setattr(index, "close", lambda: (closed.append(True), close()))
    dataset_cache(ds, "owner")["k"] = 1
    ds.close()
    assert closed == [True]  # the index's worker was stopped with the dataset
    with pytest.raises(RuntimeError, match="closed"):
        dataset_cache(ds, "owner")


def _count(table: str):
    from sqlglot import exp

    return exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(table, quoted=True))
