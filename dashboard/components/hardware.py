"""Hardware fit: which GPUs hold a model in a given quantization, how fast, and what that means per token.

Speeds come from `costmodel.throughput`. The GPU-hour price is the engine's own pick
(`costmodel.sizing.resolve_gpu_price`, the rule behind Compare's cards), so both pages show one price for one
GPU, cloud and plan, and name the offer. Cost per token comes from the engine too
(`costmodel.measure.energy.gpu_hours_usd_per_mtok` at full load, `costmodel.tco.evaluate` for the user's own
workload). Cached by their inputs, so moving between GPUs redraws without recomputing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from costmodel.catalog import catalog
from costmodel.errors import CostModelError
from costmodel.fmt import money
from costmodel.scenario import CloudGpuOption, LatencyTargets, Scenario, SelfHostCosts, Workload
from costmodel.sizing import gpu_fit, resolve_gpu_price, stored_hardware
from costmodel.tco import evaluate
from costmodel.throughput import ThroughputEstimate, check_format, estimate

__all__ = [
    "FIT_COLUMNS",
    "FitInputs",
    "GpuFit",
    "Measured",
    "fit_frame",
    "fit_table",
    "measured_vs_estimated",
    "throughput_curve",
]

try:  # another part of the engine, written alongside this page; the page works without it
    from costmodel.measure.energy import gpu_hours_usd_per_mtok
except ImportError:  # pragma: no cover - depends on which engine modules are installed
    gpu_hours_usd_per_mtok = None  # type: ignore[assignment]


@dataclass(frozen=True)
class FitInputs:
    """What the page asks about (hashable, so it keys the caches)."""

    model_id: str
    quant_id: str
    input_tokens: int
    output_tokens: int
    ttft_ms: float
    tokens_per_s_per_user: float
    price_plan: str
    workload_json: str
    """The scenario's workload, for the cost per token of the user's own traffic."""
    provider: str = ""
    """Cloud whose price is used ("": the cheapest listed for the plan), as on a rented-GPU option."""
    runtime: str = ""
    """Serving engine the speeds are estimated for ("": the format's default engine), as on a self-hosted option."""


@dataclass(frozen=True)
class GpuFit:
    """One catalog GPU for the model: how many, how fast, how much per token."""

    gpu_id: str
    gpu_name: str
    memory_gb: float
    gpus: int | None
    """GPUs per replica (tensor parallel); None when it does not fit on 64."""
    estimate: ThroughputEstimate | None
    """At the largest concurrency that meets the latency targets."""
    meets_targets: bool
    usd_per_gpu_hour: Decimal | None
    price_source: str
    """The engine's source line for the price: provider, instance, region, plan, file and date."""
    offer: str
    """Provider and instance the price is for (`lambda gpu_8x_h100_sxm5`)."""
    usd_per_mtok_full_load: Decimal | None
    """GPU-hours per million output tokens with the replica kept busy at the sized concurrency."""
    workload_usd_per_mtok: Decimal | None
    """GPU cost per million tokens (input + output) of the scenario's month-1 traffic on this GPU."""
    workload_replicas: int | None
    workload_utilisation: float | None
    note: str


def _workload(inputs: FitInputs) -> Workload:
    w = Workload.model_validate_json(inputs.workload_json).model_dump(mode="json")
    w.update(input_tokens_per_request=inputs.input_tokens, output_tokens_per_request=inputs.output_tokens)
    w["latency"] = {"ttft_ms": inputs.ttft_ms, "output_tokens_per_s_per_user": inputs.tokens_per_s_per_user}
    return Workload.model_validate(w)


def _option(inputs: FitInputs, gpu_id: str, gpus: int) -> CloudGpuOption:
    """The rented-GPU option the page prices: the same one Compare would build for this GPU, cloud and plan."""
    return CloudGpuOption(
        name=gpu_id,
        model=inputs.model_id,
        quant=inputs.quant_id,
        gpu=gpu_id,
        gpus_per_replica=gpus,
        provider=inputs.provider or None,
        runtime=inputs.runtime or None,
        price_plan=inputs.price_plan,
        costs=SelfHostCosts(engineering_fte=0),
    )


def _your_workload(inputs: FitInputs, gpu_id: str, gpus: int) -> tuple[Decimal, int, float]:
    option = _option(inputs, gpu_id, gpus)
    result = evaluate(Scenario(workload=_workload(inputs), options=[option], horizon_months=1))
    r = result.options[0]
    return r.usd_per_mtok, r.months[0].replicas, r.months[0].utilisation


def _row(inputs: FitInputs, gpu_id: str) -> GpuFit:
    model, gpu, quant = stored_hardware(inputs.model_id, gpu_id, inputs.quant_id)
    empty: dict[str, Any] = dict(
        gpu_id=gpu.gpu_id,
        gpu_name=gpu.name,
        memory_gb=gpu.memory_gb,
        gpus=None,
        estimate=None,
        meets_targets=False,
        usd_per_gpu_hour=None,
        price_source="",
        offer="",
        usd_per_mtok_full_load=None,
        workload_usd_per_mtok=None,
        workload_replicas=None,
        workload_utilisation=None,
    )
    fit = gpu_fit(
        model,
        gpu,
        quant,
        input_tokens=inputs.input_tokens,
        output_tokens=inputs.output_tokens,
        ttft_ms=inputs.ttft_ms,
        output_tokens_per_s_per_user=inputs.tokens_per_s_per_user,
        runtime=inputs.runtime or None,
    )
    if fit.gpus is None or fit.estimate is None:
        return GpuFit(**{**empty, "gpus": fit.gpus}, note=fit.note)
    n, est, ok = fit.gpus, fit.estimate, fit.meets_targets
    row = {**empty, "gpus": n, "estimate": est, "meets_targets": ok}
    try:
        usd_per_gpu_hour, source, offer = resolve_gpu_price(_option(inputs, gpu.gpu_id, n), gpu)
    except CostModelError:
        return GpuFit(**row, note="no price listed")  # for this cloud and plan: the caption says so
    row.update(
        usd_per_gpu_hour=usd_per_gpu_hour,
        price_source=source,
        offer=f"{offer.provider} {offer.instance_type}" if offer else "your price",
    )
    if gpu_hours_usd_per_mtok is not None and est.output_tokens_per_s > 0:
        row["usd_per_mtok_full_load"] = gpu_hours_usd_per_mtok(
            tokens_per_s=est.output_tokens_per_s, gpus=n, usd_per_gpu_hour=usd_per_gpu_hour
        )
    try:
        usd, replicas, util = _your_workload(inputs, gpu.gpu_id, n)
    except CostModelError as ex:
        return GpuFit(**row, note=str(ex))
    row.update(workload_usd_per_mtok=usd, workload_replicas=replicas, workload_utilisation=util)
    return GpuFit(**row, note="" if ok else "misses targets")


@st.cache_data(max_entries=64, show_spinner=False)
def fit_table(inputs: FitInputs) -> list[GpuFit]:
    """Every catalog GPU for the model: the ones that fit first, cheapest per token first. A format the model
    cannot be stored in is one error for the page, not one note per GPU (`check_format`)."""
    cat = catalog()
    check_format(cat.model(inputs.model_id), cat.quant(inputs.quant_id))
    rows = [_row(inputs, g.gpu_id) for g in cat.gpus]

    def order(r: GpuFit) -> tuple[int, Decimal]:
        cost = r.usd_per_mtok_full_load
        return (
            0 if r.estimate is not None and cost is not None else 1 if r.estimate is not None else 2,
            cost if cost is not None else Decimal(0),
        )

    return sorted(rows, key=order)


def _money(usd: Decimal | None, decimals: int) -> str | None:
    return money(usd, decimals=decimals) if usd is not None else None


FIT_COLUMNS: dict[str, tuple[str, int]] = {
    "GPU": ("GPU model and its memory", 128),
    "GPUs": ("GPUs per replica (tensor parallel) to hold the weights and one full-length request", 46),
    "Streams": ("Concurrent streams one replica serves while meeting both latency targets", 60),
    "Tok/s": ("Replica output tokens per second at those streams (time to first token: Look closer)", 54),
    "$/GPU-h": ("GPU-hour price the engine uses for this cloud and plan (Offer names it)", 62),
    "Offer": ("Provider and instance the price is for", 164),
    "$/1M out": ("GPU cost per million output tokens with a replica kept busy (full load)", 66),
    "$/1M yours": ("GPU cost per million tokens (in + out) of your month-1 traffic, replicas sized for the peak", 74),
    "Replicas": ("Replicas your month-1 peak needs", 62),
    "Note": ("Why a row has no figure, or misses the latency targets", 100),
}
"""Column → (what it means, shown as its tooltip; width in pixels): the table fits at 1280 px."""


def _short_gpu(name: str, memory_gb: float) -> str:
    short = name.removeprefix("NVIDIA ").removeprefix("AMD ")
    return short if "GB" in short else f"{short} {memory_gb:g}GB"


def fit_frame(rows: list[GpuFit]) -> pd.DataFrame:
    """The table the page shows: one row per GPU, the engine's figures rounded for reading."""
    out = []
    for row in rows:
        e = row.estimate
        out.append(
            {
                "GPU": _short_gpu(row.gpu_name, row.memory_gb),
                "GPUs": row.gpus,
                "Streams": e.concurrency if e else None,
                "Tok/s": round(e.output_tokens_per_s) if e else None,
                "$/GPU-h": _money(row.usd_per_gpu_hour, 2) or "—",
                "Offer": row.offer or "—",
                "$/1M out": _money(row.usd_per_mtok_full_load, 3) or "—",
                "$/1M yours": _money(row.workload_usd_per_mtok, 3) or "—",
                "Replicas": row.workload_replicas,
                "Note": row.note,
            }
        )
    return pd.DataFrame(out, columns=list(FIT_COLUMNS))


@st.cache_data(max_entries=64, show_spinner=False)
def throughput_curve(inputs: FitInputs, gpu_id: str, gpus: int, max_concurrency: int) -> list[ThroughputEstimate]:
    """Estimates at 1, 2, 4 … streams up to what the KV cache holds."""
    model, gpu, quant = stored_hardware(inputs.model_id, gpu_id, inputs.quant_id)
    levels = sorted({*(2**k for k in range(max_concurrency.bit_length())), max_concurrency})
    return [
        estimate(
            model,
            gpu,
            quant,
            gpus=gpus,
            concurrency=b,
            input_tokens=inputs.input_tokens,
            output_tokens=inputs.output_tokens,
            runtime=inputs.runtime or None,
        )
        for b in levels
    ]


@dataclass(frozen=True)
class Measured:
    """The newest stored benchmark of the model on the GPU, and the estimate at the same concurrency."""

    label: str
    measured_tokens_per_s: float
    estimated_tokens_per_s: float
    concurrency: int
    gpus: int
    error_pct: float
    """(estimate − measurement) ÷ measurement: how far the roofline estimate is off on this machine."""


def measured_vs_estimated(inputs: FitInputs, gpu_id: str, gpus: int, cursor: Any) -> Measured | None:
    """The user's own measurement next to the estimate, when `costmodel.measure` has one stored."""
    try:
        from costmodel.measure import latest_measurement
    except ImportError:  # pragma: no cover - the measure module is optional for this page
        return None
    model, gpu, quant = stored_hardware(inputs.model_id, gpu_id, inputs.quant_id)
    latency = LatencyTargets(ttft_ms=inputs.ttft_ms, output_tokens_per_s_per_user=inputs.tokens_per_s_per_user)
    for name in dict.fromkeys((model.hf_repo, model.model_id, model.name, *model.aliases)):
        m = latest_measurement(cursor, model=name, gpu=gpu.gpu_id, latency=latency)
        if m is not None:
            break
    else:
        return None
    n = m.gpu_count or gpus
    est = estimate(
        model,
        gpu,
        quant,
        gpus=n,
        concurrency=m.concurrency,
        input_tokens=inputs.input_tokens,
        output_tokens=inputs.output_tokens,
        runtime=inputs.runtime or None,
    )
    error = (est.output_tokens_per_s - m.output_tokens_per_s) / m.output_tokens_per_s * 100
    label = f"run #{m.benchmark_id} on {m.gpu_name or gpu.name}, {m.measured_at:%Y-%m-%d}"
    return Measured(label, m.output_tokens_per_s, est.output_tokens_per_s, m.concurrency, n, error)
