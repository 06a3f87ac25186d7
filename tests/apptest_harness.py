"""Run dashboard pages in Streamlit's AppTest, and the CLI they must agree with."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard import cli

TIMEOUT = 90  # the first run may build the dataset cache


def _app(page: str) -> None:
    """The app's navigation with `page` as the landing page (AppTest cannot open callable pages by URL)."""
    import streamlit as st

    from dashboard import data_access
    from dashboard.views import aipl, builder, catalog, funnels, overview

    st.set_page_config(page_title="Audience Desk", layout="wide")
    data_access.lang()
    st.navigation(
        [
            st.Page(builder.main, title="builder", url_path="builder", default=page == "builder"),
            st.Page(catalog.main, title="catalog", url_path="catalog", default=page == "catalog"),
            st.Page(aipl.main, title="aipl", url_path="aipl", default=page == "aipl"),
            st.Page(funnels.main, title="funnels", url_path="funnels", default=page == "funnels"),
            st.Page(overview.main, title="overview", url_path="overview", default=page == "overview"),
        ]
    ).run()


def open_page(page: str, query: dict[str, str] | None = None, lang: str | None = None) -> AppTest:
    """The page after its first run (env ADESK_DATA names the dataset)."""
    at = AppTest.from_function(_app, args=(page,), default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if lang:
        at.session_state["lang"] = lang
    return at.run()


def cli_json(capsys, argv: list[str]) -> dict:
    """`adesk <argv> --json` run in-process; its parsed output."""
    capsys.readouterr()
    assert cli.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def cli_count(capsys, data_dir: Path, definition: dict, tmp_path: Path) -> dict:
    """What `adesk count DIR --segment FILE --json` reports for `definition`."""
    path = tmp_path / f"segment-{abs(hash(json.dumps(definition, sort_keys=True)))}.json"
    path.write_text(json.dumps(definition), encoding="utf-8")
    return cli_json(capsys, ["count", str(data_dir), "--segment", str(path)])


def metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}; metrics: {[m.label for m in at.metric]}"
    return found[0]


def texts(at: AppTest) -> str:
    """Every markdown, caption, error, warning and success text on the page."""
    parts = [
        e.value for kind in ("markdown", "caption", "error", "warning", "success", "info") for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def row_keys(at: AppTest) -> list[str]:
    """Keys of the builder's condition-kind selectors, one per row on screen."""
    return [w.key for w in at.selectbox if w.key and w.key.startswith("b-") and w.key.endswith("-kind")]


def table_with(at: AppTest, column: str):
    """The first dataframe on the page with a column named `column` (AppTest does not keep dataframe keys)."""
    for element in at.dataframe:
        frame = element.value
        if column in frame.columns:
            return frame
    raise AssertionError(f"no table with a column {column!r}")
