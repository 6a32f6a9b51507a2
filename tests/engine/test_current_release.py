"""Fixed costs per engine release: current SGLang, vLLM and TensorRT-LLM releases against the 2024–25 ones.

The published figures are quoted with their source; the arithmetic tests set every other factor so the expected
overhead is worked out by hand.
"""

from __future__ import annotations

import json
import statistics

import pytest
from typer.testing import CliRunner

from costmodel.calibration import _current, calibration_fit, holdout_check, published_points, runtime_series_errors
from costmodel.catalog import catalog
from costmodel.cli import app
from costmodel.errors import UnknownRuntime
from costmodel.throughput import (
    CURRENT_RELEASES,
    OLDER_VLLM_EAGER_LAYER_US,
    OLDER_VLLM_STEP_MS,
    Efficiency,
    _eager_share,
    _runtime_name,
    checked_runtime,
    current_release,
    estimate,
    runtime_release_series,
)

CAT = catalog()


@pytest.mark.parametrize(
    ("runtime", "current"),
    [
        ("sglang 0.4.1.post2", False),
        ("SGLang v0.5.6.post1", True),
        ("lmsysorg/sglang:v0.5.12-cu130", True),
        ("vllm 0.7.3", False),
        ("vLLM v0.11.0", True),
        ("vLLM ROCm 0.10.1", True),
        ("tensorrt-llm 0.17.post1", False),
        ("TensorRT-LLM 1.0", False),
        ("tensorrt-llm 1.3.0rc14", True),
        ("sglang", True),  # no release named: the one a deployment installs today
        ("vllm", True),
        ("nvidia-nim 1.8.0", None),  # engines without a boundary fit one set of costs
        ("nvidia-nim 2.0.8", True),  # NIM 2.x serves with vLLM 0.17 and later
        ("tgi", None),
        ("llama.cpp b4167", True),  # llama.cpp's boundary: MMQ at every batch (PR #8075)
        ("llama.cpp b2824", False),
        ("ollama", None),
        ("mlx", None),
        # a release inside the string, not at its end; a platform's version is not the engine's
        ("TensorRT-LLM 0.19.0 (PyTorch backend)", False),
        ("lmsysorg/sglang:v0.4.1.post7-cu124", False),
        ("vllm/vllm-openai:v0.6.3", False),
        ("vLLM 0.10.1 (ROCm 6.4)", True),
        ("ROCm 6.3 vLLM 0.9.1", False),
        ("Triton 24.08 + TensorRT-LLM 0.12", False),
        ("trtllm-bench 1.2.0", True),
    ],
)
def test_current_release_compares_a_named_release_with_its_engines_boundary(runtime, current):
    assert current_release(runtime) is current


@pytest.mark.parametrize(
    ("runtime", "engine", "series"),
    [
        ("TensorRT-LLM 0.19.0 (PyTorch backend)", "tensorrt-llm", "tensorrt-llm 0.19"),
        ("lmsysorg/sglang:v0.5.7-cu129-amd64", "sglang", "sglang 0.5"),
        ("vLLM 0.10.1 (ROCm 6.4)", "vllm", "vllm 0.10"),
        ("ROCm vLLM 0.10.1", "vllm", "vllm 0.10"),
        ("Triton + TensorRT-LLM", "tensorrt-llm", None),
        ("Triton with tensorrt_llm 0.12", "tensorrt-llm", "tensorrt-llm 0.12"),
        ("NVIDIA Triton Inference Server with TensorRT-LLM backend", "tensorrt-llm", None),
        ("llama.cpp build 4404", "llama.cpp", "llama.cpp b4xxx"),
        ("llama.cpp (CUDA, b5000)", "llama.cpp", "llama.cpp b5xxx"),
        ("ghcr.io/ggml-org/llama.cpp:server-cuda-b4404", "llama.cpp", "llama.cpp b4xxx"),
        ("llama-cpp-python 0.3.2", "llama-cpp-python", "llama-cpp-python 0.3"),
        ("vllm (CUDA 12.8)", "vllm", None),
        # NIM's release names its engine: TensorRT-LLM profiles through 1.x, vLLM alone from 2.0
        ("nvidia-nim 1.10.0", "nvidia-nim", "nvidia-nim 1.10"),
        ("nvidia-nim:2.0.8", "vllm", "nvidia-nim 2.0"),
        ("NIM 2.1.6", "vllm", "nvidia-nim 2.1"),
    ],
)
def test_runtime_strings_as_reports_write_them_name_their_engine_and_release(runtime, engine, series):
    """Benchmark reports describe the engine in their own words; the estimate must find the engine (else the
    option is refused as an unknown engine) and its release (else an older release is costed as a current one)."""
    assert checked_runtime(runtime) == runtime and _runtime_name(runtime) == engine
    assert runtime_release_series(runtime) == series


