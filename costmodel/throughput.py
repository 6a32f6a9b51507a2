"""How many tokens per second one replica serves: a roofline estimate with the costs real servers add.

Decode is memory-bound at small batches (every step streams the weights and the KV cache through HBM)
and compute-bound at large ones; prefill is compute-bound. One decode step of B streams takes

    step_s = max(weight bytes ÷ bandwidth, matmul FLOPs ÷ FLOP/s)
           + max(KV bytes ÷ bandwidth, attention FLOPs ÷ attention FLOP/s) + communication + overhead

(the weight matmuls and attention are separate kernels, each bound by its own roofline, run one after the
other: the per-operator roofline of LLM-Viewer, Yuan et al. 2024, arXiv:2402.16363), where the pieces the
plain roofline lacks are, each with its source:

- **bytes moved**: the dense weights, the experts a batch routes to (MoE, `_expected_experts_share`), the KV
  cache each stream reads at its current length (sliding-window layers read at most their window; Mamba
  layers read and write a fixed state instead; under DeepSeek Sparse Attention every cached indexer key but
  only the top-k latents, `_kv_read_bytes`), in the KV dtype (FP8 KV halves it);
- **FLOPs**: 2 per active parameter per token, plus attention growing with context (`_attention_flops`) at
  FP8 or 16-bit rate, never FP4 (`_attention_dtype`); GeForce cards at their FP32-accumulate half rate in
  server kernels (`_tensor_rate_share`);
- **communication**: two all-reduces per layer under tensor parallelism (Megatron-LM, Shoeybi et al. 2019,
  arXiv:1909.08053 §3), each `latency + 2(n−1)/n × bytes ÷ link bandwidth` (NCCL's ring bus-bandwidth
  formula, NVIDIA/nccl-tests doc/PERFORMANCE.md), over NVLink/Infinity Fabric/PCIe inside a server and
  InfiniBand between servers (`_allreduce_s`); llama.cpp instead gives each GPU a slice of the layers, so a
  token's pass runs on one GPU at a time and hands its hidden state across each boundary (`_copy_s`), and a
  prompt's micro-batches pipeline through the GPUs (`layer_split_prefill_share`);
- **overhead**: a fixed time per layer per step (kernel launches, scheduling, sampling), calibrated per
  runtime family; per MoE layer, a time per distinct expert the step's tokens touch (one grouped-GEMM tile set
  and its dispatch each: k experts at one stream, all of them in a large batch, so it grows with load); per
  DeepSeek-style latent-attention layer a further fixed time (why DeepSeek-V3 at one stream runs at tens of
  tok/s, published SGLang and vLLM figures, while Qwen3 MoE models of similar active size run at over a
  hundred); and for llama.cpp on data-centre GPUs, whose small kernels do not reach the HBM bandwidth (the
  published llama.cpp A100/H100 rows).

With chunked prefill (vLLM, SGLang, TensorRT-LLM in-flight batching) each step also carries the prompt
tokens of the requests joining the batch, B × I ÷ O per step in steady state, so prefill rides on the
memory-bound decode steps (vLLM docs, "Chunked prefill"; Agrawal et al., Sarathi-Serve, OSDI 2024) and

    output tokens/s = B ÷ step_s(B decode + B·I/O prefill tokens).

A stream's own prompt is prefilled before its first token, so the steps between its tokens carry only the
other B − 1 streams' prompts: its inter-token time is step_s(B decode + (B−1)·I/O prefill tokens), and one
stream alone streams at the pure decode step however long its prompt (its throughput still pays the prefill).

A prompt is taken in chunks as large as the token budget allows (vLLM `max_num_batched_tokens`, SGLang
`chunked_prefill_size`), so when B·I/O is below the budget a share B·I/(O·budget) of the steps carries a full
chunk and the rest are pure decode (`_blend`); thinly spread prompt tokens would make every small-batch MoE
step read most of its experts.

Runtimes without it (llama.cpp, static batching), and a server fed a wave of identical requests at once, run
prefill apart: `cycle_s = O × step_s(B) + prefill of the wave` (a server takes the wave's prompts in passes of
its token budget, llama.cpp one request at a time). llama.cpp's server in fact fills each pass with the
generating slots' next tokens and then other slots' prompt tokens, up to `n_batch` = 2048; that is not modelled,
as no published llama.cpp row runs more than one stream (data/PUBLISHED_THROUGHPUT.md, 2026-12-07).

At max load the batch is what the runtime admits (`_admission`): vLLM up to `max_num_seqs` on what streams
hold now (I + O/2 on average); TensorRT-LLM only with KV blocks free for a request's whole I + O.

Efficiency factors (the share of datasheet bandwidth and FLOP/s reached, and the overheads) default to
engineering values (*estimated*) and are replaced by factors fitted to published measurements
(*calibrated*, see `costmodel.calibration`) or to the user's own runs (*measured*).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import lru_cache

from costmodel.catalog import GpuSpec, ModelArch, QuantFormat
from costmodel.errors import ScenarioError, UnknownRuntime

__all__ = [
    "CURRENT_RELEASES",
    "ERROR_BAND_PCT",
    "LONG_CONTEXT_TOKENS",
    "MAX_BATCH",
    "MLX_DECODE_CONCURRENCY",
    "OLDER_NIM_STREAM_US",
    "OLDER_VLLM_EAGER_LAYER_US",
    "OLDER_VLLM_STEP_MS",
    "RUNTIME_FAMILIES",
    "SMALL_GPU_MAX_BATCH",
    "TENSORRT_ENGINES",
    "VENDOR_GB_BYTES",
    "Basis",
    "Efficiency",
    "EstimateMode",
    "ReplicaLayout",
    "SpeculativeDecoding",
    "ThroughputEstimate",
    "check_engine_hardware",
    "check_format",
    "current_release",
    "engine_note",
    "engine_refusal",
    "estimate",
    "gpus_needed",
    "kv_bytes_per_sequence",
    "kv_bytes_per_token",
    "kv_copies",
    "max_concurrency_meeting",
    "named_release",
    "one_mac_refusal",
    "regimes_of",
    "replica_layouts",
    "runs_current_release",
    "runtime_family",
    "uses_fp4_units",
    "uses_mlx",
    "uses_ollama",
    "uses_tensorrt_engines",
]

MAX_BATCH = 1024
"""Scheduler cap on concurrent sequences in vLLM's OpenAI server on GPUs of at least 70 GiB other than the A100
(`max_num_seqs`, `EngineArgs.get_batch_defaults` in vllm/engine/arg_utils.py); `SMALL_GPU_MAX_BATCH` on the
rest. TensorRT-LLM's cap is its own (`_TRTLLM_ADMISSION`)."""
SMALL_GPU_MAX_BATCH = 256
"""vLLM's `max_num_seqs` default on GPUs under 70 GiB and on the A100 (same source as `MAX_BATCH`)."""
VENDOR_GB_BYTES = 2**30
"""Bytes in one "GB" of a GPU's stated memory capacity. Vendors' capacity "GB" are binary: nvidia-smi reports
an A100 80GB as 81,920 MiB (80 GiB) and an H200 "141 GB" as 143,771 MiB (140.4 GiB), and the runtimes size their
KV cache from that total (vLLM: `gpu_memory_utilization` × `torch.cuda.mem_get_info()` total). Weights and KV are
counted in GB of 10⁹ bytes here, so an "80 GB" card holds 85.9 of them; reading it as 80 would take 5.9 GB
from a replica's KV room (half of it for a 32B BF16 model on one 80 GB card)."""
USABLE_MEMORY_SHARE = 0.90
"""Share of GPU memory a server may use (vLLM `gpu_memory_utilization` default)."""
RUNTIME_OVERHEAD_GB_PER_GPU = 3.3
"""What a server keeps per GPU besides weights and KV, GB: vLLM's memory profile of Llama 3 8B on one H100 logs
non-torch memory (CUDA context, cuBLAS workspaces) 1.79 GiB and a PyTorch activation peak of 1.26 GiB, 3.05 GiB
(vllm-project/vllm#10511)."""
TP_BUFFERS_GB_PER_GPU = 1.9
"""More per GPU when a replica spans several (NCCL and custom all-reduce buffers), GB: the same profile with
`-tp 2` logs non-torch memory 3.58 GiB per GPU instead of 1.79 GiB (vllm-project/vllm#10511)."""
APPLE_GPU_MEMORY_SHARE = 0.75
"""Share of unified memory Metal lets the GPU wire by default (`recommendedMaxWorkingSetSize`, about 3/4 of
RAM on large Macs, as llama.cpp's Metal backend logs it; raisable with `iogpu.wired_limit_mb`)."""
TP_DEGREES = (1, 2, 4, 8, 16, 32, 64)
LONG_CONTEXT_TOKENS = 8192
"""Input + output tokens from which an estimate counts as long-context (its own error regime)."""
ACTIVATION_BYTES = 2
"""Bytes per activation element exchanged in tensor-parallel all-reduces (BF16/FP16)."""
CHUNKED_PREFILL_BUDGET_TOKENS = 8192
"""Tokens one chunked step may carry on large GPUs (vLLM's API-server `max_num_batched_tokens` default on
≥ 70 GiB GPUs other than the A100, 2048 on the rest; TensorRT-LLM's trtllm-bench sets at least 2048): how
many passes a wave of queued prompts takes to prefill."""
PRO_SEGMENTS = ("datacenter", "workstation")
"""GPU segments sold for sustained load: lower clocks and power caps than a GeForce card of the same chip."""
LLAMA_CPP_UBATCH_TOKENS = 512
"""llama.cpp's default micro-batch (`n_ubatch`, llama.cpp PR #6017), the unit its layer-split GPUs pipeline."""
LLAMA_CPP_PIPELINE_DEPTH = 4
"""Micro-batches llama.cpp keeps in flight across layer-split GPUs (`GGML_SCHED_MAX_COPIES`, ggml-backend)."""
LLAMA_CPP_MMQ_MAX_BATCH = 32
"""Batch above which an older llama.cpp build's CUDA backend multiplies quantized weights by dequantizing them to
F16 for cuBLAS instead of with its quantized (MMQ) kernels (ggml-cuda `MMQ_MAX_BATCH_SIZE`, llama.cpp PR #3776 "use
cuBLAS with tensor cores for large batch sizes"); the builds behind the published llama.cpp rows (Nov 2023 – May
2024) do so. Current builds do not (`_llama_cpp_dequant_above`)."""
LLAMA_CPP_DP4A_MMQ_MAX_BATCH = 64
"""Batch above which a current llama.cpp build still dequantizes for cuBLAS on a GPU with FP16 but no int8 tensor
cores that MMQ uses, the V100 (ggml-cuda mmq.cu `ggml_cuda_should_use_mmq`: `ne11 < MMQ_DP4A_MAX_BATCH_SIZE`; PR
#24127's V100 table: Q5_1 pp512 runs 1,061 tok/s at micro-batch 32 and 822 at 64)."""
LLAMA_CPP_MMQ_EVERY_BATCH_FROM = (3200,)
"""The llama.cpp build from which its CUDA backend multiplies quantized weights with its int8 tensor-core MMQ
kernels at every batch size, on Turing and later ("CUDA: use MMQ instead of cuBLAS by default", PR #8075, merged as
commit a818f3028 on 2024-06-24). Its build number is not printed in any source at hand: it lies between b2843 (12
May 2024, the newest build the published rows name) and b3917 (issue #9881, 15 October 2024); about b3200 at
May–October's pace of commits. MMQ and the F16 cuBLAS path reach about the same matmul rate: on one RTX 4090,
MMQ runs Llama 3 8B Q4_0 at 10,359 prompt tokens/s (PR #7676, micro-batch 512; 2 × 7.5 GFLOP a token: 155
TFLOP/s), cuBLAS LLaMA 7B F16 at 11,048 (PR #4766; 2 × 6.6 GFLOP: 146 TFLOP/s). So a current build keeps the
F16 rate and loses only the dequantizing pass."""
_TRTLLM_RUNTIMES = {"tensorrt-llm", "tensorrt_llm", "trtllm", "trt-llm", "trtllm-bench"}
TENSORRT_ENGINES = frozenset({*_TRTLLM_RUNTIMES, "nvidia-nim", "nim", "mlperf-nvidia"})
"""Runtimes that serve with TensorRT-LLM engines (`Efficiency.tensorrt_compute_factor`): TensorRT-LLM itself,
NVIDIA NIM (its optimized profiles are TensorRT-LLM engines; NIM for LLMs docs, "Supported models") and NVIDIA's
MLPerf Inference submissions (TensorRT-LLM, per their system descriptions)."""


_RUNTIME_SPELLINGS = {
    **dict.fromkeys(
        ("tensorrt", "trt-llm", "trtllm", "trtllm-serve", "trtllm-bench", "tensorrt-llm-backend"), "tensorrt-llm"
    ),
    **dict.fromkeys(("nim", "nim-llm", "nvidia-nim-for-llms"), "nvidia-nim"),
    **dict.fromkeys(("llamacpp", "llama-cpp", "llama-server", "llama-bench", "llama.cpp-metal"), "llama.cpp"),
    **dict.fromkeys(("mlx-lm", "mlx-lm-server", "mlx-examples"), "mlx"),
    **dict.fromkeys(("text-generation-inference", "hf-tgi"), "tgi"),
    **dict.fromkeys(("vllm-openai", "vllm-serve"), "vllm"),
    **dict.fromkeys(("lmstudio", "lm-studio"), "lm-studio"),
}
"""Other spellings of the runtimes the sets here name, as benchmark reports and users write them."""

_RUNTIME_VERSION = re.compile(r"[\s:=@-]*(\(.*\)|v?\d+(\.\w+)+|v\d+|b\d{3,}|build[\s-]?\d{3,})$")
"""A trailing version (`0.6.3`, `v0.12.0rc1`, `v0.4.3.post2`, a pin `==0.11.0`, an image tag `:v0.5.6`), llama.cpp
build (`b4167`, `build 4167`) or remark in brackets."""


NIM_VLLM_FROM = (2, 0)
"""The first NVIDIA NIM for LLMs release that serves with vLLM alone: "Version 2.0 is a ground-up redesign that adopts
a one-container, one-backend philosophy, replacing the multi-backend 1.x architecture. This release ships with vLLM
0.17.1 as the sole inference backend" (docs.nvidia.com/nim/large-language-models/2.0.1/about-nim-llm/release-notes;
2.0.8 moves to vLLM 0.23.0). Earlier releases prefer their TensorRT-LLM profiles (`TENSORRT_ENGINES`)."""


@lru_cache(maxsize=1024)  # the calibration asks it of every published row thousands of times
def _runtime_name(runtime: str | None) -> str:
    """A runtime name as the sets here spell it (None: no runtime named): case, version and spelling do not
    change the engine (`TensorRT-LLM v0.12`, `trt_llm`, `llama.cpp (Metal)`, `mlx_lm`, `vLLM 0.6.3`, the container
    image `vllm/vllm-openai:v0.11.0`, the pin `sglang==0.5.6`), except where a release changed the engine: NIM 2.0
    and later run vLLM (`NIM_VLLM_FROM`)."""
    name = _spelled_runtime_name(runtime)
    release = named_release(runtime) if name == "nvidia-nim" else None
    return "vllm" if release is not None and _release_at_least(release, NIM_VLLM_FROM) else name


