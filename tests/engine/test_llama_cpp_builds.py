"""llama.cpp's CUDA kernels by build: older builds dequantize large batches for cuBLAS, current ones run MMQ.

Published figures are llama.cpp pull requests' own `llama-bench` tables, cited per test; the calibrated factors are
the stored fit's, so a change in the physics or the fit shows up here.
"""

from __future__ import annotations

import pytest

from costmodel.catalog import catalog
from costmodel.throughput import (
    LLAMA_CPP_DP4A_MMQ_MAX_BATCH,
    LLAMA_CPP_MMQ_MAX_BATCH,
    estimate,
    layer_split_prefill_share,
    release_costs_words,
    runs_current_release,
)

CAT = catalog()
LLAMA3_8B, RTX_4090 = CAT.model("llama-3.1-8b"), CAT.gpu("RTX-4090")


def _step_ms(runtime: str, streams: int, gpu_id: str = "RTX-4090", quant: str = "q4_0") -> float:
    e = estimate(
        LLAMA3_8B, CAT.gpu(gpu_id), CAT.quant(quant), concurrency=streams, input_tokens=200, output_tokens=112,
        runtime=runtime, chunked_prefill=False,
    )  # fmt: skip
    assert e.concurrency == streams
    return e.decode_step_ms


@pytest.mark.parametrize(
    ("runtime", "family", "current"),
    [
        ("llama.cpp", "llama.cpp", True),  # no build named: the one a deployment installs today
        (None, "llama.cpp", True),
        ("llama.cpp b4404", "llama.cpp", True),
        ("llama.cpp b2824", "llama.cpp", False),  # the LLaMA 3 table's build (May 2024)
        ("ollama", "llama.cpp", True),  # bundles a llama.cpp build of its own day
        ("lm-studio", "llama.cpp", True),
        # unchanged for the other families
        (None, "server", True),
        ("tgi", "server", False),
        ("vllm 0.6.3", "server", False),
        (None, "mlx", False),
        ("mlx", "mlx", False),
    ],
)
def test_which_estimates_run_a_current_build(runtime, family, current):
    assert runs_current_release(runtime, family) is current


def test_a_current_build_has_no_cliff_above_32_streams_where_an_older_one_dequantizes():
    """Since PR #8075 (2024-06-24) llama.cpp multiplies quantized weights with int8 tensor-core MMQ kernels at every
    batch on Turing and later; before it, a batch above 32 tokens first wrote the weights out as F16 for cuBLAS.
    Serving Llama 3.1 8B Q4_K_M on an RTX 4090 to more clients must then never lower the tokens served."""
    kw = dict(input_tokens=1000, output_tokens=500, runtime="llama.cpp")
    served = [
        estimate(LLAMA3_8B, RTX_4090, CAT.quant("q4_k_m"), concurrency=c, **kw).output_tokens_per_s
        for c in (8, 16, 32, 33, 48, 64, 96)
    ]
    assert served == sorted(served)
    # the older build pays one more pass over the weights from the 33rd stream on: the step more than doubles
    assert _step_ms("llama.cpp b2824", LLAMA_CPP_MMQ_MAX_BATCH + 1) > 2 * _step_ms("llama.cpp b2824", 32)
    assert _step_ms("llama.cpp", LLAMA_CPP_MMQ_MAX_BATCH + 1) < 1.1 * _step_ms("llama.cpp", 32)


def test_a_current_build_dequantizes_only_on_the_v100_and_only_above_64_tokens():
    """Without int8 tensor cores for MMQ but with FP16 ones, the V100 still takes cuBLAS from 64 tokens
    (`MMQ_DP4A_MAX_BATCH_SIZE`; PR #24127's V100-PCIE-32GB table: Q5_1 pp512 1,061 tok/s at micro-batch 32,
    822 at 64)."""
    v100 = "V100-SXM2-32GB"
    assert _step_ms("llama.cpp", 33, v100) < 1.1 * _step_ms("llama.cpp", 32, v100)
    edge = LLAMA_CPP_DP4A_MMQ_MAX_BATCH
    assert _step_ms("llama.cpp", edge + 1, v100) > 1.5 * _step_ms("llama.cpp", edge, v100)


def test_mmq_micro_batches_on_an_rtx_4090_run_at_the_published_rate():
    """PR #7676 ("CUDA: use tensor cores for MMQ"), RTX 4090, LLaMA 3 8B Q4_0, `llama-bench -p 512` by
    micro-batch: 1,937 / 3,428 / 5,420 tok/s at 16 / 32 / 64 tokens a pass. A decode step of as many streams at the
    same mean context (256) does the same work; the older build's estimate is off by 3.9× at 64."""
    published = {16: 1937.21, 32: 3427.61, 64: 5420.06}
    for tokens, tok_s in published.items():
        assert tokens / _step_ms("llama.cpp", tokens) * 1e3 == pytest.approx(tok_s, rel=0.15)
    assert 64 / _step_ms("llama.cpp b2824", 64) * 1e3 < tok_s / 3


def test_a_current_builds_512_token_prompt_is_nearer_the_published_mmq_rate():
    """PR #7676: 10,359 tok/s for pp512 in one micro-batch (Q4_0, RTX 4090). MMQ reaches about the F16 cuBLAS
    rate (`LLAMA_CPP_MMQ_EVERY_BATCH_FROM`), so the current build keeps that rate and skips the dequantizing pass."""

    def prompt_tok_s(runtime: str) -> float:
        e = estimate(
            LLAMA3_8B, RTX_4090, CAT.quant("q4_0"), input_tokens=512, output_tokens=1, runtime=runtime
        )  # fmt: skip
        return e.prefill_tokens_per_s

    current, older = prompt_tok_s("llama.cpp"), prompt_tok_s("llama.cpp b2824")
    assert current == pytest.approx(10358.75, rel=0.25)
    assert abs(current / 10358.75 - 1) < abs(older / 10358.75 - 1)


def test_a_llama_cpp_estimate_claims_no_server_release_costs():
    assert release_costs_words(True, "llama.cpp", "llama.cpp") is None
    assert release_costs_words(True, "vllm", "server") == "a current engine release's"
    assert release_costs_words(False, "vllm 0.6.3", "server") == "an older engine release's"
    assert release_costs_words(False, "vllm 0.4.2", "server") == "a vLLM release before 0.6's"


@pytest.mark.parametrize(("prompt", "gpus"), [(512, 4), (1024, 2), (4096, 8)])
def test_a_prompt_one_token_past_a_micro_batch_gains_next_to_nothing_from_the_pipeline(prompt, gpus):
    """The last micro-batch holds what is left: 513 tokens on 4 layer-split GPUs are 512 + 1, and the 512 still
    pass the GPUs in turn. Time to first token never falls as the prompt grows."""
    assert layer_split_prefill_share(prompt + 1, gpus) * (prompt + 1) > layer_split_prefill_share(prompt, gpus) * prompt
    m, g, q = CAT.model("llama-3.1-70b"), CAT.gpu("RTX-4090"), CAT.quant("q4_k_m")
    ttft = [
        estimate(m, g, q, gpus=4, input_tokens=n, output_tokens=100, runtime="llama.cpp").ttft_ms
        for n in (256, 511, 512, 513, 600, 1024, 1025, 2000, 4096)
    ]
    assert ttft == sorted(ttft)
