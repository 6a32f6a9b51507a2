"""The Compare page's inputs: a preset and the four sliders executives move.

Each widget's value comes from the session scenario; moving one builds an edited scenario in its
callback, lets the engine evaluate it, and only then makes it current. A value the engine rejects leaves
the scenario as it was and shows the engine's message.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from costmodel.demo import PRESETS, preset
from costmodel.errors import CostModelError
from costmodel.fmt import tokens
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
from dashboard.components.share import preset_shaped
from dashboard.components.text import md
from dashboard.state import flash, get_preset, get_scenario, set_preset, set_scenario

__all__ = ["PLAN_LABELS", "VOLUME_GRID", "apply", "compare_controls", "preset_label"]

PLAN_LABELS = {
    PricePlan.ON_DEMAND: "On-demand",
    PricePlan.SPOT: "Spot",
    PricePlan.COMMIT_1YR: "1-year commitment",
    PricePlan.COMMIT_3YR: "3-year commitment",
}
_STEM_LABEL = {stem: label for label, stem in PRESETS.items()}
_CUSTOM = "Custom"


def _volume_grid() -> tuple[float, ...]:
    steps = (1, 1.5, 2, 3, 5, 7)
    grid = {float(f"{m}e{e}") for e in range(3, 11) for m in steps}
    grid |= {preset(stem).workload.requests_per_month for stem in PRESETS.values()}
    return tuple(sorted(grid))


VOLUME_GRID = _volume_grid()
"""Requests per month the volume slider stops at (1-1.5-2-3-5-7 per decade, plus each preset's volume)."""

_GROWTH_RANGE = (-10.0, 30.0)


def apply(make: Callable[[], Scenario]) -> bool:
    """Make the edited scenario current if the engine can evaluate it; else keep the old one and say why.

    Args:
        make: builds the edited scenario (may raise `ScenarioError` for a rejected value).

    Returns:
        Whether the scenario changed.
    """
    try:
        scenario = checked(make())
    except CostModelError as ex:
        flash("error", md(str(ex)))
        return False
    set_scenario(scenario)
    return True


def _share_pct(scenario: Scenario) -> int:
    """The hybrid's open-model share as the slider shows it, in whole percent (0 without a hybrid)."""
    share = open_share(scenario)
    return 0 if share is None else round(share * 100)


def _sync(scenario: Scenario) -> None:
    """Point every widget at the scenario's value (it may have changed on another page, or been rejected)."""
    wanted = {
        "preset_pick": preset_label(scenario),
        "volume": scenario.workload.requests_per_month,
        "growth": scenario.workload.monthly_growth_pct,
        "open_share": _share_pct(scenario),
        "price_plan": price_plan(scenario) or PricePlan.ON_DEMAND,
    }
    for key, value in wanted.items():
        if st.session_state.get(key) != value:
            st.session_state[key] = value


def preset_label(scenario: Scenario) -> str:
    """What the preset box shows: the preset, while only the Compare inputs moved; else "Custom"."""
    stem = get_preset()
    return _STEM_LABEL.get(stem, _CUSTOM) if stem and preset_shaped(scenario, stem) else _CUSTOM


def _on_preset() -> None:
    label = st.session_state["preset_pick"]
    if label in PRESETS and apply(lambda: preset(PRESETS[label])):
        set_preset(PRESETS[label])


def _on_volume() -> None:
    apply(lambda: with_volume(get_scenario(), st.session_state["volume"]))


def _on_growth() -> None:
    apply(lambda: with_growth(get_scenario(), st.session_state["growth"]))


def _on_share() -> None:
    apply(lambda: with_open_share(get_scenario(), st.session_state["open_share"] / 100))


def _on_plan() -> None:
    apply(lambda: with_price_plan(get_scenario(), PricePlan(st.session_state["price_plan"])))


def compare_controls(scenario: Scenario, tokens_per_month_label: str) -> None:
    """Preset picker and sliders; their callbacks change the session scenario."""
    _sync(scenario)
    volume = scenario.workload.requests_per_month
    growth = scenario.workload.monthly_growth_pct
    # Two rows: at 1280 px five controls in one row cut the preset's and the plan's names short.
    top = st.columns([2.2, 1.4, 1.6], gap="medium")
    cols = [top[0], *st.columns([1.6, 1.2, 1.2], gap="medium"), top[1]]
    cols[0].selectbox(
        "Preset",
        [*PRESETS, _CUSTOM] if preset_label(scenario) == _CUSTOM else list(PRESETS),
        key="preset_pick",
        on_change=_on_preset,
        help="Built-in scenarios under data/scenarios/. Picking one replaces the current scenario.",
    )
    cols[1].select_slider(
        "Monthly volume (requests, month 1)",
        options=sorted({*VOLUME_GRID, volume}),
        key="volume",
        format_func=lambda r: f"{tokens(r)} requests",
        on_change=_on_volume,
        help=md(f"Requests in the first month; today that is {tokens_per_month_label} tokens (input + output)."),
    )
    cols[2].slider(
        "Monthly growth",
        min_value=min(_GROWTH_RANGE[0], growth),
        max_value=max(_GROWTH_RANGE[1], growth),
        step=0.5,
        format="%.1f%%",
        key="growth",
        on_change=_on_growth,
        help="Month-over-month growth of the request volume.",
    )
    share = open_share(scenario)
    cols[3].slider(
        "Share on the open model",
        min_value=0,
        max_value=100,
        step=5,
        format="%d%%",
        key="open_share",
        on_change=_on_share,
        disabled=share is None,
        help="Traffic the hybrid option(s) send to the open model; the task classes keep their proportions."
        if share is not None
        else "No hybrid option in this scenario: add one in the Scenario builder.",
    )
    plan = price_plan(scenario)
    cols[4].selectbox(
        "GPU price plan",
        list(PricePlan),
        format_func=lambda p: PLAN_LABELS[PricePlan(p)],
        key="price_plan",
        on_change=_on_plan,
        disabled=plan is None,
        help="How rented GPU hours are bought. A cloud that does not list the plan for its GPU is replaced "
        "by the cheapest cloud that does (the card's tooltip names it)."
        if plan is not None
        else "No rented-GPU option in this scenario.",
    )