@lru_cache(maxsize=1024)
def _spelled_runtime_name(runtime: str | None) -> str:
    """The product a runtime string names (`_runtime_name` before a release changes the engine: NIM 2.x is NIM)."""
    name = " ".join((runtime or "").strip().lower().split())
    while (bare := _RUNTIME_VERSION.sub("", name)) != name:
        name = bare
    described = name
    name = name.rsplit("/", 1)[-1].replace("_", "-").replace(" ", "-")  # an image's name after its registry path
    name = _RUNTIME_SPELLINGS.get(name, name)
    if _modelled(name):
        return name
    # a maker's name before it (`NVIDIA TensorRT-LLM`, `Hugging Face TGI`), the GPU backend after it
    # (`llama.cpp CUDA`, `llama.cpp-vulkan`) or an image's variant tag (`llama.cpp:server-cuda`) does not
    # change the engine either
    bare = re.sub(_BACKEND_WORDS, "", re.sub(_VENDOR_WORDS, "", name.split(":", 1)[0]))
    bare = _RUNTIME_SPELLINGS.get(bare, bare)
    if _modelled(bare):
        return bare
    # an engine named inside a longer description (`Triton + TensorRT-LLM`, `ROCm vLLM`, `TensorRT-LLM backend for
    # Triton`): the one engine whose name stands as a word of it
    words = (w.replace("_", "-") for w in _engine_words().findall(described))
    named = {_RUNTIME_SPELLINGS.get(w, w) for w in words}
    return named.pop() if len(named) == 1 else name


_VENDOR_WORDS = r"^(nvidia|amd|apple|hugging-?face|hf|ggml-org|ggerganov)-"
_BACKEND_WORDS = r"(-(cuda|cublas|metal|rocm|hip|hipblas|vulkan|sycl|pytorch|backend|engine))+$"


@lru_cache(maxsize=1)
def _engine_words() -> re.Pattern[str]:
    """Every spelling of a modelled engine as a word (the sets it draws on are defined further down)."""
    names = {*SERVING_ENGINES, *TENSORRT_ENGINES, *_LLAMA_CPP_RUNTIMES, *_RUNTIME_SPELLINGS} - {"nim", "tensorrt"}
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w.-])({alternatives})(?![\w-])")


def _modelled(name: str) -> bool:
    """Whether a name as `_runtime_name` spells it is one of the engines the estimate models."""
    return name in SERVING_ENGINES or name in TENSORRT_ENGINES or name in _LLAMA_CPP_RUNTIMES


_RELEASE = re.compile(r"(?<![\w.])(?:v?(\d+\.\d+(?:\.\w+)*)|(?:b|build[\s-]?)(\d{3,}))(?![\w])", re.IGNORECASE)
"""A release in a runtime string: `0.5.6.post1` in `SGLang v0.5.6.post1` or `lmsysorg/sglang:v0.5.7-cu129-amd64`,
`0.19.0` in `TensorRT-LLM 0.19.0 (PyTorch backend)`, a llama.cpp build (`b4167`, `build 4167`)."""
_PLATFORM_BEFORE = re.compile(
    r"(?<![\w.-])(rocm|cuda|cu|python|py|pytorch|torch|triton|driver|nccl|ubuntu)[\s:=@/-]*$", re.IGNORECASE
)
"""A platform's name just before a number (`ROCm 6.3`, `CUDA 12.8`): that number is the platform's, not the
engine's release."""


def release_series(engine: str, version: str | None) -> str:
    """An engine and its release series, which the published rows' errors are grouped by: `vllm 0.11` for
    0.11.0, `sglang 0.5` for 0.5.6.post1, `llama.cpp b2xxx` for build b2824, a commit as itself, and
    `<engine> ?` where no release is known."""
    name, v = _spelled_runtime_name(engine), (version or "").strip().removeprefix("v")
    if not v:
        return f"{name} ?"
    if (build := re.fullmatch(r"b(\d{4,})", v)) is not None:
        return f"{name} b{build.group(1)[0]}{'x' * (len(build.group(1)) - 1)}"
    return f"{name} {'.'.join(v.split('.')[:2])}"


def named_release(runtime: str | None) -> str | None:
    """The engine release a runtime string names (`_RELEASE`; a platform's version is skipped), or None."""
    text = " ".join((runtime or "").strip().split())
    for found in _RELEASE.finditer(text):
        if not _PLATFORM_BEFORE.search(text[: found.start()]):
            return found.group(1) or f"b{found.group(2)}"
    return None


def runtime_release_series(runtime: str | None) -> str | None:
    """The release series a runtime string names (`release_series`), or None where it names no release
    (`vllm`, `llama.cpp (Metal)`)."""
    release = named_release(runtime)
    return release_series(runtime or "", release) if release and _runtime_name(runtime) else None


CURRENT_RELEASES: dict[str, tuple[int, ...]] = {
    "sglang": (0, 5),
    "vllm": (0, 10),
    "tensorrt-llm": (1, 1),
    "llama.cpp": LLAMA_CPP_MMQ_EVERY_BATCH_FROM,
}
"""The first release of each engine whose fixed costs per step the `Efficiency.current_*` factors describe. Between
early and late 2025 these engines replaced their per-layer and per-expert kernel chains (fused MoE and
FlashInfer/FlashMLA attention kernels, CUDA graphs over the whole decode step): DeepSeek-R1 in FP8 on eight H200s
decodes one stream at 30 tok/s with SGLang 0.4.1 (sgl-project/sglang PR #2643) but four streams at 103 tok/s each
with SGLang 0.5.12 (SemiAnalysisAI/InferenceX PR #3288). The published rows place the boundaries: SGLang 0.4.x,
vLLM 0.6–0.7 and TensorRT-LLM's 1.0 perf-overview (offline max load) fit the older costs; SGLang 0.5.x, vLLM
0.10 and later, and TensorRT-LLM 1.3 the newer ones (data/PUBLISHED_THROUGHPUT.md). llama.cpp's boundary is a
kernel choice, not a fixed cost (`LLAMA_CPP_MMQ_EVERY_BATCH_FROM`): its published rows all ran older builds, so its
`current_*` factors stay 1."""


def current_release(runtime: str | None) -> bool | None:
    """Whether `runtime` runs with a current release's fixed costs (`CURRENT_RELEASES`).

    A runtime string that names a release is compared with its engine's boundary (`sglang 0.4.1` → False,
    `vLLM v0.11.0` → True, `llama.cpp b2824` → False); one that names none (`sglang`) is the release a deployment
    installs today → True. None for engines without a boundary (NIM, TGI, MLX, Ollama), whose rows fit one set of
    costs.
    """
    first = CURRENT_RELEASES.get(_runtime_name(runtime))
    if first is None:
        return None
    release = named_release(runtime)
    return True if release is None else _release_at_least(release, first)


def _release_at_least(release: str, first: tuple[int, ...]) -> bool:
    """Whether a release (`0.11.0`, `2.0.8`, `0.5.6.post1`) is `first` or later, compared on as many parts."""
    return tuple(int(x) for x in re.findall(r"\d+", release)[: len(first)]) >= first


def runs_current_release(runtime: str | None, family: str) -> bool:
    """Whether an estimate for `runtime` carries a current release's fixed costs and kernels: what a named engine's
    release says (`current_release`); yes for an unnamed server engine (the vLLM-like default a deployment installs
    today) and for any llama.cpp but an older named build (Ollama and LM Studio bundle builds of their own day)."""
    named = bool(runtime and runtime.strip())
    known = current_release(runtime) if named else None
    if known is not None:
        return known
    return family == "llama.cpp" or (family in SERVER_FAMILIES and not named)


def release_costs_words(current: bool, runtime: str | None, family: str) -> str | None:
    """Whose fixed costs per step an estimate carries, in words for a report or a workbook: a current release's,
    an older one's (where the runtime names a release before `CURRENT_RELEASES`; a vLLM before 0.6 by name, whose
    host time per step `release_extras` adds), or None where the engine's releases share one set of costs
    (llama.cpp, whose boundary changes a kernel, not a cost; MLX, NIM, TGI)."""
    if family not in SERVER_FAMILIES:
        return None
    if current:
        return "a current engine release's"
    if _vllm_before(runtime, VLLM_HOST_OVERLAP_FROM):
        return "a vLLM release before 0.6's"
    return "an older engine release's" if current_release(runtime) is False else None


def engine_note(runtime: str | None, gpu: GpuSpec | None = None, quant: QuantFormat | None = None) -> str | None:
    """Where the engine estimated is not what a reader would take the runtime's name for, in words for a report:
    a named release that runs another engine (NIM 2.x: vLLM), NIM with no release (the older NIM), a vLLM before 0.6
    (`release_extras`), or a server engine, or none, on Apple silicon, where the kernels are MLX's (`runtime_family`);
    and Ollama, whose default runs one request per model at a time while the estimate batches like llama.cpp's
    server."""
    if gpu is not None and quant is not None and _metal_through_mlx(quant, runtime, gpu):
        if not _runtime_name(runtime):
            return (
                f"no engine named: on {gpu.name} a {quant.name} checkpoint is estimated with MLX's kernels (mlx-lm; "
                "vLLM-Metal and SGLang's MLX backend compute with them too); name llama.cpp to estimate a GGUF "
                "conversion instead"
            )
        return f"{runtime} runs on Apple silicon through MLX ({_METAL_VIA_MLX}), so it is estimated with MLX's kernels"
    if _runtime_name(runtime) != _spelled_runtime_name(runtime):
        return f"{runtime} serves with vLLM alone (NIM for LLMs 2.0 and later), so it is estimated as vLLM"
    if _nim_without_release(runtime):
        return (
            f"{runtime} names no release, so it is estimated as the older NIM of NVIDIA's published sweeps: a 16-bit "
            f"KV cache and {OLDER_NIM_STREAM_US:g} µs of host time per streamed token each step; name the release "
            "(nvidia-nim 1.8.0; 2.x runs vLLM) to estimate that one"
        )
    if _vllm_before(runtime, VLLM_HOST_OVERLAP_FROM):
        older_awq = quant is not None and release_extras(runtime, quant).linear_factor != 1.0
        kernel = f"; AWQ runs its AWQ GEMM kernel, at {OLDER_VLLM_AWQ_FACTOR:g}× Marlin's time" if older_awq else ""
        return (
            f"{runtime} is a vLLM release before 0.6: estimated with {OLDER_VLLM_STEP_MS:g} ms of host time per step, "
            f"which those releases spent in turn with the GPU's step, and a decode step whose context passes "
            f"{VLLM_CUDA_GRAPH_MAX_CONTEXT:,} tokens runs without CUDA graphs, at {OLDER_VLLM_EAGER_LAYER_US:g} µs of "
            f"kernel launches per layer{kernel}"
        )
    if uses_ollama(runtime):
        return (
            "Ollama serves one request per model at a time unless OLLAMA_NUM_PARALLEL is raised (default 1, "
            "ollama docs/faq.mdx); the estimate batches its streams as llama.cpp's server does, as if "
            "OLLAMA_NUM_PARALLEL were at least the concurrency"
        )
    return None


SERVING_ENGINES = ("vllm", "sglang", "tensorrt-llm", "nvidia-nim", "tgi", "llama.cpp", "ollama", "lm-studio", "mlx")
"""The serving engines a self-hosted option may name, as the estimate spells them; other spellings of these
(`TensorRT-LLM v1.0`, `vllm/vllm-openai:v0.11.0`, `llamafile`) are the same engines."""


def known_runtime(runtime: str) -> bool:
    """Whether a runtime string names an engine the estimate models (one of `SERVING_ENGINES` or a spelling of
    one), so that a typo is reported rather than estimated as the default engine."""
    return _modelled(_runtime_name(runtime))


def checked_runtime(runtime: str | None) -> str | None:
    """`runtime` itself where it is empty or names a modelled engine (`known_runtime`).

    Raises:
        UnknownRuntime: it names another one, so a typo is reported instead of estimated as the default engine.
    """
    if runtime is None or not runtime.strip() or known_runtime(runtime):
        return runtime
    raise UnknownRuntime(runtime, SERVING_ENGINES)


def uses_mlx(runtime: str | None) -> bool:
    """Whether `runtime` is Apple's MLX, under any of its spellings (`mlx_lm`, `MLX-LM 0.21`)."""
    return _runtime_name(runtime) == "mlx"


def uses_ollama(runtime: str | None) -> bool:
    """Whether `runtime` is Ollama (`ollama`, `Ollama 0.12`), whose default pulls decide the format
    (`catalog.OLLAMA_DEFAULT_QUANT_ID`)."""
    return _runtime_name(runtime) == "ollama"


def uses_tensorrt_engines(runtime: str | None) -> bool:
    """Whether `runtime` serves with TensorRT-LLM engines, so `Efficiency.tensorrt_compute_factor` applies."""
    return _runtime_name(runtime) in TENSORRT_ENGINES


@dataclass(frozen=True)
class _Admission:
    """How a runtime decides how many streams run at once when requests queue (max load)."""

    max_batch: int
    """Cap on concurrent sequences."""
    reserve_full_sequence: bool
    """Admit a request only when the KV blocks for its whole input + output are free (no eviction), so the
    batch is capacity ÷ (I + O); otherwise admit on what streams hold now, on average I + O/2."""
    kv_share_of_free: float | None
    """KV cache = this share of the memory left after weights and runtime buffers; None: vLLM's rule,
    `USABLE_MEMORY_SHARE` of the whole card minus weights and buffers."""
    prefill_budget_tokens: int = CHUNKED_PREFILL_BUDGET_TOKENS
    """Most prompt tokens one forward pass takes."""


_VLLM_ADMISSION = _Admission(MAX_BATCH, reserve_full_sequence=False, kv_share_of_free=None)
_VLLM_SMALL_GPU_ADMISSION = _Admission(
    SMALL_GPU_MAX_BATCH, reserve_full_sequence=False, kv_share_of_free=None, prefill_budget_tokens=2048
)
_TRTLLM_ADMISSION = _Admission(4096, reserve_full_sequence=True, kv_share_of_free=0.90)
"""TensorRT-LLM: the default capacity scheduler policy is GUARANTEED_NO_EVICT, which reserves a request's KV
blocks to completion (`SchedulerConfig.capacity_scheduler_policy`, tensorrt_llm/llmapi/llm_args.py); the KV
cache takes `free_gpu_memory_fraction` 0.90 of the memory free after loading (`KvCacheConfig`); and
trtllm-bench caps the batch at 4096 (`finetune_setting` in tensorrt_llm/bench/build/tuning.py)."""


MLX_DECODE_CONCURRENCY = 32
"""Requests mlx-lm's server decodes together: `--decode-concurrency` "When a request is batchable then decode that
many requests in parallel", default 32 (ml-explore/mlx-lm mlx_lm/server.py); the rest wait in its queue."""
_MLX_ADMISSION = _Admission(MLX_DECODE_CONCURRENCY, reserve_full_sequence=False, kv_share_of_free=None)


def _admission(runtime: str | None, gpu: GpuSpec, family: str) -> _Admission:
    if family == "mlx" and _runtime_name(runtime) not in _METAL_SERVER_ENGINES:
        return _MLX_ADMISSION  # mlx-lm's server; vLLM-Metal and SGLang on a Mac keep their own schedulers
    if family not in SERVER_FAMILIES:
        return _VLLM_ADMISSION  # llama.cpp: slots bounded by memory only
    if _runtime_name(runtime) in _TRTLLM_RUNTIMES:
        return _TRTLLM_ADMISSION
    large = gpu.memory_gb >= 70 and not gpu.gpu_id.upper().startswith("A100")
    return _VLLM_ADMISSION if large else _VLLM_SMALL_GPU_ADMISSION