@pytest.mark.parametrize("runtime", ["vLLM and SGLang", "LMDeploy 0.6", "exllamav2"])
def test_a_string_naming_no_single_modelled_engine_stays_unknown(runtime):
    with pytest.raises(UnknownRuntime):
        checked_runtime(runtime)


def test_nim_from_2_0_is_estimated_as_the_vllm_it_runs():
    """NIM 2.0 replaced its TensorRT-LLM profiles with vLLM ("ships with vLLM 0.17.1 as the sole inference backend",
    NIM for LLMs 2.0.1 release notes): no TensorRT-LLM compute share, vLLM's memory rule and 16-bit KV cache."""
    args = (CAT.model("llama-3.1-8b"), CAT.gpu("H100-SXM"), CAT.quant("fp8"))
    kw = dict(concurrency=64, input_tokens=2000, output_tokens=500)
    nim2, vllm = estimate(*args, runtime="nvidia-nim 2.0.8", **kw), estimate(*args, runtime="vllm", **kw)
    nim1 = estimate(*args, runtime="nvidia-nim 1.8.0", **kw)
    assert nim2.output_tokens_per_s == vllm.output_tokens_per_s != nim1.output_tokens_per_s
    assert (nim2.kv_cache_dtype, nim1.kv_cache_dtype) == ("auto", "fp8")
    assert nim2.max_concurrency == vllm.max_concurrency < nim1.max_concurrency
    # the report says which engine it estimated; a 1.x release or a plain vLLM says nothing
    args = ["estimate", "--model", "llama-3.1-8b", "--gpu", "H100-SXM", "--quant", "fp8", "--concurrency", "64"]
    res = CliRunner().invoke(app, [*args, "--runtime", "nvidia-nim 2.0.8"])
    assert res.exit_code == 0, res.output
    assert "note: nvidia-nim 2.0.8 serves with vLLM alone (NIM for LLMs 2.0 and later)" in res.output
    for runtime in ("nvidia-nim 1.8.0", "vllm"):
        out = json.loads(CliRunner().invoke(app, [*args, "--runtime", runtime, "--json"]).stdout)
        assert out["engine_note"] is None, runtime
    # NIM with no release is the older NIM (its 16-bit cache, its host time per streamed token), and says so
    res = CliRunner().invoke(app, [*args, "--runtime", "nvidia-nim"])
    assert "note: nvidia-nim names no release, so it is estimated as the older NIM" in res.output
    assert "40 µs of host time per streamed token" in res.output


def test_the_boundaries_are_the_three_engines_whose_fixed_costs_changed_and_llama_cpps_kernel_choice():
    assert CURRENT_RELEASES == {"sglang": (0, 5), "vllm": (0, 10), "tensorrt-llm": (1, 1), "llama.cpp": (3200,)}


def test_current_factors_scale_the_layer_expert_and_latent_attention_costs_only_for_a_current_release():
    eff = Efficiency(
        layer_overhead_us=100.0,
        moe_expert_overhead_us=4.0,
        mla_layer_overhead_us=300.0,
        current_layer_factor=0.5,
        current_expert_factor=0.25,
        current_mla_factor=0.1,
    )
    ds, g, q = CAT.model("deepseek-r1"), CAT.gpu("B200"), CAT.quant("fp8")  # 61 layers, 58 routed, top-8
    args = dict(gpus=8, concurrency=1, input_tokens=1, output_tokens=256, efficiency=eff, chunked_prefill=False)
    old = estimate(ds, g, q, runtime="sglang 0.4.1", **args)
    new = estimate(ds, g, q, runtime="sglang 0.5.12", **args)
    assert not old.current_release and new.current_release
    touched = 8  # one token touches its top-8 routed experts in each routed layer
    assert old.overhead_ms == pytest.approx(61 * 0.100 + 58 * touched * 0.004 + 61 * 0.300)
    assert new.overhead_ms == pytest.approx(61 * 0.050 + 58 * touched * 0.001 + 61 * 0.030)
    # `current` overrides what the runtime string says
    assert estimate(ds, g, q, runtime="sglang", current=False, **args).overhead_ms == pytest.approx(old.overhead_ms)
    # an unnamed server engine is today's; an engine without a boundary keeps the one set of costs
    assert estimate(ds, g, q, **args).current_release
    assert not estimate(ds, g, q, runtime="nvidia-nim", **args).current_release


