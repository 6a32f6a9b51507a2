from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from costmodel.calibration import MIN_POINTS, calibrated_efficiency, fit_report
from costmodel.catalog import catalog
from costmodel.errors import ScenarioError
from costmodel.throughput import (
    RUNTIME_FAMILIES,
    Basis,
    Efficiency,
    estimate,
    gpus_needed,
    kv_bytes_per_token,
    max_concurrency_meeting,
    one_mac_refusal,
)

CAT = catalog()
ESTIMABLE = [m.model_id for m in CAT.models if m.has_architecture]


def test_kv_bytes_per_token_llama_3_1_8b_by_hand():
    # 2 (K and V) × 32 layers × 8 KV heads × 128 dims × 2 bytes = 131,072 bytes per token
    assert kv_bytes_per_token(CAT.model("llama-3.1-8b"), CAT.quant("bf16")) == 131_072


def test_kv_bytes_per_token_uses_mla_latent_for_deepseek():
    m = CAT.model("deepseek-v3")
    # 61 layers × (512 latent + 64 rope) × 2 bytes
    assert kv_bytes_per_token(m, CAT.quant("fp8")) == m.layers * (512 + 64) * 2


def test_weights_and_fit_by_hand():
    e = estimate(CAT.model("llama-3.1-8b"), CAT.gpu("H100-SXM"), CAT.quant("bf16"), gpus=1)
    assert e.weights_gb == pytest.approx(8.03 * 2)
    assert e.fits and e.gpus == 1
    # 70B in BF16 needs 140 GB of weights: does not fit on one 80 GB card; two hold 2 × 80 GiB × 0.9 = 154.6 GB,
    # which leaves ~4 GB for KV after the weights and 2 × (3.3 + 1.9) GB the runtime keeps (vLLM runs it with TP 2)
    m70 = CAT.model("llama-3.1-70b")
    assert not estimate(m70, CAT.gpu("H100-SXM"), CAT.quant("bf16"), gpus=1).fits
    two = estimate(m70, CAT.gpu("H100-SXM"), CAT.quant("bf16"), gpus=2)
    assert two.kv_capacity_gb == pytest.approx(2 * 80 * 2**30 / 1e9 * 0.9 - 70 * 2 - 2 * (3.3 + 1.9))
    assert gpus_needed(m70, CAT.gpu("H100-SXM"), CAT.quant("bf16"), context_tokens=4096) == 2
    # in FP8 (70 GB) one card holds it with ~4 GB of KV, as vLLM runs it on one H100
    assert gpus_needed(m70, CAT.gpu("H100-SXM"), CAT.quant("fp8"), context_tokens=4096) == 1


def test_moe_all_params_must_fit_but_active_params_drive_speed():
    mix, h100, bf16 = CAT.model("mixtral-8x7b"), CAT.gpu("H100-SXM"), CAT.quant("bf16")
    assert mix.total_params_b > 40 and mix.active_params_b < 14
    # 46.7B × 2 bytes = 93 GB: not on one card
    assert not estimate(mix, h100, bf16, gpus=1).fits
    moe = estimate(mix, h100, bf16, gpus=2, concurrency=1, efficiency=Efficiency())
    # single stream only touches the active experts: faster than a dense model of the same total size
    dense_bytes = mix.total_params_b * 2e9
    assert moe.output_tokens_per_s_per_stream > 2 * h100.hbm_bandwidth_gb_s * 1e9 * 0.7 * 0.9 / dense_bytes


def test_more_streams_more_total_fewer_per_stream():
    args = (CAT.model("llama-3.1-8b"), CAT.gpu("H100-SXM"), CAT.quant("bf16"))
    prev = None
    for b in (1, 4, 16, 64):
        e = estimate(*args, concurrency=b, input_tokens=500, output_tokens=200)
        if prev:
            assert e.output_tokens_per_s > prev.output_tokens_per_s
            assert e.output_tokens_per_s_per_stream < prev.output_tokens_per_s_per_stream
            assert e.ttft_ms >= prev.ttft_ms
        prev = e