_LINKS: dict[str, tuple[float, float]] = {
    # interconnect → (all-reduce latency µs, default per-GPU one-direction GB/s where gpus.csv gives none).
    # Latencies are the order of small-message NCCL / custom all-reduce timings inside one server (a few µs
    # over NVLink, tens over PCIe through the host bridge); engineering values, not fitted.
    "nvlink2": (10.0, 150.0),
    "nvlink3": (8.0, 300.0),
    "nvlink4": (6.0, 450.0),
    "nvlink5": (5.0, 900.0),
    "infinity-fabric": (10.0, 448.0),
    "pcie3": (30.0, 16.0),
    "pcie4": (25.0, 32.0),
    "pcie5": (20.0, 64.0),
    "none": (30.0, 16.0),
}
INTER_NODE_GB_S = 50.0
"""Per-GPU InfiniBand NDR bandwidth between servers: one 400 Gb/s ConnectX-7 port per GPU (NVIDIA DGX H100
user guide, "8x NVIDIA ConnectX-7 … 400 Gb/s")."""
INTER_NODE_LATENCY_US = 15.0
"""Extra all-reduce latency when a replica spans servers (an inter-node hop on top of the intra-node one)."""


class Basis(StrEnum):
    """Where a throughput figure comes from."""

    ESTIMATED = "estimated"
    CALIBRATED = "calibrated"
    MEASURED = "measured"


class EstimateMode(StrEnum):
    """How the batch is chosen."""

    FIXED_CONCURRENCY = "fixed_concurrency"
    """A given number of streams in flight (a load test at fixed concurrency)."""
    MAX_LOAD = "max_load"
    """The runtime admits as many streams as its KV cache holds (a busy server; "tokens/s per replica")."""


@dataclass(frozen=True)
class Efficiency:
    """Share of the datasheet figures a serving stack reaches, and the fixed costs it adds per step."""

    bandwidth: float = 0.80
    """Achieved ÷ datasheet HBM bandwidth while decoding."""
    compute: float = 0.50
    """Achieved ÷ datasheet dense tensor FLOP/s in prefill and compute-bound decode."""
    tp_scaling: float = 1.0
    """Efficiency kept per doubling of tensor-parallel GPUs beyond the modelled all-reduces (1 = none lost)."""
    basis: Basis = Basis.ESTIMATED
    source: str = "engineering defaults (no calibration data)"
    layer_overhead_us: float = 12.0
    """Fixed time per layer per forward pass (kernel launches, synchronisation), µs."""
    moe_expert_overhead_us: float = 2.0
    """Extra fixed time per routed-expert layer per forward pass for each distinct expert the pass's tokens
    touch (`_expected_experts_share`): one grouped-GEMM tile set, its dispatch and gather, µs. At one stream
    a token touches its top-k (Qwen3: 8 of 128); a large batch touches all of them, which is why MoE models
    fall further below their active-parameter roofline under load than at one stream."""
    mla_layer_overhead_us: float = 0.0
    """Extra fixed time per multi-head-latent-attention layer (DeepSeek-V2/V3/R1) per forward pass, µs: the
    absorbed-attention batched matmuls, the latent projections and norms, and DeepSeek's grouped top-k
    routing are several more small kernels per layer than grouped-query attention. Fitted to the published
    DeepSeek rows (SGLang 0.4.1 at 1–32 streams, vLLM 0.11 at max load); no other MLA model is in the data,
    so it is a DeepSeek-architecture term."""
    attention_compute_factor: float = 1.0
    """Multiplies compute efficiency for the attention matmuls (QKᵀ and AV). A runtime's whole forward pass reaches
    a smaller share of the tensor peak than its FlashAttention kernels do on long sequences: FlashAttention-2 reaches
    50–73 % of the A100's peak (Dao 2023, arXiv:2307.08691), FlashAttention-3 75 % of the H100's in BF16 (Shah et al.
    2024, arXiv:2407.08608), while the fitted `compute` of vLLM-class runtimes is about 35 %: it also carries the
    norms, activations, sampling and scheduling a step runs besides its GEMMs. Fitted where a family has
    long-prompt rows, the only ones whose time this term moves much (the Qwen speed benchmarks up to 128k tokens), and
    for the serving engines only: llama.cpp and MLX run their own attention kernels."""
    current_layer_factor: float = 1.0
    """Multiplies `layer_overhead_us` for a current engine release (`current_release`, `CURRENT_RELEASES`): the
    fixed cost per layer that remains once a release captures its whole decode step in CUDA graphs and fuses its
    norms, rotary embedding and attention kernels. 1 = the older releases' cost. Fitted where a family has rows of
    both generations (SemiAnalysis InferenceX sweeps of SGLang 0.5.x, vLLM 0.15–0.17 and TensorRT-LLM 1.3 against
    the 2024–25 rows)."""
    current_expert_factor: float = 1.0
    """Multiplies `moe_expert_overhead_us` for a current engine release: fused-MoE kernels that run all of a step's
    experts in one grouped GEMM instead of a kernel chain per expert (same fit as `current_layer_factor`)."""
    current_mla_factor: float = 1.0
    """Multiplies `mla_layer_overhead_us` for a current engine release: DeepSeek's latent attention went from
    chains of small batched matmuls (SGLang 0.4.1, vLLM 0.7) to dedicated decode kernels (FlashMLA, FlashInfer's
    MLA, CUTLASS MLA on Blackwell). Fitted to InferenceX's DeepSeek-R1 sweeps on H200, B200 and MI325X."""
    step_overhead_ms: float = 0.0
    """Fixed time per forward pass outside the layers (scheduler, sampling, detokenisation), ms."""
    stream_overhead_us: float = 0.0
    """Host time per decoding stream per step, µs: the scheduler's bookkeeping, sampling, detokenisation and the
    streamed response of each sequence, where the serving process does them in the step's loop. It caps a
    served replica's output near 1e6 ÷ this many tokens/s whatever the GPU: an older NVIDIA NIM answering
    GenAI-Perf over HTTP (NVIDIA's DLI sizing-course dataset, held out) levels off at 11–12k output tokens/s on
    one or two H100s for Llama 3 8B in FP16 and FP8 alike, which 40 µs per stream per step added to the GPU's
    step fits. Offline benchmarks (trtllm-bench, vLLM's throughput script) and newer servers show no such ceiling,
    so the published fit leaves it at 0, and NIM named without a release adds that older NIM's 40 µs on top
    (`OLDER_NIM_STREAM_US`); `calibration.fit_to_measurements` fits it to a user's own concurrency sweep."""
    datacenter_overhead_factor: float = 1.0
    """Multiplies the layer overhead on data-centre GPUs (llama.cpp's small kernels on HBM cards)."""
    pro_compute_factor: float = 1.0
    """Multiplies compute efficiency on data-centre and workstation GPUs (`PRO_SEGMENTS`); fitted for llama.cpp,
    whose prompt processing runs its own small kernels and cuBLAS GEMMs of a few GFLOP each per layer. A GeForce
    card at high clocks runs them near its FP16-accumulate tensor rate; a power-capped professional card of the
    same chip, or an HBM card with twice the tensor rate, does not. On one RunPod bench of Dec 2023
    (XiongjieDai/GPU-Benchmarks-on-LLM-Inference, Llama-2-7B F16 pp512) the RTX 4090 ran 7,349 tok/s, the RTX 6000
    Ada (same AD102 chip, 300 W instead of 450 W) 5,404, and the H100 PCIe (2.3× the 4090's tensor rate) 7,367."""
    rocm_factor: float = 1.0
    """Multiplies bandwidth and compute efficiency on AMD GPUs (ROCm kernels' maturity)."""
    moe_compute_factor: float = 1.0
    """Multiplies compute efficiency for a mixture-of-experts model's routed-expert matmuls. A chunk of T prompt
    tokens gives each of E experts only T·k/E rows (DeepSeek-R1 at SGLang's 8,192-token chunk: 256), which a grouped
    GEMM multiplies in tiles of 64–128 rows after permuting the tokens by expert and before un-permuting and
    weighting them: a smaller share of the tensor peak than one dense GEMM over all T rows reaches."""
    hopper_compute_factor: float = 1.0
    """Multiplies compute efficiency on Hopper GPUs (H100, H200, GH200, H20); fitted for llama.cpp. Its CUDA kernels
    and the cuBLAS GEMMs of its F16 path are written for Ampere's `mma.sync` tensor-core instructions, while
    Hopper reaches its peak only with its asynchronous warpgroup ones (`wgmma`): FlashAttention-2, an Ampere-style
    kernel, reaches 35 % of an H100's peak against 50–73 % of an A100's (Shah et al. 2024, arXiv:2407.08608). On
    XiongjieDai's RunPod benches (May 2024) llama.cpp prefilled Llama 3 8B F16 at 22 % of an H100 PCIe's FP16
    tensor rate and at 39–56 % of an A100's, an A6000's or a GeForce's. The serving engines run Hopper-native
    kernels (FlashAttention-3, CUTLASS warpgroup GEMMs), and a share of their own for pre-Hopper cards failed
    leave-one-source-out (data/PUBLISHED_THROUGHPUT.md)."""
    tensorrt_compute_factor: float = 1.0
    """Multiplies compute efficiency where TensorRT-LLM runs the model (`TENSORRT_ENGINES`: trtllm-bench, NVIDIA
    NIM's TensorRT-LLM profiles, NVIDIA's MLPerf submissions). Its engines are compiled per model and GPU with
    tuned CUTLASS/cuBLASLt GEMMs and fused attention and norm kernels, so under load they reach a larger share of
    the tensor-core peak than vLLM's, SGLang's or TGI's kernels: on the same H100 at max load the published
    TensorRT-LLM rows sit 10–25 % above, and vLLM's 20–40 % below, one shared compute efficiency."""
    fp4_compute_factor: float = 1.0
    """Multiplies compute efficiency where a GPU with FP4 tensor cores (`fp4_tflops`: B200, B300, RTX PRO 6000,
    MI355X) multiplies FP4 weights and activations (NVFP4, MXFP4) at its FP4 rate. The FP4 peak is twice the FP8
    one, but block-scaled FP4 GEMMs reach a smaller share of it: every 16 (NVFP4) or 32 (MXFP4) values carry a
    scale the kernel must load and apply, and at twice the arithmetic rate the same tiles leave less time to hide
    their loads. Fitted to TensorRT-LLM's perf-overview rows (Llama 3.1/3.3 dense on B200 and RTX PRO 6000,
    Qwen3 MoE), where one share for FP8 and FP4 left every dense NVFP4 row 11–35 % fast."""
    apple_compute_factor: float = 1.0
    """Multiplies compute efficiency on Apple GPUs. Their catalog rate is the plain ALU rate (no tensor cores),
    which Metal's simdgroup-matrix kernels reach a larger share of than the same runtime reaches of an NVIDIA
    or AMD tensor-core peak: llama.cpp's prompt processing (discussion #4167) runs at about 70 % of the M2
    Ultra's, M3 Max's and M4 Max's FP32 rate, but about 45 % of the RTX 4090's FP16 tensor rate (PR #4766)."""
    apple_bandwidth_factor: float = 1.0
    """Multiplies bandwidth efficiency on Apple GPUs. A Mac's catalog bandwidth is its whole unified memory
    system's, which the CPU cores, the display engine and the GPU share, so the GPU alone streams a different share
    of it than a discrete card streams of its own GDDR or HBM. Fitted for llama.cpp, the one family with both
    (MLX runs on Macs only, so its `bandwidth` already is the Mac share): with one share for all its cards, its
    single-stream decode rows were 5 % fast on Macs and 7–9 % slow on GeForce and workstation cards (median signed
    error), and the Macs of the second publication (llama.cpp discussion #4167) +2…+41 % (median +15 %) fast
    leave-one-source-out."""


@dataclass(frozen=True)
class SpeculativeDecoding:
    """Draft-then-verify decoding (Leviathan, Kalman & Matias, ICML 2023, arXiv:2211.17192).

    A cheap drafter proposes `draft_tokens` tokens; one target forward pass verifies them all. With a per-token
    acceptance rate α, a verify step yields (1 − α^(k+1)) ÷ (1 − α) tokens on average (their eq. 1).
    """

    draft_tokens: int = 3
    """Tokens proposed per verify step (k)."""
    acceptance_rate: float = 0.7
    """Probability the target accepts each drafted token (α), 0…1."""
    draft_cost_share: float = 0.05
    """One draft step's time ÷ one target decode step (an EAGLE/MTP head ≈ one layer ≈ 0.02–0.1; a separate
    small draft model ≈ its size ratio)."""

    def __post_init__(self) -> None:
        if self.draft_tokens < 1 or not 0 <= self.acceptance_rate < 1 or self.draft_cost_share < 0:
            raise ScenarioError("speculative decoding needs draft_tokens ≥ 1, 0 ≤ acceptance_rate < 1, cost ≥ 0")

    @property
    def tokens_per_step(self) -> float:
        a, k = self.acceptance_rate, self.draft_tokens
        return (1 - a ** (k + 1)) / (1 - a)


ERROR_BAND_PCT: dict[str, float]
"""Expected relative error per regime, %: see `_error_bands` (annotated only; `__getattr__` supplies it)."""


def __getattr__(name: str) -> dict[str, float]:
    """`ERROR_BAND_PCT`, read when first asked for (PEP 562) so that importing this module reads no file."""
    if name == "ERROR_BAND_PCT":
        return _error_bands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _error_bands() -> dict[str, float]:
    """Expected relative error per regime, %: the leave-one-source-out median |error| of the calibration.

    One source of truth: the `regimes` of data/calibration_fit.json (`opentco catalog calibration`), which a
    test keeps in step with data/published_throughput.csv.
    """
    from costmodel.calibration import error_bands_pct

    return error_bands_pct()


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
    """GPU memory of the replica in GB of 10⁹ bytes, like the weights and KV figures (the vendors' stated "GB"
    are GiB: 2 × "80 GB" is 171.8 of these; `VENDOR_GB_BYTES`)."""
    max_concurrency: int
    """Streams the runtime admits from its KV cache (at their mean length I + O/2, or their full length where it
    reserves whole sequences), capped by its batch limit; 0 if none fits."""
    concurrency: int
    """Streams the replica serves at once: the requested concurrency, or fewer where memory admits fewer."""
    input_tokens: int
    output_tokens: int
    ttft_ms: float
    """Mean time to first token, including any wait for a free slot or for other prompts' prefill
    (`queue_wait_ms`)."""
    decode_step_ms: float
    """Time between one stream's tokens: a decode step of the batch carrying the other streams' prompts (one
    stream alone: the pure decode step), plus any draft passes, per token."""
    output_tokens_per_s: float
    """All streams together."""
    output_tokens_per_s_per_stream: float
    prefill_tokens_per_s: float
    bound: str
    """'memory' or 'compute': what limits the decode step."""
    basis: Basis
    efficiency: Efficiency = field(repr=False)
    error_band_pct: float = 25.0
    """Expected relative error of `output_tokens_per_s`, % (one standard band, for Monte Carlo draws)."""
    error_band_basis: str = "no calibration figures"
    """What sets `error_band_pct`: the estimate's widest regime, the fit's error on its GPU type, or your runs."""
    mode: EstimateMode = EstimateMode.FIXED_CONCURRENCY
    runtime_family: str = "server"
    regimes: tuple[str, ...] = ()
    """Error regimes this estimate falls in (see `ERROR_BAND_PCT`)."""
    kv_cache_dtype: str = "auto"
    prefix_cache_hit_share: float = 0.0
    communication_ms: float = 0.0
    """Tensor-parallel all-reduce time within the step `decode_step_ms` times."""
    requested_concurrency: int = 0
    """Clients sending requests (fixed concurrency), or the streams memory admits (max load)."""
    queue_wait_ms: float = 0.0
    """Of `ttft_ms`, the mean wait before a request's prompt is processed (`_queue_wait_s`): for a free slot
    where more clients send requests than memory admits, else behind other prompts' prefill."""
    overhead_ms: float = 0.0
    """Fixed per-step time within the step `decode_step_ms` times."""
    attention_dp: bool = False
    """Attention ran data-parallel across the replica's GPUs (`attention_dp_default`)."""
    current_release: bool = False
    """The fixed costs are a current engine release's (`CURRENT_RELEASES`), not an older one's; for llama.cpp, a
    build that multiplies quantized weights with MMQ at every batch (`LLAMA_CPP_MMQ_EVERY_BATCH_FROM`)."""

    @property
    def requests_per_s(self) -> float:
        return self.output_tokens_per_s / self.output_tokens if self.output_tokens else 0.0


