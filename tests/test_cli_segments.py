"""`adesk count`, `adesk breakdown`, `adesk segments …` run in-process, as a script would use them."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from dashboard.cli import main
from tests.datasets import write_dataset
from tests.test_segment_operations import AS_OF, make_frames

SHANGHAI = {
    "version": 1,
    "match": "all",
    "conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Shanghai"}],
}
LEVEL = {"conditions": [{"kind": "attribute", "field": "member_level", "op": "gte", "value": 3}]}


@pytest.fixture(scope="module")
def frames():
    return make_frames()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, frames) -> Path:
    return write_dataset(tmp_path_factory.mktemp("cli") / "shop", *frames, toml=f'as_of = "{AS_OF}"\n')


def write(tmp_path: Path, obj: object, name: str = "segment.json") -> str:
    path = tmp_path / name
    if isinstance(obj, bytes):
        path.write_bytes(obj)
    else:
        path.write_text(obj if isinstance(obj, str) else json.dumps(obj), encoding="utf-8")
    return str(path)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- count ------------------------------------------------------------------------------------------


def test_count_json_fields(capsys, tmp_path, data_dir, frames) -> None:
    users = frames[0]
    code, out, err = run(capsys, "count", str(data_dir), "--segment", write(tmp_path, SHANGHAI), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == {"count", "total_users", "share", "as_of", "description"}
    expected = int((users["city"] == "Shanghai").sum())
    assert result["count"] == expected and result["total_users"] == len(users)
    assert result["share"] == pytest.approx(expected / len(users))
    assert result["as_of"] == AS_OF
    assert "Shanghai" in result["description"] and "city" in result["description"]


def test_count_reads_stdin_and_prints_a_sentence(capsys, monkeypatch, data_dir, frames) -> None:
    users = frames[0]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(LEVEL).encode())))
    code, out, err = run(capsys, "count", str(data_dir), "--segment", "-")
    assert code == 0, err
    expected = int((users["member_level"] >= 3).sum())
    assert out.splitlines()[0].startswith(f"{expected:,} of {len(users):,} users")
    assert "member_level" in out


def test_count_resolves_saved_segments_from_the_db(capsys, tmp_path, data_dir, frames) -> None:
    users = frames[0]
    db = str(tmp_path / "state" / "app.db")
    code, out, err = run(
        capsys,
        "segments",
        "save",
        "--name",
        "Shanghai",
        "--segment",
        write(tmp_path, SHANGHAI),
        "--db",
        db,
    )
    assert code == 0, err
    using = {
        "conditions": [
            {"kind": "segment", "op": "not_in", "segment": "shanghai"},
            LEVEL["conditions"][0],
        ]
    }
    code, out, err = run(
        capsys,
        "count",
        str(data_dir),
        "--segment",
        write(tmp_path, using, "using.json"),
        "--db",
        db,
        "--json",
    )
    assert code == 0, err
    expected = int(((users["city"] != "Shanghai") | users["city"].isna()).mul(users["member_level"] >= 3).sum())
    assert json.loads(out)["count"] == expected


# --- bad input -----------------------------------------------------------------------------------------

HOSTILE = {
    "malformed JSON": ('{"conditions": [', "not valid JSON"),
    "unknown key": (
        {"conditions": [{"kind": "attribute", "feild": "city", "op": "eq", "value": "x"}]},
        "feild",
    ),
    "unknown kind": ({"conditions": [{"kind": "atribute"}]}, "atribute"),
    "wrong type": ({"conditions": "city = Shanghai"}, "must be a list"),
    "not an object": ("[1, 2, 3]", "JSON object"),
    "deep nesting": ("[" * 100_000 + "]" * 100_000, "nested"),
    "binary": (b"\xff\xfe\x00PAR1\x00\x01", "not UTF-8"),
    "empty": ("   ", "empty"),
    "too large": ('{"conditions": []}' + " " * 1_100_000, "larger than"),
    "unknown field": (
        {"conditions": [{"kind": "attribute", "field": "cty", "op": "eq", "value": "x"}]},
        "'city'",
    ),
    "value of the wrong type": (
        {"conditions": [{"kind": "attribute", "field": "member_level", "op": "gt", "value": "three"}]},
        "member_level",
    ),
    "sql in a value": (
        {
            "conditions": [
                {
                    "kind": "attribute",
                    "field": "city'; drop table profile; --",
                    "op": "eq",
                    "value": "x",
                }
            ]
        },
        "unknown attribute",
    ),
    "unknown saved segment": (
        {"conditions": [{"kind": "segment", "op": "in", "segment": "nope"}]},
        "nope",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_bad_definitions_exit_2_with_a_message(capsys, tmp_path, data_dir, case: str) -> None:
    definition, needle = HOSTILE[case]
    code, out, err = run(capsys, "count", str(data_dir), "--segment", write(tmp_path, definition), "--json")
    assert code == 2
    assert out == ""
    assert needle in err
    assert err.startswith("adesk count: ") and "Traceback" not in err


def test_missing_segment_file_and_unusable_dataset(capsys, tmp_path, data_dir) -> None:
    code, _out, err = run(capsys, "count", str(data_dir), "--segment", str(tmp_path / "missing.json"))
    assert code == 2 and "does not exist" in err
    code, _out, err = run(capsys, "count", str(data_dir), "--segment", str(tmp_path))
    assert code == 2 and "directory" in err

    not_a_dataset = tmp_path / "empty-dir"
    not_a_dataset.mkdir()
    code, out, err = run(capsys, "count", str(not_a_dataset), "--segment", write(tmp_path, SHANGHAI))
    assert code == 1 and out == ""
    assert "cannot be used" in err and "users" in err and "Traceback" not in err


# --- breakdown --------------------------------------------------------------------------------------------


def test_breakdown_json(capsys, tmp_path, data_dir, frames) -> None:
    users = frames[0]
    code, out, err = run(
        capsys,
        "breakdown",
        str(data_dir),
        "--segment",
        write(tmp_path, LEVEL),
        "--by",
        "city",
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    in_segment = users["member_level"] >= 3
    assert result["by"] == "city" and result["segment_size"] == int(in_segment.sum())
    assert result["total_users"] == len(users)
    rows = {r["value"]: r for r in result["rows"]}
    for city, group in users.groupby(users["city"].fillna("(missing)")):
        row = rows[city]
        seg_count = int((group["member_level"] >= 3).sum())
        assert (row["count_in_segment"], row["count_in_base"]) == (seg_count, len(group))
        assert row["share_in_segment"] == pytest.approx(seg_count / in_segment.sum())
        assert row["share_in_base"] == pytest.approx(len(group) / len(users))
        assert row["index"] == pytest.approx(100 * (seg_count / in_segment.sum()) / (len(group) / len(users)))
    assert set(result["rows"][0]) >= {
        "value",
        "count_in_segment",
        "share_in_segment",
        "count_in_base",
        "share_in_base",
        "index",
    }

    code, out, err = run(capsys, "breakdown", str(data_dir), "--segment", write(tmp_path, LEVEL), "--by", "aipl")
    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines()[3:]] == ["A", "I", "P", "L", "none"]

    code, out, err = run(capsys, "breakdown", str(data_dir), "--segment", write(tmp_path, LEVEL), "--by", "cty")
    assert code == 2 and "'city'" in err and out == ""


# --- saved segments ---------------------------------------------------------------------------------------


def test_segments_save_list_show_versions_rename(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ADESK_USER", "ann")
    db = str(tmp_path / "app.db")
    code, out, err = run(
        capsys,
        "segments",
        "save",
        "--name",
        "Shanghai members",
        "--segment",
        write(tmp_path, SHANGHAI),
        "--db",
        db,
        "--json",
    )
    assert code == 0, err
    saved = json.loads(out)
    assert (saved["id"], saved["version"], saved["saved_by"]) == ("shanghai-members", 1, "ann")
    assert saved["definition"] == SHANGHAI

    code, out, err = run(
        capsys,
        "segments",
        "save",
        "--id",
        "shanghai-members",
        "--segment",
        write(tmp_path, LEVEL, "v2.json"),
        "--db",
        db,
    )
    assert code == 0 and "version 2" in out

    code, out, _ = run(capsys, "segments", "list", "--db", db, "--json")
    assert [(s["id"], s["name"], s["version"]) for s in json.loads(out)] == [
        ("shanghai-members", "Shanghai members", 2)
    ]

    # plain `show` prints only the definition, ready to pipe into --segment -
    code, out, _ = run(capsys, "segments", "show", "shanghai-members", "--version", "1", "--db", db)
    assert code == 0 and json.loads(out) == SHANGHAI
    code, out, _ = run(capsys, "segments", "show", "shanghai-members", "--db", db)
    assert json.loads(out)["conditions"] == LEVEL["conditions"]

    code, out, _ = run(capsys, "segments", "versions", "shanghai-members", "--db", db, "--json")
    assert [v["version"] for v in json.loads(out)] == [1, 2]

    code, out, _ = run(capsys, "segments", "rename", "shanghai-members", "--name", "SH", "--db", db, "--json")
    assert code == 0 and (json.loads(out)["id"], json.loads(out)["name"]) == (
        "shanghai-members",
        "SH",
    )

    code, _out, err = run(capsys, "segments", "show", "nope", "--db", db)
    assert code == 2 and "nope" in err
    code, _out, err = run(capsys, "segments", "save", "--segment", write(tmp_path, SHANGHAI), "--db", db)
    assert code == 2 and "--name" in err


def test_segments_delete_refused_while_referred_and_cycles_refused(capsys, tmp_path) -> None:
    db = str(tmp_path / "app.db")
    assert (
        run(
            capsys,
            "segments",
            "save",
            "--name",
            "Base",
            "--segment",
            write(tmp_path, SHANGHAI),
            "--db",
            db,
        )[0]
        == 0
    )
    user = {
        "conditions": [
            {
                "kind": "group",
                "match": "any",
                "conditions": [{"kind": "segment", "op": "in", "segment": "base"}],
            }
        ]
    }
    assert (
        run(
            capsys,
            "segments",
            "save",
            "--name",
            "User of base",
            "--segment",
            write(tmp_path, user, "user.json"),
            "--db",
            db,
        )[0]
        == 0
    )

    code, out, err = run(capsys, "segments", "delete", "base", "--db", db)
    assert code == 2 and out == ""
    assert "user-of-base" in err and "User of base" in err

    back = {"conditions": [{"kind": "segment", "op": "not_in", "segment": "user-of-base"}]}
    code, _out, err = run(
        capsys,
        "segments",
        "save",
        "--id",
        "base",
        "--segment",
        write(tmp_path, back, "back.json"),
        "--db",
        db,
    )
    assert (
        code == 2
        and "refers to itself through other saved segments: base → user-of-base → base" in err
        and "Traceback" not in err
    )

    assert run(capsys, "segments", "delete", "user-of-base", "--db", db)[0] == 0
    code, out, _ = run(capsys, "segments", "delete", "base", "--db", db)
    assert code == 0 and "base" in out
    code, out, _ = run(capsys, "segments", "list", "--db", db, "--json")
    assert json.loads(out) == []
    code, _out, err = run(capsys, "segments", "delete", "base", "--db", db)
    assert code == 2 and "no saved segment 'base'" in err


def test_segments_db_inside_a_dataset_is_refused(capsys, tmp_path, data_dir) -> None:
    code, _out, err = run(capsys, "segments", "list", "--db", str(data_dir / "app.db"))
    assert code == 2 and "inside the dataset directory" in err
    assert not (data_dir / "app.db").exists()


def test_frames_have_what_the_cli_tests_rely_on(frames) -> None:
    users = frames[0]
    # Guards the tests above against a fixture change that would make them vacuous.
    assert 0 < (users["city"] == "Shanghai").sum() < len(users)
    assert users["city"].isna().any()
