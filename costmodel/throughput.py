"""How many tokens per second one replica serves: a roofline estimate, calibrated where data allows.

Decode is memory-bound at small batches (every step streams the weights and the KV cache through HBM)
and compute-bound at large ones; prefill is compute-bound. With B streams in flight and continuous
batching, each request lives for `O` decode steps plus the prefills of the B requests that arrive
while it runs, so

    cycle_s = O × step_s(B) + B × prefill_s(I)      output tokens/s = B × O / cycle_s.

Efficiency factors (the share of datasheet bandwidth and FLOP/s real servers reach) default to
engineering values (*estimated*) and are replaced by factors fitted to published measurements
(*calibrated*, see `costmodel.calibration`) or by the user's own measurement (*measured*).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from costmodel.catalog import GpuSpec, ModelArch, QuantFormat
from costmodel.errors import ScenarioError

__all__ = [
    "MAX_BATCH",
    "Basis",
    "Efficiency",
    "ThroughputEstimate",
    "estimate",
    "gpus_needed",
    "kv_bytes_per_token",
    "max_concurrency_meeting",
    "runtime_family",
]

MAX_BATCH = 512
"""Scheduler cap on concurrent sequences (vLLM's default `max_num_seqs` is 256; large servers raise it)."""
USABLE_MEMORY_SHARE = 0.90
"""Share of GPU memory a server may use (vLLM `gpu_memory_utilization` default)."""
RUNTIME_OVERHEAD_GB_PER_GPU = 1.5
"""CUDA context, activations and graph buffers per GPU, GB."""
TP_DEGREES = (1, 2, 4, 8, 16, 32, 64)


class Basis(StrEnum):
    """Where a throughput figure comes from."""

    ESTIMATED = "estimated"
    CALIBRATED = "calibrated"
    MEASURED = "measured"


@dataclass(frozen=True)
class Efficiency:
    """Share of the datasheet figures a serving stack reaches, and how well tensor parallelism scales."""

    bandwidth: float = 0.70
    """Achieved ÷ datasheet HBM bandwidth while decoding."""
    compute: float = 0.45
    """Achieved ÷ datasheet dense tensor FLOP/s in prefill and compute-bound decode."""
    tp_scaling: float = 0.90
    """Efficiency kept per doubling of tensor-parallel GPUs (communication overhead)."""
    basis: Basis = Basis.ESTIMATED
    source: str = "engineering defaults (no calibration data)"


@dataclass(frozen=True)
class ThroughputEstimate:
    """One replica of a model on `gpus` GPUs serving `concurrency` streams of I input / O output tokens."""

    model_id: str
    gpu_id: str
    quant_id: str
    gpus: int
    fits: bool
    weights_gb: float
    kv_gb_per_token: float
    kv_capacity_gb: float
    memory_gb: float
    max_concurrency: int
    """Streams the paged KV cache holds at their mean length (I + O/2), capped at MAX_BATCH; 0 if none fits."""
    concurrency: int
    input_tokens: int
    output_tokens: int
    ttft_ms: float
    decode_step_ms: float
    output_tokens_per_s: float
    """All streams together."""
    output_tokens_per_s_per_stream: float
    prefill_tokens_per_s: float
    bound: str
    """'memory' or 'compute': what limits the decode step."""
    basis: Basis
    efficiency: Efficiency = field(repr=False)

    @property
    def requests_per_s(self) -> float:
        return self.output_tokens_per_s / self.output_tokens if self.output_tokens else 0.0


RUNTIME_FAMILIES = ("server", "server-w4a16", "llama.cpp")


def runtime_family(quant: QuantFormat) -> str:
    """Which kernels run a format, since each class reaches its own share of the datasheet figures.

    GGUF formats run on llama.cpp-style runtimes; 4-bit weight-only formats (AWQ, GPTQ) on servers pay
    for dequantization inside the matmul; everything else runs native 16/8-bit server kernels.
    """
    if quant.quant_id.startswith("gguf"):
        return "llama.cpp"
    if quant.bits_per_weight < 8 and quant.compute_dtype == "fp16":
        return "server-w4a16"
    return "server"


@dataclass(frozen=True)
class _MemoryPolicy:
    usable_share: float
    overhead_gb_per_gpu: float


_MEMORY = {
    # vLLM reserves gpu_memory_utilization=0.9 by default; llama.cpp maps almost all of the card.
    "server": _MemoryPolicy(USABLE_MEMORY_SHARE, RUNTIME_OVERHEAD_GB_PER_GPU),
    "server-w4a16": _MemoryPolicy(USABLE_MEMORY_SHARE, RUNTIME_OVERHEAD_GB_PER_GPU),
    "llama.cpp": _MemoryPolicy(0.97, 0.5),
}


def kv_bytes_per_token(model: ModelArch, quant: QuantFormat) -> float:
    """KV-cache bytes one token occupies across all layers (MLA stores one compressed latent per layer)."""
    if model.kv_lora_rank:
        return model.kv_layers * (model.kv_lora_rank + (model.qk_rope_head_dim or 0)) * quant.kv_bytes_per_element
    return 2 * model.kv_layers * (model.kv_heads or 0) * model.attention_head_dim * quant.kv_bytes_per_element


def _weights_bytes(model: ModelArch, quant: QuantFormat) -> float:
    return model.total_params_b * 1e9 * quant.bits_per_weight / 8


def _moved_weight_bytes(model: ModelArch, quant: QuantFormat, batch: int) -> float:
    """Weight bytes one decode step reads: all of a dense model; for MoE the shared part + experts touched."""
    total = _weights_bytes(model, quant)
    if not model.is_moe:
        return total
    k_over_e = (model.experts_per_token or 1) / model.num_experts
    expert_params = max(0.0, (model.total_params_b - model.active_params_b) / (1 - k_over_e))
    shared_params = model.total_params_b - expert_params
    touched = 1 - (1 - k_over_e) ** batch  # expected share of experts a batch of tokens routes to
    return (shared_params + expert_params * touched) * 1e9 * quant.bits_per_weight / 8


def _attention_flops_per_token(model: ModelArch, context: float) -> float:
    # QKᵀ and AV: 2 matmuls × 2 flops × heads × head_dim × context, per layer
    return 4 * model.kv_layers * (model.attention_heads or 0) * model.attention_head_dim * context


def _tp_efficiency(eff: Efficiency, gpus: int) -> float:
    return eff.tp_scaling ** math.log2(gpus) if gpus > 1 else 1.0


def _memory(model: ModelArch, gpu: GpuSpec, quant: QuantFormat, gpus: int) -> tuple[float, float, float]:
    policy = _MEMORY[runtime_family(quant)]
    weights_gb = _weights_bytes(model, quant) / 1e9
    total_gb = gpu.memory_gb * gpus
    kv_capacity_gb = total_gb * policy.usable_share - weights_gb - policy.overhead_gb_per_gpu * gpus
    return weights_gb, total_gb, kv_capacity_gb


def gpus_needed(model: ModelArch, gpu: GpuSpec, quant: QuantFormat, *, context_tokens: int) -> int | None:
    """Fewest tensor-parallel GPUs (1, 2, 4, 8 …) whose memory holds the weights and one full context."""
    kv_seq_gb = kv_bytes_per_token(model, quant) * context_tokens / 1e9
    for n in TP_DEGREES:
        if _memory(model, gpu, quant, n)[2] >= kv_seq_gb:
            return n
    return None


@dataclass(frozen=True)
class _Timings:
    step_s: float
    prefill_s: float
    bound: str


def _timings(
    model: ModelArch, gpu: GpuSpec, quant: QuantFormat, gpus: int, batch: int, inp: int, out: int, eff: Efficiency
) -> _Timings:
    tp = _tp_efficiency(eff, gpus)
    bw = gpus * gpu.hbm_bandwidth_gb_s * 1e9 * eff.bandwidth * tp
    flops = gpus * gpu.tflops(quant.compute_dtype) * 1e12 * eff.compute * tp
    context = inp + out / 2  # mean tokens in a stream's KV cache over its life
    kv_bytes = batch * context * kv_bytes_per_token(model, quant)
    t_mem = (_moved_weight_bytes(model, quant, batch) + kv_bytes) / bw
    t_comp = batch * (2 * model.active_params_b * 1e9 + _attention_flops_per_token(model, context)) / flops
    prefill_flops = inp * (2 * model.active_params_b * 1e9 + _attention_flops_per_token(model, inp / 2))
    prefill_s = max(prefill_flops / flops, _weights_bytes(model, quant) / bw)
    return _Timings(max(t_mem, t_comp), prefill_s, "memory" if t_mem >= t_comp else "compute")


def estimate(
    model: ModelArch,
    gpu: GpuSpec,
    quant: QuantFormat,
    *,
    gpus: int | None = None,
    concurrency: int = 1,
    input_tokens: int = 1000,
    output_tokens: int = 300,
    efficiency: Efficiency | None = None,
) -> ThroughputEstimate:
    """Estimate one replica's speed at a given number of concurrent streams.

    Args:
        model: architecture from the catalog.
        gpu: accelerator from the catalog.
        quant: weight format from the catalog.
        gpus: tensor-parallel GPUs per replica; None picks the fewest that fit.
        concurrency: streams in flight (clamped to what the KV cache holds).
        input_tokens: prompt tokens per request.
        output_tokens: completion tokens per request.
        efficiency: factors to apply; None uses the calibrated ones.

    Returns:
        The estimate; `fits` is False (and speeds 0) when the model does not fit in memory.
    """
    if not model.has_architecture:
        raise ScenarioError(
            f"{model.name}: its architecture (layers, heads, KV heads) is not in data/models.csv "
            f"({model.notes or 'no source read'}); pick another model or add the figures with their source"
        )
    eff = efficiency or _calibrated_efficiency(runtime_family(quant))
    ctx = input_tokens + output_tokens
    n = gpus or gpus_needed(model, gpu, quant, context_tokens=ctx) or TP_DEGREES[-1]
    weights_gb, total_gb, kv_cap_gb = _memory(model, gpu, quant, n)
    kv_tok_gb = kv_bytes_per_token(model, quant) / 1e9
    # Paged KV caches hold what streams have actually written, on average I + O/2 tokens each; a
    # replica must still hold at least one full-length request to serve any.
    mean_ctx = input_tokens + output_tokens / 2
    fits_one = kv_cap_gb >= kv_tok_gb * ctx
    max_conc = min(MAX_BATCH, max(1, math.floor(kv_cap_gb / (kv_tok_gb * mean_ctx)))) if fits_one else 0
    common = dict(
        model_id=model.model_id,
        gpu_id=gpu.gpu_id,
        quant_id=quant.quant_id,
        gpus=n,
        weights_gb=weights_gb,
        kv_gb_per_token=kv_tok_gb,
        kv_capacity_gb=max(0.0, kv_cap_gb),
        memory_gb=total_gb,
        max_concurrency=max_conc,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        basis=eff.basis,
        efficiency=eff,
    )
    if max_conc < 1:
        return ThroughputEstimate(
            **common,
            fits=False,
            concurrency=0,
            ttft_ms=math.inf,
            decode_step_ms=math.inf,
            output_tokens_per_s=0.0,
            output_tokens_per_s_per_stream=0.0,
            prefill_tokens_per_s=0.0,
            bound="memory",
        )
    b = max(1, min(concurrency, max_conc))
    t = _timings(model, gpu, quant, n, b, input_tokens, output_tokens, eff)
    cycle_s = output_tokens * t.step_s + b * t.prefill_s
    total = b * output_tokens / cycle_s
    return ThroughputEstimate(
        **common,
        fits=True,
        concurrency=b,
        ttft_ms=(t.prefill_s + t.step_s) * 1000,
        decode_step_ms=t.step_s * 1000,
        output_tokens_per_s=total,
        output_tokens_per_s_per_stream=total / b,
        prefill_tokens_per_s=input_tokens / t.prefill_s,
        bound=t.bound,
    )


def max_concurrency_meeting(
    model: ModelArch,
    gpu: GpuSpec,
    quant: QuantFormat,
    *,
    gpus: int | None = None,
    input_tokens: int,
    output_tokens: int,
    ttft_ms: float,
    output_tokens_per_s_per_user: float,
    efficiency: Efficiency | None = None,
) -> tuple[ThroughputEstimate, bool]:
    """The largest concurrency whose streams still meet both latency targets.

    Per-stream speed falls and time to first token rises as concurrency grows, so the answer is found
    by bisection. Returns the estimate at that concurrency and whether the targets are met at all (when
    even one stream misses them, the single-stream estimate is returned with False).
    """
    return _max_concurrency_cached(
        model, gpu, quant, gpus, input_tokens, output_tokens, ttft_ms, output_tokens_per_s_per_user, efficiency
    )


@lru_cache(maxsize=8192)
def _max_concurrency_cached(
    model: ModelArch,
    gpu: GpuSpec,
    quant: QuantFormat,
    gpus: int | None,
    inp: int,
    out: int,
    ttft_ms: float,
    per_user: float,
    efficiency: Efficiency | None,
) -> tuple[ThroughputEstimate, bool]:
    def at(b: int) -> ThroughputEstimate:
        return estimate(
            model, gpu, quant, gpus=gpus, concurrency=b, input_tokens=inp, output_tokens=out, efficiency=efficiency
        )

    def ok(e: ThroughputEstimate) -> bool:
        return e.fits and e.ttft_ms <= ttft_ms and e.output_tokens_per_s_per_stream >= per_user

    one = at(1)
    if not ok(one):
        return one, False
    lo, hi = 1, one.max_concurrency
    if ok(at(hi)):
        return at(hi), True
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(at(mid)) else (lo, mid)
    return at(lo), True


def _calibrated_efficiency(family: str) -> Efficiency:
    from costmodel.calibration import calibrated_efficiency

    return calibrated_efficiency(family)