SERVER_FAMILIES = ("server", "server-w4a16")
"""Families run by serving engines (vLLM, SGLang, TensorRT-LLM, TGI): their admission rules, chunked prefill,
FP32-accumulate GEMMs and tensor-parallel heads, none of which llama.cpp or MLX share."""
RUNTIME_FAMILIES = (*SERVER_FAMILIES, "llama.cpp", "mlx")
LAYER_SPLIT_FAMILIES = ("llama.cpp",)
"""Families that spread a model over several GPUs by layers, not by heads: llama.cpp's default `--split-mode
layer` ("Pipeline parallelism. Each GPU holds a contiguous slice of layers", llama.cpp docs/multi-gpu.md, PR
#22729), so one token's pass runs on one GPU at a time."""
_LLAMA_CPP_RUNTIMES = {
    "llama.cpp", "llamacpp", "llama-cpp", "llama-cpp-python", "ollama", "lm-studio", "lmstudio", "llamafile",
    "koboldcpp",
}  # fmt: skip
"""Runtimes built on llama.cpp's kernels: the project itself, its Python binding and the apps that embed it."""


def runtime_family(quant: QuantFormat, *, runtime: str | None = None, gpu: GpuSpec | None = None) -> str:
    """Which kernels run a format, since each class reaches its own share of the datasheet figures.

    GGUF formats (and any format run by llama.cpp, Ollama or LM Studio) run on llama.cpp; MLX formats on
    Apple's MLX; weight-only formats (AWQ, GPTQ 4- and 8-bit: integer weights, 16-bit matmuls) on servers pay for
    dequantization inside the matmul (the family keeps its first name, `server-w4a16`, and covers W8A16 too);
    everything else runs native 16/8/4-bit server kernels (vLLM, SGLang, TensorRT-LLM, TGI). On Apple silicon
    (`gpu`) the server engines that run there compute with MLX, and so does a checkpoint with no engine named
    (`_METAL_VIA_MLX`): MLX's kernels, not CUDA's.
    """
    r = _runtime_name(runtime)
    if quant.quant_id.startswith("gguf") or r in _LLAMA_CPP_RUNTIMES:
        return "llama.cpp"
    if quant.quant_id.startswith("mlx") or r == "mlx" or (gpu is not None and gpu.segment == "apple"):
        return "mlx"
    if quant.bits_per_weight < 16 and quant.compute_dtype == "fp16":
        return "server-w4a16"
    return "server"


_METAL_VIA_MLX = (
    "vLLM with its vLLM-Metal plugin, which 'uses MLX as the primary compute backend' (vllm-project/vllm-metal "
    "README; vLLM's own macOS build runs on the CPU only), and SGLang with SGLANG_USE_MLX=1 (SGLang docs, "
    "'Apple Silicon with Metal')"
)
"""How the server engines that run on a Mac's GPU get there (`runtime_family`, `engine_note`)."""
_METAL_SERVER_ENGINES = ("vllm", "sglang")
"""The server engines of `_METAL_VIA_MLX`: on a Mac they compute with MLX but schedule with their own rules."""


def _metal_through_mlx(quant: QuantFormat, runtime: str | None, gpu: GpuSpec) -> bool:
    """Whether an estimate on Apple silicon takes MLX's kernels for an engine that is not MLX itself (a server
    engine, or none named, for a non-MLX checkpoint)."""
    return (
        gpu.segment == "apple"
        and runtime_family(quant, runtime=runtime, gpu=gpu) == "mlx"
        and runtime_family(quant, runtime=runtime) != "mlx"
    )


_APPLE_ENGINES = "llama.cpp, Ollama, LM Studio, MLX, vLLM (vLLM-Metal) or SGLang (its MLX backend)"
_AMD_ENGINES = "vLLM, SGLang, TGI or llama.cpp, which run on ROCm"


def engine_refusal(
    runtime: str | None, gpu: GpuSpec, quant: QuantFormat | None = None, *, brief: bool = False
) -> str | None:
    """Why the serving engine named cannot run on `gpu` (or load `quant`), in words for the user (`brief`: the
    reason alone, for a table's note); None where it can or none is named.

    TensorRT-LLM, and NVIDIA NIM and NVIDIA's MLPerf submissions built on it, compile CUDA engines: NVIDIA GPUs
    only, NIM 2.x included (its containers are NVIDIA's). TGI serves on NVIDIA, AMD, Intel Gaudi, AWS Inferentia
    and Google TPU, not on Apple silicon. Everything else named here has a build for each GPU in the catalog
    (llama.cpp: CUDA, ROCm, Metal; vLLM and SGLang on a Mac: `_METAL_VIA_MLX`). TensorRT-LLM loads neither GGUF
    nor MLX checkpoints (its quantization recipes are ModelOpt's, GPTQ and AWQ).
    """
    name = _spelled_runtime_name(runtime)
    if not name:
        return None
    if quant is not None and name in _TRTLLM_RUNTIMES and quant.quant_id.startswith(("gguf", "mlx")):
        if brief:
            return f"{runtime} does not load {quant.name}"
        return (
            f"{runtime} does not load {quant.name} checkpoints: GGUF runs on llama.cpp, Ollama, LM Studio or vLLM, "
            "MLX formats on MLX; for TensorRT-LLM pick fp8, nvfp4, awq-int4 or bf16"
        )
    if name in TENSORRT_ENGINES and gpu.vendor.upper() != "NVIDIA":
        if brief:
            return f"{runtime} runs on NVIDIA GPUs only"
        elsewhere = _APPLE_ENGINES if gpu.segment == "apple" else _AMD_ENGINES
        return f"{runtime} runs on NVIDIA GPUs only (CUDA engines), not on {gpu.name}: name {elsewhere}"
    if name == "tgi" and gpu.segment == "apple":
        if brief:
            return f"{runtime} has no Apple silicon build"
        return (
            f"{runtime} has no Apple silicon build (TGI serves on NVIDIA, AMD, Intel Gaudi, AWS Inferentia and "
            f"Google TPU), so it cannot run on {gpu.name}: name {_APPLE_ENGINES}"
        )
    return None


def one_mac_refusal(gpu: GpuSpec, gpus: int | None) -> str | None:
    """Why a replica of `gpus` Apple chips is not estimated, in words for the user; None for one, or off Apple.

    A Mac's unified memory is one device: `gpus_needed` never spreads a model over Macs, and nothing here models
    what joins several into one replica (llama.cpp's RPC backend, MLX's distributed ring or exo over Thunderbolt).
    """
    if gpu.segment != "apple" or (gpus or 1) <= 1:
        return None
    return (
        f"a replica on {gpu.name} is one Mac: {gpus} Macs serving as one replica (llama.cpp RPC, MLX distributed "
        "or exo over Thunderbolt) are not modelled; size one Mac and count replicas, or pick a model or format "
        "that fits one"
    )


def check_engine_hardware(
    runtime: str | None, gpu: GpuSpec, quant: QuantFormat | None = None, gpus: int | None = None
) -> None:
    """Refuse an engine that cannot run on the GPU or load the format (`engine_refusal`), and a replica of
    several Macs (`one_mac_refusal`).

    Raises:
        ScenarioError: with the reason and what does run there.
    """
    if (why := engine_refusal(runtime, gpu, quant) or one_mac_refusal(gpu, gpus)) is not None:
        raise ScenarioError(why)


def _chunked_default(family: str) -> bool:
    return family in SERVER_FAMILIES


@dataclass(frozen=True)
class _MemoryPolicy:
    usable_share: float
    overhead_gb_per_gpu: float
    tp_buffers_gb_per_gpu: float = 0.0

    def reserved_gb(self, gpus: int) -> float:
        """What the runtime keeps on `gpus` GPUs besides weights and KV."""
        return (self.overhead_gb_per_gpu + (self.tp_buffers_gb_per_gpu if gpus > 1 else 0.0)) * gpus


_MEMORY = {
    # vLLM reserves gpu_memory_utilization=0.9 by default; llama.cpp and MLX map almost all of the card.
    "server": _MemoryPolicy(USABLE_MEMORY_SHARE, RUNTIME_OVERHEAD_GB_PER_GPU, TP_BUFFERS_GB_PER_GPU),
    "server-w4a16": _MemoryPolicy(USABLE_MEMORY_SHARE, RUNTIME_OVERHEAD_GB_PER_GPU, TP_BUFFERS_GB_PER_GPU),
    # llama.cpp on CUDA allocates weights, KV and its compute buffers into whatever the driver leaves: the CUDA
    # context and the buffers of an n_ubatch of 512 take well under 0.75 GB. (XiongjieDai's RTX 4080 16 GB ran
    # Llama 3 8B F16, 14.96 GiB of weights, with 1,024 tokens of context: a 97 % share less 0.5 GB said no.)
    "llama.cpp": _MemoryPolicy(1.0, 0.75),
    "mlx": _MemoryPolicy(0.97, 0.5),
}


def runtime_kv_cache_dtype(quant: QuantFormat, runtime: str | None, kv_cache_dtype: str | None = None) -> str:
    """The KV-cache dtype a runtime uses when the user leaves it on "auto".

    TensorRT-LLM's `KvCacheConfig(dtype="auto")` takes the KV format a pre-quantized checkpoint names
    (docs/source/features/quantization.md, "FP8 KV Cache": "inherited from the checkpoint with dtype="auto""),
    which data/quant.csv keeps as the format's `kv_cache_dtype`: FP8 for FP8 (W8A8) checkpoints, which
    `trtllm-bench … --quantization FP8` builds with "KV Cache Dtype: FP8" (NVIDIA/TensorRT-LLM
    docs/source/performance/perf-benchmarking.md@04276b44, the build output it prints), and for NVFP4, whose
    ModelOpt checkpoints say `"kv_cache_quant_algo": "FP8"` in hf_quant_config.json (nvidia/Qwen3-30B-A3B-NVFP4,
    quoted in vllm-project/vllm#34752). NIM 1.x's optimized profiles and NVIDIA's MLPerf submissions are TensorRT-LLM
    engines too; NIM named without a release keeps a 16-bit cache (`_nim_without_release`). vLLM, SGLang and TGI are
    estimated with a 16-bit cache (`kv_bytes_per_element`) unless told otherwise: vLLM reads a ModelOpt checkpoint's
    KV format only since late 2025 (vllm-project/vllm#30785), and the llm-compressor checkpoints it also serves carry
    none.
    """
    d = (kv_cache_dtype or "auto").lower()
    inherits = uses_tensorrt_engines(runtime) and not _nim_without_release(runtime)
    if d == "auto" and inherits and (quant.kv_cache_dtype or "").lower() == "fp8":
        return "fp8"
    return d


OLDER_NIM_STREAM_US = 40.0
"""Host time per streamed token per step, µs, of NIM named without a release (`_nim_without_release`), added to the
fitted `Efficiency.stream_overhead_us`. NIM's TensorRT-LLM profiles answered through Triton, whose ensemble passes
every streamed token of every request through a Python post-processing model that detokenizes it
(triton-inference-server/tensorrtllm_backend issue #622: in streaming mode its `execute()` runs for each token as it
is generated); later servers take that work off the step's path (trtllm-serve's `num_postprocess_workers` and
`stream_interval`). The one published sweep of such a NIM shows it: NVIDIA's DLI data set of "an older version of
NVIDIA NIM" (wbing520/ai-performance-engineering, held out) levels off at 11–12k output tokens/s for Llama 3 8B on
one H100 in FP8 or two in FP16 or FP8, where the GPU alone would serve 17–26k at 250 streams, and from 50 to 250
streams its inter-token latency grows by about 60 µs a stream where the estimate's GPU step grows by 20–55. 40 µs
is the value that fits the sweep's Llama 3 8B rows best (median |error| 15.8 → 9.6 %); its Llama 3 70B rows, on 4
and 8 GPUs, test it: 16.9 → 8.7 %. A named 1.x release (NIM 1.8's fitted sweep) and NIM 2.x, which serves with
vLLM, do not take it (data/PUBLISHED_THROUGHPUT.md, "the older NIM's host time per streamed token")."""


VLLM_HOST_OVERLAP_FROM = (0, 6)
"""The first vLLM release whose host work per step stopped adding to each step's time: 0.6.0 "vLLM v0.6.0: 2.7x
Throughput Improvement and 5x Latency Reduction" (blog.vllm.ai, 2024-09-05) separated the API server from the engine
and overlapped the scheduler's and the output processor's Python with the GPU's step (multi-step scheduling and
the asynchronous output processor), after profiling vLLM 0.5.3 serving Llama 3 8B on one H100 spent 33 % of its
time in the HTTP server, 29 % in scheduling and output processing and 38 % on the GPU."""

OLDER_VLLM_STEP_MS = 1.1
"""Host time per forward pass, ms, of a vLLM release before `VLLM_HOST_OVERLAP_FROM`, added to the fitted
`Efficiency.step_overhead_ms` (whose rows all ran vLLM 0.6.3 or later): the step's scheduling, sampling and output
processing, which those releases ran in turn with the GPU's step. No fitted row ran such a release. 1.1 ms is the
value that fits the Qwen2 speed benchmark's one-GPU dense rows best (vLLM 0.4.2 on an A100, one stream, prompts of
1 and 6,144 tokens, BF16, GPTQ-Int8 and GPTQ-Int4: median |error| 25.7 → 2.9 %, 18 rows; held out,
data/published_throughput_holdout.csv). The same benchmark's other 66 rows test it with `OLDER_VLLM_AWQ_FACTOR`:
38.1 → 21.3 %, and Qwen2 72B on two and four GPUs at short prompts 15.7 → 7.7 % (8 rows); what stays off is
prompts beyond 8k tokens (`OLDER_VLLM_EAGER_LAYER_US`) and Qwen2-57B-A14B (data/PUBLISHED_THROUGHPUT.md, "older
vLLM's host time per step")."""


VLLM_CUDA_GRAPH_MAX_CONTEXT = 8192
"""Longest context a vLLM decode step runs as a captured CUDA graph: `max_seq_len_to_capture`, default 8192 ("When a
sequence has context length larger than this, we fall back to eager mode", vllm/config.py; `max_context_len_to_capture`
in the 0.4 releases, whose model runner sets `use_captured_graph` only where `max_context_len <=
self.max_context_len_to_capture`)."""

