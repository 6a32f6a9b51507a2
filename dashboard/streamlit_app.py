"""OpenTCO dashboard router: `streamlit run dashboard/streamlit_app.py`."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run` puts this file's folder on sys.path, not the repository root that holds the packages.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from dashboard.components.share import init_from_link  # noqa: E402
from dashboard.state import get_scenario  # noqa: E402

st.set_page_config(page_title="OpenTCO", page_icon=":material/savings:", layout="wide")
init_from_link()
get_scenario()

_PAGES = Path(__file__).resolve().parent / "app_pages"


def _page(file: str, title: str, icon: str, *, default: bool = False) -> st.Page:
    return st.Page(_PAGES / file, title=title, icon=icon, default=default)


nav = st.navigation(
    {
        "Decide": [
            _page("compare.py", "Compare", ":material/compare_arrows:", default=True),
            _page("builder.py", "Scenario builder", ":material/tune:"),
            _page("hardware_fit.py", "Hardware fit", ":material/memory:"),
        ],
        "Ground it in facts": [
            _page("usage_logs.py", "Usage logs", ":material/receipt_long:"),
            _page("measure.py", "Measure", ":material/speed:"),
            _page("quality.py", "Quality", ":material/fact_check:"),
            _page("business_case.py", "Business case", ":material/request_quote:"),
        ],
    }
)
nav.run()
