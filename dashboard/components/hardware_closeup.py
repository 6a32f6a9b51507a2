"""Hardware fit's close-up of one GPU: metrics, memory and throughput charts, the user's own measurement.

A fragment: picking another GPU reruns only the close-up, not the table above it (which the page's inputs
drive).
"""

from __future__ import annotations

import streamlit as st

from costmodel.catalog import catalog
from costmodel.errors import CostModelError
from costmodel.fmt import money
from costmodel.scenario import PricePlan
from dashboard.components import charts
from dashboard.components.controls import PLAN_LABELS
from dashboard.components.hardware import FitInputs, GpuFit, measured_vs_estimated, throughput_curve
from dashboard.components.text import md
from dashboard.state import store_cursor

__all__ = ["close_up"]


@st.fragment
def close_up(inputs: FitInputs, fitting: list[GpuFit], *, preferred: str | None, plan: str, per_user: float) -> None:
    """The close-up of the GPU picked among `fitting` (rows with an estimate), `preferred` first."""
    cat = catalog()
    by_id = {r.gpu_id: r for r in fitting}
    preferred = preferred if preferred in by_id else fitting[0].gpu_id
    gpu_id = st.selectbox(
        "Look closer at",
        list(by_id),
        index=list(by_id).index(preferred),
        format_func=lambda g: by_id[g].gpu_name,
        key="hw-gpu",
    )
    row = by_id[gpu_id]
    est = row.estimate
    assert est is not None and row.gpus is not None  # `fitting` holds only the rows with an estimate
    basis = f"{est.basis.value} ({est.efficiency.source})"
    k = st.columns(5)
    gpu = cat.gpu(gpu_id)
    k[0].metric(
        "GPUs per replica", f"{row.gpus}×", help=md(f"{gpu.name}, {gpu.memory_gb:g} GB: {gpu.source} ({gpu.as_of})")
    )
    k[1].metric(
        "Streams at the targets", est.concurrency, help=md(f"Largest concurrency meeting both targets; {basis}")
    )
    k[2].metric("Replica output tok/s", f"{est.output_tokens_per_s:,.0f}", help=md(basis))
    k[3].metric("Time to first token", f"{est.ttft_ms:,.0f} ms", help=md(basis))
    k[4].metric(
        "$/1M output tokens",
        money(row.usd_per_mtok_full_load, decimals=3) if row.usd_per_mtok_full_load is not None else "—",
        help=md(f"At full load, {PLAN_LABELS[PricePlan(plan)]}: {row.price_source or row.note}"),
    )
    if row.usd_per_gpu_hour is not None:
        st.caption(md(f"GPU-hour price {money(row.usd_per_gpu_hour, decimals=2)}: {row.price_source}"))
    if not row.meets_targets:
        st.warning("Even one stream misses the latency targets on this GPU; the figures are for a single stream.")

    left, right = st.columns(2, gap="large")
    with left:
        title = f"Memory of one replica ({row.gpus}× {row.gpu_name.removeprefix('NVIDIA ')})"
        st.plotly_chart(charts.memory_chart(est, title=title), key="hw-memory")
    with right:
        points = throughput_curve(inputs, gpu_id, row.gpus, est.max_concurrency)
        fig = charts.throughput_chart(
            points,
            target_per_user=float(per_user),
            chosen=est if row.meets_targets else None,
            title=f"Throughput vs concurrency ({est.basis.value} estimate)",
        )
        st.plotly_chart(fig, key="hw-throughput")

    try:
        measured = measured_vs_estimated(inputs, gpu_id, row.gpus, store_cursor())
    except CostModelError as ex:
        st.caption(md(f"Stored measurements could not be read: {ex}"))
    else:
        if measured is None:
            st.caption("No measurement of this model on this GPU is stored yet (the Measure page runs one).")
        else:
            st.subheader("Measured vs estimated")
            m = st.columns(3)
            m[0].metric("Measured tok/s", f"{measured.measured_tokens_per_s:,.0f}", help=md(measured.label))
            m[1].metric("Estimated tok/s", f"{measured.estimated_tokens_per_s:,.0f}", help=md(basis))
            m[2].metric(
                "Estimate's error", f"{measured.error_pct:+.0f} %", help="(estimate − measurement) ÷ measurement"
            )
            st.caption(md(f"{measured.label}, {measured.concurrency} streams on {measured.gpus} GPU(s)."))