OLDER_VLLM_EAGER_LAYER_US = 340.0
"""Kernel-launch time per layer, µs, of a decode step that a vLLM release before `VLLM_HOST_OVERLAP_FROM` runs
without CUDA graphs (`VLLM_CUDA_GRAPH_MAX_CONTEXT`). Launched kernel by kernel from Python, the pass lasts as long
as those launches where they outlast the GPU's work, which they do for small models. No fitted row ran such a
release.
340 µs is the value that fits the Qwen2 speed benchmark's 0.5B and 1.5B rows beyond 8k-token prompts best (vLLM
0.4.2 on an A100, one stream, 14,336 and 30,720 tokens in, 2,048 out, four formats: median |error| 96.3 → 4.5 %,
16 rows; held out): their speed halves past 8,192 tokens of context, to 9–12 ms a token whatever the format, as
a launch-bound step would. The same benchmark's 7B and 72B rows at those prompts test it: 7B 18.2 → 12.3 %, 72B
on two and four GPUs 21.3 → 20.1 % (16 rows each; data/PUBLISHED_THROUGHPUT.md, "older vLLM's eager decode
beyond 8k tokens"). vLLM 0.6.3's rows (Qwen2.5, same harness and settings) slow by only 5–15 % from 6,144 to
30,720 tokens, as attention's reads grow, so later releases do not take it; why 0.6 no longer pays it is not
established."""


VLLM_AWQ_MARLIN_FROM = (0, 5, 3)
"""The first vLLM release that runs AWQ checkpoints through the Marlin kernel, as GPTQ ones already did: vLLM PR
#6612 ("Add AWQ support to the Marlin kernel", merged for 0.5.3, July 2024; its docs change, PR #6654, says
"Marlin kernels are up to 2.59x faster than the AWQ GEMM kernel which is under-optimized in vLLM")."""

OLDER_VLLM_AWQ_FACTOR = 2.59
"""Multiplies the linear layers' time of an AWQ checkpoint on a vLLM release before `VLLM_AWQ_MARLIN_FROM`, whose
AWQ GEMM kernel dequantizes and multiplies at a smaller share of the GPU's bandwidth and tensor rate than Marlin:
vLLM's own figure, "up to 2.59x" (PR #6654). No fitted row ran such a release. It is also the value that fits the
Qwen2 speed benchmark's two one-GPU, short-prompt Qwen2 7B AWQ rows best (vLLM 0.4.2 on an A100: 50.4 → 3.6 %,
with `OLDER_VLLM_STEP_MS`; held out); its 18 other AWQ rows (Qwen2 0.5B and 1.5B, 72B on two GPUs, prompts up to
129,024 tokens) test it: 50.3 → 13.1 %."""


@dataclass(frozen=True, slots=True)
class _ReleaseExtras:
    """What a named engine release costs beyond the fitted factors, whose rows all ran later releases."""

    host_stream_us: float = 0.0  # host time per decoding stream per step (`OLDER_NIM_STREAM_US`)
    host_step_ms: float = 0.0  # host time per forward pass (`OLDER_VLLM_STEP_MS`)
    linear_factor: float = 1.0  # multiplies the linear layers' time (`OLDER_VLLM_AWQ_FACTOR`)
    eager_layer_us: float = 0.0  # launch time per layer of a graphless decode step (`OLDER_VLLM_EAGER_LAYER_US`)


_NO_EXTRAS = _ReleaseExtras()


def _vllm_before(runtime: str | None, first: tuple[int, ...]) -> bool:
    """Whether `runtime` names a vLLM release before `first` (`vllm 0.4.2`; not `vllm` alone, today's release)."""
    release = named_release(runtime)
    return _runtime_name(runtime) == "vllm" and release is not None and not _release_at_least(release, first)


def release_extras(runtime: str | None, quant: QuantFormat) -> _ReleaseExtras:
    """What `runtime`'s release costs beyond the fitted factors: the older NIM's host time per streamed token
    (`_nim_without_release`), and a vLLM before 0.6's host time per step and, before 0.5.3, its AWQ kernel."""
    older_awq = quant.quant_id.startswith("awq") and _vllm_before(runtime, VLLM_AWQ_MARLIN_FROM)
    before_overlap = _vllm_before(runtime, VLLM_HOST_OVERLAP_FROM)
    return _ReleaseExtras(
        host_stream_us=OLDER_NIM_STREAM_US if _nim_without_release(runtime) else 0.0,
        host_step_ms=OLDER_VLLM_STEP_MS if before_overlap else 0.0,
        linear_factor=OLDER_VLLM_AWQ_FACTOR if older_awq else 1.0,
        eager_layer_us=OLDER_VLLM_EAGER_LAYER_US if before_overlap else 0.0,
    )


def _eager_share(input_tokens: int, output_tokens: int, streams: int) -> float:
    """Share of the decode steps whose longest context passes `VLLM_CUDA_GRAPH_MAX_CONTEXT`, so that vLLM runs them
    without CUDA graphs. A stream's context grows from its prompt to prompt + output, one token a step; with several
    streams at independent points of their outputs, a step runs as a graph only where every stream is below it."""
    beyond = input_tokens + output_tokens - VLLM_CUDA_GRAPH_MAX_CONTEXT
    one = min(1.0, max(0.0, beyond / max(1, output_tokens)))
    return 1.0 - (1.0 - one) ** max(1, streams)


def _nim_without_release(runtime: str | None) -> bool:
    """Whether `runtime` is NIM with no release named. Its FP8 profiles are estimated with a 16-bit KV cache: the one
    published sweep of an unnamed NIM release (NVIDIA's DLI data set of "an older version of NVIDIA NIM", Llama 3 8B on
    H100, held out) levels off at 7,000 + 1,000 tokens with FP8 only 1.25× (one GPU) and 1.1–1.2× (two) above FP16,
    as a 16-bit cache with the memory FP8 weights free gives, where an FP8 cache would double it; and the release
    a deployment installs today (2.x) runs vLLM, whose cache is 16-bit unless told otherwise. NIM 1.8's sweep
    (fitted) levels off where an FP8 cache does, so a named 1.x release keeps TensorRT-LLM's inherited FP8 cache."""
    return _runtime_name(runtime) == "nvidia-nim" and named_release(runtime) is None


def _kv_element_bytes(quant: QuantFormat, kv_cache_dtype: str | None) -> float:
    d = (kv_cache_dtype or "auto").lower()
    if d in ("fp8", "fp8_e4m3", "fp8_e5m2", "int8", "q8_0"):
        return 1.0
    if d in ("fp16", "bf16", "f16"):
        return 2.0
    if d in ("fp4", "nvfp4", "q4_0"):
        return 0.5625
    if d != "auto":
        raise ScenarioError(f"unknown KV cache dtype {kv_cache_dtype!r}: use auto, fp16, bf16, fp8 or fp4")
    return quant.kv_bytes_per_element


def _kv_elements_per_token_per_layer(model: ModelArch) -> float:
    if model.kv_lora_rank:  # MLA stores one compressed latent (+ rope key) per token per layer
        return model.kv_lora_rank + (model.qk_rope_head_dim or 0)
    return 2 * (model.kv_heads or 0) * model.attention_head_dim


INDEXER_SCALE_BLOCK = 128
"""Values per FP32 scale in a cached DSA indexer key (DeepSeek-V3.2-Exp inference/model.py, `block_size = 128`)."""


def _indexer_bytes_per_token(model: ModelArch) -> float:
    """What DeepSeek Sparse Attention's indexers cache per token besides the MLA latents: in each layer that runs
    one, a key of `index_head_dim` FP8 values and an FP32 scale per 128 of them, whatever the KV-cache dtype (132
    bytes for DeepSeek-V3.2's 128-wide keys). 0 for dense attention."""
    d = model.index_head_dim or 0
    return model.indexer_layers * (d + 4 * math.ceil(d / INDEXER_SCALE_BLOCK))


def _kv_bytes_per_token_per_layer(model: ModelArch, quant: QuantFormat, kv_cache_dtype: str | None) -> float:
    """What one token's KV (or MLA latent) takes in one KV layer, in the cache's dtype."""
    return _kv_elements_per_token_per_layer(model) * _kv_element_bytes(quant, kv_cache_dtype)


def kv_bytes_per_token(model: ModelArch, quant: QuantFormat, *, kv_cache_dtype: str | None = None) -> float:
    """KV-cache bytes one token occupies across all KV layers, ignoring sliding windows (a full-window upper
    bound; `kv_bytes_per_sequence` gives what a sequence of a given length really holds)."""
    per_layer = _kv_bytes_per_token_per_layer(model, quant, kv_cache_dtype)
    return model.kv_layers * per_layer + _indexer_bytes_per_token(model)


def _ssm_state_bytes(model: ModelArch) -> float:
    """Recurrent state one sequence keeps in a hybrid model's Mamba layers (Dao & Gu, Mamba-2, 2024):
    inner × d_state SSM state plus the last d_conv − 1 inputs of the causal convolution, in 16-bit."""
    if not model.ssm_layers:
        return 0.0
    inner = model.ssm_inner_dim or 0
    per_layer = inner * (model.ssm_state_dim or 128) + inner * max(0, (model.ssm_conv_kernel or 4) - 1)
    return model.ssm_layers * per_layer * 2.0


def kv_bytes_per_sequence(
    model: ModelArch,
    quant: QuantFormat,
    context_tokens: float,
    *,
    kv_cache_dtype: str | None = None,
    copies: float = 1.0,
) -> float:
    """Bytes one sequence of `context_tokens` holds: full-attention layers keep every token, sliding-window
    layers at most the window (vLLM's hybrid KV cache manager and llama.cpp's SWA cache free the rest), and
    Mamba layers a fixed state. `copies` is how many GPUs of a tensor-parallel replica hold each KV element
    (`kv_copies`)."""
    per_layer = _kv_bytes_per_token_per_layer(model, quant, kv_cache_dtype)
    swa = model.sliding_kv_layers
    full = model.kv_layers - swa
    held = full * context_tokens + swa * min(context_tokens, model.sliding_window or 0)
    indexer = context_tokens * _indexer_bytes_per_token(model)
    return (held * per_layer + indexer) * copies + _ssm_state_bytes(model)


def _kv_read_bytes(
    model: ModelArch, quant: QuantFormat, context_tokens: float, *, kv_cache_dtype: str | None, copies: float
) -> float:
    """Bytes one decoding stream reads from its cache in one step: all it holds (`kv_bytes_per_sequence`), except
    under DeepSeek Sparse Attention, where the indexer reads every cached indexer key but attention then gathers
    only the `index_topk` latents it picked (FlashMLA's sparse decode kernel, deepseek-ai/FlashMLA#98)."""
    if not model.sparse_attention:
        return kv_bytes_per_sequence(model, quant, context_tokens, kv_cache_dtype=kv_cache_dtype, copies=copies)
    latent = _kv_bytes_per_token_per_layer(model, quant, kv_cache_dtype)
    picked = min(context_tokens, model.index_topk or 0)
    read = model.kv_layers * picked * latent + context_tokens * _indexer_bytes_per_token(model)
    return read * copies + _ssm_state_bytes(model)


def kv_copies(model: ModelArch, gpus: int, family: str, *, attention_dp: bool = False) -> float:
    """How many GPUs of a tensor-parallel replica store each KV-cache element.

    Multi-head latent attention (DeepSeek-V2/V3/R1) caches one latent per token that every head reads, so
    tensor parallelism cannot split it by head: each GPU holds, and each decode step reads, the whole latent
    cache. SGLang's data-parallel attention exists to remove that duplication (SGLang documentation, "Data
    Parallelism Attention": "MLA models like DeepSeek have only one KV head. With standard Tensor Parallelism:
    KV cache duplicated across all GPUs").
    Grouped-query models with fewer KV heads than GPUs are replicated too in vLLM (`QKVParallelLinear` copies
    KV heads when tp_size > num_kv_heads), but it is not counted: before attention DP was modelled it moved the
    TensorRT-LLM Qwen3-235B TP8 rows (4 KV heads; run attention-DP, so one copy) from +1 % to −24 % and the
    overall leave-one-source-out error from 11.9 % to 13.8 %, and it would slow SGLang's Qwen3-235B rows on
    8 × H20 at long prompts, already 9–26 % slow (data/PUBLISHED_THROUGHPUT.md).
    llama.cpp splits layers across GPUs, never heads: one copy. Under attention data parallelism each GPU caches
    only its own requests: one copy.
    """
    if gpus <= 1 or family not in SERVER_FAMILIES or not model.kv_lora_rank or attention_dp:
        return 1.0
    return float(gpus)


def _weights_bytes(model: ModelArch, quant: QuantFormat) -> float:
    """Bytes the weights take in memory: a routed-experts format (`QuantFormat.scope`) stores the always-read
    part in BF16 (`_expert_split`)."""
    shared, experts = _expert_split(model)
    return (shared * quant.bits_for(routed_expert=False) + experts * quant.bits_for(routed_expert=True)) * 1e9 / 8


@lru_cache(maxsize=4096)
def _expert_split(model: ModelArch) -> tuple[float, float]:
    """(always-read params, routed-expert params) in billions; dense models have no routed part."""
    if not model.is_moe:
        return model.total_params_b, 0.0
    k_over_e = (model.experts_per_token or 1) / model.num_experts
    expert_params = max(0.0, (model.total_params_b - model.active_params_b) / (1 - k_over_e))
    return model.total_params_b - expert_params, expert_params


def _active_expert_params_b(model: ModelArch) -> float:
    """Routed-expert parameters one token runs through, in billions: its active parameters less the always-read
    part (`_expert_split`); none for a dense model."""
    return max(0.0, model.active_params_b - _expert_split(model)[0])


def _expected_experts_share(model: ModelArch, tokens: float) -> float:
    """Expected share of a layer's experts that `tokens` routed tokens touch.

    With uniform routing each token picks k of E experts, so an expert is missed by one token with
    probability 1 − k/E and by all of them with (1 − k/E)^tokens; expected touched share = 1 − (1 − k/E)^T.
    At one stream this is k/E (DeepSeek-V3: 8 of 256 experts read per step, not all 256), at large batch it
    tends to 1. Uniform routing is the optimistic case: real routers are skewed, touching fewer experts.
    """
    if not model.is_moe:
        return 1.0
    k_over_e = (model.experts_per_token or 1) / model.num_experts
    return 1.0 - (1.0 - k_over_e) ** max(1.0, tokens)


def _moved_weight_bytes(model: ModelArch, quant: QuantFormat, tokens: float, *, bits: float | None = None) -> float:
    """Weight bytes one forward pass over `tokens` tokens reads: the always-used part and the experts touched,
    each at its own width (`QuantFormat.bits_for`), or all at `bits` (llama.cpp's F16 copy)."""
    shared, experts = _expert_split(model)
    shared_bits = bits or quant.bits_for(routed_expert=False)
    expert_bits = bits or quant.bits_for(routed_expert=True)
    return (shared * shared_bits + experts * _expected_experts_share(model, tokens) * expert_bits) * 1e9 / 8


def attention_dp_default(runtime: str | None, model: ModelArch, gpus: int, mode: EstimateMode) -> bool:
    """Whether a runtime's own max-throughput recipe runs attention data-parallel for this replica.

    TensorRT-LLM's perf overview (docs/source/performance/perf-overview.md) benchmarks every MoE model with
    `enable_attention_dp: true`: each GPU runs attention for its own share of the requests and the experts are
    split across GPUs. Other runtimes have it off unless asked (SGLang `--enable-dp-attention`), and so does
    TensorRT-LLM at a fixed concurrency, where its low-latency recipes keep attention tensor-parallel.
    """
    return model.is_moe and gpus > 1 and mode is EstimateMode.MAX_LOAD and _runtime_name(runtime) in _TRTLLM_RUNTIMES


def _replicated_params_b(model: ModelArch, gpus: int, attention_dp: bool) -> float:
    """Extra parameters (billions) a replica holds, and reads every step, when attention runs data-parallel.

    Under attention DP every GPU keeps its own full copy of the weights outside the routed experts (attention,
    dense and shared-expert MLPs, embeddings; `_expert_split`): gpus − 1 more copies than tensor parallelism,
    which splits them. Only the routed experts stay sharded.
    """
    if not attention_dp or gpus <= 1:
        return 0.0
    return _expert_split(model)[0] * (gpus - 1)


