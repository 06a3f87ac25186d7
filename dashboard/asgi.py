"""The dashboard as an ASGI app: dashboard/app.py plus the streamed export-download route.

`streamlit run dashboard/asgi.py` (what `adesk serve` runs) detects the `st.App`
below and serves it with uvicorn; `uvicorn dashboard.asgi:app` works too. See
dashboard/downloads.py for why downloads need their own route.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import downloads

app = st.App(str(Path(__file__).resolve().parent / "app.py"), routes=downloads.routes())
