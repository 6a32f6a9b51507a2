"""Engine calls the pages make, cached by the scenario's JSON so a rerun that changes nothing is free.

`st.cache_data` hashes its arguments; a pydantic model does not hash stably, its JSON does. Only
`CostModelError` escapes to the pages, which show it with `st.error`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import streamlit as st

from costmodel.breakeven import pinned_scenario, steady_month_usd
from costmodel.prices import OPEN_MODEL_PROVIDERS, ApiPrice, list_api_prices
from costmodel.scenario import Scenario
from costmodel.sensitivity import TornadoBar, tornado
from costmodel.tco import ScenarioResult, evaluate

__all__ = [
    "BreakEvenCurves",
    "CrossingPoint",
    "api_choices",
    "break_even_curves",
    "checked",
    "evaluate_json",
    "result_for",
    "tornado_for",
]

_TTL = "1h"
"""A scenario without a price date is priced at today's date: let a day change reach the cached results."""
_GRID_POINTS_PER_DECADE = 12
_DECADES_AROUND = 1


@st.cache_data(max_entries=64, ttl=_TTL, show_spinner=False)
def evaluate_json(scenario_json: str) -> ScenarioResult:
    """`costmodel.tco.evaluate` of a scenario given as JSON."""
    return evaluate(Scenario.model_validate_json(scenario_json))


def result_for(scenario: Scenario) -> ScenarioResult:
    return evaluate_json(scenario.model_dump_json())


def checked(scenario: Scenario) -> Scenario:
    """The scenario, once the engine has evaluated it (raises the engine's `CostModelError` if it cannot)."""
    result_for(scenario)
    return scenario


@st.cache_data(max_entries=64, ttl=_TTL, show_spinner=False)
def _tornado_json(scenario_json: str) -> list[TornadoBar]:
    return tornado(Scenario.model_validate_json(scenario_json), evaluate_json(scenario_json))


def tornado_for(scenario: Scenario) -> list[TornadoBar]:
    """Sensitivity bars of the scenario's headline saving, widest swing first."""
    return _tornado_json(scenario.model_dump_json())


@dataclass(frozen=True)
class CrossingPoint:
    """Where a self-hosted or hybrid option's monthly cost meets an API's."""

    option: str
    api: str
    tokens_per_month: Decimal
    usd_per_month: Decimal


@dataclass(frozen=True)
class BreakEvenCurves:
    """Steady monthly cost of every option over a log-spaced grid of monthly volumes."""

    tokens_per_month: tuple[Decimal, ...]
    usd_per_month: dict[str, tuple[Decimal, ...]]
    crossings: tuple[CrossingPoint, ...]
    current_tokens_per_month: Decimal
    """The baseline's month-1 volume (input + output), drawn as a reference line."""


def _decades(points: list[Decimal]) -> tuple[int, int]:
    """Whole decades of volume the chart spans: one either side of today's volume and every crossing."""
    logs = [math.log10(p) for p in points if p > 0]
    return math.floor(min(logs)) - _DECADES_AROUND, math.ceil(max(logs)) + _DECADES_AROUND


@st.cache_data(max_entries=64, ttl=_TTL, show_spinner=False)
def _steady_curves_json(
    steady_json: str, lo: int, hi: int
) -> tuple[tuple[Decimal, ...], dict[str, tuple[Decimal, ...]]]:
    scenario = Scenario.model_validate_json(steady_json)
    steps = (hi - lo) * _GRID_POINTS_PER_DECADE
    grid = tuple(Decimal(str(round(10 ** (lo + k / _GRID_POINTS_PER_DECADE)))) for k in range(steps + 1))
    return grid, {o.name: tuple(steady_month_usd(o, scenario, v) for v in grid) for o in scenario.options}


def _steady_key(scenario: Scenario) -> str:
    """The scenario without the inputs `steady_month_usd` replaces (volume, growth), so the volume and
    growth sliders reuse the curves already computed."""
    w = scenario.workload.model_copy(update={"requests_per_month": 1.0, "monthly_growth_pct": 0.0})
    return scenario.model_copy(update={"workload": w}).model_dump_json()


@st.cache_data(max_entries=64, ttl=_TTL, show_spinner=False)
def _break_even_json(scenario_json: str) -> BreakEvenCurves:
    result = evaluate_json(scenario_json)
    # the shapes and instances the evaluation chose, held while the volume moves (as break-even does)
    scenario = pinned_scenario(Scenario.model_validate_json(scenario_json), {o.name: o.facts for o in result.options})
    current = result.baseline_result.months[0].tokens
    crossings: list[CrossingPoint] = []
    for o in result.options:
        for api_name, volume in o.break_even_tokens_per_month.items():
            if volume is not None:
                api = scenario.option(api_name)
                crossings.append(CrossingPoint(o.name, api_name, volume, steady_month_usd(api, scenario, volume)))
    lo, hi = _decades([current, *(c.tokens_per_month for c in crossings)])
    grid, curves = _steady_curves_json(_steady_key(scenario), lo, hi)
    return BreakEvenCurves(grid, curves, tuple(crossings), current)


def break_even_curves(scenario: Scenario) -> BreakEvenCurves:
    """Curves for the break-even chart: `costmodel.breakeven.steady_month_usd` at each grid volume."""
    return _break_even_json(scenario.model_dump_json())


def api_choices(kind: str, price_date: date | None) -> list[ApiPrice]:
    """Models the picker offers: per-token proprietary APIs (`api`) or open-model endpoints (`managed`).

    Not cached here: `list_api_prices` keeps its answer per date, and copying 2,000 prices out of
    `st.cache_data` would cost more than filtering them again.
    """
    want_open = kind == "managed"
    return [p for p in list_api_prices(at=price_date) if (p.provider_id in OPEN_MODEL_PROVIDERS) == want_open]