MLA_QK_NOPE_HEAD_DIM = 128
"""DeepSeek-V2/V3/R1 `qk_nope_head_dim`: the per-head query/key width without rotary dims, once decompressed
(a model's own `ModelArch.qk_nope_head_dim` where set: GLM-5's 192)."""
MLA_V_HEAD_DIM = 128
"""DeepSeek-V2/V3/R1 `v_head_dim`: the per-head value width, once decompressed (`ModelArch.v_head_dim`)."""


def _attention_flops(model: ModelArch, context: float, *, prefill: bool = False) -> float:
    """Attention FLOPs for one query token attending to `context` tokens, all layers.

    QKᵀ and AV are two matmuls of 2 FLOPs per multiply-add over heads × head_dim × context (Kaplan et al. 2020,
    table 1). Sliding-window layers attend to at most the window. MLA decodes in its latent width (kv_lora_rank
    for AV, + rope dims for QKᵀ: the absorbed weights, which read the least memory) but prefills in the
    decompressed multi-head form (128 + 64 dims for QKᵀ, 128 for AV: 3.4× fewer FLOPs per head). vLLM's MLA
    backend (vllm/attention/backends/mla/common.py): "MLA has two possible ways of computing, a data-movement
    friendly approach and a compute friendly approach ... the compute friendly approach for "prefill" ... and the
    data-movement friendly approach for "decode"". Under DeepSeek Sparse Attention a query attends to at most
    `index_topk` tokens in the latent form (DSA is "instantiated under MQA mode of MLA", DeepSeek-V3.2 report;
    FlashMLA's sparse kernels), and a prompt token costs the cheaper of that and dense decompressed attention over
    its whole context, as an engine that sends short prompts to a dense kernel does. `context` is a prompt's
    average, so min(average, top-k) slightly overstates a long prompt's early tokens.
    """
    heads = model.attention_heads or 0
    latent = 2 * heads * (2 * (model.kv_lora_rank or 0) + (model.qk_rope_head_dim or 0))
    if model.kv_lora_rank and prefill:
        nope, v = model.qk_nope_head_dim or MLA_QK_NOPE_HEAD_DIM, model.v_head_dim or MLA_V_HEAD_DIM
        per_ctx = 2 * heads * (nope + (model.qk_rope_head_dim or 0) + v)
    elif model.kv_lora_rank:
        per_ctx = latent
    else:
        per_ctx = 4 * heads * model.attention_head_dim
    swa = model.sliding_kv_layers
    full = model.kv_layers - swa
    per_full_layer = per_ctx * context
    if model.sparse_attention:
        per_full_layer = min(per_full_layer, latent * min(context, model.index_topk or 0))
    return full * per_full_layer + swa * per_ctx * min(context, model.sliding_window or 0)


def _indexer_flops(model: ModelArch, context: float) -> float:
    """FP8 FLOPs of DeepSeek Sparse Attention's indexer for one query token scoring `context` cached keys, all
    layers: a dot product of `index_head_dim` per head and key. It is quadratic in the context like dense attention
    but, with 64 heads of 128 in FP8 against 128 heads of 576 + 512 in 16 bits, about an eighth of MLA's work per
    token attended (DeepSeek-V3.2-Exp inference/model.py, `Indexer.forward`). 0 for dense attention."""
    return 2 * (model.index_heads or 0) * (model.index_head_dim or 0) * context * model.indexer_layers


def _attention_dtype(quant: QuantFormat, kv_cache_dtype: str | None) -> str:
    """Tensor rate attention runs at: FP8 when both the model's activations and the KV cache are 8-bit or less
    (TensorRT-LLM's FP8 FMHA, FlashAttention-3 FP8), else 16-bit. Never FP4 or INT4: no serving stack runs
    QKᵀ/AV in 4 bits, so an NVFP4 model still attends in FP8 (TensorRT-LLM NVFP4 checkpoints use an FP8 KV
    cache, NVIDIA "Introducing NVFP4" blog)."""
    low_precision = quant.compute_dtype in ("fp8", "fp4")
    return "fp8" if low_precision and _kv_element_bytes(quant, kv_cache_dtype) <= 1.0 else "fp16"


def _tensor_rate_share(gpu: GpuSpec, family: str) -> float:
    """Share of the catalog's tensor rates a runtime family can use on a GPU.

    GeForce cards are quoted with FP16 accumulation; with FP32 accumulation, which the GEMMs of PyTorch, vLLM,
    TensorRT-LLM and AutoAWQ use, they run at half that rate (NVIDIA Ada Lovelace architecture whitepaper,
    appendix table: RTX 4090 FP16 tensor 330.3 TFLOPS with FP16 accumulate, 165.2 with FP32 accumulate; the
    same halving on Ampere and Blackwell GeForce). Workstation and data-centre cards run both at full rate, and
    llama.cpp multiplies F16 in FP16 accumulation (`CUBLAS_COMPUTE_16F`), so it keeps the full rate.
    """
    geforce = gpu.segment == "consumer" and gpu.vendor.upper() == "NVIDIA"
    return 0.5 if geforce and family in SERVER_FAMILIES else 1.0


def _tp_efficiency(eff: Efficiency, gpus: int) -> float:
    return eff.tp_scaling ** math.log2(gpus) if gpus > 1 else 1.0


def _allreduce_s(gpu: GpuSpec, gpus: int, message_bytes: float) -> float:
    """One all-reduce of `message_bytes` across the replica's GPUs.

    Inside a server: latency + 2(n−1)/n × bytes ÷ link bandwidth (ring all-reduce, NCCL's bus-bandwidth
    convention). Across servers the inter-node hop adds InfiniBand latency and its own ring term.
    """
    if gpus <= 1:
        return 0.0
    latency_s, bw = _link(gpu)
    local = min(gpus, gpu.gpus_per_node)
    t = latency_s + 2 * (local - 1) / local * message_bytes / bw
    nodes = math.ceil(gpus / gpu.gpus_per_node)
    if nodes > 1:
        t += INTER_NODE_LATENCY_US * 1e-6 + 2 * (nodes - 1) / nodes * message_bytes / (INTER_NODE_GB_S * 1e9)
    return t


def _link(gpu: GpuSpec) -> tuple[float, float]:
    """The GPU-to-GPU link inside a server: its latency, s, and per-GPU one-direction bandwidth, bytes/s
    (`_LINKS`, with gpus.csv's figure where it has one)."""
    latency_us, default_gb_s = _LINKS.get(gpu.interconnect or "none", _LINKS["none"])
    return latency_us * 1e-6, (gpu.interconnect_gb_s or default_gb_s) * 1e9


def _copy_s(gpu: GpuSpec, message_bytes: float) -> float:
    """One point-to-point copy of `message_bytes` between neighbouring GPUs of a server: latency + bytes ÷ link
    bandwidth (the hidden state handed from one layer-split GPU to the next)."""
    latency_s, bw = _link(gpu)
    return latency_s + message_bytes / bw


def layer_split_prefill_share(prompt_tokens: float, gpus: int) -> float:
    """Share of its one-GPU time a prompt takes when `gpus` GPUs each hold a slice of the layers.

    llama.cpp splits a prompt into micro-batches of `n_ubatch` tokens and pipelines them through the GPUs
    (llama.cpp PR #6017, "llama : add pipeline parallelism support": n_ubatch defaults to 512, and the
    scheduler keeps `GGML_SCHED_MAX_COPIES` = 4 micro-batches in flight). With k micro-batches through g
    stages of 1/g of the layers each, the prompt takes (k + g − 1) stage times instead of k·g, and at most 4
    micro-batches move at once: a prompt of one micro-batch gains nothing (its layers still run in turn), a
    long one approaches min(g, 4) times the speed. The micro-batches are `n_ubatch` tokens but the last, which
    holds what is left, and each stage's time is taken as its tokens': items of p_j through g equal stages finish
    after Σp + (g − 1)·max p (a flow shop whose items take the same time on every stage), so a prompt of 513
    tokens gains next to nothing over one of 512."""
    if gpus <= 1:
        return 1.0
    tokens = max(float(prompt_tokens), 1.0)
    largest = min(tokens, float(LLAMA_CPP_UBATCH_TOKENS))
    pipelined = (tokens + (gpus - 1) * largest) / (gpus * tokens)
    return max(pipelined, 1.0 / LLAMA_CPP_PIPELINE_DEPTH)


def _llama_cpp_dequant_above(gpu: GpuSpec, current: bool) -> int | None:
    """The batch above which llama.cpp's CUDA backend dequantizes weights to F16 for cuBLAS, or None where it runs
    its MMQ kernels at every batch: an older build above 32 tokens (`LLAMA_CPP_MMQ_MAX_BATCH`); a current one
    (`LLAMA_CPP_MMQ_EVERY_BATCH_FROM`) only on the V100, above 64 (`LLAMA_CPP_DP4A_MMQ_MAX_BATCH`)."""
    if not current:
        return LLAMA_CPP_MMQ_MAX_BATCH
    return LLAMA_CPP_DP4A_MMQ_MAX_BATCH if gpu.architecture == "volta" else None


def _memory_policy(family: str, gpu: GpuSpec) -> _MemoryPolicy:
    policy = _MEMORY[family]
    if gpu.segment == "apple":
        return replace(policy, usable_share=APPLE_GPU_MEMORY_SHARE)
    return policy


def _memory(
    model: ModelArch, gpu: GpuSpec, quant: QuantFormat, gpus: int, family: str | None = None
) -> tuple[float, float, float]:
    policy = _memory_policy(family or runtime_family(quant, gpu=gpu), gpu)
    weights_gb = _weights_bytes(model, quant) / 1e9
    total_gb = gpu.memory_gb * VENDOR_GB_BYTES / 1e9 * gpus
    kv_capacity_gb = total_gb * policy.usable_share - weights_gb - policy.reserved_gb(gpus)
    return weights_gb, total_gb, kv_capacity_gb


def gpus_needed(
    model: ModelArch,
    gpu: GpuSpec,
    quant: QuantFormat,
    *,
    context_tokens: int,
    kv_cache_dtype: str | None = None,
    runtime: str | None = None,
) -> int | None:
    """Fewest tensor-parallel GPUs (1, 2, 4, 8 …) whose memory holds the weights and one full context."""
    family = runtime_family(quant, runtime=runtime, gpu=gpu)
    kv_cache_dtype = runtime_kv_cache_dtype(quant, runtime, kv_cache_dtype)
    for n in TP_DEGREES:
        if one_mac_refusal(gpu, n) is not None:
            return None
        copies = kv_copies(model, n, family)
        kv_seq_gb = kv_bytes_per_sequence(model, quant, context_tokens, kv_cache_dtype=kv_cache_dtype, copies=copies)
        if _memory(model, gpu, quant, n, family)[2] >= kv_seq_gb / 1e9:
            return n
    return None


@dataclass(frozen=True)
class _Step:
    step_s: float
    bound: str
    comm_s: float
    overhead_s: float


def _blend(a: _Step, b: _Step, share_a: float) -> _Step:
    """The average step when a share of steps is `a` and the rest `b`."""
    mix = lambda x, y: share_a * x + (1 - share_a) * y  # noqa: E731
    bound = a.bound if share_a * a.step_s >= (1 - share_a) * b.step_s else b.bound
    return _Step(mix(a.step_s, b.step_s), bound, mix(a.comm_s, b.comm_s), mix(a.overhead_s, b.overhead_s))


@dataclass(frozen=True, slots=True)
class _PassWork:
    """What one forward pass moves, computes and waits for, before any efficiency factor: the GPUs' peak rates,
    the pass's bytes and FLOPs, its communication and the counts its fixed costs scale with (`_pass_work`).

    No factor of `Efficiency` changes any of it, so an estimate's plan keeps it (`_plan`) and `_step` times it: a
    calibration fit predicts each published row a thousand times over a grid of factors."""

    working: int
    bw_peak: float  # bytes/s of the GPUs reading at once, at their datasheet bandwidth
    flops_peak: float  # the matmuls' dense tensor peak, FLOP/s
    rest_flops_peak: float  # that of the matmuls outside the routed experts: 16-bit for a routed-experts format
    attn_flops_peak: float  # attention's, in the dtype its kernels run at
    tensor_rate_share: float
    amd: bool
    apple: bool
    pro: bool
    fp4: bool
    rest_fp4: bool  # whether the matmuls outside the routed experts run on FP4 units too
    hopper: bool
    datacenter: bool
    weight_bytes: float
    f16_bytes: float | None  # llama.cpp's dequantized copy of the weights for a large batch, else None
    kv_read: float
    lin_work: float  # FLOPs of the weight matmuls
    expert_work: float  # of which the routed experts' (`Efficiency.moe_compute_factor`)
    attn_work: float
    comm_s: float
    layers: int
    expert_touches: float  # routed layers × distinct experts the step touches
    mla_layers: int
    decode_streams: float
    eager_share: float = 0.0  # share of such passes a runtime runs without CUDA graphs (`_eager_share`)


def _pass_work(
    model: ModelArch,
    gpu: GpuSpec,
    quant: QuantFormat,
    gpus: int,
    *,
    decode_streams: float,
    decode_context: float,
    prefill_tokens: float,
    prefill_context: float,
    kv_cache_dtype: str | None,
    query_multiplier: float = 1.0,
    tensor_rate_share: float = 1.0,
    dequant_above_tokens: float | None = None,
    kv_copies_read: float = 1.0,
    replicated_params_b: float = 0.0,
    layer_split: bool = False,
    eager_share: float = 0.0,
) -> _PassWork:
    """One forward pass: `decode_streams` × `query_multiplier` decode tokens at `decode_context`, plus
    `prefill_tokens` prompt tokens attending on average to `prefill_context` tokens; `_step` times it.

    With `layer_split` the GPUs hold consecutive layers and a token passes through them one after the other
    (`LAYER_SPLIT_FAMILIES`): one GPU's bandwidth and FLOP/s at a time, and one copy of the hidden state
    across each of the gpus − 1 boundaries instead of all-reduces."""
    working = 1 if layer_split else gpus  # GPUs computing at once
    decode_tokens = decode_streams * query_multiplier
    tokens = decode_tokens + prefill_tokens
    # The weight matmuls and attention are separate kernels, each bound by its own roofline, and they run one
    # after the other within a layer; so their times add (the per-operator roofline of LLM-Viewer, Yuan et al.
    # 2024, arXiv:2402.16363 §3). At max load the long-context KV reads cannot hide under compute-bound GEMMs.
    # Each stream reads its KV cache (and Mamba state) once per step; the state is also written back.
    kv_read = decode_streams * _kv_read_bytes(
        model, quant, decode_context, kv_cache_dtype=kv_cache_dtype, copies=kv_copies_read
    )
    kv_read += _ssm_state_bytes(model) * decode_streams
    replicated_bytes = replicated_params_b * 1e9 * quant.bits_for(routed_expert=False) / 8
    weight_bytes = _moved_weight_bytes(model, quant, tokens) + replicated_bytes
    f16_bytes = None
    if dequant_above_tokens is not None and tokens > dequant_above_tokens and quant.bits_per_weight < 16:
        # llama.cpp multiplies a large batch against quantized weights by first writing them out as F16 for
        # cuBLAS (`ggml_cuda_op_mul_mat_cublas` converts src0 with `to_fp16_cuda` above MMQ_MAX_BATCH_SIZE = 32
        # tokens): one more pass that reads the quantized and writes the F16 weights, whose GEMM then reads F16.
        f16_bytes = _moved_weight_bytes(model, quant, tokens, bits=16) + replicated_params_b * 1e9 * 2
    attn_work = decode_tokens * _attention_flops(model, decode_context)
    attn_work += prefill_tokens * _attention_flops(model, prefill_context, prefill=True)
    attn_rate = gpu.tflops(_attention_dtype(quant, kv_cache_dtype))
    if model.sparse_attention:  # the indexer runs in FP8 whatever attention runs in: count it at that rate
        index_work = decode_tokens * _indexer_flops(model, decode_context)
        index_work += prefill_tokens * _indexer_flops(model, prefill_context)
        attn_work += index_work * attn_rate / gpu.tflops("fp8")
    activation_bytes = tokens * (model.hidden_size or 0) * ACTIVATION_BYTES
    if layer_split:
        comm = (gpus - 1) * _copy_s(gpu, activation_bytes)
    else:
        comm = 2 * (model.layers or 0) * _allreduce_s(gpu, gpus, activation_bytes)
    touched = (model.num_experts or 0) * _expected_experts_share(model, tokens) if model.is_moe else 0.0
    fp4 = uses_fp4_units(gpu, quant)
    return _PassWork(
        working=working,
        bw_peak=working * gpu.hbm_bandwidth_gb_s * 1e9,
        flops_peak=working * gpu.tflops(quant.compute_dtype) * 1e12,
        rest_flops_peak=working * gpu.tflops(quant.compute_dtype if quant.scope == "all" else "fp16") * 1e12,
        attn_flops_peak=working * attn_rate * 1e12,
        tensor_rate_share=tensor_rate_share,
        amd=gpu.vendor.upper() == "AMD",
        apple=gpu.segment == "apple",  # unified memory and Metal kernels: factors of their own (`Efficiency`)
        pro=gpu.segment in PRO_SEGMENTS,
        fp4=fp4,
        rest_fp4=fp4 and quant.scope == "all",
        hopper=gpu.architecture == "hopper",
        datacenter=gpu.segment == "datacenter",
        weight_bytes=weight_bytes,
        f16_bytes=f16_bytes,
        kv_read=kv_read,
        lin_work=2 * model.active_params_b * 1e9 * tokens,
        expert_work=2 * _active_expert_params_b(model) * 1e9 * tokens,
        attn_work=attn_work,
        comm_s=comm,
        layers=model.layers or 0,
        expert_touches=model.routed_layers * touched,
        mla_layers=(model.layers or 0) if model.kv_lora_rank else 0,
        decode_streams=decode_streams,
        eager_share=eager_share,
    )


