"""`validate_dataset` and `adesk validate` on small real datasets written into tmp_path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.problems import Problem, ValidationReport
from core.validate import format_report, table_files, validate_dataset
from dashboard.cli import main

# ---------------------------------------------------------------------------
# helpers


def write(df: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False)
    return path


def users_df(n: int = 5) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "signup_at": pd.date_range("2025-01-01", periods=n, freq="D"),
            "city": ["Shanghai", "Beijing", "Shanghai", "Hangzhou", "Beijing"][:n] + ["x"] * max(0, n - 5),
        }
    )


def events_df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": ["u0", "u1", "u1", "u2", "u4"],
            "event": ["product_view", "purchase", "product_view", "purchase", "add_to_cart"],
            "ts": pd.to_datetime(
                [
                    "2026-05-01 10:00",
                    "2026-05-02 11:00",
                    "2026-05-03 12:00",
                    "2026-06-01 09:00",
                    "2026-06-02 08:00",
                ]
            ),
            "amount": [None, 99.5, None, 20.0, None],
        }
    )


def clean_dataset(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write(users_df(), root / "users.parquet")
    write(events_df(), root / "events.parquet")
    return root


def find(
    report: ValidationReport,
    *,
    file: str | None = None,
    column: str | None = None,
    severity: str | None = None,
    words: tuple[str, ...] = (),
) -> list[Problem]:
    """Problems matching every given criterion (words: case-insensitive, in message + fix)."""
    out = []
    for p in report.problems:
        text = f"{p.message} {p.fix}".lower()
        if file is not None and p.file != file:
            continue
        if column is not None and p.column != column:
            continue
        if severity is not None and p.severity != severity:
            continue
        if all(w.lower() in text for w in words):
            out.append(p)
    return out


def one(report: ValidationReport, **criteria) -> Problem:
    found = find(report, **criteria)
    assert len(found) == 1, f"expected one problem matching {criteria}, got:\n{format_report(report)}"
    return found[0]


# ---------------------------------------------------------------------------
# dataset level


def test_clean_dataset_is_usable_with_no_problems(tmp_path):
    report = validate_dataset(clean_dataset(tmp_path / "ds"))
    assert report.problems == ()
    assert report.usable
    assert format_report(report) == "0 errors, 0 warnings — usable"


def test_missing_directory_and_file_instead_of_directory(tmp_path):
    report = validate_dataset(tmp_path / "nope")
    assert not report.usable
    assert "not found" in one(report, severity="error").message

    f = tmp_path / "file.txt"
    f.write_text("x")
    report = validate_dataset(f)
    assert not report.usable
    assert "not a dataset directory" in one(report, severity="error").message


def test_missing_users_table_suggests_a_misnamed_file(tmp_path):
    root = tmp_path / "ds"
    write(users_df(), root / "user.parquet")
    write(events_df(), root / "events.parquet")
    report = validate_dataset(root)
    assert not report.usable
    p = one(report, file="users.parquet", severity="error", words=("required table 'users' is missing",))
    assert "user.parquet" in p.fix and "users.parquet" in p.fix
    # the stray file itself is named as ignored
    one(report, file="user.parquet", severity="warning", words=("ignored",))
    # events are still checked: the whole report, not just the first problem
    assert not find(report, file="events.parquet", severity="error")


def test_missing_events_table(tmp_path):
    root = tmp_path / "ds"
    write(users_df(), root / "users.parquet")
    report = validate_dataset(root)
    one(report, file="events.parquet", severity="error", words=("required table 'events' is missing",))


def test_empty_table_folder_is_an_error(tmp_path):
    root = tmp_path / "ds"
    write(users_df(), root / "users.parquet")
    (root / "events").mkdir()
    (root / "events" / "_SUCCESS").write_text("")
    report = validate_dataset(root)
    one(report, file="events/", severity="error", words=("no .parquet files",))


def test_table_given_twice_is_an_error(tmp_path):
    root = clean_dataset(tmp_path / "ds")
    write(users_df(), root / "users" / "part-0.parquet")
    report = validate_dataset(root)
    one(report, file="users/", severity="error", words=("given twice", "users.parquet", "users/"))


# ---------------------------------------------------------------------------
# unreadable files


def test_random_bytes_parquet_is_reported_and_other_checks_continue(tmp_path):
    root = tmp_path / "ds"
    write(users_df(), root / "users.parquet")
    write(events_df(), root / "events" / "part-0.parquet")
    (root / "events" / "part-1.parquet").write_bytes(np.random.default_rng(0).bytes(4096))
    # a second, unrelated problem must be reported too
    write(pd.DataFrame({"tag": [1, 2]}), root / "tag_catalog.parquet")
    report = validate_dataset(root)
    p = one(report, file="events/part-1.parquet", severity="error")
    assert "not a readable parquet file" in p.message.lower()
    assert "re-export" in p.fix.lower()
    one(report, file="tag_catalog.parquet", column="tag", severity="error", words=("int64", "string"))
    # the readable part is still checked (and it is clean)
    assert not find(report, file="events/part-0.parquet")


def test_truncated_parquet_is_reported(tmp_path):
    root = clean_dataset(tmp_path / "ds")
    data = (root / "users.parquet").read_bytes()
    (root / "users.parquet").write_bytes(data[: len(data) // 2])
    report = validate_dataset(root)
    assert not report.usable
    p = one(report, file="users.parquet", severity="error")
    assert "not a readable parquet file" in p.message.lower() and "re-export" in p.fix.lower()


def test_damaged_data_with_intact_footer_is_reported_not_raised(tmp_path):
    root = clean_dataset(tmp_path / "ds")
    n = 20_000
    path = write(pd.DataFrame({"user_id": [f"user-{i:08d}" for i in range(n)]}), root / "users.parquet")
    # rewrite with no compression so the ids are plain bytes we can damage, footer untouched
    pd.read_parquet(path).to_parquet(path, index=False, compression=None)
    data = bytearray(path.read_bytes())
    data[1000 : len(data) // 2] = b"\xab" * (len(data) // 2 - 1000)
    path.write_bytes(bytes(data))
    report = validate_dataset(root)
    assert not report.usable
    p = one(report, file="users.parquet", severity="error")
    assert "could not be read" in p.message and "re-export" in p.fix.lower()


def test_empty_file_is_reported(tmp_path):
    root = clean_dataset(tmp_path / "ds")
    (root / "events.parquet").write_bytes(b"")
    report = validate_dataset(root)
    one(report, file="events.parquet", severity="error", words=("not a readable parquet file",))


# ---------------------------------------------------------------------------
# dataset.toml


def config_report(tmp_path, toml: str) -> ValidationReport:
    """Validate a clean dataset whose dataset.toml is `toml`."""
    root = clean_dataset(tmp_path / "ds")
    (root / "dataset.toml").write_text(toml)
    return validate_dataset(root)


def test_config_typos_name_the_key_and_suggest_the_right_one(tmp_path):
    report = config_report(tmp_path, 'purchse_event = "x"\n\n[rfm]\nwindo_days = 90\n')
    assert not report.usable
    p = one(report, file="dataset.toml", column="purchse_event", severity="error")
    assert "'purchse_event'" in p.message and "'purchase_event'" in p.fix
    p = one(report, file="dataset.toml", column="rfm.windo_days", severity="error")
    assert "windo_days" in p.message and "'window_days'" in p.fix


def test_config_unknown_time_zone_suggests_the_closest(tmp_path):
    report = config_report(tmp_path, 'timezone = "Asia/Shangai"\n')
    assert not report.usable
    p = one(report, file="dataset.toml", column="timezone", severity="error")
    assert "'Asia/Shangai' is not a time zone" in p.message and "'Asia/Shanghai'" in p.message
    assert "IANA" in p.fix


def test_config_wrong_type(tmp_path):
    report = config_report(tmp_path, '[lifecycle]\nnew_days = "thirty"\n')
    p = one(report, file="dataset.toml", column="lifecycle.new_days", severity="error")
    assert "whole number" in p.message


def test_configured_purchase_event_that_never_occurs_is_a_warning(tmp_path):
    root = tmp_path / "ds"
    write(users_df(), root / "users.parquet")
    ev = events_df()
    ev["event"] = ev["event"].replace({"purchase": "order_paid"})
    write(ev, root / "events.parquet")
    (root / "dataset.toml").write_text('purchase_event = "order_payed"\n')
    report = validate_dataset(root)
    assert report.usable
    p = one(report, file="dataset.toml", column="purchase_event", severity="warning")
    assert "'order_payed'" in p.message and "never occurs" in p.message
    assert "'order_paid'" in p.fix
    # the check needs a pass over events: deep=False leaves it out, usability unchanged
    shallow = validate_dataset(root, deep=False)
    assert shallow.usable and not find(shallow, column="purchase_event")


def test_configured_privacy_columns_missing_from_users(tmp_path):
    root = clean_dataset(tmp_path / "ds")
    users = users_df().assign(phone="138", sms_opt_in=True)
    write(users, root / "users.parquet")
    (root / "dataset.toml").write_text(
        '[privacy]\npii_columns = ["phone", "mobile"]\nconsent = { sms = "sms_opt_in", email = "emial_opt_in" }\n'
    )
    report = validate_dataset(root)
    assert report.usable
    pii = one(report, column="privacy.pii_columns", severity="warning")
    assert "'mobile'" in pii.message and "'phone'" not in pii.message
    consent = one(report, column="privacy.consent", severity="warning")
    assert "'emial_opt_in'" in consent.message and "'sms_opt_in'" not in consent.message


def test_default_privacy_columns_absent_are_not_reported(tmp_path):
    # users_df has no phone/openid/email columns; nothing configured -> nothing to say
    report = validate_dataset(clean_dataset(tmp_path / "ds"))
    assert not find(report, file="dataset.toml")


def test_experiments_without_assignments_is_a_warning(tmp_path):
    root = clean_dataset(tmp_path / "ds")
    (root / "dataset.toml").write_text('[experiments.valentine_push]\ncontrol = "A"\n')
    report = validate_dataset(root)
    assert report.usable
    one(report, column="experiments", severity="warning", words=("valentine_push", "assignments"))


# ---------------------------------------------------------------------------
# columns and types


def test_missing_column_suggests_the_close_name(tmp_path):
    root = clean_dataset(tmp_path / "ds")
    write(users_df().rename(columns={"user_id": "userid"}), root / "users.parquet")
    report = validate_dataset(root)
    assert not report.usable
    p = one(report, file="users.parquet", column="user_id", severity="error")
    assert "required column 'user_id' is missing" in p.message
    assert "did you mean 'userid'" in p.fix.lower() and "rename it to 'user_id'" in p.fix.lower()


def test_missing_column_with_other_case(tmp_path):
    root = clean_dataset(tmp_path / "ds")
    write(events_df().rename(columns={"ts": "TS"}), root / "events.parquet")
    report = validate_dataset(root)
    p = one(report, file="events.parquet", column="ts", severity="error")
    assert "'TS'" in p.fix
    one(report, file="events.parquet", column="TS", severity="warning", words=("snake_case", "'ts'"))


def test_integer_user_id_is_an_error(tmp_path):
    root = tmp_path / "ds"
    write(pd.DataFrame({"user_id": [1, 2, 3]}), root / "users.parquet")
    write(events_df(), root / "events.parquet")
    report = validate_dataset(root)
    assert not report.usable
    p = one(report, file="users.parquet", column="user_id", severity="error")
    assert "int64" in p.message and "cast it to string" in p.fix.lower()


def test_null_and_duplicate_user_ids_are_counted(tmp_path):
    root = tmp_path / "ds"
    ids = ["a", "b", "b", None, "c", "c", "c", "d", None, "e", "e", "f", "f", "g"]
    users = pd.DataFrame({"user_id": ids})
    write(users, root / "users.parquet")
    write(events_df().assign(user_id="a"), root / "events.parquet")
    report = validate_dataset(root)
    assert not report.usable

    # independent computation
    nulls = int(users["user_id"].isna().sum())
    counts = users["user_id"].dropna().value_counts()
    dups = sorted(counts[counts > 1].index)
    dup_rows = int(counts[counts > 1].sum())

    p = one(report, file="users.parquet", column="user_id", words=("no user_id",))
    assert p.message.startswith(f"{nulls} rows ")
    p = one(report, file="users.parquet", column="user_id", words=("more than once",))
    assert p.message.startswith(f"{len(dups)} user_ids appear more than once ({dup_rows} rows)")
    assert all(f"'{d}'" in p.message for d in dups[:3])
    assert f"'{dups[3]}'" not in p.message  # at most three examples


def test_parseable_text_timestamps_are_a_warning(tmp_path):
    root = clean_dataset(tmp_path / "ds")
    ev = events_df()
    ev["ts"] = ev["ts"].dt.strftime("%Y-%m-%d %H:%M:%S")
    write(ev, root / "events.parquet")
    report = validate_dataset(root)
    assert report.usable
    p = one(report, file="events.parquet", column="ts", severity="warning")
    assert "stored as text" in p.message and "parsed" in p.message


def test_unparseable_text_timestamps_are_an_error_with_count_and_examples(tmp_path):
    root = clean_dataset(tmp_path / "ds")
    bad = ["yesterday", "31/02/2026", "not a date", "tomorrow"]
    good = ["2026-05-01 10:00:00", "2026-05-02"]
    values = good + bad + [None]
    ev = pd.DataFrame({"user_id": ["u1"] * len(values), "event": ["purchase"] * len(values), "ts": values})
    write(ev, root / "events.parquet")
    report = validate_dataset(root)
    assert not report.usable
    p = one(report, file="events.parquet", column="ts", severity="error")
    non_null = sum(v is not None for v in values)
    assert f"{len(bad)} values of {non_null} cannot be read as a timestamp" in p.message
    shown = [b for b in bad if f"'{b}'" in p.message]
    assert shown == sorted(bad)[:3]


def test_text_signup_at_in_users_is_checked_too(tmp_path):
    root = clean_dataset(tmp_path / "ds")
    write(
        users_df().assign(signup_at=["2025-01-01", "soon", "2025-01-03", "2025-01-04", "2025-01-05"]),
        root / "users.parquet",
    )
    report = validate_dataset(root)
    p = one(report, file="users.parquet", column="signup_at", severity="error")
    assert "1 value of 5" in p.message and "'soon'" in p.message


def test_numeric_ts_amount_text_and_event_not_string(tmp_path):
    root = clean_dataset(tmp_path / "ds")
    ev = events_df()
    ev["ts"] = np.arange(len(ev), dtype="int64") + 1_780_000_000
    ev["amount"] = ["1", "2", "3", "4", "5"]
    ev["event"] = np.arange(len(ev))
    write(ev, root / "events.parquet")
    report = validate_dataset(root)
    assert "unit='s'" in one(report, column="ts", severity="error", words=("timestamp or a date",)).fix
    one(report, column="amount", severity="error", words=("must be numeric",))
    one(report, column="event", severity="error", words=("must be text",))


def test_column_naming(tmp_path):
    root = clean_dataset(tmp_path / "ds")
    write(users_df().assign(**{"Member Level": 1, "_score": 2.0}), root / "users.parquet")
    write(events_df().assign(_campaign="x"), root / "events.parquet")
    report = validate_dataset(root)
    assert "'member_level'" in one(report, column="Member Level", severity="warning").fix
    p = one(report, file="users.parquet", column="_score", severity="error")
    assert "reserved" in p.message and "rename" in p.fix.lower()
    # '_' is only reserved in users; elsewhere it is just not snake_case
    one(report, file="events.parquet", column="_campaign", severity="warning")


def test_tag_catalog_unknown_enum_values_are_warnings(tmp_path):
    root = clean_dataset(tmp_path / "ds")
    write(
        pd.DataFrame({"tag": ["a/b", "a/c"], "source": ["fact", "ml"], "status": ["active", "deprecated"]}),
        root / "tag_catalog.parquet",
    )
    report = validate_dataset(root)
    assert report.usable
    p = one(report, file="tag_catalog.parquet", column="source", severity="warning")
    assert "'ml'" in p.message and "'fact'" not in p.message
    assert not find(report, column="status")


# ---------------------------------------------------------------------------
# several files per table


def test_inconsistent_types_across_parts_name_both_files(tmp_path):
    root = tmp_path / "ds"
    write(users_df(), root / "users.parquet")
    ev = events_df()
    write(ev.iloc[:3], root / "events" / "part-0.parquet")
    write(ev.iloc[3:].assign(ts=ev["ts"].iloc[3:].dt.strftime("%Y-%m-%d")), root / "events" / "part-1.parquet")
    report = validate_dataset(root)
    assert not report.usable
    p = one(report, column="ts", severity="error")
    assert p.file == "events/part-1.parquet"
    assert "events/part-0.parquet" in p.message and "timestamp" in p.message and "string" in p.message


def test_required_column_missing_from_one_part(tmp_path):
    root = tmp_path / "ds"
    write(users_df(), root / "users.parquet")
    ev = events_df()
    write(ev.iloc[:3], root / "events" / "a.parquet")
    write(ev.iloc[3:].drop(columns=["event"]), root / "events" / "b.parquet")
    report = validate_dataset(root)
    p = one(report, column="event", severity="error")
    assert p.file == "events/b.parquet" and "events/a.parquet" in p.message


def test_hive_partitions_are_fine(tmp_path):
    root = tmp_path / "ds"
    write(users_df(), root / "users.parquet")
    ev = events_df()
    may, june = ev[ev["ts"].dt.month == 5], ev[ev["ts"].dt.month == 6]
    write(may, root / "events" / "month=2026-05" / "part-0.parquet")
    write(june, root / "events" / "month=2026-06" / "part-0.parquet")
    (root / "events" / "_SUCCESS").write_text("")
    write(
        pd.DataFrame({"user_id": ["u1"], "tag": ["interest/baking"]}),
        root / "tags" / "dt=2026-05-01" / "x.parquet",
    )
    report = validate_dataset(root)
    assert report.problems == (), format_report(report)


def test_mixed_partition_layout_is_an_error(tmp_path):
    root = tmp_path / "ds"
    write(users_df(), root / "users.parquet")
    ev = events_df()
    write(ev.iloc[:3], root / "events" / "month=2026-05" / "part-0.parquet")
    write(ev.iloc[3:], root / "events" / "loose.parquet")
    report = validate_dataset(root)
    p = one(report, severity="error", words=("folder layout",))
    assert {
        p.file,
        *[w for w in ("events/month=2026-05/part-0.parquet", "events/loose.parquet") if w in p.message],
    } == {
        "events/month=2026-05/part-0.parquet",
        "events/loose.parquet",
    }


def test_table_files_lists_each_table(tmp_path):
    root = tmp_path / "ds"
    write(users_df(), root / "users.parquet")
    b = write(events_df(), root / "events" / "month=2026-06" / "p.parquet")
    a = write(events_df(), root / "events" / "month=2026-05" / "p.parquet")
    write(events_df(), root / "events" / ".hidden" / "p.parquet")
    write(events_df(), root / "events" / "_temporary" / "p.parquet")
    (root / "events" / "notes.txt").write_text("")
    spark = write(pd.DataFrame({"tag": ["x"]}), root / "tag_catalog.parquet" / "part-00000.snappy.parquet")
    files = table_files(root)
    assert files == {"users": [root / "users.parquet"], "events": [a, b], "tag_catalog": [spark]}


# ---------------------------------------------------------------------------
# events of unknown users


def test_events_of_unknown_users_are_counted_exactly(tmp_path):
    rng = np.random.default_rng(7)
    root = tmp_path / "ds"
    users = pd.DataFrame({"user_id": [f"u{i}" for i in range(50)]})
    n = 2000
    events = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in rng.integers(0, 80, n)],
            "event": rng.choice(["purchase", "product_view"], n),
            "ts": pd.Timestamp("2026-05-01") + pd.to_timedelta(rng.integers(0, 86400 * 30, n), unit="s"),
        }
    )
    events.loc[rng.choice(n, 7, replace=False), "user_id"] = None
    write(users, root / "users.parquet")
    write(events.iloc[:1000], root / "events" / "part-0.parquet")
    write(events.iloc[1000:], root / "events" / "part-1.parquet")

    known = events["user_id"].isin(set(users["user_id"]))
    unknown = events[~known & events["user_id"].notna()]
    report = validate_dataset(root)
    assert report.usable
    p = one(report, file="events/", column="user_id", severity="warning", words=("not in users",))
    assert p.message.startswith(
        f"{len(unknown):,} events belong to {unknown['user_id'].nunique()} user_ids not in users"
    )
    assert all(f"'{u}'" in p.message for u in sorted(unknown["user_id"].unique())[:3])
    p = one(report, file="events/", column="user_id", severity="warning", words=("no user_id",))
    assert p.message.startswith("7 events have no user_id")

    shallow = validate_dataset(root, deep=False)
    assert not find(shallow, column="user_id")


# ---------------------------------------------------------------------------
# output and CLI


def test_format_report_lines(tmp_path):
    root = clean_dataset(tmp_path / "ds")
    (root / "events.parquet").write_bytes(os.urandom(64))
    write(users_df().rename(columns={"city": "City"}), root / "users.parquet")
    lines = format_report(validate_dataset(root)).splitlines()
    assert lines[0].startswith("ERROR  events.parquet: is not a readable Parquet file")
    assert " Fix: Re-export" in lines[0]
    assert lines[1].startswith("WARNING  users.parquet [City]: ")
    assert lines[-1] == "1 error, 1 warning — not usable"


def test_cli_clean_dataset_exits_0(tmp_path, capsys):
    root = clean_dataset(tmp_path / "ds")
    assert main(["validate", str(root)]) == 0
    assert capsys.readouterr().out.strip().endswith("0 errors, 0 warnings — usable")


def test_cli_warnings_only_exits_0_and_errors_exit_1(tmp_path, capsys):
    root = clean_dataset(tmp_path / "ds")
    write(users_df().rename(columns={"city": "City"}), root / "users.parquet")
    assert main(["validate", str(root)]) == 0
    assert "WARNING  users.parquet [City]" in capsys.readouterr().out

    write(pd.DataFrame({"user_id": ["a", "a"]}), root / "users.parquet")
    assert main(["validate", str(root)]) == 1
    out = capsys.readouterr().out
    assert "ERROR  users.parquet [user_id]" in out and out.strip().endswith("not usable")


def test_cli_json(tmp_path, capsys):
    root = clean_dataset(tmp_path / "ds")
    write(pd.DataFrame({"user_id": [1, 2]}), root / "users.parquet")
    assert main(["validate", str(root), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["dataset"] == str(root) and data["usable"] is False
    assert [(e["file"], e["column"], e["severity"]) for e in data["errors"]] == [("users.parquet", "user_id", "error")]
    assert "cast it to string" in data["errors"][0]["fix"].lower()
    assert data["warnings"] == []


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_nonexistent_dir_exits_1_with_a_message(tmp_path, capsys, as_json):
    missing = tmp_path / "no_such_dataset"
    assert main(["validate", str(missing), *(["--json"] if as_json else [])]) == 1
    out = capsys.readouterr().out
    assert str(missing) in out and "not found" in out


def test_expected_split_must_be_numbers(tmp_path):
    from core.config import load_config

    (tmp_path / "dataset.toml").write_text('[experiments.x]\nexpected_split = { A = "half", B = 0.5 }\n')
    _, problems = load_config(tmp_path)
    assert len(problems) == 1
    assert problems[0].column == "experiments.x.expected_split.A" and "between 0 and 1" in problems[0].message
