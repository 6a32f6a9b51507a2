"""Quality: run your own tasks against candidate models, read accuracy per task class, use it in the scenario."""

from __future__ import annotations

import streamlit as st

from costmodel.errors import CostModelError
from costmodel.evals import EvalJob, RunSummary, delete_run, list_runs, result_table, summarise
from dashboard.components.audited import actor
from dashboard.components.quality_results import accuracy_chart, disagreements, paired_lines, target_table
from dashboard.components.quality_scenario import use_in_scenario
from dashboard.components.quality_setup import build_settings, pick_task_set, settings_input
from dashboard.components.team import store_path
from dashboard.state import flash, show_flash, store_cursor

_JOB, _SELECTED = "quality_job", "quality_selected_run"


@st.cache_data(max_entries=8, show_spinner=False)
def _summary(run_id: int, stamp: str) -> RunSummary:
    # `stamp` (results stored, last update) makes a grown or resumed run read afresh
    return summarise(store_cursor(), run_id)


@st.cache_data(max_entries=4, show_spinner=False)
def _rows(run_id: int, stamp: str) -> list[dict[str, object]]:
    return result_table(store_cursor(), run_id)


st.title("Quality on your own tasks")
st.caption(
    "Test the models you are considering on your actual work (ticket triage, invoice extraction, FAQ answers …), "
    "compare them with what you use today, and let measured accuracy per task class decide which options may win."
)
show_flash()

job: EvalJob | None = st.session_state.get(_JOB)
st.subheader("1 · Task set")
task_set = pick_task_set()
st.subheader("2 · Targets")
raw = settings_input()
if st.button("Start", type="primary", disabled=job is not None or task_set is None, key="q_start"):
    settings = build_settings(raw)
    if settings is not None and task_set is not None:
        job = EvalJob(store_cursor(), task_set=task_set, settings=settings)
        job.start()
        st.session_state[_JOB] = job


# Poll only while a run is going: the run itself works in a background thread, so the page stays responsive.
@st.fragment(run_every=0.5 if job is not None else None)
def _live() -> None:
    job: EvalJob | None = st.session_state.get(_JOB)
    if job is None:
        return
    p = job.progress
    before = f", {p.skipped} answered before" if p.skipped else ""
    st.progress(p.fraction, text=f"{p.done}/{p.total} answered{before} · {p.errors} errors · {p.stored} stored")
    for label, why in p.stopped_targets.items():
        st.warning(f"{label} stopped: {why}")
    if not job.done and st.button("Stop", key="q_stop"):
        job.stop()
    if job.done:
        del st.session_state[_JOB]
        try:
            outcome = job.outcome()
        except CostModelError as ex:
            flash("error", str(ex))
        else:
            st.session_state[_SELECTED] = outcome.run_id
            flash("success" if outcome.status == "finished" else "info", f"Run #{outcome.run_id} {outcome.status}.")
        st.rerun()


_live()

st.subheader("3 · Results")
runs = {r.run_id: r for r in list_runs(store_cursor())}
if not runs:
    st.caption("No run stored yet.")
    st.stop()
if st.session_state.get(_SELECTED) not in runs:
    st.session_state[_SELECTED] = next(iter(runs))
run_id = st.selectbox(
    "Run",
    list(runs),
    key=_SELECTED,
    format_func=lambda i: (
        f"#{i} · {runs[i].task_set_name} · {', '.join(t.label for t in runs[i].settings.targets)}"
        f" · {runs[i].results} results · {runs[i].status}"
    ),
)
info = runs[run_id]
stamp = f"{store_path()}:{info.results}:{info.updated_at.isoformat()}"  # two workspaces may both have run #1
summary = _summary(run_id, stamp)
if summary.scoring == "agreement":
    st.info("References are the current model's logged answers: these scores measure agreement with it.")
st.plotly_chart(accuracy_chart(summary), key="q_chart")
st.dataframe(target_table(summary), hide_index=True, key="q_targets_table")
for line in paired_lines(summary):
    st.markdown(line)

st.subheader("Disagreements with the reference")
disagreements(_rows(run_id, stamp), key="q_dis")

st.subheader("Use in scenario")
use_in_scenario(summary)

with st.expander("Delete this run"):
    st.caption("Deletes its tasks, prompts, references and answers from the local store.")
    if st.button(f"Delete run #{run_id}", key="q_delete", disabled=job is not None):
        delete_run(store_cursor(), run_id, actor=actor())
        st.session_state.pop(_SELECTED, None)
        flash("success", f"Run #{run_id} deleted.")
        st.rerun()
