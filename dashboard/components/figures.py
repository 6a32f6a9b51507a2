"""The Compare page's four figures, built once per scenario and shared by every session that shows it.

Building the figures is pure (the engine's results in, plotly dicts out), so one copy serves every session
looking at the same scenario: `st.cache_resource`, keyed by the scenario's JSON. `st.plotly_chart` copies a
figure before it serialises it and never changes it, so sharing is safe. With 20 sessions on the same
preset, a page run then spends its time drawing, not rebuilding the same charts 20 times.

Each figure is also kept as a static SVG (`svg_chart.figure_svg`), which the page shows unless the user asks
for interactive charts: the browser draws the SVG at once, where plotly.js costs it about a second per load.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import streamlit as st

from costmodel.errors import CostModelError
from costmodel.scenario import Scenario
from dashboard.components import charts
from dashboard.components.engine import break_even_curves, evaluate_json, tornado_for
from dashboard.components.svg_chart import figure_svg

__all__ = ["INTERACTIVE_KEY", "CompareFigures", "compare_figures", "show_chart"]


@dataclass(frozen=True)
class CompareFigures:
    cumulative: go.Figure
    per_mtok: go.Figure
    break_even: go.Figure | None
    break_even_error: str | None
    """The engine's message when the break-even curves cannot be computed."""
    tornado: go.Figure | None
    """None when there is no second option to compare."""
    svg: dict[int, str]
    """Each figure above as a static SVG, by `id()` of the figure (the figures live as long as this object)."""


@st.cache_resource(max_entries=64, ttl="1h", show_spinner=False)
def _compare_figures(scenario_json: str) -> CompareFigures:
    scenario = Scenario.model_validate_json(scenario_json)
    result = evaluate_json(scenario_json)
    try:
        be, be_error = charts.break_even_chart(break_even_curves(scenario), result), None
    except CostModelError as ex:
        be, be_error = None, str(ex)
    bars = tornado_for(scenario)
    cumulative, per_mtok = charts.cumulative_chart(result), charts.cost_per_mtok_chart(result)
    tornado = charts.tornado_chart(bars, result) if bars else None
    drawn = [f for f in (cumulative, per_mtok, be, tornado) if f is not None]
    return CompareFigures(
        cumulative=cumulative,
        per_mtok=per_mtok,
        break_even=be,
        break_even_error=be_error,
        tornado=tornado,
        svg={id(f): figure_svg(f) for f in drawn},
    )


def compare_figures(scenario: Scenario) -> CompareFigures:
    """The figures of `scenario` (the engine's `CostModelError` escapes only from evaluating the scenario)."""
    return _compare_figures(scenario.model_dump_json())


INTERACTIVE_KEY = "interactive-charts"
"""Session key of the page's "Interactive charts" toggle."""


def show_chart(figures: CompareFigures, fig: go.Figure, *, key: str) -> None:
    """Draw one of the page's figures: plotly when the user turned interactive charts on, else its SVG."""
    if st.session_state.get(INTERACTIVE_KEY):
        st.plotly_chart(fig, key=key)
        return
    with st.container(key=key):
        st.markdown(figures.svg[id(fig)], unsafe_allow_html=True)
