"""OpenTCO dashboard router: `streamlit run dashboard/streamlit_app.py`."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run` puts this file's folder on sys.path, not the repository root that holds the packages.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from dashboard.state import get_scenario  # noqa: E402

st.set_page_config(page_title="OpenTCO", page_icon=":material/savings:", layout="wide")
get_scenario()

_PAGES = Path(__file__).parent / "app_pages"
nav = st.navigation(
    {
        "Decide": [
            st.Page(_PAGES / "compare.py", title="Compare", icon=":material/compare_arrows:", default=True),
            st.Page(_PAGES / "builder.py", title="Scenario builder", icon=":material/tune:"),
            st.Page(_PAGES / "hardware_fit.py", title="Hardware fit", icon=":material/memory:"),
        ],
        "Ground it in facts": [
            st.Page(_PAGES / "usage_logs.py", title="Usage logs", icon=":material/receipt_long:"),
            st.Page(_PAGES / "measure.py", title="Measure", icon=":material/speed:"),
            st.Page(_PAGES / "business_case.py", title="Business case", icon=":material/request_quote:"),
        ],
    }
)
nav.run()