def test_published_rows_without_a_release_count_as_older():
    rows = {p.id: p for p in published_points()}
    assert not _current(rows["sglang0412-dsv3-8xh200-bs1-128-256"])  # SGLang 0.4.1.post2
    assert _current(rows["infx-deepseek-r1-sglang0.5.12-b200x8-c1-1024-1024-itl"])
    assert not any(_current(p) for p in rows.values() if not p.runtime_version)
    # a commit names no release a boundary can be compared with: discussion #4167's 8e672ef of November 2023
    assert rows["lcpp4167-l2-7b-q4tg-m2-ultra"].runtime_version == "8e672ef"
    assert not _current(rows["lcpp4167-l2-7b-q4tg-m2-ultra"])
    assert not any(_current(p) for p in rows.values() if p.engine == "llama.cpp")  # none ran a current build


def test_fit_gives_current_releases_a_fraction_of_the_older_fixed_costs():
    eff = calibration_fit().families["server"].efficiency
    assert eff["current_mla_factor"] < 0.5
    assert eff["current_layer_factor"] < 1.0


def test_deepseek_r1_on_8x_b200_decodes_at_the_published_speed_of_its_release():
    # SGLang 0.5.12, 8× B200, FP8, TP8, 1k/1k, one stream: Mean TPOT 7.18 ms = 139.3 tok/s (SemiAnalysisAI/
    # InferenceX PR #3363, baseline of 2026-05-22). SGLang 0.4.1.post2 on 8× H200, one stream: 30.29 tok/s
    # (sgl-project/sglang PR #2643). The one estimate had said 37 tok/s for the first, 64 % slow.
    ds, q = CAT.model("deepseek-r1"), CAT.quant("fp8")
    args = dict(gpus=8, concurrency=1, input_tokens=1024, output_tokens=1024)
    b200 = estimate(ds, CAT.gpu("B200"), q, runtime="sglang 0.5.12", **args)
    assert 1000 / b200.decode_step_ms == pytest.approx(139.3, rel=0.25)
    assert estimate(ds, CAT.gpu("B200"), q, runtime="sglang", **args).decode_step_ms == b200.decode_step_ms
    older = estimate(CAT.model("deepseek-v3"), CAT.gpu("H200"), q, runtime="sglang 0.4.1", **args)
    assert older.output_tokens_per_s == pytest.approx(30.29, rel=0.35)


def test_each_current_release_publication_predicts_the_others_runs_better_than_one_set_of_costs():
    # Leave-one-source-out over the two publications of current SGLang releases: with InferenceX's sweeps left
    # out, the SGLang cookbook's and LMSYS's runs set the current factors and InferenceX comes out 26.4 % off
    # (it was 62 % slow under one set of costs); with the cookbook left out, InferenceX's set them (cookbook +27 %,
    # from 30-64 % slow). They disagree by over a quarter: SGLang 0.5.12 (InferenceX) is faster than 0.5.6.
    fit = calibration_fit()
    server = fit.families["server"]
    inferencex = server.loso_fits["https://github.com/SemiAnalysisAI/InferenceX"]
    cookbook = server.loso_fits["https://github.com/sgl-project/sgl-cookbook"]
    assert inferencex["current_mla_factor"] < 1.0 and cookbook["current_mla_factor"] < 1.0
    series = {e.series: e for e in runtime_series_errors()}
    assert series["sglang 0.5"].fitted_rows == 109 and series["sglang 0.5"].loso_median_pct < 35.0
    # the tenstorrent 16 × H100 runs (July 2025, no release stated: an older SGLang) are held out
    check = holdout_check()
    assert check is not None
    tt = [e for p, _, e in check.errors if p.id.startswith("tt356-dsr1-sglang") and p.id.endswith("-itl")]
    assert len(tt) == 6 and statistics.median(tt) == pytest.approx(-0.333, abs=0.01)


