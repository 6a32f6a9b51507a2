"""Cost lines every self-hosted kind shares: the peak it is sized for, people, running costs, one-offs."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from costmodel.errors import ScenarioError
from costmodel.options.base import ONE, SECONDS_PER_HOUR, ZERO, MonthCost, SourceLine, d
from costmodel.scenario import HOURS_PER_MONTH, CloudGpuOption, OnPremOption, Scenario, Workload
from costmodel.sizing import FEW_STREAMS, ReplicaSpec, candidate_gpu_counts
from costmodel.throughput import engine_note

__all__ = [
    "RunningCosts",
    "available_hours",
    "fleet_sources",
    "fleet_warnings",
    "one_off_usd",
    "peak_array",
    "peak_output_tokens_per_s",
    "rank_shapes",
]


def available_hours(option: CloudGpuOption | OnPremOption, workload: Workload) -> Decimal:
    """Hours a month replicas run: all of them, or the operating hours when scaling to zero."""
    if isinstance(option, CloudGpuOption) and option.scale_to_zero:
        return workload.operating_hours_per_month
    return HOURS_PER_MONTH


def peak_output_tokens_per_s(
    option: CloudGpuOption | OnPremOption, workload: Workload, output_tokens: Decimal
) -> Decimal:
    """Output tokens/s the fleet must carry in the peak hour.

    Interactive traffic peaks at `peak_to_average` × its mean over the operating hours. With batch work
    moved off-peak, the batch share leaves the peak, but the month's whole output must still fit in the
    hours replicas run.
    """
    seconds = workload.operating_hours_per_month * SECONDS_PER_HOUR
    if not option.batch_off_peak:
        return output_tokens / seconds * d(workload.peak_to_average)
    interactive = output_tokens * (ONE - d(workload.batch_share)) / seconds * d(workload.peak_to_average)
    spread = output_tokens / (available_hours(option, workload) * SECONDS_PER_HOUR)
    return max(interactive, spread)


def peak_array(option: CloudGpuOption | OnPremOption, workload: Workload, output_tokens: Any) -> Any:
    """`peak_output_tokens_per_s` over a NumPy array of monthly output tokens (draws × months)."""
    import numpy as np

    seconds = float(workload.operating_hours_per_month) * 3600
    if not option.batch_off_peak:
        return output_tokens / seconds * workload.peak_to_average
    interactive = output_tokens * (1 - workload.batch_share) / seconds * workload.peak_to_average
    return np.maximum(interactive, output_tokens / (float(available_hours(option, workload)) * 3600))


@dataclass(frozen=True)
class RunningCosts:
    """An option's running-cost rates, read once per evaluation (the month loop only multiplies)."""

    cpu_host_usd_per_replica: Decimal
    fixed_usd: Decimal
    egress_usd_per_output_token: Decimal
    staging_share: Decimal
    interconnect_usd_per_node: Decimal
    people_usd: Decimal
    oncall_usd_per_block: Decimal
    replicas_per_block: int

    @classmethod
    def of(cls, option: CloudGpuOption | OnPremOption) -> RunningCosts:
        c = option.costs
        return cls(
            cpu_host_usd_per_replica=c.cpu_host_usd_per_replica_month,
            fixed_usd=c.fixed_running_usd_per_month,
            egress_usd_per_output_token=d(c.egress_bytes_per_output_token)
            / Decimal(1_000_000_000)
            * c.egress_usd_per_gb,
            staging_share=d(c.staging_share),
            interconnect_usd_per_node=c.interconnect_usd_per_node_month,
            people_usd=c.people_usd_per_month,
            oncall_usd_per_block=d(c.oncall_fte_per_block) * c.loaded_salary_usd_per_year / 12,
            replicas_per_block=c.replicas_per_oncall_block,
        )

    def month(
        self, *, replicas: int, interconnect_nodes: int, output_tokens: Decimal, hardware_usd: Decimal
    ) -> tuple[Decimal, Decimal]:
        """(infra, people) USD of one month.

        Infra: CPU hosts per replica, storage, networking, egress (output tokens × bytes per token), a
        staging environment as a share of the hardware cost, and interconnect for nodes of multi-node
        replicas. People: engineers, support and monitoring, plus on-call staff per block of replicas.
        """
        infra = (
            replicas * self.cpu_host_usd_per_replica
            + self.fixed_usd
            + output_tokens * self.egress_usd_per_output_token
            + self.staging_share * hardware_usd
            + interconnect_nodes * self.interconnect_usd_per_node
        )
        blocks = math.ceil(replicas / self.replicas_per_block) if replicas else 0
        return infra, self.people_usd + blocks * self.oncall_usd_per_block

    def arrays(
        self, *, replicas: Any, interconnect_nodes: Any, output_tokens: Any, hardware_usd: Any
    ) -> tuple[Any, Any]:
        """`month` over NumPy arrays (draws × months), in floats, for the Monte Carlo."""
        import numpy as np

        infra = (
            replicas * float(self.cpu_host_usd_per_replica)
            + float(self.fixed_usd)
            + output_tokens * float(self.egress_usd_per_output_token)
            + float(self.staging_share) * hardware_usd
            + interconnect_nodes * float(self.interconnect_usd_per_node)
        )
        blocks = np.ceil(replicas / self.replicas_per_block)
        return infra, float(self.people_usd) + blocks * float(self.oncall_usd_per_block)