def _step(
    w: _PassWork,
    eff: Efficiency,
    *,
    engine_compute: float = 1.0,
    current: bool = False,
    extras: _ReleaseExtras = _NO_EXTRAS,
) -> _Step:
    """A pass's time under the efficiency factors: its roofline at the rates they reach, plus its communication
    and fixed costs. `engine_compute` is TensorRT-LLM's compute factor where it runs; `current` charges a current
    engine release's fixed costs (`Efficiency.current_*`); `extras` what a named older release costs beyond the
    fitted factors (`release_extras`)."""
    vendor = eff.rocm_factor if w.amd else 1.0
    alu = eff.apple_compute_factor if w.apple else 1.0
    if w.pro:
        alu = eff.pro_compute_factor
    tp = _tp_efficiency(eff, w.working)
    unified = eff.apple_bandwidth_factor if w.apple else 1.0
    bw = w.bw_peak * min(1.0, eff.bandwidth * vendor * unified) * tp
    fp4 = eff.fp4_compute_factor if w.fp4 else 1.0
    hopper = eff.hopper_compute_factor if w.hopper else 1.0
    compute = eff.compute * vendor * alu * engine_compute * fp4 * hopper  # share of the tensor peak matmuls reach
    rest_compute = compute if w.rest_fp4 else compute / fp4  # a routed-experts format's other matmuls: 16-bit
    rest_flops = w.rest_flops_peak * min(1.0, rest_compute) * tp * w.tensor_rate_share
    attn_share = min(1.0, compute * eff.attention_compute_factor) * tp * w.tensor_rate_share
    attn_flops = w.attn_flops_peak * attn_share
    lin_mem, dequant_s = w.weight_bytes / bw, 0.0
    if w.f16_bytes is not None:
        lin_mem, dequant_s = w.f16_bytes / bw, (w.weight_bytes + w.f16_bytes) / bw
    lin_comp = (w.lin_work - w.expert_work) / rest_flops
    if w.expert_work:  # the routed experts' grouped GEMMs reach a share of their own
        expert_flops = w.flops_peak * min(1.0, compute * eff.moe_compute_factor) * tp * w.tensor_rate_share
        lin_comp += w.expert_work / expert_flops
    lin_mem, lin_comp = lin_mem * extras.linear_factor, lin_comp * extras.linear_factor
    attn_mem, attn_comp = w.kv_read / bw, w.attn_work / attn_flops
    t_mem, t_comp = dequant_s + lin_mem + attn_mem, lin_comp + attn_comp
    roofline = dequant_s + max(lin_mem, lin_comp) + max(attn_mem, attn_comp)
    layer_us = eff.layer_overhead_us * (eff.datacenter_overhead_factor if w.datacenter else 1.0)
    layer_us *= eff.current_layer_factor if current else 1.0
    host_step_s = (eff.step_overhead_ms + extras.host_step_ms) * 1e-3
    overhead = host_step_s + w.layers * layer_us * 1e-6
    expert_us = eff.moe_expert_overhead_us * (eff.current_expert_factor if current else 1.0)
    overhead += w.expert_touches * expert_us * 1e-6
    if w.mla_layers:
        mla_us = eff.mla_layer_overhead_us * (eff.current_mla_factor if current else 1.0)
        overhead += w.mla_layers * mla_us * 1e-6
    if w.eager_share and extras.eager_layer_us:
        # launched kernel by kernel, the pass takes as long as the host's launches where they outlast the GPU's work
        gpu_s = roofline + w.comm_s + overhead - host_step_s
        overhead += w.eager_share * max(0.0, w.layers * extras.eager_layer_us * 1e-6 - gpu_s)
    overhead += w.decode_streams * (eff.stream_overhead_us + extras.host_stream_us) * 1e-6
    return _Step(roofline + w.comm_s + overhead, "memory" if t_mem >= t_comp else "compute", w.comm_s, overhead)


def regimes_of(
    *, model: ModelArch, gpu: GpuSpec, quant: QuantFormat, gpus: int, concurrency: int, mode: EstimateMode, context: int
) -> tuple[str, ...]:
    """The error regimes an estimate (or a published measurement) falls in."""
    out = [
        "max_load" if mode is EstimateMode.MAX_LOAD else "single_stream" if concurrency <= 1 else "fixed_concurrency"
    ]
    if context >= LONG_CONTEXT_TOKENS:
        out.append("long_context")
    if model.is_moe:
        out.append("moe")
    if quant.bits_per_weight < 5.5:
        out.append("4bit")
    if gpus > 1:
        out.append("multi_gpu")
    if gpu.segment != "datacenter":
        out.append("consumer_apple")
    return tuple(out)


def check_format(model: ModelArch, quant: QuantFormat) -> None:
    """Refuse a format the model cannot be stored in: one that quantizes only routed experts, for a dense model."""
    if quant.scope == "routed_experts" and not model.is_moe:
        raise ScenarioError(
            f"{quant.name} stores only a mixture-of-experts model's routed experts, and {model.name} has none: "
            "pick a format that covers every layer (fp8, awq-int4, gguf-q4_k_m …)"
        )


def uses_fp4_units(gpu: GpuSpec, quant: QuantFormat) -> bool:
    """Whether a format's matmuls run on the GPU's FP4 tensor cores (else it is dequantized: weight-only)."""
    return quant.compute_dtype == "fp4" and bool(gpu.fp4_tflops)


def _error_band(
    regimes: tuple[str, ...], basis: Basis, eff: Efficiency, *, family: str, gpu_id: str, runtime: str | None = None
) -> tuple[float, str]:
    """The band, %, and what sets it: the widest of the estimate's regimes, or the family's figure on this GPU
    where that is wider (`gpu_error_floors_pct`), or the figure on the engine release the runtime names
    (`release_error_floors_pct`), or the user's own runs."""
    if basis is Basis.MEASURED and eff.source.startswith("calibrated on your runs"):
        marker = "error after "
        if marker in eff.source:
            try:
                after = float(eff.source.split(marker, 1)[1].split("%", 1)[0])
                return max(3.0, after), "the median error on your runs after fitting to them"
            except ValueError:
                pass
    bands = _error_bands()
    known = [(bands[r], f"{r} regime") for r in regimes if r in bands]
    if basis is Basis.CALIBRATED:
        from costmodel.calibration import gpu_error_floors_pct

        floor = gpu_error_floors_pct().get((family, gpu_id))
        known += [(floor, f"the {family} fit's median error on {gpu_id}, fitted or held-out rows")] if floor else []
        if (series := runtime_release_series(runtime)) is not None:
            from costmodel.calibration import release_error_floors_pct

            floor = release_error_floors_pct().get(series)
            known += [(floor, f"the fit's median error on published {series} runs")] if floor else []
    # the first of the widest: a GPU's figure sets the band only where it is wider than every regime's
    band, why = max(known, key=lambda k: k[0]) if known else (25.0, "no calibration figures")
    if basis is Basis.ESTIMATED and band < 35.0:
        return 35.0, "uncalibrated factors"
    return band, why


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
    mode: EstimateMode | str = EstimateMode.FIXED_CONCURRENCY,
    runtime: str | None = None,
    kv_cache_dtype: str | None = None,
    prefix_cache_hit_share: float = 0.0,
    chunked_prefill: bool | None = None,
    speculative: SpeculativeDecoding | None = None,
    attention_dp: bool | None = None,
    with_error_band: bool = True,
    current: bool | None = None,
) -> ThroughputEstimate:
    """Estimate one replica's speed at a given number of concurrent streams, or at the load memory allows.

    Args:
        model: architecture from the catalog (or `model_from_hf_config`).
        gpu: accelerator from the catalog.
        quant: weight format from the catalog.
        gpus: GPUs per replica (tensor-parallel; llama.cpp splits layers); None picks the fewest that fit.
        concurrency: streams in flight (clamped to what the KV cache holds); ignored in max-load mode.
        input_tokens: prompt tokens per request.
        output_tokens: completion tokens per request.
        efficiency: factors to apply; None uses the calibrated ones of the runtime family.
        mode: fixed concurrency, or max load (the runtime admits as many streams as memory holds).
        runtime: serving engine (vllm, sglang, tensorrt-llm, tgi, llama.cpp, ollama, mlx …); None infers
            it from the format (GGUF → llama.cpp, MLX → mlx, else a server with vLLM's admission rules;
            tensorrt-llm admits streams by their full length, up to 4096).
        kv_cache_dtype: auto (the format's default), fp16/bf16 or fp8 (halves KV memory and reads).
        prefix_cache_hit_share: share of prompt tokens served from the prefix cache (0…1): they are not
            recomputed, but still occupy KV memory and are read by attention.
        chunked_prefill: whether prompts are split into chunks batched with decode steps; None: the runtime's
            default (on for servers, off for llama.cpp/MLX).
        speculative: draft-and-verify decoding settings; None: off.
        attention_dp: attention data-parallel across the replica's GPUs (the weights outside the routed experts
            copied on each, latent KV not); None: the runtime's recipe (`attention_dp_default`).
        with_error_band: False leaves `error_band_pct` unset (NaN): the calibration predicts published rows,
            including the held-out ones the bands are scored on, and reads no band.
        current: whether the engine runs with a current release's fixed costs (`Efficiency.current_*`); None:
            what `runtime` names (`current_release`: `sglang 0.4.1` is older, `sglang` alone is current), and
            current for an unnamed server engine.

    Returns:
        The estimate; `fits` is False (and speeds 0) when the model does not fit in memory.
    """
    if not model.has_architecture:
        raise ScenarioError(
            f"{model.name}: its architecture (layers, heads, KV heads) is not in data/models.csv "
            f"({model.notes or 'no source read'}); pick another model or add the figures with their source"
        )
    if not 0.0 <= prefix_cache_hit_share <= 1.0:
        raise ScenarioError(f"prefix_cache_hit_share must be between 0 and 1 (got {prefix_cache_hit_share})")
    check_format(model, quant)
    check_engine_hardware(runtime, gpu, quant, gpus)
    mode = EstimateMode(mode)
    plan = _plan(
        model,
        gpu,
        quant,
        gpus,
        concurrency,
        input_tokens,
        output_tokens,
        mode,
        runtime,
        kv_cache_dtype,
        prefix_cache_hit_share,
        chunked_prefill,
        speculative,
        attention_dp,
        current,
    )
    eff = efficiency or _calibrated_efficiency(plan.family)
    band_pct, band_basis = (
        _error_band(plan.regimes, eff.basis, eff, family=plan.family, gpu_id=gpu.gpu_id, runtime=runtime)
        if with_error_band
        else (math.nan, "not computed")
    )
    common = dict(
        plan.common,
        basis=eff.basis,
        efficiency=eff,
        error_band_pct=band_pct,
        error_band_basis=band_basis,
    )
    if plan.passes is None:
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
    engine_compute = eff.tensorrt_compute_factor if plan.tensorrt else 1.0

    steps: dict[int, _Step] = {}  # the pure step and a full chunk's step serve more than one of the means below

    def timed(w: _PassWork) -> _Step:
        if (key := id(w)) not in steps:  # the plan holds every pass, so their ids stay theirs for this call
            steps[key] = _step(w, eff, engine_compute=engine_compute, current=plan.current, extras=plan.extras)
        return steps[key]

    def mixed(m: _Mix) -> _Step:
        return timed(m.chunk) if m.rest is None else _blend(timed(m.chunk), timed(m.rest), m.share)

    p = plan.passes
    prefill = timed(p.prefill)
    if p.layer_split_share is not None:
        share = p.layer_split_share
        prefill = replace(prefill, step_s=prefill.step_s * share, overhead_s=prefill.overhead_s * share)
    b = plan.b
    pure = timed(p.pure)
    decode, own_decode = mixed(p.decode), mixed(p.own_decode)
    draft_s, tokens_per_step = 0.0, 1.0
    if speculative:
        draft_s = speculative.draft_tokens * speculative.draft_cost_share * pure.step_s
        tokens_per_step = speculative.tokens_per_step
    step_s = decode.step_s + draft_s
    itl_s = (own_decode.step_s + draft_s) / tokens_per_step
    if plan.chunked:
        total = b * tokens_per_step / step_s
    else:
        prefill_s = b * prefill.step_s
        if p.wave is not None:
            wave_passes, one = p.wave
            prefill_s = min(prefill_s, wave_passes * timed(one).step_s)
        cycle_s = output_tokens * step_s / tokens_per_step + prefill_s
        total = b * output_tokens / cycle_s
    first = prefill if p.first is None else timed(p.first)
    wait_s = pure.step_s / 2 if b > 1 else 0.0
    requested = b if mode is EstimateMode.MAX_LOAD else max(1, concurrency)
    queue_s = _queue_wait_s(first.step_s, b * output_tokens / total, b, requested)
    return ThroughputEstimate(
        **common,
        fits=True,
        concurrency=b,
        requested_concurrency=requested,
        queue_wait_ms=queue_s * 1000,
        ttft_ms=(first.step_s + wait_s + queue_s) * 1000,
        decode_step_ms=itl_s * 1000,
        output_tokens_per_s=total,
        output_tokens_per_s_per_stream=total / b,
        prefill_tokens_per_s=input_tokens / prefill.step_s,
        bound=decode.bound,
        communication_ms=own_decode.comm_s * 1000,
        overhead_ms=own_decode.overhead_s * 1000,
    )