def test_a_vllm_before_0_6_pays_its_host_time_per_step_and_before_0_5_3_its_awq_kernel():
    """vLLM before 0.6 ran its scheduling and output processing in turn with the GPU's step (vLLM blog, 2024-09-05),
    and before 0.5.3 ran AWQ through its own GEMM kernel, "up to 2.59x" slower than Marlin (vLLM PR #6654). The
    published figures are the Qwen2 speed benchmark's (vLLM 0.4.2 on an A100 80GB, one stream, 2,048 tokens out;
    QwenLM/Qwen2.5 docs/source/benchmark/speed_benchmark.rst@4da996c5): Qwen2-7B BF16 80.45 tok/s, AWQ 96.65."""
    args = (CAT.model("qwen2.5-7b"), CAT.gpu("A100-80GB"))
    kw = dict(concurrency=1, input_tokens=1, output_tokens=2048)

    def speed(quant: str, runtime: str) -> float:
        return estimate(*args, CAT.quant(quant), runtime=runtime, **kw).output_tokens_per_s

    # the host time per step, by hand: the same pass 1.1 ms longer, whatever else the factors say
    eff = Efficiency(bandwidth=0.8, compute=0.4)
    step = {
        r: 1 / estimate(*args, CAT.quant("bf16"), runtime=r, efficiency=eff, **kw).output_tokens_per_s
        for r in ("vllm 0.4.2", "vllm 0.6.3")
    }
    assert step["vllm 0.4.2"] - step["vllm 0.6.3"] == pytest.approx(OLDER_VLLM_STEP_MS * 1e-3, rel=0.02)
    # against the published runs: within 5 %, where vLLM 0.6's costs were 7 % (BF16) and 83 % (AWQ) fast
    assert speed("bf16", "vllm 0.4.2") == pytest.approx(80.45, rel=0.05)
    assert speed("awq-int4", "vllm 0.4.2") == pytest.approx(96.65, rel=0.05)
    assert speed("awq-int4", "vllm 0.6.3") > 1.7 * 96.65
    # the boundaries: 0.5.3 runs AWQ through Marlin (GPTQ-Int4's speed, less the host time); 0.6 overlaps the host
    assert speed("awq-int4", "vllm 0.5.3") == pytest.approx(speed("gptq-int4", "vllm 0.5.3"), rel=1e-3)
    assert speed("awq-int4", "vllm 0.5.3") < speed("awq-int4", "vllm 0.6.0") == speed("awq-int4", "vllm 0.6.3")
    assert speed("bf16", "vllm") > speed("bf16", "vllm 0.6.3")  # no release named: today's, not an older one's
    # the report says why
    cli = ["estimate", "--model", "qwen2.5-7b", "--gpu", "A100-80GB", "--quant", "awq-int4", "--concurrency", "1"]
    res = CliRunner().invoke(app, [*cli, "--runtime", "vllm 0.4.2"])
    assert res.exit_code == 0, res.output
    assert "note: vllm 0.4.2 is a vLLM release before 0.6: estimated with 1.1 ms of host time per step" in res.output
    assert "AWQ runs its AWQ GEMM kernel, at 2.59× Marlin's time" in res.output
    out = json.loads(CliRunner().invoke(app, [*cli, "--runtime", "vllm 0.5.3", "--json"]).stdout)
    assert "host time per step" in out["engine_note"] and "AWQ" not in out["engine_note"]
    assert (
        json.loads(CliRunner().invoke(app, [*cli, "--runtime", "vllm 0.6.3", "--json"]).stdout)["engine_note"] is None
    )


def test_the_older_vllm_terms_are_tested_on_the_qwen2_rows_they_were_not_read_from():
    """`OLDER_VLLM_STEP_MS` fits the 18 one-GPU, short-prompt, non-AWQ rows of the Qwen2 speed benchmark and
    `OLDER_VLLM_AWQ_FACTOR` is vLLM's own figure; the benchmark's multi-GPU Qwen2 72B rows at short prompts were
    read for neither, and come within 10 % (15.7 % with vLLM 0.6's costs)."""
    check = holdout_check()
    tp = [e for p, _, e in check.errors if p.id.startswith("qwen2sb-72b") and p.input_tokens <= 6144]
    assert len(tp) == 8 and statistics.median(abs(e) for e in tp) < 0.10
    fitted = [
        e
        for p, _, e in check.errors
        if p.id.startswith("qwen2sb-") and p.gpu_count == 1 and p.input_tokens <= 6144 and p.quant_id != "awq-int4"
    ]
    assert len(fitted) == 18 and statistics.median(abs(e) for e in fitted) < 0.03


