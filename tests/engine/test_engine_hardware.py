"""Which engines run on which GPUs: CUDA-only engines are refused elsewhere, and on a Mac the server engines that
run there are estimated with the MLX kernels they compute with."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from costmodel.catalog import catalog
from costmodel.cli import app
from costmodel.demo import demo_scenario
from costmodel.errors import ScenarioError
from costmodel.scenario import CloudGpuOption, OnPremOption
from costmodel.sizing import gpu_fit
from costmodel.tco import evaluate
from costmodel.throughput import MLX_DECODE_CONCURRENCY, engine_note, engine_refusal, estimate, runtime_family

CAT = catalog()
M8B, BF16, FP8 = CAT.model("llama-3.1-8b"), CAT.quant("bf16"), CAT.quant("fp8")


@pytest.mark.parametrize(
    ("runtime", "gpu_id", "says"),
    [
        ("tensorrt-llm", "MI300X", "vLLM, SGLang, TGI or llama.cpp, which run on ROCm"),
        ("TensorRT-LLM v1.0", "M3-ULTRA", "llama.cpp, Ollama, LM Studio, MLX"),
        ("nvidia-nim", "MI325X", "runs on NVIDIA GPUs only"),
        ("nvidia-nim 2.0.8", "M4-MAX", "runs on NVIDIA GPUs only"),  # NIM 2.x runs vLLM, in NVIDIA's containers
        ("tgi", "M2-ULTRA", "TGI serves on NVIDIA, AMD, Intel Gaudi"),
    ],
)
def test_an_engine_that_cannot_run_on_the_gpu_is_refused_with_those_that_can(runtime, gpu_id, says):
    gpu = CAT.gpu(gpu_id)
    with pytest.raises(ScenarioError) as raised:
        estimate(M8B, gpu, BF16, runtime=runtime)
    assert says in str(raised.value) and gpu.name in str(raised.value)


@pytest.mark.parametrize(
    ("runtime", "gpu_id"),
    [
        ("vllm", "MI300X"),
        ("sglang", "MI355X"),
        ("tgi", "MI300X"),
        ("llama.cpp", "MI300X"),
        ("llama.cpp", "M3-ULTRA"),
        ("mlx", "M3-ULTRA"),
        ("vllm", "M3-ULTRA"),
        ("sglang", "M4-MAX"),
        ("tensorrt-llm", "RTX-4090"),
        (None, "MI300X"),
        (None, "M3-ULTRA"),
    ],
)
def test_engines_that_run_on_the_gpu_are_estimated(runtime, gpu_id):
    assert engine_refusal(runtime, CAT.gpu(gpu_id)) is None
    assert estimate(M8B, CAT.gpu(gpu_id), BF16, runtime=runtime).output_tokens_per_s > 0


def test_on_a_mac_vllm_sglang_and_no_engine_are_estimated_as_mlx_against_mlx_lms_own_figures():
    # mlx-lm's BENCHMARKS.md (ml-explore/mlx-lm@a4c6470, 64 GB M4 Max, mlx_lm.benchmark -p 2048 -g 128):
    # Qwen3-4B-Instruct-2507 in bf16 generates 52.47 tok/s and reads its 2048-token prompt at 1780.63 tok/s.
    m, gpu = CAT.model("qwen3-4b"), CAT.gpu("M4-MAX")
    args = dict(concurrency=1, input_tokens=2048, output_tokens=128)
    mlx = estimate(m, gpu, BF16, runtime="mlx", **args)
    assert 1000 / mlx.decode_step_ms == pytest.approx(52.47, rel=0.05)
    assert mlx.prefill_tokens_per_s == pytest.approx(1780.63, rel=0.15)
    for runtime in (None, "vllm", "vLLM 0.11.0", "sglang"):
        e = estimate(m, gpu, BF16, runtime=runtime, **args)
        assert e.runtime_family == "mlx"
        assert (e.decode_step_ms, e.ttft_ms) == (mlx.decode_step_ms, mlx.ttft_ms)
    # off the Mac nothing changes: the same checkpoint on an H100 is a server's
    assert runtime_family(BF16, runtime="vllm", gpu=CAT.gpu("H100-SXM")) == "server"
    assert runtime_family(BF16, gpu=CAT.gpu("H100-SXM")) == "server"
    # GGUF and llama.cpp keep llama.cpp's kernels on a Mac
    assert runtime_family(CAT.quant("gguf-q4_k_m"), gpu=gpu) == "llama.cpp"
    assert runtime_family(BF16, runtime="ollama", gpu=gpu) == "llama.cpp"


def test_mlx_lm_s_server_decodes_32_requests_at_once_and_vllm_metal_keeps_vllm_s_scheduler():
    # mlx_lm/server.py: --decode-concurrency, "decode that many requests in parallel", default 32
    gpu = CAT.gpu("M3-ULTRA")
    for quant, runtime in ((CAT.quant("mlx-4bit"), None), (BF16, None), (BF16, "mlx")):
        busy = estimate(M8B, gpu, quant, mode="max_load", runtime=runtime)
        assert busy.max_concurrency == busy.concurrency == MLX_DECODE_CONCURRENCY == 32
        queued = estimate(M8B, gpu, quant, concurrency=64, runtime=runtime)
        assert (queued.concurrency, queued.requested_concurrency) == (32, 64)
    assert estimate(M8B, gpu, BF16, mode="max_load", runtime="vllm").max_concurrency > 32
    assert estimate(M8B, gpu, CAT.quant("gguf-q4_k_m"), mode="max_load").max_concurrency > 32  # llama.cpp's slots


def test_the_report_says_which_kernels_a_mac_estimate_took():
    gpu = CAT.gpu("M3-ULTRA")
    assert "estimated with MLX's kernels" in engine_note(None, gpu, BF16)
    assert "vLLM-Metal" in engine_note("vllm", gpu, BF16)
    assert engine_note("mlx", gpu, BF16) is None
    assert engine_note("llama.cpp", gpu, BF16) is None
    assert engine_note(None, gpu, CAT.quant("mlx-4bit")) is None
    assert engine_note(None, CAT.gpu("H100-SXM"), BF16) is None


def test_the_cli_refuses_a_cuda_engine_on_an_amd_gpu_and_notes_mlx_on_a_mac():
    runner = CliRunner()
    res = runner.invoke(app, ["estimate", "--gpu", "mi300x", "--model", "llama-3.1-8b", "--runtime", "tensorrt-llm"])
    assert res.exit_code == 2  # the CLI's exit for a scenario it refuses, with the reason, not a traceback
    assert "runs on NVIDIA GPUs only" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["estimate", "--gpu", "m3-ultra", "--model", "llama-3.1-8b", "--quant", "bf16", "--json"])
    out = json.loads(res.stdout)
    assert out["runtime_family"] == "mlx" and "MLX's kernels" in out["engine_note"]


@pytest.mark.parametrize("quant_id", ["gguf-q4_k_m", "gguf-q8_0", "mlx-4bit"])
def test_tensorrt_llm_refuses_gguf_and_mlx_checkpoints(quant_id):
    q = CAT.quant(quant_id)
    with pytest.raises(ScenarioError, match="does not load"):
        estimate(CAT.model("llama-4-scout"), CAT.gpu("H100-SXM"), q, gpus=2, runtime="tensorrt-llm")
    assert engine_refusal("vllm", CAT.gpu("H100-SXM"), q) is None  # vLLM loads GGUF (estimated as llama.cpp's)
    assert engine_refusal("tensorrt-llm", CAT.gpu("H100-SXM"), CAT.quant("awq-int4")) is None


def test_hardware_fit_rows_name_the_engine_that_cannot_run_there():
    args = dict(input_tokens=1000, output_tokens=300, ttft_ms=2000.0, output_tokens_per_s_per_user=10.0)
    fit = gpu_fit(M8B, CAT.gpu("MI300X"), FP8, runtime="tensorrt-llm", **args)
    assert (fit.gpus, fit.estimate, fit.note) == (None, None, "tensorrt-llm runs on NVIDIA GPUs only")
    assert gpu_fit(M8B, CAT.gpu("H100-SXM"), FP8, runtime="tensorrt-llm", **args).estimate is not None


def test_a_scenario_option_names_itself_when_its_engine_cannot_run_on_its_gpu():
    s = demo_scenario()
    hosted = next(o for o in s.options if isinstance(o, CloudGpuOption))
    mac = OnPremOption(name="Mac farm", model=hosted.model, quant="bf16", gpu="M3-ULTRA", measured_watts_per_gpu=270)
    with pytest.raises(ScenarioError, match="option 'Mac farm': tensorrt-llm runs on NVIDIA GPUs only"):
        evaluate(s.model_copy(update={"options": [*s.options, mac.model_copy(update={"runtime": "tensorrt-llm"})]}))
    # no engine named: sized with MLX's kernels, and the source line says so
    result = evaluate(s.model_copy(update={"options": [*s.options, mac]}))
    farm = next(o for o in result.options if o.name == "Mac farm")
    line = next(x for x in farm.sources if x.label == "Serving engine")
    assert "mlx runtime family" in line.source and "estimated with MLX's kernels" in line.source


def test_a_replica_on_apple_silicon_is_one_mac():
    s = demo_scenario()
    hosted = next(o for o in s.options if isinstance(o, CloudGpuOption))
    mac = OnPremOption(name="Mac farm", model=hosted.model, quant="bf16", gpu="M3-ULTRA", measured_watts_per_gpu=270)
    # sized by itself: one Mac a replica, as many replicas as the load needs (it used to try 2–8 Macs a replica)
    result = evaluate(s.model_copy(update={"options": [*s.options, mac]}))
    farm = next(o for o in result.options if o.name == "Mac farm")
    assert farm.replica.gpus_per_replica == 1 and farm.months[0].replicas >= 1
    with pytest.raises(ScenarioError, match="option 'Mac farm', gpus_per_replica: a replica on Apple M3 Ultra"):
        evaluate(s.model_copy(update={"options": [*s.options, mac.model_copy(update={"gpus_per_replica": 2})]}))
    with pytest.raises(ScenarioError, match="is one Mac"):
        estimate(M8B, CAT.gpu("M2-ULTRA"), BF16, gpus=4)
    # a model one Mac cannot hold says so, rather than counting Macs as tensor-parallel GPUs
    too_big = mac.model_copy(update={"model": "deepseek-v3", "quant": "bf16"})
    with pytest.raises(ScenarioError, match=r"does not fit on one Apple M3 Ultra .* \(a replica there is one Mac\)"):
        evaluate(s.model_copy(update={"options": [*s.options, too_big]}))
