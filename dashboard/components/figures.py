"""The Compare page's four figures, built once per scenario and shared by every session that shows it.

Building the figures is pure (the engine's results in, plotly dicts out), so one copy serves every session
looking at the same scenario: `st.cache_resource`, keyed by the scenario's JSON. `st.plotly_chart` copies a
figure before it serialises it and never changes it, so sharing is safe. With 20 sessions on the same
preset, a page run then spends its time drawing, not rebuilding the same charts 20 times.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import streamlit as st

from costmodel.errors import CostModelError
from costmodel.scenario import Scenario
from dashboard.components import charts
from dashboard.components.engine import break_even_curves, evaluate_json, tornado_for

__all__ = ["CompareFigures", "compare_figures"]


@dataclass(frozen=True)
class CompareFigures:
    cumulative: go.Figure
    per_mtok: go.Figure
    break_even: go.Figure | None
    break_even_error: str | None
    """The engine's message when the break-even curves cannot be computed."""
    tornado: go.Figure | None
    """None when there is no second option to compare."""


@st.cache_resource(max_entries=64, ttl="1h", show_spinner=False)
def _compare_figures(scenario_json: str) -> CompareFigures:
    scenario = Scenario.model_validate_json(scenario_json)
    result = evaluate_json(scenario_json)
    try:
        be, be_error = charts.break_even_chart(break_even_curves(scenario), result), None
    except CostModelError as ex:
        be, be_error = None, str(ex)
    bars = tornado_for(scenario)
    return CompareFigures(
        cumulative=charts.cumulative_chart(result),
        per_mtok=charts.cost_per_mtok_chart(result),
        break_even=be,
        break_even_error=be_error,
        tornado=charts.tornado_chart(bars, result) if bars else None,
    )


def compare_figures(scenario: Scenario) -> CompareFigures:
    """The figures of `scenario` (the engine's `CostModelError` escapes only from evaluating the scenario)."""
    return _compare_figures(scenario.model_dump_json())
