"""The demo dataset generator: contract shapes, reproducibility, and every story it promises.

Each story is re-computed here from the raw Parquet files with plain pandas/scipy,
independently of the generator's own bookkeeping.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

from core.config import load_config
from core.demo import DemoError, generate
from dashboard.cli import main

USERS = 20_000
SEED = 7
AS_OF = pd.Timestamp("2026-10-31")
DAY_AFTER = AS_OF + pd.Timedelta(days=1)
AWARENESS = {"ad_impression", "article_view", "live_view"}
INTEREST = {"product_view", "add_to_cart", "favorite", "follow", "coupon_claim"}
LOYALTY = {"review", "share", "member_join"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "ds"
    summary = generate(out, users=USERS, seed=SEED)
    assert summary.users == USERS
    assert summary.out_dir == out.absolute()
    return out


@pytest.fixture(scope="module")
def users(demo) -> pd.DataFrame:
    return pd.read_parquet(demo / "users.parquet")


@pytest.fixture(scope="module")
def events(demo) -> pd.DataFrame:
    return pd.read_parquet(demo / "events")


@pytest.fixture(scope="module")
def tags(demo) -> pd.DataFrame:
    return pd.read_parquet(demo / "tags.parquet")


@pytest.fixture(scope="module")
def purchases(events) -> pd.DataFrame:
    return events[events.event == "purchase"]


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ---------------------------------------------------------------- reproducibility & writing


def test_same_seed_gives_identical_files_and_other_seed_does_not(tmp_path):
    # Small users per chunk so the multi-chunk path (several part files per month) is exercised.
    a = generate(tmp_path / "a", users=3_000, seed=11, chunk_users=1_000)
    generate(tmp_path / "b", users=3_000, seed=11, chunk_users=1_000)
    generate(tmp_path / "c", users=3_000, seed=12, chunk_users=1_000)
    ha, hb, hc = _hashes(tmp_path / "a"), _hashes(tmp_path / "b"), _hashes(tmp_path / "c")
    assert ha == hb
    assert len(ha) > 14 + 5
    assert ha["users.parquet"] != hc["users.parquet"]
    assert ha["events/month=2026-01/part-00000.parquet"] != hc["events/month=2026-01/part-00000.parquet"]
    # three chunks -> three part files per month, user ids contiguous across chunks
    assert {p.name for p in (tmp_path / "a/events/month=2026-03").iterdir()} == {
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    }
    ids = pd.read_parquet(tmp_path / "a/users.parquet").user_id
    assert list(ids) == [f"u{i:08d}" for i in range(1, 3_001)]
    assert a.events == len(pd.read_parquet(tmp_path / "a/events"))
    # no temporary directories left beside the output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]


def test_refuses_to_overwrite_unless_forced(tmp_path):
    out = tmp_path / "ds"
    generate(out, users=500, seed=1)
    before = _hashes(out)
    with pytest.raises(DemoError, match="not empty.*--force"):
        generate(out, users=500, seed=2)
    assert _hashes(out) == before  # untouched
    generate(out, users=500, seed=2, overwrite=True)
    assert _hashes(out)["users.parquet"] != before["users.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]

    # --force never wipes a folder that is not a dataset
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(DemoError, match="does not look like a dataset"):
        generate(precious, users=500, overwrite=True)
    assert (precious / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("users", [0, -5, 100_000_000])
def test_rejects_impossible_user_counts(tmp_path, users):
    with pytest.raises(DemoError, match="users must be"):
        generate(tmp_path / "x", users=users)
    assert not (tmp_path / "x").exists()


def test_cli_writes_summary_json_and_refuses_second_run(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["demo", "--users", "1000", "--seed", "3", "--out", str(out), "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["users"] == 1000 == len(pd.read_parquet(out / "users.parquet"))
    assert summary["events"] == len(pd.read_parquet(out / "events"))
    assert summary["out_dir"] == str(out.absolute())
    assert main(["demo", "--users", "1000", "--out", str(out), "--quiet"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["demo", "--users", "1000", "--out", str(out), "--quiet", "--force"]) == 0
    assert "Wrote 1,000 users" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--users", "lots", "--out", str(tmp_path / "y")])
    assert exc.value.code == 2
    assert "not a whole number" in capsys.readouterr().err


# ---------------------------------------------------------------- data contract


def test_contract_schemas(demo):
    def schema(path):
        s = pq.read_schema(path)
        return {name: s.field(name).type for name in s.names}

    assert schema(demo / "users.parquet") == {
        "user_id": pa.string(),
        "signup_at": pa.timestamp("us"),
        "city": pa.string(),
        "province": pa.string(),
        "age": pa.int32(),
        "gender": pa.string(),
        "member_level": pa.int32(),
        "signup_channel": pa.string(),
        "store_code": pa.string(),
        "sms_opt_in": pa.bool_(),
        "wechat_opt_in": pa.bool_(),
        "email_opt_in": pa.bool_(),
        "phone": pa.string(),
        "openid": pa.string(),
        "email": pa.string(),
    }
    part = next((demo / "events").glob("month=*/part-*.parquet"))
    assert schema(part) == {
        "user_id": pa.string(),
        "event": pa.string(),
        "ts": pa.timestamp("us"),
        "amount": pa.float64(),
        "product_category": pa.string(),
        "channel": pa.string(),
        "campaign": pa.string(),
    }
    assert schema(demo / "tags.parquet") == {
        "user_id": pa.string(),
        "tag": pa.string(),
        "value": pa.string(),
        "updated_at": pa.timestamp("us"),
    }
    assert set(schema(demo / "tag_catalog.parquet")) == {
        "tag",
        "description",
        "owner",
        "source",
        "update_cycle",
        "status",
        "last_refresh",
    }
    assert schema(demo / "assignments.parquet") == {
        "experiment": pa.string(),
        "user_id": pa.string(),
        "variant": pa.string(),
        "assigned_at": pa.timestamp("us"),
    }


def test_dataset_toml_is_complete_and_valid(demo):
    config, problems = load_config(demo)
    assert problems == []
    assert config.as_of == date(2026, 10, 31)
    raw = tomllib.loads((demo / "dataset.toml").read_text())
    assert {"purchase_event", "aipl", "rfm", "lifecycle", "privacy", "experiments"} <= set(raw)
    assert raw["privacy"]["consent"] == {
        "sms": "sms_opt_in",
        "wechat": "wechat_opt_in",
        "email": "email_opt_in",
    }
    assert set(raw["experiments"]) == {"coupon_copy_test", "push_time_test", "banner_color_test"}
    for exp in raw["experiments"].values():
        assert exp["control"] in exp["expected_split"]
        assert sum(exp["expected_split"].values()) == pytest.approx(1.0)


def test_events_partitioned_by_month_and_sorted(demo):
    folders = sorted(p.name for p in (demo / "events").iterdir())
    expected = [f"month={d:%Y-%m}" for d in pd.date_range("2025-09-01", "2026-10-01", freq="MS")]
    assert folders == expected
    for folder in folders:
        month = pd.Period(folder.removeprefix("month="), "M")
        for part in (demo / "events" / folder).glob("*.parquet"):
            ts = pq.read_table(part, columns=["ts"]).column("ts").to_pandas()
            assert ts.is_monotonic_increasing, part
            assert (ts.dt.to_period("M") == month).all(), part
            meta = pq.ParquetFile(part).metadata
            assert all(meta.row_group(i).num_rows <= 1_000_000 for i in range(meta.num_row_groups))


def test_users_and_events_are_consistent(users, events):
    assert len(users) == USERS
    assert users.user_id.notna().all() and users.user_id.is_unique
    assert set(events.user_id) <= set(users.user_id)
    assert events.ts.min() >= pd.Timestamp("2025-09-01") and events.ts.max() < DAY_AFTER
    assert set(events.event) == AWARENESS | INTEREST | LOYALTY | {"purchase"}
    is_purchase = events.event == "purchase"
    assert events.amount[is_purchase].notna().all() and (events.amount[is_purchase] > 0).all()
    assert events.amount[~is_purchase].isna().all()
    product = events.event.isin(["product_view", "add_to_cart", "purchase"])
    assert events.product_category[product].notna().all()
    assert events.product_category[events.event.isin(AWARENESS)].isna().all()
    assert set(events.product_category.dropna()) >= {
        "cake",
        "bread",
        "coffee",
        "snacks",
        "gift",
        "dairy",
    }
    assert set(events.channel) == {"wechat", "mini_program", "app", "sms", "store"}
    assert 0.05 < events.campaign.notna().mean() < 0.5
    # no event before the member signed up
    first = events.groupby("user_id").ts.min()
    signup = users.set_index("user_id").signup_at.reindex(first.index)
    assert (first >= signup).all()
    assert 8 <= len(events) / len(users) <= 12  # about 10 events per member


def test_user_attributes(users):
    assert 38 <= users.city.nunique() <= 42
    top = users.city.value_counts(normalize=True)
    assert top.iloc[0] > 3 * top.iloc[-1]  # skewed to big cities
    assert users.groupby("city").province.nunique().max() == 1
    assert 0.05 < users.age.isna().mean() < 0.11
    assert users.age.dropna().between(16, 75).all()
    assert set(users.gender.dropna()) == {"female", "male"} and users.gender.isna().any()
    assert set(users.member_level) <= set(range(6)) and users.member_level.nunique() == 6
    assert set(users.signup_channel) == {"wechat", "mini_program", "app", "sms", "offline"}
    assert users.store_code.nunique() > 3_000  # high cardinality for search-as-you-type
    assert users.signup_at.max() < DAY_AFTER


# ---------------------------------------------------------------- story 1: AIPL, lifecycle


def test_aipl_stages_shrink_from_awareness_to_loyalty(users, events):
    window = events[events.ts >= DAY_AFTER - pd.Timedelta(days=180)]
    buys = window[window.event == "purchase"]
    n_buys = buys.groupby("user_id").size()
    first_buy = buys.groupby("user_id").ts.min()
    loyal_events = window[window.event.isin(LOYALTY)].join(first_buy.rename("first"), on="user_id")
    loyal = set(loyal_events[loyal_events.ts > loyal_events["first"]].user_id) | set(n_buys[n_buys >= 2].index)
    stage = pd.Series("none", index=users.user_id)
    stage[stage.index.isin(window[window.event.isin(AWARENESS)].user_id)] = "A"
    stage[stage.index.isin(window[window.event.isin(INTEREST)].user_id)] = "I"
    stage[stage.index.isin(n_buys.index)] = "P"
    stage[stage.index.isin(loyal)] = "L"
    share = stage.value_counts(normalize=True)
    assert share["A"] > share["I"] > share["P"] > share["L"] > 0.03
    assert share["A"] > 0.25  # most reached users only got to awareness
    # purchases over the whole 14 months, so a 365-day RFM window is meaningful
    months = events[events.event == "purchase"].ts.dt.to_period("M").nunique()
    assert months == 14


def test_never_active_and_churned_members_exist(users, events):
    last = events.groupby("user_id").ts.max()
    never = ~users.user_id.isin(last.index)
    churned = last < DAY_AFTER - pd.Timedelta(days=90)
    assert 0.04 < never.mean() < 0.15
    assert 0.1 < churned.sum() / len(users) < 0.3


# ---------------------------------------------------------------- story 2: tags


def test_tag_hierarchy_and_catalog(demo, tags):
    distinct = tags.tag.unique()
    assert len(distinct) >= 40
    assert len({t.split("/")[0] for t in distinct}) >= 6
    assert all(1 <= t.count("/") <= 2 for t in distinct)
    for must in (
        "interest/food/baking",
        "identity/kol",
        "identity/koc",
        "scene/commuter",
        "scene/weekend_family",
        "value/high_value",
        "occasion/cake_month",
    ):
        assert must in distinct
    assert not tags.duplicated(["user_id", "tag"]).any()
    catalog = pd.read_parquet(demo / "tag_catalog.parquet")
    assert set(catalog.source) == {"fact", "rule", "model"}
    assert set(catalog.update_cycle) == {"daily", "weekly", "monthly", "once"}
    assert (catalog.status == "deprecated").sum() >= 3
    allowed = catalog.update_cycle.map({"daily": 1, "weekly": 7, "monthly": 31})
    age_days = (AS_OF - catalog.last_refresh).dt.days
    stale = catalog[(catalog.status == "active") & allowed.notna() & (age_days > 2 * allowed)]
    assert len(stale) >= 3
    assert catalog.owner.notna().all() and catalog.description.str.len().gt(5).all()
    assert 1 <= len(set(distinct) - set(catalog.tag)) <= 3  # a couple of uncatalogued tags


def test_tag_values(tags):
    def values(tag):
        return tags.loc[tags.tag == tag, "value"]

    assert values("occasion/cake_month").isin([f"{m:02d}" for m in range(1, 13)]).all()
    assert values("occasion/cake_month").nunique() == 12
    ltv = pd.to_numeric(values("value/predicted_ltv"))
    assert (ltv >= 0).all() and ltv.max() > 500
    score = pd.to_numeric(values("model/response_score"))
    assert score.between(0, 1).all() and score.std() > 0.05
    assert set(values("model/churn_risk")) == {"low", "medium", "high"}
    assert values("scene/commuter").isna().all()


def test_value_tags_follow_spend(tags, purchases):
    spend = purchases[purchases.ts >= DAY_AFTER - pd.Timedelta(days=365)].groupby("user_id").amount.sum()
    high = set(tags.loc[tags.tag == "value/high_value", "user_id"])
    assert high == set(spend[spend >= 600].index)


# ---------------------------------------------------------------- story 3: cake month


def test_cake_month_group_buys_cake_in_the_same_month_each_year(users, tags, purchases):
    group = tags.loc[tags.tag == "occasion/cake_month", ["user_id", "value"]]
    assert 0.02 < len(group) / len(users) < 0.04
    cakes = purchases[purchases.product_category == "cake"].merge(group, on="user_id")
    in_month = cakes[cakes.ts.dt.month == cakes.value.astype(int)]
    years = in_month.groupby("user_id").ts.apply(lambda s: frozenset(s.dt.year))
    for user_id, month in zip(group.user_id, group.value.astype(int), strict=True):
        # the window holds September and October twice, every other month once
        expected = {2025, 2026} if month in (9, 10) else {2025 if month >= 9 else 2026}
        assert years.get(user_id) == expected, (user_id, month)
    assert (group.value.isin(["09", "10"])).sum() > 100
    # the group's cake purchases concentrate in their month; for everyone else cakes are spread out
    assert len(in_month) / len(cakes) > 0.85
    others = purchases[(purchases.product_category == "cake") & ~purchases.user_id.isin(group.user_id)]
    assert others.ts.dt.to_period("M").value_counts(normalize=True).max() < 0.2  # 14 months


# ---------------------------------------------------------------- story 4: new vs old


def test_recent_cohorts_view_more_but_convert_less(users, events):
    since = pd.Timestamp("2026-09-01")
    recent = users[users.signup_at >= "2026-08-01"].user_id
    older = users[users.signup_at < "2025-09-01"].user_id
    late = events[events.ts >= since]
    views = late[late.event.isin(["product_view", "article_view"])].groupby("user_id").size()
    assert views.reindex(recent, fill_value=0).mean() > 1.5 * views.reindex(older, fill_value=0).mean()
    viewers = set(late.loc[late.event == "product_view", "user_id"])
    buyers = set(late.loc[late.event == "purchase", "user_id"])

    def conversion(ids):
        seen = [u for u in ids if u in viewers]
        return np.mean([u in buyers for u in seen])

    assert conversion(recent) < 0.6 * conversion(older)


# ---------------------------------------------------------------- story 5: experiments


def _conversion(demo, purchases, experiment, window_days):
    a = pd.read_parquet(demo / "assignments.parquet")
    a = a[a.experiment == experiment]
    assert a.user_id.is_unique
    m = a.merge(purchases[["user_id", "ts"]], on="user_id", how="left")
    m["hit"] = (m.ts >= m.assigned_at) & (m.ts < m.assigned_at + pd.Timedelta(days=window_days))
    per_user = m.groupby(["user_id", "variant"]).hit.any().reset_index()
    return per_user.groupby("variant").hit.agg(["sum", "size", "mean"])


def _two_proportion_p(table):
    counts = [[r["sum"], r["size"] - r["sum"]] for _, r in table.iterrows()]
    return stats.chi2_contingency(counts)[1]


def test_coupon_copy_variant_b_wins_by_about_15_percent(demo, purchases):
    t = _conversion(demo, purchases, "coupon_copy_test", 14)
    assert t["size"].min() > 4_000
    lift = t.loc["B", "mean"] / t.loc["A", "mean"] - 1
    assert 0.07 < lift < 0.23
    assert _two_proportion_p(t) < 0.01
    assert stats.chisquare(t["size"]).pvalue > 0.01  # its split is fine


def test_push_time_has_no_effect(demo, purchases):
    t = _conversion(demo, purchases, "push_time_test", 7)
    assert set(t.index) == {"morning", "evening"} and t["size"].min() > 2_000
    assert _two_proportion_p(t) > 0.05
    assert abs(t.loc["evening", "mean"] / t.loc["morning", "mean"] - 1) < 0.15


def test_banner_color_split_is_broken(demo, purchases):
    t = _conversion(demo, purchases, "banner_color_test", 14)
    assert t["size"].sum() > 3_000
    assert stats.chisquare(t["size"], f_exp=[t["size"].sum() / 2] * 2).pvalue < 0.001
    assert 0.51 < t.loc["blue", "size"] / t["size"].sum() < 0.56


def test_assignments_happen_after_signup(demo, users):
    a = pd.read_parquet(demo / "assignments.parquet").merge(users[["user_id", "signup_at"]], on="user_id")
    assert (a.assigned_at > a.signup_at).all()


# ---------------------------------------------------------------- story 6: consent & PII


def test_consent_rates(users):
    for column, low, high in (
        ("sms_opt_in", 0.58, 0.72),
        ("wechat_opt_in", 0.75, 0.87),
        ("email_opt_in", 0.34, 0.47),
    ):
        flags = users[column]
        assert low < flags.dropna().astype(bool).mean() < high, column
        assert 0.01 < flags.isna().mean() < 0.08, column


def test_pii_is_well_formed(users):
    phone, openid, email = users.phone.dropna(), users.openid.dropna(), users.email.dropna()
    assert phone.str.fullmatch(r"1[3-9]\d{9}").all() and phone.is_unique
    assert openid.str.fullmatch(r"o[A-Za-z0-9_-]{27}").all()
    assert email.str.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.(com|net|org)").all()
    assert len(phone) > 0.95 * len(users) and len(openid) > 0.7 * len(users) and len(email) > 0.6 * len(users)


# ---------------------------------------------------------------- story 7: churn group


def test_wuhan_commuters_stop_buying_on_the_churn_date(users, tags, purchases):
    commuters = set(tags.loc[tags.tag == "scene/commuter", "user_id"])
    wuhan = set(users.loc[users.city == "Wuhan", "user_id"])
    group = commuters & wuhan
    assert len(group) > 100
    mine = purchases[purchases.user_id.isin(group)]
    before = mine[mine.ts < "2026-06-15"].groupby("user_id").size().reindex(list(group), fill_value=0)
    assert before.min() >= 2 and before.mean() > 5  # regular buyers
    assert (mine.ts >= "2026-06-15").sum() == 0
    # the stop is specific to the group: other Wuhan members keep buying
    others = purchases[purchases.user_id.isin(wuhan - group)]
    assert (others.ts >= "2026-06-15").sum() > 100
