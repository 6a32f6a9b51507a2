"""Resolve a self-hosted option's replica: which model, GPU and quantization, how fast one replica is at
the latency targets, and at what utilisation it is planned (`costmodel.capacity`).

Everything here is looked up once per evaluation and reused for every month, so a 36-month projection
costs a handful of multiplications per month.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from pydantic import ValidationError

from costmodel.capacity import QueuePlan, plan_utilisation, replicas_needed
from costmodel.catalog import GpuPrice, GpuSpec, ModelArch, QuantFormat, catalog, model_from_hf_config
from costmodel.errors import CostModelError, DataFileError, ScenarioError, UnknownRuntime
from costmodel.scenario import CloudGpuOption, OnPremOption, Workload
from costmodel.throughput import (
    TP_DEGREES,
    Basis,
    ThroughputEstimate,
    check_format,
    checked_runtime,
    engine_refusal,
    gpus_needed,
    max_concurrency_meeting,
    one_mac_refusal,
)

__all__ = [
    "FEW_STREAMS",
    "MAX_CONFIG_BYTES",
    "ConfigGpuFit",
    "ReplicaSpec",
    "candidate_gpu_counts",
    "config_gpu_fits",
    "error_band_pct",
    "gpu_fit",
    "model_from_config_bytes",
    "resolve_gpu_price",
    "resolve_replica",
    "stored_hardware",
]

FEW_STREAMS = 8
"""Below this many concurrent streams per replica, the KV cache leaves too little room to batch well."""

_FALLBACK_ERROR_BAND_PCT = {"server": 25.4, "server-w4a16": 52.1, "llama.cpp": 17.7}
"""Leave-one-out median |error| of the calibration per runtime family (README, 'How accurate…'), used
when the estimate does not state its own band."""
_MEASURED_ERROR_BAND_PCT = 5.0
"""A user's own measurement still varies run to run (prompt mix, server version): a small band."""


