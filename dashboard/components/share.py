"""The shareable link: a preset plus the key inputs executives move, in the URL's query string.

`?preset=api-bill-10k-50k&requests=5000000&growth=3&share=0.7&plan=spot` opens the dashboard on that
preset with those inputs. Anything else (builder edits, an uploaded file) travels as the scenario JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from costmodel.demo import PRESETS, preset
from costmodel.errors import CostModelError, ScenarioError
from costmodel.scenario import PricePlan, Scenario
from dashboard.components.edits import (
    open_share,
    price_plan,
    with_growth,
    with_open_share,
    with_price_plan,
    with_volume,
)
from dashboard.components.engine import checked
from dashboard.components.text import md
from dashboard.state import flash, set_preset, set_scenario

__all__ = ["KEYS", "init_from_link", "scenario_from_params", "share_params", "share_url", "sync_address_bar"]

KEYS = ("preset", "requests", "growth", "share", "plan")


def share_params(scenario: Scenario, stem: str) -> dict[str, str]:
    """Query parameters that rebuild `scenario`'s key inputs on top of the preset `stem`."""
    w = scenario.workload
    params = {"preset": stem, "requests": f"{w.requests_per_month:.15g}", "growth": f"{w.monthly_growth_pct:.15g}"}
    share = open_share(scenario)
    if share is not None:
        params["share"] = f"{share:.9g}"
    plan = price_plan(scenario)
    if plan is not None:
        params["plan"] = plan.value
    return params


def _number(params: Mapping[str, str], key: str) -> float:
    try:
        return float(params[key])
    except ValueError:
        raise ScenarioError(f"link: {key}={params[key]!r} is not a number") from None


def scenario_from_params(params: Mapping[str, str]) -> Scenario:
    """The scenario a shared link describes; bad values raise `ScenarioError` naming the parameter."""
    stem = params["preset"]
    if stem not in PRESETS.values():
        raise ScenarioError(f"link: unknown preset {stem!r}; use one of {', '.join(PRESETS.values())}")
    scenario = preset(stem)
    if "requests" in params:
        scenario = with_volume(scenario, _number(params, "requests"))
    if "growth" in params:
        scenario = with_growth(scenario, _number(params, "growth"))
    if "share" in params and open_share(scenario) is not None:
        scenario = with_open_share(scenario, _number(params, "share"))
    if "plan" in params and price_plan(scenario) is not None:
        try:
            plan = PricePlan(params["plan"])
        except ValueError:
            known = ", ".join(p.value for p in PricePlan)
            raise ScenarioError(f"link: plan={params['plan']!r} is not a price plan ({known})") from None
        scenario = with_price_plan(scenario, plan)
    return checked(scenario)


def init_from_link() -> None:
    """On a session's first run, open the scenario the URL describes (if it describes one)."""
    if "scenario" in st.session_state or "preset" not in st.query_params:
        return
    params = {k: st.query_params[k] for k in KEYS if k in st.query_params}
    try:
        scenario = scenario_from_params(params)
    except CostModelError as ex:
        flash("warning", md(f"The link's settings were not applied, showing the demo instead: {ex}"))
        return
    set_scenario(scenario)
    set_preset(params["preset"])


def sync_address_bar(scenario: Scenario, stem: str | None) -> None:
    """Keep the browser's address bar a shareable link to what the page shows (none for an uploaded scenario)."""
    if stem is None:
        for k in KEYS:
            if k in st.query_params:
                del st.query_params[k]
        return
    params = share_params(scenario, stem)
    if {k: st.query_params.get(k) for k in KEYS} != {k: params.get(k) for k in KEYS}:
        st.query_params.from_dict(params)


def share_url(scenario: Scenario, stem: str) -> str:
    """An absolute link to the Compare page with the key inputs (relative when the app's URL is unknown)."""
    query = urlencode(share_params(scenario, stem))
    url = st.context.url
    if not url:
        return f"/?{query}"
    parts = urlsplit(url)
    root = parts.path.rsplit("/", 1)[0] + "/"  # drop the page's own path segment: the link opens Compare
    return urlunsplit((parts.scheme, parts.netloc, root, query, ""))
