"""Audience export: consent, PII masking and hashing, holdout, audit log, re-creation, failures, CLI.

Expected values are computed here with pandas and hashlib from the fixture
frames, never copied from the export's own output.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from core.dataset import open_dataset
from core.export import (
    EmptyExport,
    ExportError,
    ExportOptions,
    hash_value,
    plan_export,
    recreate_export,
    write_export,
)
from core.privacy import mask_value
from core.roles import RoleInfo, current_role
from core.segments.model import parse_segment
from core.segments.operations import reach
from core.store import AppStore
from tests.datasets import write_dataset

NONE = RoleInfo("none", "test")
PII = RoleInfo("pii", "test")
N_USERS = 20_000
TOML = """
as_of = "2026-06-30"
[privacy]
pii_columns = ["phone", "email", "openid"]
consent = { sms = "sms_opt_in", wechat = "wechat_opt_in", email = "email_opt_in" }
"""
ALL = {"conditions": []}


def _users(n: int = N_USERS, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = [f"u{i:05d}" for i in range(1, n + 1)]
    phones = pd.Series([f"1{rng.integers(3, 9)}{rng.integers(0, 10**9):09d}" for _ in range(n)], dtype=object)
    # Edge cases for masking and hashing: short values, blanks around, upper case, missing.
    phones[rng.random(n) < 0.05] = "12345"
    phones[rng.random(n) < 0.05] = " 13800138000 "
    phones[rng.random(n) < 0.05] = None
    emails = pd.Series([f"User.{i}@Example.COM" for i in range(n)], dtype=object)
    emails[rng.random(n) < 0.05] = "  Mixed.Case@Mail.CN\t"
    emails[rng.random(n) < 0.05] = "no-at-sign"
    emails[rng.random(n) < 0.05] = "@nolocal.com"
    emails[rng.random(n) < 0.05] = "   "
    emails[rng.random(n) < 0.05] = None
    openids = pd.Series([f"oX{rng.integers(0, 10**12):012d}" for _ in range(n)], dtype=object)
    openids[rng.random(n) < 0.05] = "abcd"
    sms = pd.array(rng.random(n) < 0.6, dtype="boolean")
    sms[rng.random(n) < 0.1] = pd.NA  # unknown = no consent
    return pd.DataFrame(
        {
            "user_id": ids,
            "city": rng.choice(["Shanghai", "Beijing", "Hangzhou", "上海"], n),
            "age": rng.integers(18, 70, n),
            "phone": phones,
            "email": emails,
            "openid": openids,
            "sms_opt_in": sms,
            "wechat_opt_in": rng.random(n) < 0.7,
            # no email_opt_in column at all: nobody may be e-mailed
        }
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("export") / "shop"
    users = _users()
    rng = np.random.default_rng(5)
    buyers = rng.choice(users["user_id"], 3000)
    events = pd.DataFrame(
        {
            "user_id": buyers,
            "event": "purchase",
            "ts": pd.Timestamp("2026-06-30") - pd.to_timedelta(rng.integers(0, 300, len(buyers)), unit="D"),
            "amount": rng.integers(10, 500, len(buyers)).astype(float),
        }
    )
    # (a `value` column: core/dataset.py does not yet accept a tags table without one)
    tags = pd.DataFrame({"user_id": users["user_id"][::7], "tag": "interest/food/baking", "value": None})
    write_dataset(root, users, events, tags, toml=TOML)
    return root, users


@pytest.fixture(scope="module")
def ds(data, tmp_path_factory):
    dataset = open_dataset(data[0], cache_dir=tmp_path_factory.mktemp("export-cache"))
    yield dataset
    dataset.close()


@pytest.fixture
def store(tmp_path):
    return AppStore(tmp_path / "app.db")


def _read_csv(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _in(users: pd.DataFrame, cities: list[str]) -> pd.DataFrame:
    return users[users["city"].isin(cities)]


SEG = {"conditions": [{"kind": "attribute", "field": "city", "op": "in", "values": ["Shanghai", "上海"]}]}


def _expected_holdout(export_id: str, user_ids, share: float) -> set[str]:
    """The documented rule, written out: first 13 hex digits of sha256('<id>|<user>') below share × 2^52."""
    limit = round(share * 2**52)
    return {u for u in user_ids if int(hashlib.sha256(f"{export_id}|{u}".encode()).hexdigest()[:13], 16) < limit}


# --- consent ------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["sms", "wechat"])
def test_consent_exclusions_are_exact_and_match_builder_reach(ds, data, store, tmp_path, channel):
    users = data[1]
    members = _in(users, ["Shanghai", "上海"])
    column = f"{channel}_opt_in"
    consented = members[members[column].fillna(False).astype(bool)]
    plan = plan_export(ds, SEG, ExportOptions(channel=channel), role=NONE)
    assert plan.segment_size == len(members)
    assert plan.excluded_by_consent == len(members) - len(consented)
    # the builder's "reachable" numbers use the same rule
    builder = reach(ds, parse_segment(SEG))[channel]
    assert (builder.reachable, builder.excluded) == (len(consented), plan.excluded_by_consent)
    result = write_export(ds, plan, store, out=tmp_path / "out.csv")
    written = _read_csv(result.path)
    assert list(written["user_id"]) == sorted(consented["user_id"])
    assert result.rows_written == len(consented) == plan.rows_to_write


def test_channel_without_consent_column_exports_nobody_with_a_message(ds, store, tmp_path):
    plan = plan_export(ds, SEG, ExportOptions(channel="email"), role=NONE)
    assert plan.excluded_by_consent == plan.segment_size > 0
    assert "email_opt_in" in plan.empty_reason()
    with pytest.raises(EmptyExport, match="email_opt_in"):
        write_export(ds, plan, store, out=tmp_path / "x.csv")
    assert not any(tmp_path.glob("*.csv")) and store.list_exports() == []


def test_no_channel_means_no_consent_filter(ds, data):
    plan = plan_export(ds, ALL, ExportOptions(), role=NONE)
    assert (plan.segment_size, plan.excluded_by_consent) == (N_USERS, 0)


# --- PII ------------------------------------------------------------------------------------------


def spreadsheet_safe(v: str) -> str:
    """The CSV formula-injection rule of issue 16, written out without regular expressions."""
    if not v:
        return v
    if v[0] in "=@\t\r":
        return "'" + v
    if v[0] in "+-":
        whole, _, fraction = v[1:].partition(".")
        plain = (
            whole.isascii() and whole.isdigit() and ("." not in v[1:] or (fraction.isascii() and fraction.isdigit()))
        )
        return v if plain else "'" + v
    return v


def _mask_by_hand(kind: str, v):
    """The masking rules of DOMAIN/privacy, written out independently."""
    if v is None:
        return ""
    if kind == "phone" and len(v) >= 10:
        return v[:3] + "****" + v[-4:]
    if kind == "email" and v.find("@") >= 1:
        return v[0] + "***@" + v[v.find("@") + 1 :]
    return "****" if len(v) < 5 else v[:2] + "****" + v[-2:]


def test_masking_is_exact_and_agrees_with_privacy_functions(ds, data, store, tmp_path):
    users = data[1].set_index("user_id")
    plan = plan_export(ds, ALL, ExportOptions(columns=("phone", "email", "openid", "city")), role=NONE)
    assert plan.pii_columns == ("phone", "email", "openid")
    written = _read_csv(write_export(ds, plan, store, out=tmp_path / "m.csv").path).set_index("user_id")
    assert len(written) == N_USERS
    for col in ("phone", "email", "openid"):
        raw = users[col].astype(object).where(users[col].notna(), None)
        by_hand = raw.map(lambda v, c=col: _mask_by_hand(c, v))
        by_privacy = raw.map(lambda v, c=col: mask_value(c, v) or "")
        assert (written[col] == by_hand.map(spreadsheet_safe)).all(), col  # e.g. "@nolocal.com" masked starts with @
        assert (by_hand == by_privacy).all(), col  # SQL and the pure function agree
    # raw phones never appear:
    raw_phones = set(users["phone"].dropna())
    assert not raw_phones & set(written["phone"])
    assert (written["city"] == users["city"]).all()  # non-PII untouched, Chinese text intact


def test_hashing_is_exact_sha256_of_trimmed_lowercase(ds, data, store, tmp_path):
    users = data[1].set_index("user_id")
    with pytest.raises(ExportError, match="pii"):
        plan_export(ds, ALL, ExportOptions(columns=("email",), pii_mode="hashed"), role=NONE)
    plan = plan_export(ds, ALL, ExportOptions(columns=("phone", "email"), pii_mode="hashed"), role=PII)
    written = _read_csv(write_export(ds, plan, store, out=tmp_path / "h.csv").path).set_index("user_id")

    def by_hand(v):
        if v is None:
            return ""
        text = v.strip(" \t\n\r\f\v").lower()
        return hashlib.sha256(text.encode()).hexdigest() if text else ""

    for col in ("phone", "email"):
        raw = users[col].astype(object).where(users[col].notna(), None)
        expected = raw.map(by_hand)
        assert (written[col] == expected).all(), col
        assert (expected == raw.map(lambda v: hash_value(v) or "")).all()  # Python twin agrees
    # the Mixed.Case e-mail, with blanks around, hashes as the plain lower-case address
    assert hash_value("  Mixed.Case@Mail.CN\t") == hashlib.sha256(b"mixed.case@mail.cn").hexdigest()


def test_raw_pii_needs_the_pii_role(ds, data, store, tmp_path):
    with pytest.raises(ExportError, match="needs the 'pii' role"):
        plan_export(ds, ALL, ExportOptions(columns=("phone",), pii_mode="raw"), role=NONE)
    plan = plan_export(ds, ALL, ExportOptions(columns=("phone",), pii_mode="raw"), role=PII)
    written = _read_csv(write_export(ds, plan, store, out=tmp_path / "r.csv").path)
    expected = data[1]["phone"].fillna("")
    # DuckDB's CSV writer quotes values with leading/trailing blanks; pandas reads them back as they were.
    assert list(written["phone"]) == list(expected)
    assert store.get_export(plan.export_id).pii_mode == "raw"


# --- holdout ------------------------------------------------------------------------------------


def test_holdout_share_within_binomial_tolerance_exact_and_deterministic(ds, data, store, tmp_path):
    users = data[1]
    consented = users[users["wechat_opt_in"]]["user_id"]
    share = 0.2
    plan = plan_export(ds, ALL, ExportOptions(channel="wechat", holdout=share), role=NONE)
    n = len(consented)
    low, high = binom.ppf(0.0005, n, share), binom.ppf(0.9995, n, share)
    assert low <= plan.holdout_rows <= high
    expected_holdout = _expected_holdout(plan.export_id, consented, share)
    assert plan.holdout_rows == len(expected_holdout)

    result = write_export(ds, plan, store, out=tmp_path / "hold.csv")
    written = set(_read_csv(result.path)["user_id"])
    assert written == set(consented) - expected_holdout
    assert result.rows_written == n - len(expected_holdout)
    # both groups recorded as an experiment named after the export: a Parquet file beside the app store,
    # its path and SHA-256 in the audit log
    holdout = store.holdout_file(plan.export_id)
    assert Path(holdout.path).parent == store.holdout_dir()
    assert hashlib.sha256(Path(holdout.path).read_bytes()).hexdigest() == holdout.sha256
    frame = pd.read_parquet(holdout.path)
    assert set(frame["experiment"]) == {plan.export_id} and holdout.rows == len(frame) == n
    recorded = dict(zip(frame["user_id"], frame["variant"], strict=True))
    assert {u for u, v in recorded.items() if v == "holdout"} == expected_holdout
    assert {u for u, v in recorded.items() if v == "target"} == written
    assert store.assignment_counts(plan.export_id) == {"holdout": len(expected_holdout), "target": len(written)}

    # the same export id gives the same split; another id gives another
    again = plan_export(ds, ALL, ExportOptions(channel="wechat", holdout=share), role=NONE, export_id=plan.export_id)
    assert again.holdout_rows == plan.holdout_rows
    other = plan_export(ds, ALL, ExportOptions(channel="wechat", holdout=share), role=NONE, export_id="exp-other")
    assert _expected_holdout("exp-other", consented, share) != expected_holdout
    assert other.holdout_rows == len(_expected_holdout("exp-other", consented, share))


def test_holdout_share_is_limited_to_half(ds):
    with pytest.raises(ExportError, match="0–50%"):
        plan_export(ds, ALL, ExportOptions(holdout=0.6), role=NONE)


# --- audit log and re-creation --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_recreated_file_has_the_logged_hash(ds, data, store, tmp_path, fmt):
    # refers to a saved segment that is edited after the export: the snapshot keeps the re-creation identical
    saved = store.save_segment("Shanghai", SEG)
    definition = {
        "conditions": [
            {"kind": "segment", "segment": saved.id, "op": "in"},
            {"kind": "attribute", "field": "age", "op": "lt", "value": 40},
        ]
    }
    options = ExportOptions(
        channel="sms", columns=("phone", "city", "rfm_class", "interest/food/baking"), format=fmt, bom=True, holdout=0.1
    )
    plan = plan_export(ds, definition, options, role=NONE, resolve=store.resolver())
    result = write_export(ds, plan, store, out=tmp_path / f"a.{fmt}")
    assert hashlib.sha256(Path(result.path).read_bytes()).hexdigest() == result.sha256
    record = store.get_export(plan.export_id)
    assert (record.status, record.sha256, record.rows_written) == ("succeeded", result.sha256, result.rows_written)
    assert (record.dataset_fingerprint, record.as_of, record.channel) == (ds.fingerprint, "2026-06-30", "sms")
    assert record.definition == parse_segment(definition).to_dict() and saved.id in record.segment_refs

    store.save_segment(None, {"conditions": []}, segment_id=saved.id)  # the saved segment now means "everyone"
    again = recreate_export(ds, store, plan.export_id, role=NONE, out=tmp_path / f"b.{fmt}")
    assert again.matches and again.sha256 == result.sha256
    assert Path(again.path).read_bytes() == Path(result.path).read_bytes()
    assert store.export_actions(plan.export_id)[0]["action"] == "recreate"


def test_csv_bom_is_the_first_bytes_only_when_asked(ds, store, tmp_path):
    with_bom = write_export(ds, plan_export(ds, SEG, ExportOptions(bom=True), role=NONE), store, out=tmp_path / "b.csv")
    without = write_export(ds, plan_export(ds, SEG, ExportOptions(bom=False), role=NONE), store, out=tmp_path / "n.csv")
    assert Path(with_bom.path).read_bytes().startswith(b"\xef\xbb\xbfuser_id\n")
    assert Path(without.path).read_bytes().startswith(b"user_id\n")
    assert Path(with_bom.path).read_bytes()[3:] == Path(without.path).read_bytes()


def test_recreate_refuses_changed_data(ds, data, store, tmp_path):
    plan = plan_export(ds, SEG, ExportOptions(), role=NONE)
    write_export(ds, plan, store, out=tmp_path / "x.csv")
    copy = tmp_path / "changed"
    write_dataset(
        copy,
        data[1].head(100),
        pd.DataFrame({"user_id": ["u00001"], "event": ["purchase"], "ts": [pd.Timestamp("2026-06-01")]}),
        toml=TOML,
    )
    other = open_dataset(copy, cache_dir=tmp_path / "cache")
    with pytest.raises(ExportError, match="changed since"):
        recreate_export(other, store, plan.export_id, role=NONE)
    other.close()


# --- failures -------------------------------------------------------------------------------------


class Crash(Exception):
    pass


@pytest.mark.parametrize("stage", ["writing", "hashing", "assignments", "finishing"])
def test_failure_mid_write_leaves_no_complete_file_and_no_success_row(ds, store, tmp_path, stage):
    out_dir = tmp_path / "out"

    def progress(at: str, fraction):
        if at == stage:
            raise Crash(f"injected failure while {at}")

    plan = plan_export(ds, ALL, ExportOptions(columns=("phone", "city"), holdout=0.1), role=NONE)
    with pytest.raises(ExportError, match="injected failure"):
        write_export(ds, plan, store, out=out_dir / "audience.csv", progress=progress)
    assert not out_dir.exists() or list(out_dir.iterdir()) == []  # neither the file nor a partial one
    record = store.get_export(plan.export_id)
    assert record.status == "failed" and "injected failure" in record.error
    assert store.assignment_counts(plan.export_id) == {}
    assert not store.holdout_dir().exists() or list(store.holdout_dir().iterdir()) == []


def test_interrupt_stops_the_copy_and_cleans_up(ds, store, tmp_path):
    def progress(at: str, fraction):
        raise KeyboardInterrupt

    plan = plan_export(ds, ALL, ExportOptions(), role=NONE)
    with pytest.raises(KeyboardInterrupt):
        write_export(ds, plan, store, out=tmp_path / "o" / "a.csv", progress=progress)
    assert not (tmp_path / "o").exists() or list((tmp_path / "o").iterdir()) == []
    assert store.get_export(plan.export_id).status == "failed"


def test_empty_segment_gives_a_message_and_no_file(ds, store, tmp_path):
    nobody = {"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Atlantis"}]}
    plan = plan_export(ds, nobody, ExportOptions(), role=NONE)
    assert plan.segment_size == 0 and "no members" in plan.empty_reason()
    with pytest.raises(EmptyExport, match="no members"):
        write_export(ds, plan, store, out=tmp_path / "e.csv")
    assert not (tmp_path / "e.csv").exists() and store.list_exports() == []


def test_refuses_to_write_inside_the_dataset_or_over_a_file(ds, data, store, tmp_path):
    plan = plan_export(ds, SEG, ExportOptions(), role=NONE)
    with pytest.raises(ExportError, match="inside the dataset"):
        write_export(ds, plan, store, out=data[0] / "audience.csv")
    (tmp_path / "taken.csv").write_text("keep me")
    with pytest.raises(ExportError, match="already exists"):
        write_export(ds, plan, store, out=tmp_path / "taken.csv")
    assert (tmp_path / "taken.csv").read_text() == "keep me"


def test_columns_resolve_attributes_models_and_tags_with_suggestions(ds, data, store, tmp_path):
    plan = plan_export(
        ds, ALL, ExportOptions(columns=("rfm", "aipl", "lifecycle", "interest/food/baking", "age")), role=NONE
    )
    assert [c.name for c in plan.columns] == [
        "user_id",
        "rfm_class",
        "aipl_stage",
        "lifecycle",
        "interest/food/baking",
        "age",
    ]
    written = _read_csv(write_export(ds, plan, store, out=tmp_path / "c.csv").path).set_index("user_id")
    tagged = set(data[1]["user_id"][::7])
    assert set(written.index[written["interest/food/baking"] == "true"]) == tagged
    assert (written["age"].astype(int) == data[1].set_index("user_id")["age"]).all()
    with pytest.raises(ExportError, match="Did you mean 'phone'"):
        plan_export(ds, ALL, ExportOptions(columns=("phne",)), role=NONE)


# --- roles ----------------------------------------------------------------------------------------


def test_role_from_env_then_secrets_then_none(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets.toml"
    monkeypatch.delenv("ADESK_ROLE", raising=False)
    assert current_role([secrets]).role == "none"
    secrets.write_text('role = "pii"\n')
    info = current_role([secrets])
    assert (info.role, info.source, info.pii_modes) == ("pii", str(secrets), ("masked", "raw", "hashed"))
    monkeypatch.setenv("ADESK_ROLE", "none")
    assert current_role([secrets]).role == "none"
    monkeypatch.setenv("ADESK_ROLE", "superuser")
    bad = current_role([secrets])
    assert bad.role == "none" and "superuser" in bad.problem and bad.pii_modes == ("masked",)


# --- CLI --------------------------------------------------------------------------------------------


def _adesk(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dashboard.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_cli_export_list_show_recreate(ds, data, tmp_path):
    root, users = data
    seg = tmp_path / "seg.json"
    seg.write_text(json.dumps(SEG))
    out = tmp_path / "cli.csv"
    run = _adesk(
        "export",
        str(root),
        "--segment",
        str(seg),
        "--out",
        str(out),
        "--channel",
        "sms",
        "--columns",
        "phone,city",
        "--holdout",
        "10%",
        "--json",
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert {"export_id", "rows_written", "excluded_by_consent", "holdout_rows", "sha256"} <= set(summary)
    members = _in(users, ["Shanghai", "上海"])
    consented = members[members["sms_opt_in"].fillna(False).astype(bool)]["user_id"]
    holdout = _expected_holdout(summary["export_id"], consented, 0.1)
    assert summary["excluded_by_consent"] == len(members) - len(consented)
    assert summary["holdout_rows"] == len(holdout)
    assert summary["rows_written"] == len(consented) - len(holdout) == len(_read_csv(out))
    assert summary["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()

    listed = json.loads(_adesk("exports", "list", "--json").stdout)
    assert [r["export_id"] for r in listed] == [summary["export_id"]]
    shown = _adesk("exports", "show", summary["export_id"])
    assert "city is one of" in shown.stdout and summary["sha256"] in shown.stdout
    again = _adesk("exports", "recreate", summary["export_id"], "--out", str(tmp_path / "again.csv"), "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["matches"] is True


def test_cli_empty_segment_and_bad_input(ds, data, tmp_path):
    root = data[0]
    seg = tmp_path / "nobody.json"
    seg.write_text(
        json.dumps({"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Atlantis"}]})
    )
    run = _adesk("export", str(root), "--segment", str(seg), "--out", str(tmp_path / "n.csv"))
    assert run.returncode == 1 and "no members" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "n.csv").exists()
    bad = _adesk("export", str(root), "--segment", str(seg), "--holdout", "0.7")
    assert bad.returncode == 2 and "0.5" in bad.stderr
    raw = _adesk("export", str(root), "--segment", str(seg), "--pii", "raw", env={"ADESK_ROLE": ""})
    assert raw.returncode == 2 and "pii" in raw.stderr and "Traceback" not in raw.stderr


def test_store_export_insert_lists_every_column():
    from core import store as store_module

    columns = store_module.INSERT_EXPORT.split("(")[1].split(")")[0]
    assert [c.strip() for c in columns.split(",")] == list(store_module.EXPORT_COLUMNS)


def test_parquet_export_reads_back(ds, data, store, tmp_path):
    plan = plan_export(ds, SEG, ExportOptions(format="parquet", columns=("city", "age")), role=NONE)
    result = write_export(ds, plan, store, out=tmp_path / "p.parquet")
    frame = pd.read_parquet(io.BytesIO(Path(result.path).read_bytes()))
    members = _in(data[1], ["Shanghai", "上海"]).sort_values("user_id")
    assert list(frame["user_id"]) == list(members["user_id"]) and list(frame["age"]) == list(members["age"])


def test_unknown_saved_segment_is_named(ds, store):
    from core.segments.model import SegmentError

    with pytest.raises(SegmentError, match="nope"):
        plan_export(
            ds,
            {"conditions": [{"kind": "segment", "segment": "nope", "op": "in"}]},
            ExportOptions(),
            role=NONE,
            resolve=store.resolver(),
        )


TRICKY = [
    {"conditions": [{"kind": "attribute", "field": "city", "op": "ne", "value": "Shanghai"}]},
    {
        "match": "any",
        "conditions": [
            {"kind": "attribute", "field": "age", "op": "lt", "value": 30},
            {"kind": "tag", "tag": "interest/food/baking", "op": "has"},
        ],
    },
    {
        "conditions": [
            {
                "kind": "group",
                "match": "any",
                "negate": True,
                "conditions": [
                    {"kind": "attribute", "field": "phone", "op": "is_null"},
                    {"kind": "attribute", "field": "sms_opt_in", "op": "eq", "value": True},
                ],
            },
            {"kind": "rfm", "op": "not_in", "values": ["none"]},
        ]
    },
    {
        "conditions": [
            {"kind": "attribute", "field": "email", "op": "contains", "value": "example"},
            {"kind": "event", "event": "purchase", "op": ">=", "count": 1, "within_days": 90},
        ]
    },
]


@pytest.mark.parametrize("definition", TRICKY, ids=range(len(TRICKY)))
def test_where_form_keeps_exactly_the_members(ds, data, definition):
    """Without the COALESCE wrappers (for row-group pruning) the export counts the builder's members."""
    from core.segments.operations import size

    for channel in (None, "sms"):
        plan = plan_export(ds, definition, ExportOptions(channel=channel), role=NONE)
        assert plan.segment_size == size(ds, parse_segment(definition)).count
        if channel:
            assert plan.segment_size - plan.excluded_by_consent == reach(ds, parse_segment(definition))["sms"].reachable
