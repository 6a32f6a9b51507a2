"""Compare (landing page): the verdict, KPI cards per option, four charts, and the inputs executives move."""

from __future__ import annotations

import streamlit as st

from costmodel.errors import CostModelError
from costmodel.fmt import tokens
from dashboard.components import charts
from dashboard.components.controls import compare_controls
from dashboard.components.engine import result_for
from dashboard.components.figures import INTERACTIVE_KEY, compare_figures, show_chart
from dashboard.components.kpis import basis_line, kpi_cards, verdict_box
from dashboard.components.text import md, sources_table
from dashboard.state import get_scenario, show_flash

scenario = get_scenario()
st.markdown(f"### {md(scenario.name)}")
show_flash()
try:
    result = result_for(scenario)
except CostModelError as ex:  # e.g. a scenario another page stored: say why, and offer the presets
    st.error(md(str(ex)))
    compare_controls(scenario, "—")
    st.stop()

verdict_box(result)
compare_controls(scenario, tokens(result.baseline_result.months[0].tokens))

kpi_cards(result)
st.caption(md(basis_line(result)))
if scenario.currency != "USD":
    st.caption(
        md(f"Cards and the verdict are in {scenario.currency} at {scenario.usd_fx_rate} per US dollar; charts in USD.")
    )

figures = compare_figures(scenario)
st.toggle(
    "Interactive charts",
    key=INTERACTIVE_KEY,
    help="Zoom, pan and exact values on hover (plotly). Off, the charts are pictures the browser draws at once; "
    "hover a line or bar for its value.",
)
left, right = st.columns(2, gap="large")
with left:
    show_chart(figures, figures.cumulative, key="chart-cumulative")
with right:
    show_chart(figures, figures.per_mtok, key="chart-per-mtok")

left, right = st.columns(2, gap="large")
with left:
    if figures.break_even is None:
        st.error(md(figures.break_even_error or ""))
    else:
        show_chart(figures, figures.break_even, key="chart-break-even")
        st.caption(
            "Steady state: month 1 without growth, price trends or one-off costs. Self-hosted costs step up one "
            "replica at a time; × marks where an option meets an API."
        )
with right:
    if figures.tornado is not None:
        show_chart(figures, figures.tornado, key="chart-tornado")
        st.caption(
            md(
                f"Saving of {charts.compared_option(result)} against {result.baseline} (dotted line: as entered); "
                f"each input moved ±{scenario.sensitivity_pct:g} % on its own, clamped to its allowed range."
            )
        )
    else:
        st.info("Add a second option to see what moves the saving.")

# Drawn only once opened (a lazy expander): most visits never open it, and 20 sessions at once then send
# 15 fewer elements each per run.
sources = st.expander(
    "Where every input comes from (sources)", icon=":material/menu_book:", key="sources-panel", on_change="rerun"
)
if sources.open:
    with sources:
        for o in result.options:
            st.markdown(md(f"**{o.name}** — {o.description}"))
            table = sources_table(o)
            if table:
                st.markdown(table)
            if o.api is not None:
                st.caption(md(f"Prices as of {o.api.price_date}: {o.api.source}"))
