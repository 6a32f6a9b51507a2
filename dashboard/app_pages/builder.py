"""Scenario builder: start blank, from the usage logs or a file; edit the workload, the frame and every option;
save and share the scenario."""

from __future__ import annotations

import re
from collections.abc import Callable

import streamlit as st

from costmodel.errors import CostModelError
from costmodel.scenario import Scenario
from dashboard.components.engine import checked
from dashboard.components.forms import add_option_row, frame_form, option_editor, workload_form
from dashboard.components.share import share_url
from dashboard.components.starts import blank_scenario, usage_scenario
from dashboard.components.text import md
from dashboard.state import flash, get_preset, get_scenario, set_preset, set_scenario, show_flash, try_store_cursor

_CONFIRM = "builder_start_confirm"


def _start(make: Callable[[], Scenario], what: str) -> None:
    try:
        scenario = checked(make())
    except CostModelError as ex:
        flash("error", md(f"Could not start {what}: {ex}"))
        return
    set_scenario(scenario)
    set_preset(None)
    st.session_state.pop(_CONFIRM, None)
    flash("success", md(f"Started {what}: {scenario.name}. Edit it below; the link above follows every change."))


def _from_logs() -> Scenario:
    cursor = try_store_cursor()
    if cursor is None:
        raise CostModelError("the usage store cannot be opened (see the Usage logs page)")
    return usage_scenario(cursor)


_STARTS: dict[str, tuple[Callable[[], Scenario], str]] = {
    "blank": (blank_scenario, "blank"),
    "logs": (_from_logs, "from your usage logs"),
}


def _ask(which: str) -> None:
    st.session_state[_CONFIRM] = which


st.title("Scenario builder")
show_flash()

c = st.columns([1, 1.6, 2.4], vertical_alignment="center")
c[0].button("Start blank", icon=":material/note_add:", on_click=_ask, args=("blank",), key="start-blank")
c[1].button("Start from my usage logs", icon=":material/receipt_long:", on_click=_ask, args=("logs",), key="start-logs")
c[2].caption("Blank: one API option and a default workload. From the logs: your measured workload and the API you use.")
pending = st.session_state.get(_CONFIRM)
if pending in _STARTS:
    make, what = _STARTS[pending]
    with st.container(border=True, key="start-confirm"):
        st.warning(md(f"Start {what}? “{get_scenario().name}” will be replaced (save it first to keep it)."))
        b = st.columns([1, 1, 4])
        b[0].button("Start", type="primary", key="start-yes", on_click=_start, args=(make, what))
        b[1].button("Cancel", key="start-no", on_click=lambda: st.session_state.pop(_CONFIRM, None))

# Load first, so everything below already shows the loaded scenario.
save_col, load_col = st.columns(2, gap="large")
with load_col:
    upload = st.file_uploader(
        "Load a scenario (JSON)",
        type=["json"],
        key="scenario-upload",
        max_upload_size=5,
        help="A file saved here or written by hand (`opentco compare` reads the same format).",
    )
    if upload is not None and st.session_state.get("scenario-upload-done") != upload.file_id:
        st.session_state["scenario-upload-done"] = upload.file_id
        try:
            loaded = checked(Scenario.from_json(upload.getvalue(), source=upload.name))
        except CostModelError as ex:
            st.error(md(f"{upload.name} was not loaded; the previous scenario is kept.\n{ex}"))
        else:
            set_scenario(loaded)
            set_preset(None)
            st.success(md(f"Loaded {upload.name}: {loaded.name}"))

scenario = get_scenario()
with save_col:
    slug = re.sub(r"[^a-z0-9]+", "-", scenario.name.lower()).strip("-") or "scenario"
    saved_json = scenario.model_dump_json(indent=2)
    # Made on click: a file served ahead would go stale at the next edit (a 404 in the browser). The click
    # starts no rerun ("ignore"): Streamlit drops a made-on-click file's answer that is still queued when a
    # rerun starts, and the button then spins, disabled, until the browser gives up three minutes later.
    st.download_button(
        "Save the scenario (JSON)",
        lambda: saved_json,
        file_name=f"{slug}.json",
        mime="application/json",
        icon=":material/download:",
        key="scenario-download",
        on_click="ignore",
    )
    url = share_url(scenario, get_preset())
    if url is not None:
        st.markdown("**Shareable link** (opens this scenario, as it is now, on the Compare page):")
        st.code(url, language=None, wrap_lines=True)
    else:
        st.caption(
            "This scenario is too big for a link and the store that would keep it cannot be opened: "
            "share it as the saved JSON file."
        )

with st.expander("Workload", expanded=True, icon=":material/stacked_line_chart:"):
    workload_form(scenario)
with st.expander("Horizon, money and currency", icon=":material/payments:"):
    frame_form(scenario)

st.subheader("Options")
st.caption("Each option is applied on its own; the engine checks it before it replaces the old one.")
for i in range(len(scenario.options)):
    option_editor(scenario, i)
add_option_row()
