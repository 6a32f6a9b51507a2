"""The Measure page's import of other tools' benchmark result files (vLLM bench serve, GuideLLM, AIPerf,
GenAI-Perf), stored as measured runs like the page's own."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from costmodel.errors import CostModelError
from costmodel.measure import ImportedRun, ImportFields, import_benchmark_files
from dashboard.components.audited import actor
from dashboard.components.text import md
from dashboard.state import store_cursor

__all__ = ["bench_import"]

_OUTCOME = "bench_import_outcome"
_LEVEL_COLUMNS = {
    "concurrency": "streams",
    "requests_ok": "ok",
    "output_tokens_per_s": "tok/s",
    "output_tokens_per_s_per_stream": "tok/s per stream",
    "ttft_ms_p95": "TTFT p95 ms",
    "watts_per_gpu": "W/GPU",
    "joules_per_output_token": "J/token",
}


def bench_import(*, selected_key: str) -> None:
    """An upload form for result files; what was stored is shown below it and the newest run selected."""
    with st.expander("Import benchmark results", expanded=_OUTCOME in st.session_state):
        st.caption(
            "Result files of vLLM `bench serve --save-result` (JSON), GuideLLM (JSON report), NVIDIA AIPerf or "
            "GenAI-Perf (profile_export JSON or CSV); the format is detected. Model, GPU and serving engine are "
            "taken from the file where it says; fill in what it does not. Stored as measured runs."
        )
        with st.form("bench_import_form"):
            files = st.file_uploader("Result files", accept_multiple_files=True, type=["json", "csv"], key="b_files")
            c1, c2, c3 = st.columns(3)
            model = c1.text_input("Model", placeholder="meta-llama/Llama-3.1-8B-Instruct", key="b_model")
            gpu = c2.text_input("GPU", placeholder="h100", key="b_gpu")
            runtime = c3.text_input("Serving engine", placeholder="vllm, sglang, tensorrt-llm …", key="b_runtime")
            c1, c2 = st.columns(2)
            gpus = c1.number_input("GPUs per replica (0: from the file, else 1)", 0, 64, 0, key="b_gpu_count")
            streams = c2.number_input("Concurrency (0: from the file)", 0, 1024, 0, key="b_concurrency")
            submitted = st.form_submit_button("Import results", type="primary")
        if submitted and files:
            try:
                fields = ImportFields.from_fields(
                    model=model, gpu=gpu, runtime=runtime, gpu_count=int(gpus) or None, concurrency=int(streams) or None
                )
                runs = import_benchmark_files(  # with sign-in on, each file's audit line commits with its run
                    store_cursor(), [(f.name, f.getvalue()) for f in files], fields=fields, actor=actor()
                )
                st.session_state[_OUTCOME] = runs
                st.session_state[selected_key] = runs[-1].benchmark_id
            except CostModelError as ex:
                st.session_state.pop(_OUTCOME, None)
                st.error(md(str(ex)))
        for run in st.session_state.get(_OUTCOME, []):
            _show(run)


def _show(run: ImportedRun) -> None:
    (st.info if run.already_imported else st.success)(md(run.summary()))
    if run.levels:
        table = pd.DataFrame([lv.model_dump() for lv in run.levels])[list(_LEVEL_COLUMNS)]
        st.dataframe(table.rename(columns=_LEVEL_COLUMNS), hide_index=True)
    for note in run.warnings[1:]:
        st.caption(md(f"Note: {note}"))
