"""Saved funnels: names, versions, refusal of bad definitions (nothing written)."""

from __future__ import annotations

import pytest

from core.analyses.funnel_spec import FunnelError, parse_funnel
from core.funnel_store import FunnelStore
from core.store import AppStore, StoreError

F1 = {"steps": [{"event": "product_view"}, {"event": "purchase"}], "window": {"value": 3, "unit": "day"}}
F2 = {**F1, "steps": [*F1["steps"], {"event": "review"}]}


def test_save_versions_and_list(tmp_path):
    db = tmp_path / "app.db"
    AppStore(db)  # the segment store shares the file; neither disturbs the other
    store = FunnelStore(db)
    a = store.save("Online  checkout", F1, who="ann")
    assert (a.id, a.version, a.name, a.created_by) == ("online-checkout", 1, "Online checkout", "ann")
    b = store.save("Online checkout", F2, funnel_id=a.id)
    assert b.version == 2
    other = store.save("Online checkout", F1)
    assert other.id == "online-checkout-2"
    assert store.get(a.id).funnel == parse_funnel(F2)
    assert store.get(a.id, 1).funnel == parse_funnel(F1)
    assert [f.version for f in store.versions(a.id)] == [1, 2]
    assert [(f.id, f.version) for f in FunnelStore(db).list()] == [("online-checkout", 2), ("online-checkout-2", 1)]
    assert AppStore(db).list_segments() == []


def test_bad_input_saves_nothing(tmp_path):
    store = FunnelStore(tmp_path / "app.db")
    with pytest.raises(FunnelError):
        store.save("x", {"steps": [{"event": "a"}]})
    with pytest.raises(StoreError, match="name"):
        store.save("  ", F1)
    with pytest.raises(StoreError, match="No saved funnel"):
        store.save("x", F1, funnel_id="nope")
    assert store.list() == []
