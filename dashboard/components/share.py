"""The shareable link: the address bar always rebuilds the scenario on screen, after a reload or elsewhere.

Three shapes, the most readable that fits:
- a preset and the inputs executives move on Compare:
  `?preset=api-bill-10k-50k&requests=5000000&growth=3&share=0.7&plan=spot`;
- any other scenario, whole, compressed into one parameter: `?s=1.eNq…` (`costmodel.saved_scenarios`);
- a scenario too big for a comfortable URL, saved in the store: `?id=k3x9…`.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from costmodel.demo import PRESETS, preset
from costmodel.errors import CostModelError, ScenarioError
from costmodel.saved_scenarios import (
    MAX_LINK_CHARS,
    decode_scenario,
    encode_scenario,
    load_saved_scenario,
    save_scenario,
)
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
from dashboard.state import flash, get_preset, set_preset, set_scenario, try_store_cursor

__all__ = [
    "KEYS",
    "PRESET_KEYS",
    "init_from_link",
    "link_params",
    "preset_shaped",
    "scenario_from_params",
    "share_params",
    "share_url",
    "sync_address_bar",
]

PRESET_KEYS = ("preset", "requests", "growth", "share", "plan")
KEYS = (*PRESET_KEYS, "s", "id")
"""Every query parameter the link uses; the address bar keeps any other one as it is."""
_SAVED = "link_saved_ids"


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


def _from_preset_params(params: Mapping[str, str]) -> Scenario:
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
    return scenario


def scenario_from_params(params: Mapping[str, str]) -> Scenario:
    """The scenario a shared link describes; a bad value raises `ScenarioError` naming the parameter."""
    if "id" in params:
        cursor = try_store_cursor()
        if cursor is None:
            raise ScenarioError("link: the store that keeps saved scenarios cannot be opened (see the message above)")
        return checked(load_saved_scenario(cursor, params["id"]))
    if "s" in params:
        return checked(decode_scenario(params["s"]))
    return checked(_from_preset_params(params))


@st.cache_data(max_entries=256, show_spinner=False)
def _preset_shaped_json(scenario_json: str, stem: str) -> bool:
    scenario = Scenario.model_validate_json(scenario_json)
    try:
        return _from_preset_params(share_params(scenario, stem)) == scenario
    except CostModelError:
        return False


def preset_shaped(scenario: Scenario, stem: str | None) -> bool:
    """Whether the scenario is still the preset `stem` with only the Compare page's inputs moved."""
    return stem is not None and _preset_shaped_json(scenario.model_dump_json(), stem)


def link_params(scenario: Scenario, stem: str | None) -> dict[str, str]:
    """The query parameters of the link that rebuilds `scenario` (empty when it cannot be linked).

    Saving a big scenario writes one store row, once per session and scenario.
    """
    if preset_shaped(scenario, stem):
        return share_params(scenario, stem)  # type: ignore[arg-type]  # preset_shaped ensures a stem
    encoded = encode_scenario(scenario)
    if len(encoded) <= MAX_LINK_CHARS:
        return {"s": encoded}
    saved: dict[str, str] = st.session_state.setdefault(_SAVED, {})
    key = scenario.model_dump_json()
    if key not in saved:
        cursor = try_store_cursor()
        if cursor is None:
            return {}
        saved.clear()  # one entry is enough: only the current scenario's id is asked for
        saved[key] = save_scenario(cursor, scenario)
    return {"id": saved[key]}


def init_from_link() -> None:
    """On a session's first run, open the scenario the URL describes (if it describes one)."""
    if "scenario" in st.session_state or not any(k in st.query_params for k in ("preset", "s", "id")):
        return
    params = {k: st.query_params[k] for k in KEYS if k in st.query_params}
    try:
        scenario = scenario_from_params(params)
    except CostModelError as ex:
        flash("warning", md(f"The link's scenario could not be opened, showing the demo instead: {ex}"))
        return
    set_scenario(scenario)
    set_preset(params["preset"] if "preset" in params and not ({"s", "id"} & params.keys()) else None)


def sync_address_bar(scenario: Scenario) -> None:
    """Make the browser's address bar a link to the scenario on screen (a reload opens it again)."""
    params = link_params(scenario, get_preset())
    if {k: st.query_params.get(k) for k in KEYS} == {k: params.get(k) for k in KEYS}:
        return
    for k in KEYS:
        if k in st.query_params and k not in params:
            del st.query_params[k]
    st.query_params.update(params)


def share_url(scenario: Scenario, stem: str | None) -> str | None:
    """An absolute link to the Compare page that rebuilds the scenario (relative when the app's URL is unknown).

    None when the scenario is too big for a URL and the store that would keep it cannot be opened.
    """
    params = link_params(scenario, stem)
    if not params:
        return None
    query = urlencode(params)
    url = st.context.url
    if not url:
        return f"/?{query}"
    parts = urlsplit(url)
    root = parts.path.rsplit("/", 1)[0] + "/"  # drop the page's own path segment: the link opens Compare
    return urlunsplit((parts.scheme, parts.netloc, root, query, ""))