def test_max_concurrency_meeting_targets_is_the_largest_that_meets_them():
    args = (CAT.model("llama-3.1-8b"), CAT.gpu("L40S"), CAT.quant("fp8"))
    e, ok = max_concurrency_meeting(
        *args, input_tokens=800, output_tokens=200, ttft_ms=1500, output_tokens_per_s_per_user=25
    )
    assert ok
    assert e.output_tokens_per_s_per_stream >= 25 and e.ttft_ms <= 1500
    if e.concurrency < e.max_concurrency:
        nxt = estimate(*args, concurrency=e.concurrency + 1, input_tokens=800, output_tokens=200)
        assert nxt.output_tokens_per_s_per_stream < 25 or nxt.ttft_ms > 1500


def test_unmeetable_targets_are_reported():
    e, ok = max_concurrency_meeting(
        CAT.model("llama-3.1-70b"),
        CAT.gpu("L4"),
        CAT.quant("awq-int4"),
        gpus=4,
        input_tokens=2000,
        output_tokens=200,
        ttft_ms=10,
        output_tokens_per_s_per_user=500,
    )
    assert not ok and e.concurrency == 1


def test_model_without_architecture_is_a_clear_error():
    # a row whose config.json could not be read keeps its layers and heads blank (Mistral Large 2's did until
    # 2026-12-07); every catalog row has them now, so the blank row is made here
    missing = CAT.model("llama-3.1-8b").model_copy(update={"layers": None, "kv_heads": None})
    assert not missing.has_architecture
    with pytest.raises(ScenarioError, match="architecture"):
        estimate(missing, CAT.gpu("H100-SXM"), CAT.quant("bf16"))


@settings(max_examples=200, deadline=None)
@given(
    model=st.sampled_from(ESTIMABLE),
    gpu=st.sampled_from([g.gpu_id for g in CAT.gpus if g.fp16_tflops]),
    quant=st.sampled_from([q.quant_id for q in CAT.quants]),
    gpus=st.sampled_from([1, 2, 4, 8]),
    conc=st.integers(1, 600),
    inp=st.integers(1, 32_000),
    out=st.integers(1, 4000),
)
def test_estimate_never_exceeds_the_physical_bound(model, gpu, quant, gpus, conc, inp, out):
    m, g, q = CAT.model(model), CAT.gpu(gpu), CAT.quant(quant)
    assume(m.is_moe or q.scope == "all")  # a dense model in a routed-experts format is refused (its own test)
    assume(one_mac_refusal(g, gpus) is None)  # so is a replica of several Macs (test_engine_hardware)
    e = estimate(m, g, q, gpus=gpus, concurrency=conc, input_tokens=inp, output_tokens=out)
    if not e.fits:
        assert e.output_tokens_per_s == 0
        return
    b = e.concurrency
    # Memory roofline: every decode step must at least read the active weights once at full datasheet bandwidth.
    min_bytes_per_step = m.active_params_b * 1e9 * q.bits_per_weight / 8
    step_floor_s = min_bytes_per_step / (gpus * g.hbm_bandwidth_gb_s * 1e9)
    assert e.output_tokens_per_s <= b / step_floor_s * (1 + 1e-9)
    # Compute roofline: two FLOPs per active parameter per token at the best tensor rate the GPU has.
    peak = max(x for x in (g.fp16_tflops, g.fp8_tflops, g.int8_tops) if x) * 1e12 * gpus
    assert e.output_tokens_per_s <= peak / (2 * m.active_params_b * 1e9) * (1 + 1e-9)
    assert e.prefill_tokens_per_s <= peak / (2 * m.active_params_b * 1e9) * (1 + 1e-9)
    assert math.isfinite(e.ttft_ms) and e.ttft_ms > 0


@pytest.mark.parametrize("family", RUNTIME_FAMILIES)
def test_calibration_fits_published_points_and_reports_out_of_sample_error(family):
    eff = calibrated_efficiency(family)
    report = fit_report(family)
    assert report.points >= MIN_POINTS
    assert eff.basis is Basis.CALIBRATED
    assert 0.3 <= eff.bandwidth <= 1.0 and 0.15 <= eff.compute <= 0.95
    # The fitted model is no worse than the defaults on the data it saw …
    assert report.median_pct <= report.default_median_pct + 1e-9
    # … and its leave-one-source-out error (what to expect on unseen publications) stays bounded.
    assert report.loso_median_pct < 40


def test_calibration_has_at_least_a_hundred_published_points_overall():
    total = sum(fit_report(f).points for f in RUNTIME_FAMILIES)
    assert total >= 100
