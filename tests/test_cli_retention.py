"""`adesk retention`: the JSON the issue names, equal to the pandas oracle; bad input exits 2 with the reason."""

from __future__ import annotations

import json
from datetime import date

import pytest

from dashboard.cli import main
from tests.datasets import write_dataset
from tests.test_retention import AS_OF, _generated, oracle


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    users, events = _generated()
    root = write_dataset(tmp_path_factory.mktemp("cli") / "ds", users, events, toml=f'as_of = "{AS_OF}"\n')
    return root, users, events


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_matches_the_oracle(dataset, capsys, tmp_path):
    root, users, events = dataset
    seg = tmp_path / "seg.json"
    seg.write_text(json.dumps({"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Wuhan"}]}))
    code, out, err = _run(
        capsys,
        "retention",
        str(root),
        "--start",
        "purchase",
        "--return",
        "view",
        "--return-where",
        '[{"field": "channel", "op": "in", "values": ["app", "web"]}]',
        "--period",
        "week",
        "--from",
        "2026-02-01",
        "--to",
        "2026-06-30",
        "--mode",
        "on_or_after",
        "--segment",
        str(seg),
        "--json",
    )
    assert code == 0, err
    got = json.loads(out)
    assert set(got) == {"period", "mode", "cohorts", "mean"} and (got["period"], got["mode"]) == ("week", "on_or_after")
    table, mean = oracle(
        users,
        events,
        period="week",
        first=date(2026, 2, 1),
        last=date(2026, 6, 30),
        start="purchase",
        ret="view",
        ret_mask=lambda e: e.channel.isin(["app", "web"]),
        mode="on_or_after",
        members=set(users.user_id[users.city == "Wuhan"]),
    )
    assert [(c["cohort"], c["size"], c["retained"], c["complete"]) for c in got["cohorts"]] == [
        (start.isoformat(), size, retained, complete) for start, size, retained, complete in table
    ]
    assert got["mean"] == pytest.approx(mean)


def test_text_output_marks_incomplete_periods(dataset, capsys):
    root, _users, _events = dataset
    code, out, _err = _run(
        capsys,
        "retention",
        str(root),
        "--start",
        "signup",
        "--period",
        "month",
        "--from",
        "2026-04-01",
        "--to",
        "2026-06-30",
    )
    assert code == 0 and "2026-06-01" in out and "*" in out and "mean" in out


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        (["--period", "day"], "--period must be week or month"),
        (["--mode", "after"], "--mode must be on or on_or_after"),
        (["--from", "2026-13-01"], "--from '2026-13-01' is not a date"),
        (["--start", "purchse"], "unknown event 'purchse'"),
        (["--return", "vieww"], "unknown event 'vieww'"),
        (["--start-where", "[{]"], "not valid JSON"),
        (["--return-where", '[{"field": "chanel", "op": "eq", "value": "app"}]'], "unknown event property 'chanel'"),
        (
            ["--start", "signup", "--start-where", '[{"field": "channel", "op": "eq", "value": "app"}]'],
            "start filters apply to a start event",
        ),
        (["--from", "2026-06-01", "--to", "2026-05-01"], "after it ends"),
        (["--segment", "/nonexistent.json"], "does not exist"),
    ],
)
def test_bad_input_exits_2_with_the_reason(dataset, capsys, flags, reason):
    root, _users, _events = dataset
    base = {"--start": "signup", "--period": "month", "--from": "2026-01-01", "--to": "2026-05-31"}
    args = ["retention", str(root)]
    for key, value in {**base, **dict(zip(flags[::2], flags[1::2], strict=True))}.items():
        args += [key, value]
    code, _out, err = _run(capsys, *args, "--json")
    assert code == 2 and reason in err and "Traceback" not in err
