"""Throughput model v2: the physics the plain roofline lacked, estimate modes, new hardware and honest bounds."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from costmodel.calibration import (
    REGIMES,
    calibrated_efficiency,
    calibration_report,
    fit_to_measurements,
    gpu_error_floors_pct,
)
from costmodel.catalog import catalog, checkpoint_kv_cache_dtype, data_dir, model_from_hf_config
from costmodel.errors import DataFileError, ScenarioError, UnknownName, UnknownRuntime
from costmodel.throughput import (
    ERROR_BAND_PCT,
    OLDER_NIM_STREAM_US,
    Basis,
    Efficiency,
    EstimateMode,
    SpeculativeDecoding,
    _expected_experts_share,
    checked_runtime,
    engine_refusal,
    estimate,
    gpus_needed,
    kv_bytes_per_sequence,
    kv_bytes_per_token,
    one_mac_refusal,
    uses_mlx,
)
from tests.engine.helpers import DEEPSEEK_V3_CONFIG

CAT = catalog()
runner = CliRunner()


# --- memory: sliding windows, hybrid Mamba state, FP8 KV --------------------------------------------------------


def test_gemma3_sliding_window_layers_cut_long_context_kv_about_five_fold():
    m, q = CAT.model("gemma-3-27b"), CAT.quant("bf16")
    ctx = 32_768
    full = kv_bytes_per_token(m, q) * ctx  # every layer keeping every token (what v1 assumed)
    real = kv_bytes_per_sequence(m, q, ctx)
    # 10 global layers keep 32k tokens, 52 local layers keep 1024: (10·32768 + 52·1024) / (62·32768)
    assert real / full == pytest.approx((10 * ctx + 52 * 1024) / (62 * ctx))
    assert 4.5 < full / real < 6.0


def test_gpt_oss_alternating_sliding_layers_halve_long_context_kv():
    m, q = CAT.model("gpt-oss-120b"), CAT.quant("bf16")
    per_layer = 2 * 8 * 64 * 2  # K and V × 8 KV heads × head_dim 64 × 2 bytes
    assert kv_bytes_per_sequence(m, q, 10_000) == per_layer * (18 * 10_000 + 18 * 128)


def test_granite_hybrid_keeps_a_fixed_mamba_state_per_sequence():
    m, q = CAT.model("granite-4.0-h-small"), CAT.quant("bf16")
    state = 36 * (8192 * 128 + 8192 * 3) * 2  # 36 Mamba layers × (inner × d_state + inner × (d_conv − 1)) × 2 B
    attn_per_token = 4 * 2 * 8 * 128 * 2  # only 4 attention layers hold KV
    assert kv_bytes_per_sequence(m, q, 1) == pytest.approx(state + attn_per_token)
    assert kv_bytes_per_sequence(m, q, 1001) - kv_bytes_per_sequence(m, q, 1) == pytest.approx(1000 * attn_per_token)


def test_fp8_kv_cache_halves_kv_and_admits_more_streams():
    m, g, q = CAT.model("llama-3.1-70b"), CAT.gpu("H100-SXM"), CAT.quant("fp8")
    assert kv_bytes_per_token(m, q, kv_cache_dtype="fp8") * 2 == kv_bytes_per_token(m, q)
    e16 = estimate(m, g, q, gpus=2, mode=EstimateMode.MAX_LOAD)
    e8 = estimate(m, g, q, gpus=2, mode=EstimateMode.MAX_LOAD, kv_cache_dtype="fp8")
    assert e8.max_concurrency >= 2 * e16.max_concurrency - 1
    assert e8.output_tokens_per_s > e16.output_tokens_per_s
    with pytest.raises(ScenarioError, match="KV cache dtype"):
        estimate(m, g, q, gpus=2, kv_cache_dtype="int3")


def test_tensorrt_llm_keeps_an_fp8_checkpoints_kv_cache_in_fp8_by_default():
    """trtllm-bench builds FP8 checkpoints with an FP8 KV cache, and so do NIM 1.x's profiles from 1.8 on; vLLM's
    "auto" stays 16-bit, and so does NIM named without a release (an older release's sweeps, or today's vLLM one)."""
    m, g, q = CAT.model("llama-3.1-70b"), CAT.gpu("H100-SXM"), CAT.quant("fp8")
    args = dict(gpus=2, mode=EstimateMode.MAX_LOAD, input_tokens=1000, output_tokens=1000)
    trt = estimate(m, g, q, runtime="tensorrt-llm", **args)
    nim = estimate(m, g, q, runtime="nvidia-nim 1.8.0", **args)
    vllm = estimate(m, g, q, runtime="vllm", **args)
    assert trt.kv_cache_dtype == nim.kv_cache_dtype == "fp8" and vllm.kv_cache_dtype == "auto"
    assert estimate(m, g, q, runtime="nvidia-nim", **args).kv_cache_dtype == "auto"
    assert (
        trt.max_concurrency == estimate(m, g, q, runtime="tensorrt-llm", kv_cache_dtype="fp8", **args).max_concurrency
    )
    assert (
        trt.max_concurrency > estimate(m, g, q, runtime="tensorrt-llm", kv_cache_dtype="bf16", **args).max_concurrency
    )
    # a weight-only format keeps its own default even on TensorRT-LLM
    assert estimate(m, g, CAT.quant("awq-int4"), runtime="tensorrt-llm", **args).kv_cache_dtype == "auto"


def test_tensorrt_llm_takes_the_fp8_kv_cache_an_nvfp4_checkpoint_names():
    """ModelOpt's NVFP4 checkpoints name an FP8 cache, which TensorRT-LLM inherits on "auto"; the estimate then
    admits as many streams as one told fp8 outright, and twice those of a 16-bit cache."""
    m, g, q = CAT.model("llama-3.3-70b"), CAT.gpu("B200"), CAT.quant("nvfp4")
    args = dict(gpus=1, mode=EstimateMode.MAX_LOAD, input_tokens=1000, output_tokens=1000)
    trt = estimate(m, g, q, runtime="tensorrt-llm", **args)
    told = estimate(m, g, q, runtime="tensorrt-llm", kv_cache_dtype="fp8", **args)
    wide = estimate(m, g, q, runtime="tensorrt-llm", kv_cache_dtype="bf16", **args)
    assert trt.kv_cache_dtype == "fp8" and trt.max_concurrency == told.max_concurrency
    assert trt.max_concurrency >= 2 * wide.max_concurrency - 1
    assert estimate(m, g, q, runtime="vllm", **args).kv_cache_dtype == "auto"
    # MXFP4 (gpt-oss) ships no KV format: its cache stays 16-bit on TensorRT-LLM too
    oss = CAT.quant("mxfp4-experts")
    assert estimate(CAT.model("gpt-oss-120b"), g, oss, runtime="tensorrt-llm").kv_cache_dtype == "auto"


# --- MoE at small batch ---------------------------------------------------------------------------------------


def test_expected_experts_touched_by_hand():
    m = CAT.model("deepseek-v3")  # 256 routed experts, top-8
    assert _expected_experts_share(m, 1) == pytest.approx(8 / 256)
    assert _expected_experts_share(m, 32) == pytest.approx(1 - (1 - 8 / 256) ** 32)
    assert _expected_experts_share(m, 10_000) == pytest.approx(1.0)


def test_deepseek_v3_single_stream_on_8x_h200_is_tens_of_tokens_per_second():
    # Published: SGLang v0.4.1.post2 (github.com/sgl-project/sglang/pull/2643) "batch 1, input 128, output 256:
    # 30.29 token/s" on 8×H200; "for bs=1 SGLang outputs around 26 tok/s" (github.com/vllm-project/vllm/issues/11539);
    # "deepseek v3 60 tokens/sec on deepseek API vs. 13 tokens/sec on sglang"
    # (github.com/sgl-project/sglang/issues/3196). Current releases: SGLang 0.5.12 decodes 4 streams at 103 tok/s
    # each on 8×H200 (SemiAnalysisAI/InferenceX PR #3288) and one at 139 tok/s on 8×B200 (PR #3363).
    args = (CAT.model("deepseek-v3"), CAT.gpu("H200"), CAT.quant("fp8"))
    older = estimate(*args, gpus=8, input_tokens=128, output_tokens=256, runtime="sglang 0.4.1.post2")
    assert 13 <= older.output_tokens_per_s <= 60
    e = estimate(*args, gpus=8, input_tokens=128, output_tokens=256)  # today's release
    assert 70 <= e.output_tokens_per_s <= 160
    # the widest of its regimes' bands and of the server family's figure on the H200 (`gpu_error_floors_pct`)
    widest = max([ERROR_BAND_PCT[r] for r in e.regimes] + [gpu_error_floors_pct()[("server", "H200-SXM")]])
    assert "moe" in e.regimes and e.error_band_pct == widest


def test_moe_overhead_grows_with_the_distinct_experts_a_step_touches():
    eff = Efficiency(layer_overhead_us=0.0, moe_expert_overhead_us=2.0)
    m, g, q = CAT.model("qwen3-30b-a3b"), CAT.gpu("H100-SXM"), CAT.quant("fp8")  # 48 MoE layers, top-8 of 128
    args = dict(input_tokens=1, output_tokens=512, efficiency=eff, chunked_prefill=False)
    one = estimate(m, g, q, concurrency=1, **args)
    many = estimate(m, g, q, concurrency=64, **args)
    assert one.overhead_ms == pytest.approx(48 * 8 * 2.0e-3)
    assert many.overhead_ms == pytest.approx(48 * 128 * _expected_experts_share(m, 64) * 2.0e-3)
    dense = CAT.model("qwen3-8b")
    d1, d64 = (estimate(dense, g, q, concurrency=c, **args) for c in (1, 64))
    assert d1.overhead_ms == d64.overhead_ms == 0.0


def test_latent_attention_overhead_applies_to_deepseek_layers_only():
    base, mla = Efficiency(), Efficiency(mla_layer_overhead_us=100.0)
    g, q = CAT.gpu("H200"), CAT.quant("fp8")
    ds = CAT.model("deepseek-v3")  # 61 layers, kv_lora_rank 512
    added = (
        estimate(ds, g, q, gpus=8, efficiency=mla).overhead_ms - estimate(ds, g, q, gpus=8, efficiency=base).overhead_ms
    )
    assert added == pytest.approx(61 * 0.1)
    qw = CAT.model("qwen3-235b-a22b")
    assert (
        estimate(qw, g, q, gpus=8, efficiency=mla).overhead_ms
        == estimate(qw, g, q, gpus=8, efficiency=base).overhead_ms
    )


def test_one_stream_takes_its_long_prompt_in_budget_sized_chunks():
    # One stream's 30k prompt is prefilled in a few full chunks, then it decodes alone: spreading 15 prompt tokens
    # over each of its 2048 steps would make every MoE step read ~64 % of the experts and halve its speed.
    m, g, q = CAT.model("qwen3-30b-a3b"), CAT.gpu("H20"), CAT.quant("bf16")
    args = dict(concurrency=1, input_tokens=30720, output_tokens=2048)
    chunked, apart = estimate(m, g, q, chunked_prefill=True, **args), estimate(m, g, q, chunked_prefill=False, **args)
    assert chunked.output_tokens_per_s == pytest.approx(apart.output_tokens_per_s, rel=0.15)
    short = estimate(m, g, q, concurrency=1, input_tokens=1, output_tokens=2048)
    assert chunked.output_tokens_per_s > 0.4 * short.output_tokens_per_s


def test_qwen3_moe_single_stream_on_an_h20_is_within_the_published_range():
    # Qwen3 speed benchmark (github.com/QwenLM/Qwen3 docs/source/getting_started/speed_benchmark.md, SGLang
    # 0.4.6.post1, one H20, batch 1, 2048 tokens out): Qwen3-30B-A3B BF16 137 tok/s, FP8 156 tok/s; Qwen3-235B-A22B
    # BF16 on 8 GPUs 74.5 tok/s. A per-selected-expert overhead sized on DeepSeek-V3 predicted about 40 tok/s.
    g, args = CAT.gpu("H20"), dict(input_tokens=1, output_tokens=2048, runtime="sglang 0.4.6.post1")
    small = estimate(CAT.model("qwen3-30b-a3b"), g, CAT.quant("bf16"), gpus=1, **args)
    big = estimate(CAT.model("qwen3-235b-a22b"), g, CAT.quant("bf16"), gpus=8, **args)
    assert 100 <= small.output_tokens_per_s <= 190
    assert 50 <= big.output_tokens_per_s <= 100


@pytest.mark.parametrize(
    ("quant", "gpu", "gpus", "published"),
    [("mxfp4-experts", "H100-SXM", 8, 318.53), ("bf16", "H100-SXM", 8, 293.12), ("mxfp4-experts", "B200", 4, 416.02)],
)
def test_gpt_oss_120b_single_stream_on_8x_h100_and_4x_b200_is_within_2x_of_lmsys(quant, gpu, gpus, published):
    # LMSYS, "SGLang for gpt-oss" (lmsys.org/blog/2025-08-27-gpt-oss), batch 1, 1,024 in / 512 out, decode tok/s
    # (sgl-project/sglang benchmark/gpt_oss/README.md: bench_one_batch_server, output_len / (latency - ttft)).
    # Held-out rows of data/published_throughput_holdout.csv: the estimate is 30-46 % slow there, where the v1
    # model said 834 tok/s for 4 H100s.
    e = estimate(
        CAT.model("gpt-oss-120b"), CAT.gpu(gpu), CAT.quant(quant), gpus=gpus, concurrency=1, input_tokens=1024,
        output_tokens=512, runtime="sglang",
    )  # fmt: skip
    assert published / 2 <= 1000 / e.decode_step_ms <= published * 2


def test_gpt_oss_120b_single_stream_on_4x_h100_is_far_below_the_v1_figure():
    e = estimate(CAT.model("gpt-oss-120b"), CAT.gpu("H100-SXM"), CAT.quant("bf16"), gpus=4, concurrency=1)
    assert 30 <= e.output_tokens_per_s <= 400  # v1 said 834
    assert e.overhead_ms > 0 and e.communication_ms > 0


# --- tensor parallel and multi-node ---------------------------------------------------------------------------


def test_all_reduce_costs_more_over_pcie_than_nvlink_and_across_nodes():
    m, q = CAT.model("llama-3.1-70b"), CAT.quant("fp8")
    one = estimate(m, CAT.gpu("H100-SXM"), q, gpus=1, concurrency=1, input_tokens=100, output_tokens=100)
    nvl = estimate(m, CAT.gpu("H100-SXM"), q, gpus=2, concurrency=1)
    pcie = estimate(m, CAT.gpu("L40S"), q, gpus=2, concurrency=1)
    assert one.communication_ms == 0 and nvl.communication_ms > 0
    assert pcie.communication_ms > 2 * nvl.communication_ms
    big = CAT.model("llama-3.1-405b")
    eight = estimate(big, CAT.gpu("H100-SXM"), CAT.quant("fp8"), gpus=8, concurrency=16)
    sixteen = estimate(big, CAT.gpu("H100-SXM"), CAT.quant("fp8"), gpus=16, concurrency=16)
    assert sixteen.communication_ms > eight.communication_ms  # the InfiniBand hop between servers


# --- context length, chunked prefill, prefix cache, speculative decoding ------------------------------------------


def test_longer_context_slows_decode_through_kv_reads():
    m, g, q = CAT.model("llama-3.1-8b"), CAT.gpu("A100-80GB"), CAT.quant("bf16")
    short = estimate(m, g, q, concurrency=1, input_tokens=100, output_tokens=100)
    long = estimate(m, g, q, concurrency=1, input_tokens=30_000, output_tokens=100)
    # one stream reads its whole KV cache every step: the mean context grows by 29,900 tokens of 128 KiB each
    bw = 2039e9 * calibrated_efficiency(long.runtime_family).bandwidth
    extra_kv_s = (kv_bytes_per_sequence(m, q, 30_050) - kv_bytes_per_sequence(m, q, 150)) / bw
    assert long.decode_step_ms - short.decode_step_ms == pytest.approx(1000 * extra_kv_s, rel=1e-6)
    assert long.decode_step_ms > 1.15 * short.decode_step_ms
    assert long.ttft_ms > 50 * short.ttft_ms


def test_chunked_prefill_overlaps_prompts_with_memory_bound_decode():
    m, g, q = CAT.model("llama-3.1-8b"), CAT.gpu("H100-SXM"), CAT.quant("fp8")
    args = dict(concurrency=32, input_tokens=2000, output_tokens=200, efficiency=Efficiency())
    chunked = estimate(m, g, q, chunked_prefill=True, **args)
    apart = estimate(m, g, q, chunked_prefill=False, **args)
    assert chunked.output_tokens_per_s > apart.output_tokens_per_s


def test_prefix_cache_hits_cut_prefill_but_not_kv_memory():
    m, g, q = CAT.model("llama-3.1-8b"), CAT.gpu("H100-SXM"), CAT.quant("bf16")
    args = dict(concurrency=16, input_tokens=8000, output_tokens=200)
    cold = estimate(m, g, q, **args)
    warm = estimate(m, g, q, prefix_cache_hit_share=0.8, **args)
    assert warm.ttft_ms < 0.5 * cold.ttft_ms
    assert warm.output_tokens_per_s > cold.output_tokens_per_s
    assert warm.max_concurrency == cold.max_concurrency and warm.prefix_cache_hit_share == 0.8
    with pytest.raises(ScenarioError, match="prefix_cache_hit_share"):
        estimate(m, g, q, prefix_cache_hit_share=1.5)


def test_speculative_decoding_expected_tokens_and_its_effect():
    spec = SpeculativeDecoding(draft_tokens=3, acceptance_rate=0.7, draft_cost_share=0.05)
    assert spec.tokens_per_step == pytest.approx((1 - 0.7**4) / 0.3)
    m, g, q = CAT.model("llama-3.1-70b"), CAT.gpu("H100-SXM"), CAT.quant("fp8")
    base = estimate(m, g, q, gpus=2, concurrency=1)
    fast = estimate(m, g, q, gpus=2, concurrency=1, speculative=spec)
    useless = estimate(
        m, g, q, gpus=2, concurrency=1, speculative=SpeculativeDecoding(acceptance_rate=0.0, draft_cost_share=0.2)
    )
    assert 1.5 * base.output_tokens_per_s < fast.output_tokens_per_s < spec.tokens_per_step * base.output_tokens_per_s
    assert useless.output_tokens_per_s < base.output_tokens_per_s
    with pytest.raises(ScenarioError):
        SpeculativeDecoding(acceptance_rate=1.0)


# --- modes -----------------------------------------------------------------------------------------------------


def test_max_load_runs_as_many_streams_as_memory_holds():
    m, g, q = CAT.model("llama-3.1-8b"), CAT.gpu("L40S"), CAT.quant("fp8")
    top = estimate(m, g, q, mode="max_load", input_tokens=1000, output_tokens=500)
    assert top.mode is EstimateMode.MAX_LOAD and top.concurrency == top.max_concurrency > 1
    assert "max_load" in top.regimes
    for b in (1, 8, top.max_concurrency // 2):
        assert estimate(m, g, q, concurrency=b, input_tokens=1000, output_tokens=500).output_tokens_per_s <= (
            top.output_tokens_per_s * (1 + 1e-9)
        )


# --- runtimes and hardware ---------------------------------------------------------------------------------------


def test_runtime_factors_for_llama_cpp_on_datacentre_gpus_and_rocm_are_calibrated():
    cpp = calibrated_efficiency("llama.cpp")
    assert cpp.basis is Basis.CALIBRATED and cpp.datacenter_overhead_factor > 1
    assert calibrated_efficiency("server").rocm_factor < 1
    # llama.cpp F16 on an A100 (2 TB/s) is not 2× a 4090 (1 TB/s): published 73.8 vs 61.0 tok/s
    m, q = CAT.model("llama-2-7b"), CAT.quant("fp16")
    a100 = estimate(m, CAT.gpu("A100-80GB"), q, runtime="llama.cpp", input_tokens=1, output_tokens=128)
    rtx = estimate(m, CAT.gpu("RTX-4090"), q, runtime="llama.cpp", input_tokens=1, output_tokens=128)
    assert 1000 / a100.decode_step_ms < 1.6 * 1000 / rtx.decode_step_ms
    assert a100.runtime_family == "llama.cpp"


@pytest.mark.parametrize(
    ("gpu", "quant"),
    [
        ("M2-ULTRA", "gguf-q4_0"),
        ("m3 ultra", "mlx-4bit"),
        ("M4 Max", "mlx-8bit"),
        ("m3-max", "gguf-q4_k_m"),
        ("m2 max", "fp16"),
        ("GH200", "fp8"),
        ("RTX 3090 Ti", "gguf-q4_k_m"),
        ("rtx 5090", "nvfp4"),
        ("RTX PRO 6000", "nvfp4"),
        ("B200", "nvfp4"),
        ("B300", "mxfp4"),
        ("MI300X", "fp8"),
        ("MI325X", "fp8"),
        ("MI355X", "mxfp4"),
        ("H20", "fp8"),
        ("L20", "fp8"),
        ("H100", "mxfp4"),
    ],
)
def test_new_hardware_and_formats_estimate(gpu, quant):
    g, q = CAT.gpu(gpu), CAT.quant(quant)
    assert g.source and g.as_of and q.source and q.as_of
    e = estimate(CAT.model("llama-3.1-8b"), g, q, concurrency=4)
    assert e.fits and e.output_tokens_per_s > 0 and math.isfinite(e.ttft_ms)


def test_apple_unified_memory_is_one_device_with_three_quarters_usable():
    m2u, q = CAT.gpu("M2-ULTRA"), CAT.quant("gguf-q4_k_m")
    assert m2u.segment == "apple" and m2u.memory_gb == 192
    e = estimate(CAT.model("llama-3.3-70b"), m2u, q)
    assert e.gpus == 1 and e.runtime_family == "llama.cpp"
    assert e.kv_capacity_gb == pytest.approx(192 * 2**30 / 1e9 * 0.75 - e.weights_gb - 0.75)  # 192 GiB
    assert gpus_needed(CAT.model("llama-3.1-405b"), m2u, CAT.quant("bf16"), context_tokens=4096) is None


def test_mlx_formats_run_on_the_mlx_family():
    e = estimate(CAT.model("llama-3.3-70b"), CAT.gpu("M3-MAX"), CAT.quant("mlx-4bit"), input_tokens=260)
    assert e.runtime_family == "mlx" and e.weights_gb == pytest.approx(70 * 4.5 / 8)
    # published: 9.35 tok/s generation at 260 prompt tokens (github.com/ml-explore/mlx-examples/issues/1029)
    assert 9.35 / 2 < 1000 / e.decode_step_ms < 9.35 * 2


# --- names and config.json -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        ("meta-llama/Llama-2-7b-hf", "llama-2-7b"),
        ("meta-llama/Meta-Llama-3.1-8B", "llama-3.1-8b"),
        ("Qwen/Qwen2.5-7B", "qwen2.5-7b"),
        ("google/gemma-3-27b-pt", "gemma-3-27b"),
    ],
)
def test_base_checkpoints_resolve_to_their_architecture_with_a_note(name, model_id):
    m, note = CAT.resolve_model(name)
    assert m.model_id == model_id and note and model_id in note and "architecture" in note


@pytest.mark.parametrize(
    ("name", "model_id", "quant_id"),
    [
        ("Qwen/Qwen3-32B-FP8", "qwen3-32b", "fp8"),
        ("RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8-dynamic", "llama-3.1-8b", "fp8"),
        ("Qwen/Qwen2.5-72B-Instruct-AWQ", "qwen2.5-72b", "awq-int4"),
        ("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4", "qwen2.5-7b", "gptq-int4"),
        ("nvidia/Llama-3.3-70B-Instruct-FP4", "llama-3.3-70b", "nvfp4"),
        ("mlx-community/Meta-Llama-3.1-8B-Instruct-4bit", "llama-3.1-8b", "mlx-4bit"),
        ("llama3.1:70b-instruct-q4_K_M", "llama-3.1-70b", "gguf-q4_k_m"),
        ("bartowski/Llama-3.1-8B-Instruct-Q8_0.gguf", "llama-3.1-8b", "gguf-q8_0"),
        ("deepseek-ai/DeepSeek-R1-0528", "deepseek-r1", None),  # a dated re-release: same shapes
        ("Qwen/Qwen3-30B-A3B-Instruct-2507-FP8", "qwen3-30b-a3b", "fp8"),
        ("unsloth/Llama-3.3-70B-Instruct-GGUF", "llama-3.3-70b", None),  # many formats in one repo: not guessed
        ("unsloth/Llama-3.1-8B-Instruct-bnb-4bit", "llama-3.1-8b", None),  # bitsandbytes: no catalog row
        ("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int8", "qwen2.5-7b", "gptq-int8"),
        ("llama3.1:8b-instruct-q3_K_M", "llama-3.1-8b", "gguf-q3_k_m"),
        ("bartowski/Meta-Llama-3.1-8B-Instruct-IQ4_XS.gguf", "llama-3.1-8b", "gguf-iq4_xs"),
        ("bartowski/Meta-Llama-3.1-8B-Instruct-IQ4_NL.gguf", "llama-3.1-8b", "gguf-iq4_nl"),
        ("TheBloke/Llama-2-7B-Chat-GGUF:Q5_0", "llama-2-7b", "gguf-q5_0"),
        ("mlx-community/Qwen2.5-7B-Instruct-3bit", "qwen2.5-7b", "mlx-3bit"),
        ("mlx-community/Qwen2.5-7B-Instruct-6bit", "qwen2.5-7b", "mlx-6bit"),
        ("mlx-community/Qwen2.5-7B-Instruct-7bit", "qwen2.5-7b", None),  # MLX has no 7-bit affine mode
        ("Qwen/Qwen3-4B-AWQ", "qwen3-4b", "awq-int4"),
        ("gemma3:1b-it-qat", "gemma-3-1b", None),  # quantization-aware trained: the tag names no format
        ("llama3.2:3b-instruct-q4_K_M", "llama-3.2-3b", "gguf-q4_k_m"),
        ("Llama 3.1 8B", "llama-3.1-8b", None),
        ("amd/Llama-3.1-70B-Instruct-FP8-KV", "llama-3.1-70b", "fp8"),  # AMD: FP8 weights and KV cache
        ("amd/Mixtral-8x7B-Instruct-v0.1-FP8-KV", "mixtral-8x7b", "fp8"),
        ("RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w4a16", "llama-3.1-8b", "gptq-int4"),  # llm-compressor
        ("RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w8a8", "llama-3.1-8b", "int8-w8a8"),
        ("neuralmagic/Meta-Llama-3.1-8B-Instruct-quantized.w8a16", "llama-3.1-8b", "gptq-int8"),
        ("llama3.1:8b-instruct-fp16", "llama-3.1-8b", "bf16"),  # Ollama's 16-bit tag
        ("bartowski/Meta-Llama-3.1-8B-Instruct-f16.gguf", "llama-3.1-8b", "bf16"),
        # TheBloke's file names put the format after a dot
        ("TheBloke/Llama-2-7B-GGUF/llama-2-7b.Q4_0.gguf", "llama-2-7b", "gguf-q4_0"),
        ("mistral-7b-instruct-v0.2.Q5_K_M.gguf", "mistral-7b", "gguf-q5_k_m"),
    ],
)
def test_quantized_and_re_released_checkpoints_resolve_and_state_their_format(name, model_id, quant_id):
    m, note = CAT.resolve_model(name)
    assert m.model_id == model_id and note and "architecture" in note
    q = CAT.checkpoint_quant(name)
    assert (q.quant_id if q else None) == quant_id


def _estimate_json(*args: str) -> dict:
    from costmodel.cli import app

    result = runner.invoke(app, ["estimate", "--gpu", "rtx4090", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_an_ollama_name_that_states_no_format_is_estimated_as_the_q4_k_m_ollama_pulls():
    # Ollama's library tags point at Q4_K_M builds (github.com/ollama/ollama/issues/1543, 2024-12-29: "The default
    # is now q4_k_m"), as `ollama run hf.co/{user}/{repo}` does (huggingface/hub-docs docs/hub/ollama.md). Before,
    # `llama3.1:8b` was estimated as BF16 weights (16.1 GB) on vLLM.
    tag = _estimate_json("--model", "llama3.1:8b")
    assert tag["quant"] == "gguf-q4_k_m" and tag["runtime_family"] == "llama.cpp"
    assert "Ollama name" in tag["model_note"] and "what Ollama pulls" in tag["model_note"]
    assert tag["weights_gb"] == pytest.approx(8.03 * 4.8944 / 8, rel=0.02)
    # llama.cpp's RTX 4090 row for Llama 3 8B Q4_K_M (XiongjieDai/GPU-Benchmarks-on-LLM-Inference): 127.74 tok/s
    assert tag["output_tokens_per_s"] == pytest.approx(127.74, rel=0.15)
    # Ollama's default OLLAMA_NUM_PARALLEL of 1 (ollama docs/faq.mdx) is said, not assumed
    assert "OLLAMA_NUM_PARALLEL" in tag["engine_note"] and "default 1" in tag["engine_note"]
    served = _estimate_json("--model", "meta-llama/Llama-3.1-8B-Instruct", "--runtime", "ollama")
    assert served["quant"] == "gguf-q4_k_m" and "what Ollama pulls" in served["model_note"]
    # what the name or --quant states wins; Ollama serves gpt-oss in the MXFP4 it is released in
    assert _estimate_json("--model", "llama3.1:8b-instruct-q8_0")["quant"] == "gguf-q8_0"
    assert _estimate_json("--model", "llama3.1:8b-instruct-fp16")["quant"] == "bf16"
    assert _estimate_json("--model", "llama3.1:8b", "--quant", "q8_0")["quant"] == "gguf-q8_0"
    assert _estimate_json("--model", "gpt-oss:20b")["quant"] == "mxfp4-experts"
    # a Hugging Face id on no named engine keeps its 16-bit release
    plain = _estimate_json("--model", "meta-llama/Llama-3.1-8B-Instruct")
    assert plain["quant"] == "bf16" and plain["runtime_family"] == "server"


def test_a_gguf_repository_that_names_no_file_is_the_q4_k_m_llama_cpp_serves_from_it():
    # `--hf-repo <user>/<model>[:quant]`: "quant is optional, case-insensitive default to Q4_K_M" (ggml-org/llama.cpp
    # tools/llama-bench/README.md); Ollama takes the same file (huggingface/hub-docs docs/hub/ollama.md). Before,
    # TheBloke/Llama-2-7B-GGUF was estimated as BF16 weights on vLLM.
    repo = _estimate_json("--model", "TheBloke/Llama-2-7B-GGUF")
    assert repo["quant"] == "gguf-q4_k_m" and repo["runtime_family"] == "llama.cpp"
    assert "GGUF repository" in repo["model_note"] and "served by llama.cpp" in repo["model_note"]
    file = _estimate_json("--model", "llama-2-7b.Q4_0.gguf")
    assert file["quant"] == "gguf-q4_0" and file["runtime_family"] == "llama.cpp"
    # gpt-oss keeps the MXFP4 it is released in, now on llama.cpp's kernels
    oss = _estimate_json("--model", "unsloth/gpt-oss-20b-GGUF")
    assert oss["quant"] == "mxfp4-experts" and oss["runtime_family"] == "llama.cpp"
    assert _estimate_json("--model", "TheBloke/Llama-2-7B-GGUF", "--runtime", "vllm")["runtime_family"] == "llama.cpp"
    # bitsandbytes has no catalog format: BF16 is estimated, and the note says why
    bnb = _estimate_json("--model", "unsloth/Llama-3.1-8B-Instruct-bnb-4bit")
    assert bnb["quant"] == "bf16" and "bitsandbytes" in bnb["model_note"]


def test_a_checkpoint_named_fp8_kv_is_estimated_with_its_fp8_kv_cache():
    from costmodel.cli import app

    assert checkpoint_kv_cache_dtype("amd/Llama-3.1-405B-Instruct-FP8-KV") == "fp8"
    assert checkpoint_kv_cache_dtype("Qwen/Qwen3-32B-FP8") is None  # FP8 weights say nothing of the cache
    args = ["estimate", "--gpu", "mi300x", "--model", "amd/Llama-3.1-70B-Instruct-FP8-KV", "--mode", "max_load"]
    named, told = (
        json.loads(runner.invoke(app, args + extra + ["--json"]).stdout) for extra in ([], ["--kv-cache-dtype", "bf16"])
    )
    assert named["quant"] == "fp8" and named["kv_cache_dtype"] == "fp8" and "FP8 KV cache" in named["model_note"]
    assert told["kv_cache_dtype"] == "bf16" and named["max_concurrency"] > told["max_concurrency"]


def test_gptq_int8_is_a_weight_only_format_read_at_eight_bits_and_multiplied_at_sixteen():
    from costmodel.throughput import runtime_family

    q8, q4, bf16 = CAT.quant("gptq-int8"), CAT.quant("gptq-int4"), CAT.quant("bf16")
    assert runtime_family(q8) == runtime_family(q4) == "server-w4a16" and runtime_family(bf16) == "server"
    m, gpu = CAT.model("qwen2.5-7b"), CAT.gpu("A100-80GB")
    tps = {q.quant_id: estimate(m, gpu, q, concurrency=1).output_tokens_per_s for q in (q8, q4, bf16)}
    # one stream is bound by the weight bytes: about 8.2 bits a weight sits between 4.2 and 16
    assert tps["bf16"] < tps["gptq-int8"] < tps["gptq-int4"]
    # the Qwen2.5 speed benchmark (vLLM 0.6.3, one A100 80GB, 1 -> 2048 tokens) measured 122.01 tok/s
    assert tps["gptq-int8"] == pytest.approx(122.01, rel=0.25)


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        ("NousResearch/Hermes-3-Llama-3.1-70B", "llama-3.1-70b"),  # not llama-3-70b, whose words it also holds
        ("allenai/Llama-3.1-Tulu-3-70B", "llama-3.1-70b"),
        ("nvidia/Llama-3.1-Nemotron-70B-Instruct-HF", "llama-3.1-70b"),
        ("deepseek-ai/DeepSeek-R1-0528-Qwen3-8B", "qwen3-8b"),  # a Qwen3 8B, though "deepseek-r1:8b" names another
        ("Qwen/Qwen2.5-Coder-32B-Instruct", "qwen2.5-32b"),
        ("qwen2.5-coder:7b", "qwen2.5-7b"),
        ("Qwen/Qwen3-Coder-30B-A3B-Instruct", "qwen3-30b-a3b"),
        ("NousResearch/Nous-Hermes-2-Mixtral-8x7B-DPO", "mixtral-8x7b"),
    ],
)
def test_a_fine_tune_named_after_its_base_model_is_estimated_as_that_architecture(name, model_id):
    m, note = CAT.resolve_model(name)
    assert m.model_id == model_id and f"holds {model_id}'s" in note and "--model-config" in note


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        ("Qwen/Qwen3-235B-A22B-Thinking-2507-FP8", "qwen3-235b-a22b"),
        ("Qwen/Qwen3-Next-80B-A3B-Thinking", "qwen3-next-80b-a3b"),
    ],
)
def test_a_thinking_checkpoint_is_a_training_stage_of_its_architecture(name, model_id):
    m, note = CAT.resolve_model(name)
    assert m.model_id == model_id and "base, chat, instruct" in note


@pytest.mark.parametrize(
    "name",
    [
        "meta-llama/Llama-Guard-3-1B",  # "llama" and "3" apart: not Llama 3.2's words in a run
        "Qwen/Qwen1.5-7B-Chat",  # Qwen1.5 is neither Qwen2 nor Qwen2.5
        "nvidia/Llama-3_1-Nemotron-51B-Instruct",  # a pruned 51B: no catalog size matches
        "microsoft/Phi-3-small-8k-instruct",  # "phi-3" and "small": no catalog row holds those words
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",  # Qwen2.5-Math-1.5B's shapes, named "Qwen" only
    ],
)
def test_a_name_that_holds_no_catalog_architecture_in_order_stays_unknown(name):
    with pytest.raises(UnknownName):
        CAT.resolve_model(name)


@pytest.mark.parametrize(
    "name", ["ibm-granite/granite-3.3-8b-instruct", "ai21labs/AI21-Jamba-1.5-Mini", "gemma3:270m-it-qat"]
)
def test_a_checkpoint_of_an_architecture_the_catalog_lacks_stays_unknown(name):
    with pytest.raises(UnknownName):
        CAT.resolve_model(name)


def test_estimate_uses_the_format_the_name_states_unless_quant_is_given():
    from costmodel.cli import app

    runner = CliRunner()
    stated = runner.invoke(
        app, ["estimate", "--gpu", "NVIDIA H100 80GB HBM3", "--model", "Qwen/Qwen3-32B-AWQ", "--json"]
    )
    assert stated.exit_code == 0, stated.output
    out = json.loads(stated.stdout)
    assert out["quant"] == "awq-int4" and out["gpu"] == "H100-SXM" and "--quant overrides" in out["model_note"]
    given = runner.invoke(
        app, ["estimate", "--gpu", "h100", "--model", "Qwen/Qwen3-32B-AWQ", "--quant", "bf16", "--json"]
    )
    out = json.loads(given.stdout)
    assert out["quant"] == "bf16" and "as --quant asks" in out["model_note"]
    plain = json.loads(runner.invoke(app, ["estimate", "--gpu", "h100", "--model", "qwen3-32b", "--json"]).stdout)
    assert plain["quant"] == "bf16" and plain["model_note"] is None


@pytest.mark.parametrize(("name", "runtime"), [("4bit", "mlx"), ("4-bit", "MLX 0.21.1"), ("8bit", "mlx_lm")])
def test_a_bare_bit_width_is_mlxs_format_on_mlx_and_stays_unknown_elsewhere(name, runtime):
    # mlx-community names its checkpoints `…-4bit`, and `mlx_lm.convert -q --q-bits 4` writes MLX's affine format;
    # on a server runtime "4-bit" could be bitsandbytes, AWQ or GPTQ, so the error lists candidates instead
    assert CAT.quant(name, on_mlx=uses_mlx(runtime)).quant_id == f"mlx-{name[0]}bit"
    for other in (None, "vllm", "llama.cpp"):
        with pytest.raises(UnknownName, match="Did you mean: mlx-"):
            CAT.quant(name, on_mlx=uses_mlx(other))
    from costmodel.cli import app

    args = ["estimate", "--gpu", "m2-ultra", "--model", "llama-3.1-8b", "--quant", name, "--runtime", "mlx", "--json"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["quant"] == f"mlx-{name[0]}bit"


def test_estimate_uses_the_format_a_model_is_released_in_unless_quant_is_given():
    from costmodel.cli import app

    runner = CliRunner()
    # gpt-oss ships its experts in MXFP4, the rest BF16 (openai/gpt-oss README): 120b on one 80 GB H100, as OpenAI
    # states
    args = ["estimate", "--gpu", "h100", "--model", "openai/gpt-oss-120b", "--json"]
    oss = json.loads(runner.invoke(app, args).stdout)
    assert oss["quant"] == "mxfp4-experts" and oss["gpus_needed"] == 1 and oss["fits"] is True
    assert "released in MXFP4" in oss["model_note"] and "--quant overrides" in oss["model_note"]
    r1 = json.loads(runner.invoke(app, ["estimate", "--gpu", "h200", "--model", "deepseek-r1", "--json"]).stdout)
    assert r1["quant"] == "fp8" and r1["gpus_needed"] == 8  # 671 GB of FP8 weights: 8 × 141 GB, not 16
    bf16 = runner.invoke(app, ["estimate", "--gpu", "h200", "--model", "deepseek-r1", "--quant", "bf16", "--json"])
    assert json.loads(bf16.stdout)["quant"] == "bf16"
    assert {m.model_id: m.released_quant for m in CAT.models if m.released_quant} == {
        "deepseek-v3": "fp8",
        "deepseek-v3.1": "fp8",
        "deepseek-v3.2": "fp8",
        "deepseek-r1": "fp8",
        "gpt-oss-20b": "mxfp4-experts",
        "gpt-oss-120b": "mxfp4-experts",
        "kimi-k2": "fp8",
        "kimi-k2-thinking": "int4-experts",
        "kimi-k2.5": "int4-experts",
        "minimax-m2": "fp8",
    }


@pytest.mark.parametrize(
    ("quantization_config", "quant_id"),
    [
        ({"quant_method": "fp8", "weight_block_size": [128, 128]}, "fp8"),  # DeepSeek-V3's config.json
        ({"quant_method": "mxfp4"}, "mxfp4"),  # every linear layer
        # a dense model has no routed experts to hold the MXFP4 alone (gpt-oss's MoE case: test_routed_expert_formats)
        ({"quant_method": "mxfp4", "modules_to_not_convert": ["model.layers.*.self_attn", "lm_head"]}, "mxfp4"),
        ({"quant_method": "awq", "bits": 4}, "awq-int4"),
        ({"quant_method": "gptq", "bits": 8}, "gptq-int8"),
        ({"quant_method": "bitsandbytes", "load_in_4bit": True}, None),  # no catalog row: left to --quant
        (None, None),
    ],
)
def test_model_from_hf_config_reads_the_released_format(quantization_config, quant_id):
    cfg = dict(LLAMA_31_8B_CONFIG, quantization_config=quantization_config)
    assert model_from_hf_config(cfg).released_quant == quant_id


def test_a_released_format_the_catalog_lacks_is_a_data_error(tmp_path, monkeypatch):
    root = tmp_path / "data"
    shutil.copytree(data_dir(), root)
    models = root / "models.csv"
    text = models.read_text(encoding="utf-8")
    models.write_text(text.replace(",mxfp4-experts,", ",mxfp5,", 1), encoding="utf-8")  # gpt-oss-20b's released_quant
    monkeypatch.setenv("OPENTCO_DATA_DIR", str(root))
    with pytest.raises(DataFileError, match=r"models.csv, model gpt-oss-20b, column 'released_quant': 'mxfp5'"):
        catalog()


def test_catalog_names_resolve_without_a_note():
    assert CAT.resolve_model("meta-llama/Llama-2-7b-chat-hf") == (CAT.model("llama-2-7b"), None)


LLAMA_31_8B_CONFIG = {
    "_name_or_path": "acme/llama-3.1-8b-finetune",
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "num_hidden_layers": 32,
    "hidden_size": 4096,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "intermediate_size": 14336,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
    "tie_word_embeddings": False,
}


def test_model_from_hf_config_counts_llama_3_1_8b_parameters(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(LLAMA_31_8B_CONFIG))
    m = model_from_hf_config(tmp_path)  # a folder works as well as the file
    assert m.model_id == "acme/llama-3.1-8b-finetune"
    assert m.total_params_b == pytest.approx(8.03, abs=0.01) and m.active_params_b == m.total_params_b
    assert kv_bytes_per_token(m, CAT.quant("bf16")) == 131_072
    ref = estimate(CAT.model("llama-3.1-8b"), CAT.gpu("H100"), CAT.quant("bf16"), concurrency=4)
    got = estimate(m, CAT.gpu("H100"), CAT.quant("bf16"), concurrency=4)
    assert got.output_tokens_per_s == pytest.approx(ref.output_tokens_per_s, rel=0.01)


def test_model_from_hf_config_moe_mla_and_sliding_fields():
    ds = model_from_hf_config(DEEPSEEK_V3_CONFIG, name="dsv3-like")
    assert ds.total_params_b == pytest.approx(671, rel=0.01) and ds.active_params_b == pytest.approx(37, rel=0.03)
    assert ds.moe_layers == 58 and ds.kv_lora_rank == 512
    gemma = model_from_hf_config(
        {
            "text_config": {
                "num_hidden_layers": 62,
                "hidden_size": 5376,
                "num_attention_heads": 32,
                "num_key_value_heads": 16,
                "head_dim": 128,
                "sliding_window": 1024,
                "sliding_window_pattern": 6,
            }
        },
        name="g3",
    )
    assert gemma.sliding_layers == 52 and gemma.sliding_window == 1024


def test_a_gemma_2_config_ties_its_embeddings_and_alternates_local_and_global_layers():
    # google/gemma-2-9b-it's config.json states neither `tie_word_embeddings` nor `layer_types`: Gemma2Config ties
    # by default, and "every other layer uses sliding window attention" (transformers Gemma2Config docstring)
    cfg = {
        "model_type": "gemma2",
        "num_hidden_layers": 42,
        "hidden_size": 3584,
        "num_attention_heads": 16,
        "num_key_value_heads": 8,
        "head_dim": 256,
        "intermediate_size": 14336,
        "vocab_size": 256000,
        "sliding_window": 4096,
    }
    row = CAT.model("google/gemma-2-9b-it")
    built = model_from_hf_config(cfg, name="gemma-2-9b-copy")
    assert built.sliding_layers == row.sliding_layers == 21 and built.sliding_window == row.sliding_window == 4096
    assert built.total_params_b == pytest.approx(9.24, rel=0.01)  # 10.16 if the embeddings were counted twice
    untied = model_from_hf_config({**cfg, "model_type": "llama"}, name="llama-shaped")
    assert untied.total_params_b == pytest.approx(9.24 + 256000 * 3584 / 1e9, rel=0.01)


def test_model_from_hf_config_errors_name_the_file(tmp_path):
    with pytest.raises(DataFileError, match="no such file"):
        model_from_hf_config(tmp_path / "missing.json")
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    with pytest.raises(DataFileError, match="not a JSON config"):
        model_from_hf_config(bad)
    bad.write_text(json.dumps({"hidden_size": 8}))
    with pytest.raises(DataFileError, match="num_hidden_layers"):
        model_from_hf_config(bad)


def test_cli_estimate_model_config_and_variant_note(tmp_path):
    from costmodel.cli import app

    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(LLAMA_31_8B_CONFIG))
    res = runner.invoke(app, ["estimate", "--model-config", str(cfg), "--gpu", "h100", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["model"] == "acme/llama-3.1-8b-finetune" and out["fits"] and out["error_band_pct"] > 0
    res = runner.invoke(app, ["estimate", "--model", "meta-llama/Llama-2-7b-hf", "--gpu", "h100"])
    assert res.exit_code == 0 and "used llama-2-7b" in res.output
    res = runner.invoke(app, ["estimate", "--gpu", "h100"])
    assert res.exit_code == 2 and "--model-config" in res.output


# --- honest bounds -------------------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    model=st.sampled_from([m.model_id for m in CAT.models if m.has_architecture]),
    gpu=st.sampled_from([g.gpu_id for g in CAT.gpus if g.fp16_tflops]),
    quant=st.sampled_from([q.quant_id for q in CAT.quants]),
    gpus=st.sampled_from([1, 2, 4, 8, 16]),
    conc=st.integers(1, 2000),
    inp=st.integers(1, 64_000),
    out=st.integers(1, 4000),
    mode=st.sampled_from(list(EstimateMode)),
    kv=st.sampled_from([None, "fp8"]),
    runtime=st.sampled_from([None, "llama.cpp", "vllm", "mlx", "tensorrt-llm"]),
)
def test_no_estimate_beats_the_bandwidth_or_flops_bound(model, gpu, quant, gpus, conc, inp, out, mode, kv, runtime):
    m, g, q = CAT.model(model), CAT.gpu(gpu), CAT.quant(quant)
    assume(m.is_moe or q.scope == "all")  # a dense model in a routed-experts format is refused (its own test)
    assume(engine_refusal(runtime, g, q) is None)  # TensorRT-LLM off NVIDIA, or on GGUF, is refused (own test)
    assume(one_mac_refusal(g, gpus) is None)  # so is a replica of several Macs
    e = estimate(
        m, g, q, gpus=gpus, concurrency=conc, input_tokens=inp, output_tokens=out, mode=mode, kv_cache_dtype=kv,
        runtime=runtime,
    )  # fmt: skip
    assert isinstance(e.error_band_pct, float) and 0 < e.error_band_pct < 100
    if not e.fits:
        assert e.output_tokens_per_s == 0
        return
    b = e.concurrency
    # bandwidth: each decode step reads at least the active weights once at full datasheet bandwidth
    step_floor_s = m.active_params_b * 1e9 * q.bits_per_weight / 8 / (e.gpus * g.hbm_bandwidth_gb_s * 1e9)
    assert e.output_tokens_per_s <= b / step_floor_s * (1 + 1e-9)
    assert 1000 / e.decode_step_ms <= 1 / step_floor_s * (1 + 1e-9)
    # FLOP/s: two FLOPs per active parameter per token (output or prompt) at the best tensor rate the GPU has
    peak = max(x for x in (g.fp16_tflops, g.fp8_tflops, g.int8_tops, g.fp4_tflops) if x) * 1e12 * e.gpus
    per_token = 2 * m.active_params_b * 1e9
    assert e.output_tokens_per_s <= peak / per_token * (1 + 1e-9)
    assert e.prefill_tokens_per_s <= peak / per_token * (1 + 1e-9)
    assert math.isfinite(e.ttft_ms) and e.ttft_ms > 0


def test_error_bands_follow_the_leave_one_source_out_calibration():
    rep = calibration_report()
    assert {r.regime for r in rep.regimes} == set(REGIMES) == set(ERROR_BAND_PCT)
    for r in rep.regimes:
        # the constants the engine ships are the report's figures (update ERROR_BAND_PCT when the data change)
        assert ERROR_BAND_PCT[r.regime] == pytest.approx(r.loso_pct, abs=1.0), r.regime
        assert r.loso_pct < 60 and r.points > 0
    assert rep.overall.loso_pct < rep.overall.default_pct
    assert rep.overall.points >= 100 and rep.overall.within_2x >= 0.85 * rep.overall.points


# --- calibrated on your runs -----------------------------------------------------------------------------------------


def test_fit_to_own_measurements_lowers_the_error_and_labels_the_estimate():
    m, g, q = CAT.model("llama-3.1-8b"), CAT.gpu("L40S"), CAT.quant("bf16")
    truth = Efficiency(bandwidth=0.55, compute=0.3, layer_overhead_us=30.0)
    levels = []
    for b in (1, 4, 16, 64):
        e = estimate(m, g, q, concurrency=b, input_tokens=512, output_tokens=256, efficiency=truth)
        levels.append((1, b, 512, 256, e.output_tokens_per_s))
    fit = fit_to_measurements(levels, model=m, gpu=g, quant=q, runs=2)
    assert fit.levels == 4 and fit.runs == 2
    assert fit.error_after_pct < fit.error_before_pct and fit.error_after_pct < 5
    assert fit.efficiency.basis is Basis.MEASURED
    assert fit.efficiency.source.startswith("calibrated on your runs")
    e = estimate(m, g, q, concurrency=8, efficiency=fit.efficiency)
    assert e.basis is Basis.MEASURED and e.error_band_pct == pytest.approx(max(3.0, round(fit.error_after_pct, 1)))
    assert e.error_band_basis == "the median error on your runs after fitting to them"
    with pytest.raises(DataFileError):
        fit_to_measurements([(1, 1, 10, 10, 0.0)], model=m, gpu=g, quant=q)


def test_a_per_stream_host_cost_caps_a_served_replica_and_is_fitted_from_a_concurrency_sweep():
    m, g, q = CAT.model("llama-3-8b"), CAT.gpu("H100-SXM"), CAT.quant("fp8")
    # a named NIM release: NIM without one adds a host time of its own (`OLDER_NIM_STREAM_US`, tested below)
    args = dict(input_tokens=200, output_tokens=200, runtime="nvidia-nim 1.8.0", with_error_band=False)
    base = calibrated_efficiency("server")
    host = replace(base, stream_overhead_us=65.0)
    one, many = (estimate(m, g, q, concurrency=c, efficiency=host, **args) for c in (1, 250))
    plain = estimate(m, g, q, concurrency=250, efficiency=base, **args)
    # 65 µs of host time for each of 250 streams every step: 16.25 ms more a step, output capped near 1e6/65
    assert many.overhead_ms - plain.overhead_ms == pytest.approx(250 * 0.065, rel=0.02)
    assert many.output_tokens_per_s < 1e6 / 65 < plain.output_tokens_per_s
    assert one.overhead_ms - estimate(m, g, q, concurrency=1, efficiency=base, **args).overhead_ms < 0.07
    # a user's sweep from 1 to 250 streams on such a stack: the own-runs fit finds the host cost
    levels = [
        (1, c, 200, 200, estimate(m, g, q, concurrency=c, efficiency=host, **args).output_tokens_per_s)
        for c in (1, 10, 50, 100, 250)
    ]
    fit = fit_to_measurements(levels, model=m, gpu=g, quant=q, runtime="nvidia-nim 1.8.0")
    # (the coordinate descent may trade part of it for lower shares: searched last, it predicts other shapes of
    # NVIDIA's DLI NIM sweeps better than searched first; bench/bench_own_runs.py)
    assert fit.efficiency.stream_overhead_us > 0 and fit.error_after_pct < 5 < 40 < fit.error_before_pct
    # two concurrencies cannot separate it from the GPU's shares: not fitted
    two = fit_to_measurements([lv for lv in levels if lv[1] in (1, 250)], model=m, gpu=g, quant=q, runtime="nim 1.8")
    assert two.efficiency.stream_overhead_us == 0.0


def test_nim_without_a_release_adds_the_older_nims_host_time_per_streamed_token():
    # NVIDIA's DLI sweeps of "an older version of NVIDIA NIM" (held out): Llama 3 8B FP8 on two H100s, 200 + 200
    # tokens, serves 10,765 output tokens/s at 100 streams and 11,885 at 250 (inter-token 8.9 and 18.7 ms)
    m, g, q = CAT.model("llama-3-8b"), CAT.gpu("H100-SXM"), CAT.quant("fp8")
    base = calibrated_efficiency("server")
    args = dict(gpus=2, input_tokens=200, output_tokens=200, efficiency=base, with_error_band=False)
    older = {c: estimate(m, g, q, concurrency=c, runtime="nvidia-nim", **args) for c in (1, 100, 250)}
    named = {c: estimate(m, g, q, concurrency=c, runtime="nvidia-nim 1.8.0", **args) for c in (1, 250)}
    # 40 µs for each decoding stream every step, on top of the fitted per-stream cost (0 in the published fit)
    assert base.stream_overhead_us == 0.0 and OLDER_NIM_STREAM_US == 40.0
    tiny = estimate(m, g, q, concurrency=1, runtime="nvidia-nim", **args)
    assert tiny.overhead_ms - named[1].overhead_ms == pytest.approx(0.040, abs=1e-9)
    assert older[250].overhead_ms - named[250].overhead_ms == pytest.approx(250 * 0.040, rel=1e-6)
    # the ceiling: within 20 % of the published 10,765 and 11,885, where the GPU alone gave 14,964 and 25,622
    assert older[100].output_tokens_per_s == pytest.approx(10_765, rel=0.2)
    assert older[250].output_tokens_per_s == pytest.approx(11_885, rel=0.2)
    assert older[250].output_tokens_per_s < 1e6 / OLDER_NIM_STREAM_US < named[250].output_tokens_per_s
    # one stream hardly notices it (published 216 tok/s)
    assert older[1].output_tokens_per_s == pytest.approx(216.3, rel=0.12)
    # engines that are not the older NIM do not take it
    for runtime in ("vllm", "tensorrt-llm", "nvidia-nim 1.8.0", "nvidia-nim 2.0.8", None):
        e = estimate(m, g, q, concurrency=250, runtime=runtime, **args)
        assert e.overhead_ms < older[250].overhead_ms - 9.9


def test_cli_fit_my_runs_reports_error_before_and_after(tmp_path):
    from pathlib import Path

    from costmodel.cli import app
    from costmodel.measure.benchmark import BenchmarkResult
    from costmodel.measure.results import save_benchmark
    from costmodel.store import connect

    fixture = Path(__file__).parents[1] / "fixtures" / "benchmarks" / "h100-llama-3.1-8b-random-weights.json"
    run = BenchmarkResult.model_validate_json(fixture.read_text())
    db = tmp_path / "bench.duckdb"
    con = connect(db)
    save_benchmark(con, run)
    con.close()
    args = ["estimate", "--model", "llama-3.1-8b", "--gpu", "h100", "--concurrency", "3", "--db", str(db)]
    res = runner.invoke(app, [*args, "--fit-my-runs", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["calibrated_on_your_runs"] is True and out["basis"] == "measured"
    assert out["own_runs_levels"] == sum(lv.output_tokens_per_s > 0 for lv in run.levels)
    assert out["own_runs_error_after_pct"] <= out["own_runs_error_before_pct"]
    assert set(out["own_runs_factors"]) == {"bandwidth", "compute", "layer_overhead_us", "stream_overhead_us"}
    assert out["basis_source"].startswith("calibrated on your runs")
    res = runner.invoke(app, [*args, "--fit-my-runs"])
    assert "calibrated on your runs" in res.output and "µs a stream per step" in res.output
    res = runner.invoke(app, ["estimate", "--model", "qwen3-8b", "--gpu", "h100", "--db", str(db), "--fit-my-runs"])
    assert res.exit_code == 2 and "no stored" in res.output


@pytest.mark.parametrize(
    ("spelling", "runtime"),
    [
        ("TensorRT-LLM v0.12.0", "tensorrt-llm"),
        ("trt_llm", "tensorrt-llm"),
        ("NVIDIA NIM", "nvidia-nim"),
        ("vLLM 0.6.3", "vllm"),
        ("SGLang v0.4.3.post2", "sglang"),
        ("TGI 2.4.1", "tgi"),
        ("text-generation-inference", "tgi"),
        ("llama.cpp (Metal)", "llama.cpp"),
        ("llama.cpp b4167", "llama.cpp"),
        ("vllm/vllm-openai:v0.11.0", "vllm"),
        ("sglang==0.5.6", "sglang"),
        ("mlx_lm", "mlx"),
        ("llama.cpp CUDA", "llama.cpp"),
        ("ggml-org/llama.cpp:server-cuda", "llama.cpp"),
        ("Hugging Face TGI 3.0", "tgi"),
        ("NVIDIA TensorRT-LLM 1.0", "tensorrt-llm"),
        ("vLLM ROCm 0.10.1", "vllm"),
    ],
)
def test_a_runtime_spelled_with_its_version_or_another_way_is_the_same_engine(spelling, runtime):
    m, g, q = CAT.model("llama-3.1-8b"), CAT.gpu("h100"), CAT.quant("fp16")
    args = dict(concurrency=16, input_tokens=2000, output_tokens=200)
    spelled = estimate(m, g, q, runtime=spelling, **args)
    # the same engine; an older release (TensorRT-LLM 1.0, vLLM 0.6.3) keeps its own fixed costs (`current_release`)
    plain = estimate(m, g, q, runtime=runtime, current=spelled.current_release, **args)
    # a named release may only widen the band, to its published rows' error (`release_error_floors_pct`)
    assert spelled.error_band_pct >= plain.error_band_pct
    assert replace(spelled, error_band_pct=0.0, error_band_basis="") == replace(
        plain, error_band_pct=0.0, error_band_basis=""
    )


@pytest.mark.parametrize("name", ["LMDeploy", "Triton", "cuda", "nvidia"])
def test_a_maker_or_backend_word_alone_names_no_engine(name):
    with pytest.raises(UnknownRuntime):
        checked_runtime(name)


QWEN3_NEXT_CONFIG = {  # shapes of Qwen/Qwen3-Next-80B-A3B-Instruct (transformers Qwen3NextConfig fields)
    "_name_or_path": "Qwen/Qwen3-Next-80B-A3B-Instruct",
    "architectures": ["Qwen3NextForCausalLM"],
    "model_type": "qwen3_next",
    "hidden_size": 2048,
    "num_hidden_layers": 48,
    "num_attention_heads": 16,
    "num_key_value_heads": 2,
    "head_dim": 256,
    "intermediate_size": 5120,
    "vocab_size": 151936,
    "num_experts": 512,
    "num_experts_per_tok": 10,
    "moe_intermediate_size": 512,
    "shared_expert_intermediate_size": 512,
    "full_attention_interval": 4,
    "linear_num_value_heads": 32,
    "linear_num_key_heads": 16,
    "linear_key_head_dim": 128,
    "linear_value_head_dim": 128,
    "linear_conv_kernel_dim": 4,
    "max_position_embeddings": 262144,
    "tie_word_embeddings": False,
}


def test_a_linear_attention_hybrid_config_keeps_kv_only_in_its_full_attention_layers():
    m = model_from_hf_config(QWEN3_NEXT_CONFIG)
    assert 75 < m.total_params_b < 85 and 2.5 < m.active_params_b < 4.5  # "80B-A3B"
    assert (m.attention_layers, m.ssm_layers) == (12, 36)  # every 4th layer is full attention
    q = CAT.quant("bf16")
    per_token = 12 * 2 * 2 * 256 * 2  # full-attention layers × K and V × KV heads × head_dim × bytes
    state = 36 * (32 * 128 * 128 + 32 * 128 * 3) * 2  # Gated DeltaNet state and conv window per layer
    assert kv_bytes_per_sequence(m, q, 32768) == pytest.approx(32768 * per_token + state, rel=1e-6)
    dense = model_from_hf_config({k: v for k, v in QWEN3_NEXT_CONFIG.items() if k != "full_attention_interval"})
    assert kv_bytes_per_sequence(dense, q, 32768) > 3.5 * kv_bytes_per_sequence(m, q, 32768)


@pytest.mark.parametrize("runtime", ["llama.cpp", "Ollama", "LM Studio", "llamafile", "koboldcpp", "llama-cpp-python"])
def test_apps_built_on_llama_cpp_run_in_its_family_whatever_the_weights(runtime):
    from costmodel.throughput import runtime_family

    assert runtime_family(CAT.quant("fp16"), runtime=runtime) == "llama.cpp"
    assert runtime_family(CAT.quant("fp16"), runtime="vllm") == "server"


def test_an_engine_the_estimate_does_not_model_is_refused_with_the_list():
    from costmodel.cli import app

    res = CliRunner().invoke(app, ["estimate", "--gpu", "h100", "--model", "llama3.1:8b", "--runtime", "vlm"])
    assert res.exit_code == 2 and "Unknown serving engine 'vlm'. Did you mean: vllm?" in res.output
    assert "tensorrt-llm" in res.output and "'sglang 0.5.6'" in res.output
    for spelled in ("vllm/vllm-openai:v0.11.0", "llamafile", "TensorRT-LLM v1.0", "koboldcpp"):
        ok = CliRunner().invoke(app, ["estimate", "--gpu", "h100", "--model", "llama3.1:8b", "--runtime", spelled])
        assert ok.exit_code == 0, (spelled, ok.output)