def _queue_wait_s(prefill_s: float, service_s: float, in_flight: int, clients: int) -> float:
    """Mean time a request waits before its prompt is processed, with `clients` each sending the next request
    as soon as the last one ends (a closed loop: GenAI-Perf, `vllm bench serve --max-concurrency`).

    - More clients than the runtime admits (`in_flight`, what memory holds): the rest queue for a free slot.
      In service a request takes `service_s` (admission to last token), so the server completes in_flight ÷
      service_s requests a second and each client's cycle is clients ÷ that (Little's law): it waits
      service_s × (clients ÷ in_flight − 1). NVIDIA NIM 1.8, Llama 3.3 70B FP8 on 2 × H100, 5000 + 500 tokens:
      about 86 streams fit, and the published TTFT is 8.0 s at 100 clients, 34.8 s at 150, 88.6 s at 250
      (docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance.md); this gives 7.8, 35 and 91 s.
    - Otherwise a prompt can arrive while another's prefill holds the step's prompt budget: the other clients
      start prefills at (in_flight − 1) ÷ service_s a second, each `prefill_s` long, and a single server with
      fixed service times keeps a newcomer waiting ρ ÷ (2(1 − ρ)) × prefill_s on average (Pollaczek–Khinchine,
      M/D/1). Arrivals from a closed loop are more regular than Poisson ones, so this is an upper estimate.
    """
    if clients > in_flight:
        return service_s * (clients / in_flight - 1)
    rho = (in_flight - 1) * prefill_s / service_s if service_s > 0 else 0.0
    if rho <= 0:
        return 0.0
    rho = min(rho, 0.95)  # a prefill stage this busy is already what limits the throughput
    return rho / (2 * (1 - rho)) * prefill_s


@dataclass(frozen=True, slots=True)
class _Mix:
    """A mean decode step: `share` of the steps are `chunk`, the rest `rest` (None: every step is `chunk`)."""

    chunk: _PassWork
    rest: _PassWork | None = None
    share: float = 1.0


@dataclass(frozen=True, slots=True)
class _Plan:
    """What an estimate serves and which passes it runs, before any efficiency factor (`_plan`)."""

    family: str
    regimes: tuple[str, ...]
    common: dict[str, object]  # the estimate's fields that no factor changes
    b: int  # streams in flight
    current: bool
    tensorrt: bool
    chunked: bool
    extras: _ReleaseExtras  # what the named engine release costs beyond the fitted factors
    passes: _Passes | None = None  # None where one request does not fit


@dataclass(frozen=True, slots=True)
class _Passes:
    """The forward passes an estimate times (`_plan`)."""

    prefill: _PassWork
    layer_split_share: float | None  # a layer-split prompt's share of its one-GPU time
    pure: _PassWork  # a decode step of the b streams alone
    decode: _Mix  # the batch's mean decode step
    own_decode: _Mix  # the steps between one stream's tokens
    wave: tuple[int, _PassWork] | None  # an offline wave's prefill: passes of the budget, one pass
    first: _PassWork | None  # the pass that yields the first token, where it is not the prefill alone


@lru_cache(maxsize=8192)
def _plan(
    model: ModelArch,
    gpu: GpuSpec,
    quant: QuantFormat,
    gpus: int | None,
    concurrency: int,
    input_tokens: int,
    output_tokens: int,
    mode: EstimateMode,
    runtime: str | None,
    kv_cache_dtype: str | None,
    prefix_cache_hit_share: float,
    chunked_prefill: bool | None,
    speculative: SpeculativeDecoding | None,
    attention_dp: bool | None,
    current: bool | None,
) -> _Plan:
    """The factor-free part of `estimate` (its arguments, same meaning): memory, admission, the batch and the
    work of each forward pass. A calibration fit re-times the same plan under thousands of factor sets."""
    family = runtime_family(quant, runtime=runtime, gpu=gpu)
    chunked = _chunked_default(family) if chunked_prefill is None else chunked_prefill
    _kv_element_bytes(quant, kv_cache_dtype)  # rejects an unknown dtype before any work
    kv_cache_dtype = runtime_kv_cache_dtype(quant, runtime, kv_cache_dtype)
    ctx = input_tokens + output_tokens
    n = gpus or gpus_needed(model, gpu, quant, context_tokens=ctx, kv_cache_dtype=kv_cache_dtype, runtime=runtime)
    n = n or TP_DEGREES[-1]
    weights_gb, total_gb, kv_cap_gb = _memory(model, gpu, quant, n, family)
    dp = attention_dp_default(runtime, model, n, mode) if attention_dp is None else attention_dp and n > 1
    if current is None:
        current = runs_current_release(runtime, family)
    replicated_b = _replicated_params_b(model, n, dp)
    replicated_gb = replicated_b * quant.bits_for(routed_expert=False) / 8
    weights_gb, kv_cap_gb = weights_gb + replicated_gb, kv_cap_gb - replicated_gb
    kv_tok_gb = kv_bytes_per_token(model, quant, kv_cache_dtype=kv_cache_dtype) / 1e9
    # Paged KV caches hold what streams have actually written, on average I + O/2 tokens each; a
    # replica must still hold at least one full-length request to serve any.
    mean_ctx = input_tokens + output_tokens / 2
    copies = kv_copies(model, n, family, attention_dp=dp)
    seq_full_gb = kv_bytes_per_sequence(model, quant, ctx, kv_cache_dtype=kv_cache_dtype, copies=copies) / 1e9
    seq_mean_gb = kv_bytes_per_sequence(model, quant, mean_ctx, kv_cache_dtype=kv_cache_dtype, copies=copies) / 1e9
    admission = _admission(runtime, gpu, family)
    batch_kv_gb, batch_seq_gb = kv_cap_gb, seq_mean_gb
    if admission.kv_share_of_free is not None:
        policy = _memory_policy(family, gpu)
        batch_kv_gb = (total_gb - weights_gb - policy.reserved_gb(n)) * admission.kv_share_of_free
    if admission.reserve_full_sequence:
        batch_seq_gb = seq_full_gb
    fits_one = kv_cap_gb >= seq_full_gb and batch_kv_gb >= seq_full_gb
    by_memory = math.floor(batch_kv_gb / max(batch_seq_gb, 1e-12))
    max_conc = min(admission.max_batch, max(1, by_memory)) if fits_one else 0
    b = max_conc if mode is EstimateMode.MAX_LOAD else max(1, min(concurrency, max_conc))
    regimes = regimes_of(model=model, gpu=gpu, quant=quant, gpus=n, concurrency=b, mode=mode, context=ctx)
    plan = _Plan(
        family=family,
        regimes=regimes,
        common=dict(
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
            mode=mode,
            runtime_family=family,
            regimes=regimes,
            kv_cache_dtype=(kv_cache_dtype or "auto").lower(),
            prefix_cache_hit_share=prefix_cache_hit_share,
            attention_dp=dp,
            current_release=current,
        ),
        b=b,
        current=current,
        tensorrt=uses_tensorrt_engines(runtime),
        chunked=chunked,
        extras=release_extras(runtime, quant),
    )
    if max_conc < 1:
        return plan
    computed_prompt = input_tokens * (1.0 - prefix_cache_hit_share)
    cached_prompt = input_tokens - computed_prompt
    prefill_ctx = cached_prompt + computed_prompt / 2
    cuda_llama_cpp = family == "llama.cpp" and gpu.vendor.upper() == "NVIDIA"
    layer_split = family in LAYER_SPLIT_FAMILIES and n > 1
    fwd = dict(
        layer_split=layer_split,
        kv_cache_dtype=kv_cache_dtype,
        kv_copies_read=copies,
        replicated_params_b=replicated_b,
        tensor_rate_share=_tensor_rate_share(gpu, family),
        dequant_above_tokens=_llama_cpp_dequant_above(gpu, current) if cuda_llama_cpp else None,
    )
    prefill = _pass_work(
        model,
        gpu,
        quant,
        n,
        decode_streams=0,
        decode_context=0,
        prefill_tokens=max(1.0, computed_prompt),
        prefill_context=prefill_ctx,
        **fwd,
    )
    spec_k = speculative.draft_tokens + 1 if speculative else 1

    eager = _eager_share(input_tokens, output_tokens, b) if plan.extras.eager_layer_us else 0.0

    def decode_pass(prompt_tokens: float) -> _PassWork:
        """A step of the b streams' decode, carrying `prompt_tokens` prompt tokens."""
        return _pass_work(
            model,
            gpu,
            quant,
            n,
            decode_streams=b,
            decode_context=mean_ctx,
            prefill_tokens=prompt_tokens,
            prefill_context=prefill_ctx if prompt_tokens else 0.0,
            query_multiplier=spec_k,
            eager_share=0.0 if prompt_tokens else eager,
            **fwd,
        )

    pure = decode_pass(0.0)
    budget = admission.prefill_budget_tokens
    full_chunk: _PassWork | None = None  # the batch's mean step and a stream's own step blend the same full chunk

    def with_prompts(streams: float) -> _Mix:
        """The mean decode step while `streams` streams' prompts ride on the steps (chunked prefill)."""
        nonlocal full_chunk
        per_step_prompt = streams * computed_prompt / output_tokens if chunked else 0.0
        if per_step_prompt <= 0:
            return _Mix(pure)
        if per_step_prompt < budget:
            # A runtime prefills a new prompt in chunks as large as its token budget allows, not a few tokens per
            # step: a share of the steps carries a full chunk, the rest are pure decode. Spreading the prompt
            # thinly over every step would make each small-batch MoE step read most experts.
            if full_chunk is None:
                full_chunk = decode_pass(budget)
            return _Mix(full_chunk, pure, per_step_prompt / budget)
        return _Mix(decode_pass(per_step_prompt))

    wave = first = None
    if not chunked and _chunked_default(family) and b > 1:
        # A server prefills a whole wave of admitted prompts in passes of up to its token budget (vLLM
        # `max_num_batched_tokens`, TensorRT-LLM `max_num_tokens`), not one request per pass.
        wave_tokens = b * max(1.0, computed_prompt)
        wave_passes = math.ceil(wave_tokens / admission.prefill_budget_tokens)
        one = _pass_work(
            model,
            gpu,
            quant,
            n,
            decode_streams=0,
            decode_context=0,
            prefill_tokens=wave_tokens / wave_passes,
            prefill_context=prefill_ctx,
            **fwd,
        )
        wave = (wave_passes, one)
    # The first token comes out of the forward pass that prefills the prompt (its last position's logits). Alone,
    # that pass is the prefill; under load it also carries the other streams' decode tokens (chunked prefill)
    # and starts when the step in flight ends, on average half a step after the request arrives.
    if b > 1 and chunked:
        first = _pass_work(
            model,
            gpu,
            quant,
            n,
            decode_streams=b - 1,
            decode_context=mean_ctx,
            prefill_tokens=max(1.0, computed_prompt),
            prefill_context=prefill_ctx,
            **fwd,
        )
    passes = _Passes(
        prefill=prefill,
        layer_split_share=layer_split_prefill_share(computed_prompt, n) if layer_split else None,
        pure=pure,
        # A stream's own prompt is prefilled before it decodes, so the steps between its tokens carry the other
        # b − 1 streams' prompts only: one stream alone decodes at the pure step.
        decode=with_prompts(b),
        own_decode=with_prompts(b - 1),
        wave=wave,
        first=first,
    )
    return replace(plan, passes=passes)


@dataclass(frozen=True)
class ReplicaLayout:
    """One way to serve a model on a fixed number of GPUs: so many replicas of so many tensor-parallel GPUs."""

    gpus_per_replica: int
    replicas: int
    replica: ThroughputEstimate
    """The max-load estimate of one replica of this shape."""

    @property
    def output_tokens_per_s(self) -> float:
        """Output tokens per second of all the replicas together, at max load."""
        return self.replicas * self.replica.output_tokens_per_s


def replica_layouts(
    model: ModelArch,
    gpu: GpuSpec,
    quant: QuantFormat,
    *,
    total_gpus: int,
    input_tokens: int = 1000,
    output_tokens: int = 300,
    runtime: str | None = None,
    kv_cache_dtype: str | None = None,
    efficiency: Efficiency | None = None,
    prefix_cache_hit_share: float = 0.0,
    speculative: SpeculativeDecoding | None = None,
    attention_dp: bool | None = None,
) -> list[ReplicaLayout]:
    """Every split of `total_gpus` into equal tensor-parallel replicas that hold the model, fastest in all first.

    Tensor parallelism buys memory and single-stream speed with all-reduce time, so on a busy server copies of
    the fewest GPUs that hold the model usually serve more than one replica over all of them (MLPerf's 8-GPU
    Llama 2 70B systems run several replicas). Each replica is estimated at max load with the other arguments.
    """
    ctx = input_tokens + output_tokens
    first = gpus_needed(model, gpu, quant, context_tokens=ctx, kv_cache_dtype=kv_cache_dtype, runtime=runtime)
    if first is None:
        return []
    layouts = [
        ReplicaLayout(
            n,
            total_gpus // n,
            estimate(
                model,
                gpu,
                quant,
                gpus=n,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                efficiency=efficiency,
                mode=EstimateMode.MAX_LOAD,
                runtime=runtime,
                kv_cache_dtype=kv_cache_dtype,
                prefix_cache_hit_share=prefix_cache_hit_share,
                speculative=speculative,
                attention_dp=attention_dp,
                with_error_band=False,
            ),
        )
        for n in TP_DEGREES
        if first <= n <= total_gpus and total_gpus % n == 0
    ]
    return sorted((x for x in layouts if x.replica.fits), key=lambda x: -x.output_tokens_per_s)


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
    runtime: str | None = None,
    kv_cache_dtype: str | None = None,
    prefix_cache_hit_share: float = 0.0,
) -> tuple[ThroughputEstimate, bool]:
    """The largest concurrency whose streams still meet both latency targets.

    Per-stream speed falls and time to first token rises as concurrency grows, so the answer is found
    by bisection. Returns the estimate at that concurrency and whether the targets are met at all (when
    even one stream misses them, the single-stream estimate is returned with False).
    """
    return _max_concurrency_cached(
        model,
        gpu,
        quant,
        gpus,
        input_tokens,
        output_tokens,
        ttft_ms,
        output_tokens_per_s_per_user,
        efficiency,
        runtime,
        kv_cache_dtype,
        prefix_cache_hit_share,
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
    runtime: str | None,
    kv_cache_dtype: str | None,
    prefix_hit: float,
) -> tuple[ThroughputEstimate, bool]:
    def at(b: int) -> ThroughputEstimate:
        return estimate(
            model,
            gpu,
            quant,
            gpus=gpus,
            concurrency=b,
            input_tokens=inp,
            output_tokens=out,
            efficiency=efficiency,
            runtime=runtime,
            kv_cache_dtype=kv_cache_dtype,
            prefix_cache_hit_share=prefix_hit,
        )

    def ok(e: ThroughputEstimate) -> bool:
        return e.fits and e.ttft_ms <= ttft_ms and e.output_tokens_per_s_per_stream >= per_user

    one = at(1)
    if not ok(one):
        return one, False
    lo, hi = 1, one.max_concurrency
    top = at(hi)
    if ok(top):
        return top, True
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(at(mid)) else (lo, mid)
    return at(lo), True


def _calibrated_efficiency(family: str) -> Efficiency:
    from costmodel.calibration import calibrated_efficiency

    return calibrated_efficiency(family)