def test_an_older_vllm_decodes_without_cuda_graphs_past_8k_tokens_of_context():
    """vLLM runs a decode step as a captured CUDA graph only up to `max_seq_len_to_capture` (8192) tokens of context
    and launches the rest kernel by kernel. Before 0.6 those launches outlast a small model's GPU work: the Qwen2
    speed benchmark's 0.5B decodes 2,048 tokens after a 6,144-token prompt at 256 tok/s and after a 14,336-token one
    at 109 (vLLM 0.4.2, A100 80GB, one stream; QwenLM/Qwen2.5 docs/source/benchmark/speed_benchmark.rst@4da996c5)."""
    small, a100, bf16 = CAT.model("qwen2.5-0.5b"), CAT.gpu("A100-80GB"), CAT.quant("bf16")
    kw = dict(concurrency=1, output_tokens=2048)
    # by hand, with fixed factors: past 8,192 tokens every step lasts the host time plus 24 layers' launches, which
    # outlast the 0.5B's GPU work (about 1 ms)
    eff = Efficiency(bandwidth=0.8, compute=0.4)
    eager = estimate(small, a100, bf16, runtime="vllm 0.4.2", efficiency=eff, input_tokens=14336, **kw)
    assert small.layers == 24 and eager.overhead_ms > 0
    assert eager.decode_step_ms == pytest.approx(OLDER_VLLM_STEP_MS + 24 * OLDER_VLLM_EAGER_LAYER_US / 1000)
    graphed = estimate(small, a100, bf16, runtime="vllm 0.4.2", efficiency=eff, input_tokens=6144, **kw)
    assert graphed.decode_step_ms < 3.0  # 6,144 + 2,048 tokens: every step within the captured length
    # the share of steps past the limit: one stream's, and that of any of several streams at independent points
    assert _eager_share(6144, 2048, 1) == _eager_share(6144, 2048, 8) == 0.0
    assert _eager_share(7168, 2048, 1) == 0.5 and _eager_share(7168, 2048, 2) == 0.75
    assert _eager_share(14336, 2048, 1) == 1.0
    # a model whose GPU work outlasts the launches pays nothing more: Qwen2.5 32B in BF16, 64 layers
    big = CAT.model("qwen2.5-32b")
    args = dict(efficiency=eff, input_tokens=14336, **kw)
    gpu_bound = {r: estimate(big, a100, bf16, runtime=r, **args).decode_step_ms for r in ("vllm 0.4.2", "vllm 0.6.3")}
    assert gpu_bound["vllm 0.6.3"] > 64 * OLDER_VLLM_EAGER_LAYER_US / 1000
    assert gpu_bound["vllm 0.4.2"] - gpu_bound["vllm 0.6.3"] == pytest.approx(OLDER_VLLM_STEP_MS)
    # against the published runs, with the calibrated factors: within 10 %, where they were 2.2× fast
    speed = {
        n: estimate(small, a100, bf16, runtime="vllm 0.4.2", input_tokens=n, **kw).output_tokens_per_s
        for n in (6144, 14336, 30720)
    }
    assert speed[6144] == pytest.approx(256.16, rel=0.10)
    assert speed[14336] == pytest.approx(108.89, rel=0.10) and speed[30720] == pytest.approx(97.20, rel=0.10)
    # vLLM 0.6.3 does not pay it (its Qwen2.5 rows slow by 5-15 % from 6,144 to 30,720 tokens), nor does today's
    later = estimate(small, a100, bf16, runtime="vllm 0.6.3", input_tokens=30720, **kw).output_tokens_per_s
    assert later > 2 * speed[30720]
    # the 7B's rows at those prompts test it, read for nothing: within 15 % (18 % without it)
    check = holdout_check()
    seven = [e for p, _, e in check.errors if p.id.startswith("qwen2sb-7b") and p.input_tokens >= 14336]
    assert len(seven) == 16 and statistics.median(abs(e) for e in seven) < 0.15
    # the report says so
    res = CliRunner().invoke(
        app, ["estimate", "--model", "qwen2.5-0.5b", "--gpu", "A100-80GB", "--runtime", "vllm 0.4.2"]
    )
    assert "a decode step whose context passes 8,192 tokens runs without CUDA graphs, at 340 µs" in res.output