P = TypeVar("P")


def rank_shapes(
    option: CloudGpuOption | OnPremOption,
    scenario: Scenario,
    *,
    plan: Callable[[int], P],
    months: Callable[[P], list[MonthCost]],
    gpus_of: Callable[[P], int],
) -> list[tuple[Decimal, P]]:
    """Every replica shape the option allows, sized and costed over the horizon in the lens in force,
    cheapest first (ties to fewer GPUs). Shapes that cannot run (no price, no fit) drop out; when none
    can, the first shape's error is raised."""
    ranked: list[tuple[Decimal, P]] = []
    errors: list[ScenarioError] = []
    tax = d(scenario.tax_rate_pct) / 100
    for g in candidate_gpu_counts(option, scenario.workload):
        try:
            p = plan(g)
        except ScenarioError as ex:
            errors.append(ex)
            continue
        ranked.append((sum((m.cost_usd(scenario.cost_lens, tax) for m in months(p)), ZERO), p))
    if not ranked:
        raise errors[0]
    ranked.sort(key=lambda t: (t[0], gpus_of(t[1])))
    return ranked


def one_off_usd(option: CloudGpuOption | OnPremOption, month: int) -> Decimal:
    return option.costs.one_off_usd if month == 1 else ZERO


def fleet_warnings(option: CloudGpuOption | OnPremOption, rep: ReplicaSpec) -> list[str]:
    warns = []
    e = rep.estimate
    if not rep.meets_targets:
        warns.append(
            f"{option.name}: even one stream misses the latency targets "
            f"(TTFT {e.ttft_ms:,.0f} ms, {e.output_tokens_per_s_per_stream:,.1f} tok/s per user); sized at 1 stream"
        )
    if rep.basis.value != "measured" and e.max_concurrency < FEW_STREAMS:
        warns.append(
            f"{option.name}: the KV cache of {rep.gpus_per_replica}× {rep.gpu.gpu_id} holds only "
            f"{e.max_concurrency} stream(s) of this length ({e.kv_capacity_gb:.1f} GB free); "
            "more GPUs per replica would batch better"
        )
    return warns


def fleet_sources(rep: ReplicaSpec) -> list[SourceLine]:
    e = rep.estimate
    q = rep.queue
    return [
        SourceLine(
            "Model", f"{rep.model.name} ({rep.model.total_params_b:g}B)", f"{rep.model.source} ({rep.model.as_of})"
        ),
        SourceLine(
            "GPU",
            f"{rep.gpu.name}, {rep.gpu.memory_gb:g} GB, {rep.gpu.hbm_bandwidth_gb_s:g} GB/s",
            f"{rep.gpu.source} ({rep.gpu.as_of})",
        ),
        SourceLine(
            "Quantization",
            f"{rep.quant.name}, {rep.quant.bits_per_weight:g} bits/weight",
            f"{rep.quant.source} ({rep.quant.as_of})",
        ),
        SourceLine(
            "Serving engine",
            rep.serving_engine,
            f"estimated with the {e.runtime_family} runtime family's calibrated factors"
            + (f"; {note}" if (note := engine_note(rep.runtime, rep.gpu, rep.quant)) else ""),
        ),
        SourceLine(
            "Replica throughput",
            f"{rep.output_tokens_per_s:,.0f} output tok/s at {rep.concurrency} streams on {rep.gpus_per_replica} "
            f"GPU(s), ±{rep.error_band_pct:.0f} %"
            + ("" if rep.basis.value == "measured" else f" (from {e.error_band_basis})"),
            "measured by the user" if rep.basis.value == "measured" else e.efficiency.source,
        ),
        SourceLine(
            "Planned utilisation",
            f"{q.utilisation:.0%} at peak (target {q.target_utilisation:.0%}, set by {q.limited_by}), "
            f"p95 TTFT {q.p95_ttft_ms:,.0f} ms",
            "Erlang C (M/M/c) queue over the replica's streams",
        ),
    ]
