"""Measure: tokens/s, latency, watts and joules per token of a model served on this machine's GPUs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from costmodel.errors import CostModelError, MeasurementUnavailable
from costmodel.measure import (
    BenchmarkJob,
    CostInputs,
    LoadSettings,
    apply_measurement,
    import_sources,
    inventory,
    list_benchmarks,
    load_benchmark,
    measurement_of,
    parse_concurrency,
    save_benchmark,
)
from costmodel.scenario import CloudGpuOption, OnPremOption
from dashboard.components.bench_import import bench_import
from dashboard.state import get_scenario, set_scenario, store_cursor

_JOB, _SELECTED, _ERROR = "measure_job", "measure_selected", "measure_error"
_COLUMNS = {
    "concurrency": "streams",
    "requests_ok": "ok",
    "requests_failed": "failed",
    "ttft_ms_p50": "TTFT p50 ms",
    "ttft_ms_p95": "TTFT p95 ms",
    "inter_token_ms_p50": "ITL p50 ms",
    "output_tokens_per_s": "tok/s",
    "output_tokens_per_s_per_stream": "tok/s per stream",
    "requests_per_s": "req/s",
    "watts_per_gpu": "W/GPU",
    "joules_per_output_token": "J/token",
    "usd_per_mtok_energy": "$/1M tok power",
    "usd_per_mtok_gpu_hours": "$/1M tok GPU-h",
    "energy_basis": "energy from",
    "token_count_basis": "tokens from",
}


@st.cache_data(ttl=30, max_entries=1)
def _inventory() -> pd.DataFrame:
    inv = inventory()
    frame = pd.DataFrame([g.model_dump() for g in inv.gpus])
    return frame.assign(driver=inv.driver_version, cuda=inv.cuda_version)


st.title("Measure")
st.caption(
    "Serve a model here (vLLM, SGLang, TGI, Ollama, llama.cpp, LM Studio …), point OpenTCO at its "
    "OpenAI-compatible endpoint, and measure throughput, latency, power and energy per token. "
    "The API key stays in an environment variable; only its name is asked for, and nothing stores it."
)

st.subheader("GPUs on this machine")
try:
    st.dataframe(_inventory(), hide_index=True)
except MeasurementUnavailable as ex:
    text = str(ex)
    if "can still be measured" not in text:  # say it once: some messages say it already
        text += " Throughput and latency can still be measured; power and energy will be empty."
    st.info(text)

job: BenchmarkJob | None = st.session_state.get(_JOB)
with st.form("measure_form"):
    c1, c2 = st.columns(2)
    endpoint = c1.text_input("Endpoint", "http://localhost:8000/v1", key="m_endpoint")
    model = c2.text_input("Model", placeholder="meta-llama/Llama-3.1-8B-Instruct", key="m_model")
    c1, c2, c3, c4 = st.columns(4)
    levels = c1.text_input("Concurrency levels", "1,4,16", key="m_levels")
    input_tokens = c2.number_input("Input tokens", 1, 1_000_000, 512, key="m_input")
    output_tokens = c3.number_input("Output tokens", 1, 100_000, 256, key="m_output")
    duration = c4.number_input("Seconds per level", 1.0, 3600.0, 30.0, key="m_duration")
    c1, c2, c3, c4, c5 = st.columns(5)
    max_requests = c1.number_input("Max requests per level (0: none)", 0, 10_000_000, 0, key="m_max")
    key_env = c2.text_input("API key variable", "", key="m_key_env", help="e.g. OPENAI_API_KEY; empty if none")
    usd_per_kwh = c3.text_input("$/kWh", "0.12", key="m_kwh")
    pue = c4.number_input("PUE", 1.0, 3.0, 1.4, key="m_pue")
    usd_per_gpu_hour = c5.text_input("$/GPU-hour", "", key="m_gpu_hour", help="optional")
    power = st.checkbox("Read this machine's GPU power (the server runs here)", value=True, key="m_power")
    if st.form_submit_button("Start", type="primary", disabled=job is not None):
        try:
            settings = LoadSettings.from_fields(
                endpoint=endpoint,
                model=model,
                concurrency_levels=parse_concurrency(levels),
                input_tokens=int(input_tokens),
                output_tokens=int(output_tokens),
                duration_s_per_level=float(duration),
                max_requests_per_level=int(max_requests) or None,
                api_key_env=key_env.strip() or None,
            )
            costs = CostInputs.from_text(usd_per_kwh=usd_per_kwh, pue=pue, usd_per_gpu_hour=usd_per_gpu_hour)
            job = BenchmarkJob(settings=settings, costs=costs, measure_power=power)
            job.start()
            st.session_state[_JOB] = job
        except CostModelError as ex:
            st.error(str(ex))

if _ERROR in st.session_state:
    st.error(st.session_state.pop(_ERROR))


# Poll only while a run is in flight: an idle page must not rerun twice a second. Starting a run reruns the
# page (the form), which defines the fragment again with a period; a finished run reruns the page without one.
@st.fragment(run_every=0.5 if st.session_state.get(_JOB) is not None else None)
def _live() -> None:
    job: BenchmarkJob | None = st.session_state.get(_JOB)
    if job is None:
        return
    progress = job.progress()
    sweep = progress.sweep
    if not job.done:
        label = f"level {sweep.level_index + 1}/{sweep.levels_total}: {sweep.concurrency} streams" if sweep else ""
        st.progress(sweep.fraction_done if sweep else 0.0, text=label or "checking the endpoint …")
        if st.button("Stop", key="measure_stop"):
            job.stop()
    if progress.timeline:
        frame = pd.DataFrame([p.model_dump() for p in progress.timeline]).set_index("t_s")
        c1, c2 = st.columns(2)
        c1.line_chart(frame["output_tokens_per_s"], x_label="seconds", y_label="output tokens/s")
        if frame["power_w"].notna().any():
            c2.line_chart(frame["power_w"], x_label="seconds", y_label="GPU watts")
    if job.done:
        del st.session_state[_JOB]
        try:
            st.session_state[_SELECTED] = save_benchmark(store_cursor(), job.outcome())
        except CostModelError as ex:
            st.session_state[_ERROR] = str(ex)
        st.rerun()


_live()
bench_import(selected_key=_SELECTED)

st.subheader("Stored runs")
runs = {r.benchmark_id: r for r in list_benchmarks(store_cursor())}
if not runs:
    st.caption("No run stored yet.")
    st.stop()
sources = import_sources(store_cursor())
benchmark_id = st.selectbox(
    "Run",
    list(runs),
    key=_SELECTED,
    format_func=lambda i: (
        f"#{i} · {runs[i].model} · {runs[i].gpu_name or 'GPU not read'} · {runs[i].started_at:%c}"
        + (f" · imported: {sources[i]}" if i in sources else "")
    ),
)
result = load_benchmark(store_cursor(), benchmark_id=benchmark_id)
table = pd.DataFrame([lv.model_dump() for lv in result.levels])[list(_COLUMNS)]
table = table.astype({"usd_per_mtok_energy": float, "usd_per_mtok_gpu_hours": float}).rename(columns=_COLUMNS)
st.dataframe(table, hide_index=True)
for note in [result.power_note, result.stop_reason, *result.warnings]:
    if note:
        st.caption(f"Note: {note}")

scenario = get_scenario()
hosted = [o.name for o in scenario.options if isinstance(o, CloudGpuOption | OnPremOption)]
if not hosted:
    st.info("The scenario has no cloud-GPU or on-prem option to use this measurement in.")
    st.stop()
with st.form("use_form"):
    c1, c2 = st.columns(2)
    option = c1.selectbox("Self-hosted option", hosted, key="m_option")
    ranked = sorted(result.levels, key=lambda lv: -lv.output_tokens_per_s)
    concurrency = c2.selectbox("Level (streams)", [lv.concurrency for lv in ranked], key="m_level")
    if st.form_submit_button("Use in scenario"):
        try:
            latency = scenario.workload.latency
            m = measurement_of(result, benchmark_id=benchmark_id, concurrency=concurrency, latency=latency)
            set_scenario(apply_measurement(scenario, option=option, measurement=m))
            watts = f" and {m.watts_per_gpu:.0f} W per GPU" if m.watts_per_gpu is not None else ""
            st.success(f"{option} now uses the measured {m.output_tokens_per_s:.0f} tokens/s{watts}.")
            if m.meets_latency_targets is False:
                st.warning("This level misses the scenario's latency targets (TTFT or tokens/s per user).")
        except CostModelError as ex:
            st.error(str(ex))