def _round(x: float) -> int:
    return int(Decimal(repr(x)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


_DEFAULT_ENGINE = {"llama.cpp": "llama.cpp server", "mlx": "MLX server"}
"""What an option that names no engine is estimated as, by its format's runtime family."""


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
    queue: QueuePlan
    """Planned utilisation at the peak hour (target, or lower where queueing would break p95 TTFT)."""
    spare: int = 0
    """Replicas kept beyond the peak's need (1 with N+1 redundancy)."""
    error_band_pct: float = 25.0
    """Expected relative error of `output_tokens_per_s` (1 standard deviation, percent)."""
    runtime: str | None = None
    """The serving engine the option names (None: the format's default engine)."""

    @property
    def serving_engine(self) -> str:
        """The engine as the option names it, else what its format's runtime family is estimated as."""
        return self.runtime or f"not named: a {_DEFAULT_ENGINE.get(self.estimate.runtime_family, 'vLLM-like server')}"

    @property
    def planned_output_tokens_per_s(self) -> float:
        """Load one replica is planned to carry at the peak: capacity × planned utilisation."""
        return self.output_tokens_per_s * self.queue.utilisation

    def replicas_for(self, peak_output_tokens_per_s: Decimal, floor: int) -> int:
        """Replicas needed for a peak load at the planned utilisation, spares added, never below the floor."""
        return replicas_needed(
            float(peak_output_tokens_per_s),
            capacity_output_tokens_per_s=self.output_tokens_per_s,
            utilisation=self.queue.utilisation,
            floor=floor,
            spare=self.spare,
        )


def error_band_pct(est: ThroughputEstimate, *, measured: bool) -> float:
    """The estimate's own stated band where it has one, else the calibration's leave-one-out error."""
    if measured:
        return _MEASURED_ERROR_BAND_PCT
    band = getattr(est, "error_band_pct", None)
    if band:
        return float(band)
    return _FALLBACK_ERROR_BAND_PCT.get(est.runtime_family, 25.0)


def effective_tokens(option: CloudGpuOption | OnPremOption, workload: Workload) -> tuple[int, int]:
    """(input, output) tokens per request this option serves: the workload's times its token multipliers."""
    return (
        max(1, _round(workload.input_tokens_per_request * option.input_token_multiplier)),
        max(1, _round(workload.output_tokens_per_request * option.output_token_multiplier)),
    )


def _runtime(option: CloudGpuOption | OnPremOption) -> str | None:
    """The option's serving engine, checked: a name the estimate does not model is an input error, not the
    default engine in disguise."""
    try:
        return checked_runtime(option.runtime)
    except UnknownRuntime as ex:
        raise ScenarioError(f"option {option.name!r}, runtime: {ex} Or leave it empty.") from None


def candidate_gpu_counts(option: CloudGpuOption | OnPremOption, workload: Workload) -> list[int]:
    """GPUs per replica to try: the option's own count, else every tensor-parallel degree the model fits on (on
    Apple silicon, one Mac: `one_mac_refusal`)."""
    model, gpu, quant = stored_hardware(option.model, option.gpu, option.quant)
    if (why := one_mac_refusal(gpu, option.gpus_per_replica)) is not None:
        raise ScenarioError(f"option {option.name!r}, gpus_per_replica: {why}")
    if option.gpus_per_replica:
        return [option.gpus_per_replica]
    measured = option.measured_output_tokens_per_s is not None
    inp, out = effective_tokens(option, workload)
    first = gpus_needed(model, gpu, quant, context_tokens=inp + out, runtime=_runtime(option))
    one_mac = gpu.segment == "apple"
    if first is None:
        where = f"one {gpu.name} (a replica there is one Mac)" if one_mac else f"up to {TP_DEGREES[-1]} × {gpu.name}"
        raise ScenarioError(
            f"option {option.name!r}: {model.name} in {quant.name} ({model.total_params_b:g}B params) does not "
            f"fit on {where}; pick a smaller quantization or a larger GPU"
        )
    if measured or one_mac:  # a measured speed belongs to one shape; a Mac is one device
        return [first]
    limit = 16 if first <= 8 else first * 2
    return [n for n in TP_DEGREES if first <= n <= limit]


def stored_hardware(model_id: str, gpu_id: str, quant_id: str) -> tuple[ModelArch, GpuSpec, QuantFormat]:
    """A model, a GPU and the weight format as the model is stored in it (`Catalog.format_for`: gpt-oss asked for
    in MXFP4 is its release, MXFP4 on the routed experts only). Scenario options and Hardware fit share it."""
    cat = catalog()
    model = cat.model(model_id)
    return model, cat.gpu(gpu_id), cat.format_for(model, cat.quant(quant_id))


def resolve_replica(
    option: CloudGpuOption | OnPremOption, workload: Workload, *, gpus: int | None = None
) -> ReplicaSpec:
    """Size one replica of `gpus` GPUs (default: the option's count, else the fewest that fit)."""
    model, gpu, quant = stored_hardware(option.model, option.gpu, option.quant)
    if (why := engine_refusal(_runtime(option), gpu, quant)) is not None:
        raise ScenarioError(f"option {option.name!r}: {why}")
    inp, out = effective_tokens(option, workload)
    n = gpus or candidate_gpu_counts(option, workload)[0]
    kwargs = {}
    if workload.cached_input_share and _accepts_prefix_share():
        kwargs["prefix_cache_hit_share"] = workload.cached_input_share
    est, ok = max_concurrency_meeting(
        model,
        gpu,
        quant,
        gpus=n,
        input_tokens=inp,
        output_tokens=out,
        ttft_ms=workload.latency.ttft_ms,
        output_tokens_per_s_per_user=workload.latency.output_tokens_per_s_per_user,
        runtime=_runtime(option),
        **kwargs,
    )
    if not est.fits:
        raise ScenarioError(
            f"option {option.name!r}: {model.name} in {quant.name} needs {est.weights_gb:.0f} GB of weights plus "
            f"KV cache but {n} × {gpu.name} hold {est.memory_gb:.0f} GB; raise gpus_per_replica or quantize"
        )
    tps, basis = est.output_tokens_per_s, est.basis
    measured = option.measured_output_tokens_per_s is not None
    if measured:
        tps, basis = float(option.measured_output_tokens_per_s or 0), Basis.MEASURED
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
    per_stream = tps / max(1, est.concurrency)
    service_s = est.ttft_ms / 1000 + out / per_stream if per_stream > 0 else math.inf
    queue = plan_utilisation(
        streams=max(1, est.concurrency),
        service_s=service_s,
        ttft_ms=est.ttft_ms,
        ttft_target_ms=workload.latency.ttft_ms,
        target=option.target_utilisation,
    )
    return ReplicaSpec(
        model=model,
        gpu=gpu,
        quant=quant,
        gpus_per_replica=n,
        output_tokens_per_s=tps,
        concurrency=est.concurrency,
        meets_targets=ok or measured,
        basis=basis,
        estimate=est,
        watts_per_gpu_at_load=watts,
        watts_basis=watts_basis,
        queue=queue,
        spare=1 if option.n_plus_1 else 0,
        error_band_pct=error_band_pct(est, measured=measured),
        runtime=option.runtime,
    )


@lru_cache(maxsize=1)
def _accepts_prefix_share() -> bool:
    import inspect

    return "prefix_cache_hit_share" in inspect.signature(max_concurrency_meeting).parameters


def resolve_gpu_price(
    option: CloudGpuOption, gpu: GpuSpec, *, workload: Workload | None = None
) -> tuple[Decimal, str, GpuPrice | None]:
    """Price per GPU-hour of the instance the engine rents for this option, with its source line.

    For pages that show one GPU-hour figure: it is the chosen instance's price ÷ its GPU count, the same
    offer `costmodel.options.cloud_gpu` bills by whole nodes (chosen for `workload`, default 1 M requests).
    """
    from costmodel.options.cloud_gpu import plan_for
    from costmodel.scenario import Scenario

    scenario = Scenario(options=[option], workload=workload or Workload())
    plan = plan_for(option, scenario)
    offer = plan.offer
    row = None
    if not offer.typed:
        row = next(
            (
                p
                for p in catalog().gpu_prices(gpu.gpu_id, plan=offer.plan, provider=offer.provider)
                if p.instance_type == offer.instance_type and p.region == offer.region
            ),
            None,
        )
    return offer.usd_per_gpu_hour, offer.describe(), row


MAX_CONFIG_BYTES = 1_000_000
"""Largest config.json accepted from an upload: real ones are a few kB (Llama 3.1 8B's is under 1 kB)."""


def model_from_config_bytes(data: bytes, *, filename: str = "config.json") -> ModelArch:
    """The architecture in the bytes of an uploaded Hugging Face config.json: the parser behind the CLI's
    `--model-config` (`costmodel.catalog.model_from_hf_config`), with errors that name the uploaded file.

    Raises:
        DataFileError: too large, not UTF-8 JSON, not one object, or without layer/head figures.
    """
    if len(data) > MAX_CONFIG_BYTES:
        raise DataFileError(f"{filename}: {len(data):,} bytes; a config.json is a few kB (limit {MAX_CONFIG_BYTES:,})")
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as ex:
        raise DataFileError(f"{filename}: not a JSON config ({ex})") from None
    except RecursionError:
        raise DataFileError(f"{filename}: not a JSON config (nested too deeply)") from None
    if not isinstance(raw, dict):
        raise DataFileError(f"{filename}: a config.json holds one JSON object, not {type(raw).__name__}")
    name = str(raw.get("_name_or_path") or "").strip()[:200] or filename.removesuffix(".json")
    try:
        model = model_from_hf_config(raw, name=name)
    except DataFileError as ex:
        raise DataFileError(str(ex).replace("config.json", filename, 1)) from None
    except ValidationError as ex:
        err = ex.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise DataFileError(f"{filename}: the figures give {where} that cannot be ({err['msg']})") from None
    except (OverflowError, ValueError) as ex:
        raise DataFileError(f"{filename}: a figure is out of range ({ex})") from None
    _check_config_model(model, filename)
    return model


_CONFIG_LIMITS = {"layers": 10_000, "hidden_size": 1_000_000, "attention_heads": 100_000, "num_experts": 100_000}
"""Bounds far above any published model, so a typo or a hostile file is refused rather than estimated."""


def _check_config_model(model: ModelArch, filename: str) -> None:
    for field, limit in _CONFIG_LIMITS.items():
        value = getattr(model, field, None) or 0
        if value > limit:
            raise DataFileError(f"{filename}: {field} {value:,} is beyond any real model (limit {limit:,})")
    if model.is_moe and (model.experts_per_token or 1) > model.num_experts:
        raise DataFileError(
            f"{filename}: num_experts_per_tok {model.experts_per_token} exceeds the {model.num_experts} experts"
        )
    if not 0 < model.total_params_b < 100_000:
        raise DataFileError(f"{filename}: {model.total_params_b:g}B parameters is beyond any real model")


@dataclass(frozen=True)
class ConfigGpuFit:
    """How one catalog GPU serves a model read from a config.json."""

    gpu_id: str
    gpus: int | None
    """Tensor-parallel GPUs per replica to hold the weights and one full-length request; None: not on 64."""
    estimate: ThroughputEstimate | None
    """At the largest concurrency meeting both latency targets (the single-stream estimate when none does)."""
    meets_targets: bool
    note: str


def gpu_fit(
    model: ModelArch,
    gpu: GpuSpec,
    quant: QuantFormat,
    *,
    input_tokens: int,
    output_tokens: int,
    ttft_ms: float,
    output_tokens_per_s_per_user: float,
    runtime: str | None = None,
) -> ConfigGpuFit:
    """One GPU for one model: tensor-parallel GPUs to hold it with one full-length request, and the speed at the
    largest concurrency meeting both latency targets on the serving engine named (`runtime`; None: the format's
    default). Hardware fit's rows and `config_gpu_fits` share it."""
    if (why := engine_refusal(runtime, gpu, quant, brief=True)) is not None:
        return ConfigGpuFit(gpu.gpu_id, None, None, False, why)
    n = gpus_needed(model, gpu, quant, context_tokens=input_tokens + output_tokens, runtime=runtime)
    if n is None:
        return ConfigGpuFit(gpu.gpu_id, None, None, False, "does not fit")
    try:
        est, ok = max_concurrency_meeting(
            model,
            gpu,
            quant,
            gpus=n,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            ttft_ms=ttft_ms,
            output_tokens_per_s_per_user=output_tokens_per_s_per_user,
            runtime=runtime,
        )
    except CostModelError as ex:
        return ConfigGpuFit(gpu.gpu_id, n, None, False, str(ex))
    return ConfigGpuFit(gpu.gpu_id, n, est, ok, "" if ok else "misses targets")


def config_gpu_fits(
    model: ModelArch,
    quant: QuantFormat,
    *,
    input_tokens: int,
    output_tokens: int,
    ttft_ms: float,
    output_tokens_per_s_per_user: float,
    runtime: str | None = None,
) -> list[ConfigGpuFit]:
    """Every catalog GPU for a model that is not in the catalog: GPUs needed and speed at the latency targets,
    those that hold it first, fastest replica first.

    Args:
        model: e.g. from `model_from_config_bytes`.
        quant: weight format from the catalog.
        input_tokens: prompt tokens per request.
        output_tokens: completion tokens per request.
        ttft_ms: time-to-first-token target.
        output_tokens_per_s_per_user: streaming-speed target per user.
        runtime: serving engine (None: the format's default).

    Raises:
        ScenarioError: a format the model cannot be stored in (`check_format`).
    """
    check_format(model, quant)
    out = [
        gpu_fit(
            model,
            gpu,
            quant,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            ttft_ms=ttft_ms,
            output_tokens_per_s_per_user=output_tokens_per_s_per_user,
            runtime=runtime,
        )
        for gpu in catalog().gpus
        if gpu.fp16_tflops
    ]

    def order(r: ConfigGpuFit) -> tuple[int, float]:
        speed = r.estimate.output_tokens_per_s if r.estimate else 0.0
        return (0 if r.meets_targets else 1 if r.estimate else 2, -speed)

    return sorted(out, key=order)
