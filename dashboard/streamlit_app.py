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
from dashboard.components.team import current_user, require_sign_in  # noqa: E402
from dashboard.state import get_scenario  # noqa: E402

# The favicon is an emoji: a `:material/…:` favicon is an SVG the browser fetches from fonts.gstatic.com, and
# OpenTCO's browser asks nothing of any host but the app (an emoji favicon is inline SVG). Page and button
# icons may stay `:material/…:`: they are drawn with the font Streamlit serves itself.
st.set_page_config(page_title="OpenTCO", page_icon="💰", layout="wide")
require_sign_in()  # sign-in on (`[auth]` in secrets.toml): stops here until signed in with a workspace
init_from_link()
get_scenario()

_PAGES = Path(__file__).resolve().parent / "app_pages"


def _page(file: str, title: str, icon: str, *, default: bool = False) -> st.Page:
    return st.Page(_PAGES / file, title=title, icon=icon, default=default)


_admin = (user := current_user()) is not None and user.admin
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
        **({"Team": [_page("admin.py", "Audit & imports", ":material/admin_panel_settings:")]} if _admin else {}),
    }
)
try:
    sync_address_bar(get_scenario())  # a change made in a callback: the address bar links to it at once
    nav.run()
finally:  # also after st.stop() or st.rerun(): a page that changed the scenario in its body
    sync_address_bar(get_scenario())
