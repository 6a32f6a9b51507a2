"""Human labels for every scenario field: one map for the builder's forms, tornado bars (page and
workbook) and error messages.

Users never see a field path such as `costs.engineering_fte`. Each numeric or choice field has a short label
here; a field missing from the map falls back to the first clause of its docstring, and a test checks that
no field needs that. Pure: the engine and the dashboard both use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from costmodel.scenario import (
    ApiOption,
    CloudGpuOption,
    Commitment,
    DecisionRules,
    HybridOption,
    LatencyTargets,
    OnPremOption,
    Scenario,
    SelfHostCosts,
    TaskClass,
    Uncertainty,
    Workload,
)

__all__ = ["LABELS", "OPTION_LABELS", "field_label", "path_label"]

LABELS: dict[type[BaseModel], dict[str, str]] = {
    Workload: {
        "requests_per_month": "Requests per month (month 1)",
        "input_tokens_per_request": "Input tokens per request",
        "output_tokens_per_request": "Output tokens per request",
        "cached_input_share": "Cached input share (0–1)",
        "batch_share": "Batch share (0–1)",
        "monthly_growth_pct": "Monthly growth, %",
        "peak_to_average": "Peak ÷ average load",
        "hours_per_day": "Hours a day",
        "days_per_week": "Days a week",
        "latency": "Latency targets",
    },
    LatencyTargets: {
        "ttft_ms": "Time-to-first-token target, ms",
        "output_tokens_per_s_per_user": "Output tok/s per user target",
    },
    Scenario: {
        "name": "Scenario name",
        "workload": "Workload",
        "options": "Options",
        "baseline": "Baseline (what you pay today)",
        "horizon_months": "Horizon, months",
        "discount_rate_pct_per_year": "Discount rate, %/year",
        "currency": "Currency shown",
        "usd_fx_rate": "FX rate: units of the currency per USD",
        "api_price_change_pct_per_year": "API price change, %/year",
        "gpu_price_change_pct_per_year": "GPU price change, %/year",
        "price_date": "API prices as of",
        "sensitivity_pct": "Tornado swing, ± %",
        "cost_lens": "Cost lens",
        "tax_rate_pct": "Tax rate, %",
        "decision": "Decision rules",
        "uncertainty": "Uncertainty",
        "quality_floors": "Quality floors per task class",
    },
    SelfHostCosts: {
        "engineering_fte": "Engineers (FTE)",
        "loaded_salary_usd_per_year": "Loaded salary, USD/year",
        "support_usd_per_month": "Support, USD/month",
        "monitoring_usd_per_month": "Monitoring, USD/month",
        "fine_tuning_gpu_hours": "Fine-tuning GPU-hours (once)",
        "fine_tuning_usd_per_gpu_hour": "Fine-tuning USD per GPU-hour",
        "data_prep_days": "Data-prep person-days (once)",
        "data_prep_usd_per_day": "Data-prep USD per day",
        "setup_usd": "Migration and setup, USD (once)",
        "oncall_fte_per_block": "On-call engineers per block (FTE)",
        "replicas_per_oncall_block": "Replicas per on-call block",
        "cpu_host_usd_per_replica_month": "CPU host, USD per replica-month",
        "storage_usd_per_month": "Storage, USD/month",
        "network_usd_per_month": "Networking, USD/month",
        "egress_usd_per_gb": "Egress, USD per GB",
        "egress_bytes_per_output_token": "Egress bytes per output token",
        "staging_share": "Staging environment share (0–2)",
        "interconnect_usd_per_node_month": "Interconnect, USD per node-month",
    },
    DecisionRules: {
        "min_saving_pct": "Smallest saving worth a switch, %",
        "min_saving_usd_per_month": "Smallest saving worth a switch, USD/month",
        "min_probability": "Smallest chance the saving is real (0–1)",
    },
    Uncertainty: {
        "draws": "Monte Carlo draws",
        "seed": "Random seed",
        "gpu_price_trend_sd_pct": "Spread of the GPU price trend, points",
        "api_price_trend_sd_pct": "Spread of the API price trend, points",
        "growth_sd_pct": "Spread of monthly growth, points",
        "utilisation_sd": "Spread of utilisation reached (0–1)",
        "throughput_error_pct": "Spread of throughput error, %",
    },
    Commitment: {
        "term_years": "Commitment term, years",
        "payment": "Upfront payment",
        "committed_nodes": "Committed nodes",
        "usd_per_gpu_hour": "Committed price, USD per GPU-hour",
    },
    TaskClass: {"name": "Task class", "share": "Share of requests (0–1)", "on_open_model": "On the open model"},
}
"""Model → field → label, for every model but the options (see `OPTION_LABELS`)."""

OPTION_LABELS: dict[str, str] = {
    "name": "Name",
    "kind": "Kind",
    "input_token_multiplier": "Input token multiplier (×)",
    "output_token_multiplier": "Output token multiplier (×)",
    "switch_usd": "Switching cost, USD (once)",
    "quality": "Measured quality on your tasks",
    # per-token options
    "provider": "Provider",
    "model": "Model",
    "discount_pct": "Negotiated discount, %",
    "input_usd_per_mtok": "Your input price, USD per 1M tokens",
    "cached_input_usd_per_mtok": "Your cached-input price, USD per 1M tokens",
    "output_usd_per_mtok": "Your output price, USD per 1M tokens",
    # self-hosted options
    "quant": "Quantization",
    "gpu": "GPU",
    "gpus_per_replica": "GPUs per replica",
    "runtime": "Serving engine",
    "min_replicas": "Minimum replicas",
    "measured_output_tokens_per_s": "Replica throughput, output tok/s",
    "measured_watts_per_gpu": "Measured watts per GPU",
    "costs": "People and one-off costs",
    "target_utilisation": "Target utilisation at peak (0–1)",
    "n_plus_1": "One spare replica (N+1)",
    "batch_off_peak": "Batch traffic off-peak",
    "price_plan": "Price plan",
    "instance_type": "Instance type",
    "usd_per_gpu_hour": "GPU-hour price, USD",
    "scale_to_zero": "Scale to zero outside traffic hours",
    "commitment": "Commitment",
    "include_flagged_prices": "Include flagged catalog prices",
    "gpus_per_server": "GPUs per server",
    "server_capex_usd": "Server price, USD",
    "amortisation_years": "Amortisation, years",
    "server_overhead_watts": "Server overhead, W",
    "gpu_idle_power_share": "Idle GPU power share (0–1)",
    "pue": "PUE",
    "usd_per_kwh": "Electricity, USD per kWh",
    "rack_usd_per_server_month": "Rack, USD per server-month",
    "maintenance_pct_per_year": "Maintenance, % of capex/year",
    "resale_pct_at_horizon": "Resale value at the horizon, % of price",
    # hybrid options
    "open_option": "Open-model option",
    "api_option": "API option",
    "task_classes": "Task classes",
}
"""Field → label for every option kind (a field means the same in each kind that has it)."""

_OPTIONS = (ApiOption, CloudGpuOption, OnPremOption, HybridOption)


def _docstring_label(model: type[BaseModel], name: str) -> str:
    field = model.model_fields.get(name)
    text = (field.description or "") if field else ""
    first = re.split(r"[.(;:]| — ", text, maxsplit=1)[0].strip()
    return first or name.replace("_", " ")


def field_label(model: type[BaseModel], name: str) -> str:
    """The label of field `name` of `model` (any option kind, or another scenario model)."""
    if issubclass(model, _OPTIONS) and name in OPTION_LABELS:
        return OPTION_LABELS[name]
    if name in LABELS.get(model, {}):
        return LABELS[model][name]
    return _docstring_label(model, name)


_KINDS: dict[str, type[BaseModel]] = {
    "api": ApiOption,
    "managed": ApiOption,
    "cloud_gpu": CloudGpuOption,
    "on_prem": OnPremOption,
    "hybrid": HybridOption,
}


def _option_data(scenario: Scenario | Mapping[str, Any], index: int) -> Mapping[str, Any] | None:
    options = scenario.options if isinstance(scenario, Scenario) else scenario.get("options")
    if not isinstance(options, Sequence) or not 0 <= index < len(options):
        return None
    o = options[index]
    return o.model_dump() if isinstance(o, BaseModel) else o if isinstance(o, Mapping) else None


def path_label(scenario: Scenario | Mapping[str, Any], path: Sequence[str | int]) -> str:
    """`Llama 3.1 8B on 1× H100 · Engineers (FTE)` for `options.2.costs.engineering_fte`, and so on.

    Args:
        scenario: the scenario (or its JSON-shaped dict) the path points into, for option names.
        path: field path as pydantic and the tornado give it (`("workload", "latency", "ttft_ms")`).
    """
    parts = [p for p in path if not (isinstance(p, str) and p in {"api", "managed", "cloud_gpu", "on_prem", "hybrid"})]
    if not parts:
        return "Scenario"
    head, *rest = parts
    if head == "workload":
        if not rest:
            return "Workload"
        if rest[0] == "latency" and len(rest) > 1:
            return field_label(LatencyTargets, str(rest[1]))
        return field_label(Workload, str(rest[0]))
    if head == "options" and rest and str(rest[0]).isdigit():
        index = int(rest[0])
        data = _option_data(scenario, index)
        name = str(data.get("name") or f"Option {index + 1}") if data else f"Option {index + 1}"
        model = _KINDS.get(str(data.get("kind")), CloudGpuOption) if data else CloudGpuOption
        tail = rest[1:]
        if not tail:
            return name
        if tail[0] == "costs" and len(tail) > 1:
            return f"{name} · {field_label(SelfHostCosts, str(tail[1]))}"
        if tail[0] == "commitment" and len(tail) > 1:
            return f"{name} · {field_label(Commitment, str(tail[1]))}"
        if tail[0] == "task_classes" and len(tail) > 1:
            row = f"task class {int(tail[1]) + 1}" if str(tail[1]).isdigit() else "task classes"
            field = f" {field_label(TaskClass, str(tail[2])).lower()}" if len(tail) > 2 else ""
            return f"{name} · {row}{field}"
        return f"{name} · {field_label(model, str(tail[0]))}"
    nested = {"decision": DecisionRules, "uncertainty": Uncertainty}
    if head in nested and rest:
        return field_label(nested[str(head)], str(rest[0]))
    return field_label(Scenario, str(head))
