"""OpenTCO dashboard router: `streamlit run dashboard/streamlit_app.py`."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run` puts this file's folder on sys.path, not the repository root that holds the packages.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from dashboard.components.share import init_from_link, sync_address_bar  # noqa: E402
from dashboard.state import get_scenario  # noqa: E402

# Emoji icons only: a `:material/…:` page icon becomes the favicon, which the browser fetches from
# fonts.gstatic.com, and OpenTCO's browser must ask nothing of any host but the app (emoji favicons are
# inline SVG).
st.set_page_config(page_title="OpenTCO", page_icon="💰", layout="wide")
init_from_link()
get_scenario()

_PAGES = Path(__file__).resolve().parent / "app_pages"


def _page(file: str, title: str, icon: str, *, default: bool = False) -> st.Page:
    return st.Page(_PAGES / file, title=title, icon=icon, default=default)


nav = st.navigation(
    {
        "Decide": [
            _page("compare.py", "Compare", "⚖️", default=True),
            _page("builder.py", "Scenario builder", "🛠️"),
            _page("hardware_fit.py", "Hardware fit", "🧮"),
        ],
        "Ground it in facts": [
            _page("usage_logs.py", "Usage logs", "🧾"),
            _page("measure.py", "Measure", "⏱️"),
            _page("business_case.py", "Business case", "📊"),
        ],
    }
)
try:
    sync_address_bar(get_scenario())  # a change made in a callback: the address bar links to it at once
    nav.run()
finally:  # also after st.stop() or st.rerun(): a page that changed the scenario in its body
    sync_address_bar(get_scenario())
