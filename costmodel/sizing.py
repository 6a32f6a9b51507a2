"""Resolve a self-hosted option into the facts its cost depends on: price per GPU-hour and replica speed.

Everything here is looked up once per evaluation and reused for every month, so a 36-month projection
costs a handful of multiplications per month.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from costmodel.catalog import GpuPrice, GpuSpec, ModelArch, QuantFormat, catalog
from costmodel.errors import ScenarioError
from costmodel.scenario import CloudGpuOption, OnPremOption, Workload
from costmodel.throughput import Basis, ThroughputEstimate, gpus_needed, max_concurrency_meeting

__all__ = ["ReplicaSpec", "resolve_gpu_price", "resolve_replica"]


@dataclass(frozen=True)
class ReplicaSpec:
    """What one replica of a self-hosted option is and how much traffic it carries at the latency targets."""

    model: ModelArch
    gpu: GpuSpec
    quant: QuantFormat
    gpus_per_replica: int
    output_tokens_per_s: float
    """Output tokens per second one replica serves while meeting the latency targets."""
    concurrency: int
    meets_targets: bool
    basis: Basis
    estimate: ThroughputEstimate
    watts_per_gpu_at_load: float
    watts_basis: str

    def replicas_for(self, peak_output_tokens_per_s: Decimal, floor: int) -> int:
        """Replicas needed for a peak load, never fewer than the redundancy floor."""
        need = math.ceil(float(peak_output_tokens_per_s) / self.output_tokens_per_s - 1e-9)
        return max(floor, need)


def resolve_replica(option: CloudGpuOption | OnPremOption, workload: Workload) -> ReplicaSpec:
    """Look up model, GPU and quantization and size one replica for the workload's latency targets."""
    cat = catalog()
    model, gpu, quant = cat.model(option.model), cat.gpu(option.gpu), cat.quant(option.quant)
    ctx = workload.tokens_per_request
    n = option.gpus_per_replica or gpus_needed(model, gpu, quant, context_tokens=ctx)
    if n is None:
        raise ScenarioError(
            f"option {option.name!r}: {model.name} in {quant.name} ({model.total_params_b:g}B params) does not "
            f"fit on up to 64 × {gpu.name}; pick a smaller quantization or a larger GPU"
        )
    est, ok = max_concurrency_meeting(
        model,
        gpu,
        quant,
        gpus=n,
        input_tokens=workload.input_tokens_per_request,
        output_tokens=workload.output_tokens_per_request,
        ttft_ms=workload.latency.ttft_ms,
        output_tokens_per_s_per_user=workload.latency.output_tokens_per_s_per_user,
    )
    if not est.fits:
        raise ScenarioError(
            f"option {option.name!r}: {model.name} in {quant.name} needs {est.weights_gb:.0f} GB of weights plus "
            f"KV cache but {n} × {gpu.name} hold {est.memory_gb:.0f} GB; raise gpus_per_replica or quantize"
        )
    tps, basis = est.output_tokens_per_s, est.basis
    if option.measured_output_tokens_per_s is not None:
        tps, basis = option.measured_output_tokens_per_s, Basis.MEASURED
    if option.measured_watts_per_gpu is not None:
        watts, watts_basis = option.measured_watts_per_gpu, "measured"
    elif gpu.tdp_w is not None:
        watts, watts_basis = gpu.tdp_w, f"TDP {gpu.tdp_w:g} W ({gpu.source}, {gpu.as_of})"
    elif isinstance(option, OnPremOption):
        raise ScenarioError(
            f"option {option.name!r}: {gpu.name} has no published TDP in data/gpus.csv; "
            "type measured_watts_per_gpu (e.g. from `opentco measure`)"
        )
    else:
        watts, watts_basis = 0.0, "not needed for rented GPUs"
    return ReplicaSpec(
        model=model,
        gpu=gpu,
        quant=quant,
        gpus_per_replica=n,
        output_tokens_per_s=tps,
        concurrency=est.concurrency,
        meets_targets=ok or option.measured_output_tokens_per_s is not None,
        basis=basis,
        estimate=est,
        watts_per_gpu_at_load=watts,
        watts_basis=watts_basis,
    )


def resolve_gpu_price(option: CloudGpuOption, gpu: GpuSpec) -> tuple[Decimal, str, GpuPrice | None]:
    """Price per GPU-hour for the option: the user's own figure, else the cheapest catalog row that matches.

    Returns:
        (USD per GPU-hour, a human-readable source line, the catalog row or None).
    """
    if option.usd_per_gpu_hour is not None:
        return option.usd_per_gpu_hour, "typed by the user", None
    rows = catalog().gpu_prices(gpu.gpu_id, plan=option.price_plan.value, provider=option.provider)
    if not rows:
        where = f" at {option.provider}" if option.provider else ""
        plans = sorted({p.plan for p in catalog().gpu_prices(gpu.gpu_id, provider=option.provider)})
        raise ScenarioError(
            f"option {option.name!r}: no {option.price_plan.value} price for {gpu.gpu_id}{where} in data/ "
            f"(listed plans: {', '.join(plans) or 'none'}); choose another plan, provider or GPU, "
            "or type usd_per_gpu_hour"
        )
    row = rows[0]
    src = f"{row.provider} {row.instance_type} ({row.region}), {row.plan}: {row.source}, as of {row.as_of}"
    return row.usd_per_gpu_hour, src, row
