"""Business case: the current scenario as an Excel workbook of live formulas and a one-page summary, for finance."""

from __future__ import annotations

import re

import streamlit as st

from costmodel.errors import CostModelError
from costmodel.export import UsageSummary, to_html, to_xlsx, usage_summary
from costmodel.scenario import Scenario
from dashboard.components.audited import download_button
from dashboard.components.engine import evaluate_json, result_for
from dashboard.components.kpis import basis_line, kpi_table, verdict_box
from dashboard.components.text import md
from dashboard.state import get_scenario, store_cursor

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@st.cache_data(max_entries=8, show_spinner=False)
def _exports(scenario_json: str, usage: UsageSummary | None) -> tuple[bytes, str]:
    """Workbook bytes and summary HTML of a scenario (the evaluation the other pages cached, reused)."""
    scenario = Scenario.model_validate_json(scenario_json)
    result = evaluate_json(scenario_json)
    return to_xlsx(scenario, result=result, usage=usage), to_html(scenario, result=result)


def _stored_usage() -> UsageSummary | None:
    try:
        return usage_summary(store_cursor(), source="the usage store")
    except CostModelError as ex:
        st.warning(md(f"Usage logs left out of the workbook: {ex}"))
        return None


def _file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:60] or "scenario"


scenario = get_scenario()
st.title("Business case")
st.caption(
    "For finance: every figure of the workbook is an Excel formula over labelled, sourced inputs. Change an "
    "assumption in the Inputs sheet and the whole case recomputes. The summary is one printable page."
)
st.markdown(f"**{md(scenario.name)}** · {scenario.horizon_months} months · {len(scenario.options)} options")

try:
    result = result_for(scenario)
except CostModelError as ex:
    st.error(md(str(ex)))
    st.stop()
verdict_box(result)
st.table(kpi_table(result).set_index("Option"))  # a static table wraps its text: it fits at any width
st.caption(md(basis_line(result, sources="the workbook's Sources sheet")))

st.subheader("Take it to finance")
usage = _stored_usage()
try:
    with st.spinner("Building the business case…"):
        xlsx, html = _exports(scenario.model_dump_json(), usage)
except CostModelError as ex:
    st.error(md(str(ex)))
    st.stop()

stem = _file_stem(scenario.name)
left, right = st.columns(2)
with left:
    download_button(
        "Download the Excel business case (.xlsx)",
        data=xlsx,
        file_name=f"{stem}-business-case.xlsx",
        mime=XLSX_MIME,
        icon=":material/table_view:",
        key="download-xlsx",
        type="primary",
    )
    st.caption(
        "Sheets: Summary · Inputs · Options · Monthly · Break-even & NPV · Sensitivity"
        + (" · Usage" if usage else "")
        + " · Sources"
    )
with right:
    download_button(
        "Download the one-page summary (.html)",
        data=html.encode("utf-8"),
        file_name=f"{stem}-summary.html",
        mime="text/html",
        icon=":material/description:",
        key="download-html",
    )
    st.caption("Verdict, KPIs and the two main charts; prints on one page and works offline.")
if usage is None:
    st.caption("No usage logs stored yet: import them on the Usage logs page to add a Usage sheet.")
else:
    st.caption(f"Usage sheet: {len(usage.by_model)} model-months from the stored logs.")
