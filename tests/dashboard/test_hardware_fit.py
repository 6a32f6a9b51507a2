"""Hardware fit: the table, the close-up and the cost per token are the engine's, for any model × quantization."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from costmodel.catalog import catalog
from costmodel.demo import demo_scenario
from costmodel.fmt import money
from costmodel.measure import Measurement
from costmodel.measure.energy import gpu_hours_usd_per_mtok
from costmodel.scenario import CloudGpuOption
from costmodel.sizing import resolve_gpu_price
from costmodel.tco import evaluate
from costmodel.throughput import estimate, gpus_needed, max_concurrency_meeting
from tests.dashboard.conftest import page


@pytest.fixture
def fit(app):
    return page(app, "hardware_fit")


def _engine_row(
    model: str, quant: str, gpu: str, *, inp=1200, out=250, ttft=2000.0, per_user=20.0, provider: str | None = "lambda"
):
    """What the engine says; the price by the engine's own rule for the demo's cloud (lambda, on-demand)."""
    cat = catalog()
    m, g, q = cat.model(model), cat.gpu(gpu), cat.quant(quant)
    n = gpus_needed(m, g, q, context_tokens=inp + out)
    est, ok = max_concurrency_meeting(
        m, g, q, gpus=n, input_tokens=inp, output_tokens=out, ttft_ms=ttft, output_tokens_per_s_per_user=per_user
    )
    option = CloudGpuOption(name="x", model=model, quant=quant, gpu=gpu, gpus_per_replica=n, provider=provider)
    price = resolve_gpu_price(option, g)[0]
    per_mtok = gpu_hours_usd_per_mtok(tokens_per_s=est.output_tokens_per_s, gpus=n, usd_per_gpu_hour=price)
    return n, est, ok, price, per_mtok


def _table_row(at, gpu_id: str) -> dict:
    from dashboard.components.hardware import _short_gpu

    g = catalog().gpu(gpu_id)
    df = at.dataframe[0].value
    return df[df["GPU"] == _short_gpu(g.name, g.memory_gb)].iloc[0].to_dict()


def test_table_shows_the_engines_fit_speed_and_cost(fit):
    # defaults come from the demo scenario: its first self-hosted option (Llama 3.1 8B, bf16) and its workload
    assert fit.selectbox(key="hw-model").value == "llama-3.1-8b"
    assert fit.selectbox(key="hw-provider").value == "lambda"  # the demo's cloud
    for gpu in ("H100-SXM", "A100-80GB", "A10"):
        n, est, ok, price, per_mtok = _engine_row("llama-3.1-8b", "bf16", gpu)
        row = _table_row(fit, gpu)
        assert row["GPUs"] == n
        assert row["Streams"] == est.concurrency
        assert row["Tok/s"] == round(est.output_tokens_per_s)
        assert row["Note"] == ("" if ok else "misses targets")
        assert row["$/GPU-h"] == money(price, decimals=2)
        assert row["$/1M out"] == money(per_mtok, decimals=3)
        assert row["Offer"].startswith("lambda ")


def test_hardware_fit_and_compare_show_one_price_for_one_gpu_and_plan(fit):
    """The issue: H100 on-demand read $1.80 here and $2.99 on Compare. Both now use the engine's rule."""
    offer = evaluate(demo_scenario()).options[2].facts.detail.offer  # the instance Compare's card rents
    row = _table_row(fit, "H100-SXM")
    assert row["$/GPU-h"] == money(offer.usd_per_gpu_hour, decimals=2)
    assert row["Offer"] == f"{offer.provider} {offer.instance_type}"
    fit.selectbox(key="hw-provider").set_value("").run()  # any cloud: the engine picks the instance
    from costmodel.scenario import CloudGpuOption
    from costmodel.sizing import resolve_gpu_price

    any_cloud = CloudGpuOption(name="x", model="llama-3.1-8b", quant="bf16", gpu="H100-SXM", gpus_per_replica=1)
    usd, _, picked = resolve_gpu_price(any_cloud, catalog().gpu("H100-SXM"))
    assert _table_row(fit, "H100-SXM")["$/GPU-h"] == money(usd, decimals=2)
    assert _table_row(fit, "H100-SXM")["Offer"] == f"{picked.provider} {picked.instance_type}"


def test_the_table_says_why_its_rows_are_in_that_order(fit):
    assert any("Row order:" in c.value for c in fit.caption)
    df = fit.dataframe[0].value
    priced = [float(v.strip("$").replace(",", "")) for v in df["$/1M out"] if v != "—"]
    assert priced == sorted(priced)


def test_close_up_metrics_and_charts(fit):
    n, est, _, _, per_mtok = _engine_row("llama-3.1-8b", "bf16", "H100-SXM")
    shown = {m.label: m.value for m in fit.metric}
    assert shown["GPUs per replica"] == f"{n}×"
    assert shown["Streams at the targets"] == str(est.concurrency)
    assert shown["Replica output tok/s"] == f"{est.output_tokens_per_s:,.0f}"
    assert shown["$/1M output tokens"] == money(per_mtok, decimals=3)
    assert est.basis.value in fit.metric[2].help
    charts = {c.key: c for c in fit.get("plotly_chart")}
    assert set(charts) == {"hw-memory", "hw-throughput"}
    import json

    memory = json.loads(charts["hw-memory"].proto.spec)
    assert [t["x"][0] for t in memory["data"][:2]] == pytest.approx([est.weights_gb, est.kv_capacity_gb])
    speed = json.loads(charts["hw-throughput"].proto.spec)
    target = next(t for t in speed["data"] if t.get("name", "").startswith("Target"))
    assert target["y"] == [20.0, 20.0]
    star = next(t for t in speed["data"] if t.get("name", "").startswith("Sized at"))
    assert star["x"] == [est.concurrency]
    cat = catalog()
    curve = next(t for t in speed["data"] if t.get("name", "").startswith("Replica"))
    at4 = estimate(
        cat.model("llama-3.1-8b"),
        cat.gpu("H100-SXM"),
        cat.quant("bf16"),
        gpus=n,
        concurrency=4,
        input_tokens=1200,
        output_tokens=250,
    )
    assert curve["y"][curve["x"].index(4)] == pytest.approx(at4.output_tokens_per_s)


def test_changing_model_and_quantization(fit):
    fit.selectbox(key="hw-model").set_value("llama-3.3-70b")
    fit.selectbox(key="hw-quant").set_value("fp8")
    fit.number_input(key="hw-per-user").set_value(30.0)
    fit.run()
    assert not fit.exception and not fit.error
    n, est, _, _, per_mtok = _engine_row("llama-3.3-70b", "fp8", "H100-SXM", per_user=30.0)
    row = _table_row(fit, "H100-SXM")
    assert (row["GPUs"], row["Streams"]) == (n, est.concurrency)
    assert row["$/1M out"] == money(per_mtok, decimals=3)
    t4 = _table_row(fit, "T4")
    assert t4["GPUs"] == gpus_needed(
        catalog().model("llama-3.3-70b"), catalog().gpu("T4"), catalog().quant("fp8"), context_tokens=1450
    )


def test_the_table_follows_the_serving_engine_chosen(fit):
    assert fit.selectbox(key="hw-runtime").value == ""  # the demo's options name no engine
    fit.selectbox(key="hw-model").set_value("llama-3.3-70b")
    fit.selectbox(key="hw-quant").set_value("fp8")
    fit.selectbox(key="hw-runtime").set_value("tensorrt-llm")
    fit.run()
    assert not fit.exception and not fit.error
    cat = catalog()
    m, g, q = cat.model("llama-3.3-70b"), cat.gpu("H100-SXM"), cat.quant("fp8")
    n = gpus_needed(m, g, q, context_tokens=1450, runtime="tensorrt-llm")
    args = dict(gpus=n, input_tokens=1200, output_tokens=250, ttft_ms=2000.0, output_tokens_per_s_per_user=20.0)
    trt, _ = max_concurrency_meeting(m, g, q, runtime="tensorrt-llm", **args)
    plain, _ = max_concurrency_meeting(m, g, q, **args)
    row = _table_row(fit, "H100-SXM")
    assert row["Tok/s"] == round(trt.output_tokens_per_s) != round(plain.output_tokens_per_s)
    # TensorRT-LLM builds CUDA engines: the AMD and Apple rows say why they have no figures instead of estimating
    for gpu_id in ("MI300X", "M3-ULTRA"):
        row = _table_row(fit, gpu_id)
        assert row["Note"] == "tensorrt-llm runs on NVIDIA GPUs only" and pd.isna(row["Tok/s"])


def test_the_scenario_s_engine_with_its_release_is_the_page_s_first_choice(app):
    # a release typed in the scenario (`sglang 0.5.6`) is not in the list of engines, and stays the choice as typed
    s = demo_scenario()
    hosted = next(i for i, o in enumerate(s.options) if isinstance(o, CloudGpuOption))
    options = list(s.options)
    options[hosted] = options[hosted].model_copy(update={"runtime": "sglang 0.5.6"})
    app.session_state["scenario"] = s.model_copy(update={"options": options})
    at = page(app, "hardware_fit")
    engine = at.selectbox(key="hw-runtime")
    assert engine.value == "sglang 0.5.6" and engine.options.count("sglang 0.5.6") == 1
    assert not at.exception and not at.error


def test_measured_vs_estimated_when_a_measurement_is_stored(fit, monkeypatch):
    import costmodel.measure

    measured = Measurement(
        benchmark_id=7,
        measured_at=datetime(2026, 11, 20, tzinfo=UTC),
        model="meta-llama/Llama-3.1-8B-Instruct",
        gpu_name="NVIDIA H100 80GB HBM3",
        gpu_count=1,
        concurrency=64,
        output_tokens_per_s=2000.0,
        output_tokens_per_s_per_stream=31.0,
        ttft_ms_p95=250.0,
        watts_per_gpu=650.0,
        joules_per_output_token=0.3,
        energy_basis=None,
        token_count_basis="server_usage",
    )
    asked = []

    def latest(con, *, model, gpu, latency=None):
        asked.append((model, gpu))
        return measured if model == "meta-llama/Llama-3.1-8B-Instruct" and gpu == "H100-SXM" else None

    monkeypatch.setattr(costmodel.measure, "latest_measurement", latest)
    fit.run()
    assert not fit.exception
    cat = catalog()
    est = estimate(
        cat.model("llama-3.1-8b"),
        cat.gpu("H100-SXM"),
        cat.quant("bf16"),
        gpus=1,
        concurrency=64,
        input_tokens=1200,
        output_tokens=250,
    )
    shown = {m.label: m.value for m in fit.metric}
    assert shown["Measured tok/s"] == "2,000"
    assert shown["Estimated tok/s"] == f"{est.output_tokens_per_s:,.0f}"
    assert shown["Estimate's error"] == f"{(est.output_tokens_per_s - 2000) / 2000 * 100:+.0f} %"
    assert ("meta-llama/Llama-3.1-8B-Instruct", "H100-SXM") in asked


def test_without_a_measurement_the_page_says_so(fit):
    assert any("No measurement of this model on this GPU" in c.value for c in fit.caption)


def _choose(fit, model: str, quant: str) -> None:
    fit.selectbox(key="hw-model").set_value(model)
    fit.selectbox(key="hw-quant").set_value(quant)
    fit.run()
    assert not fit.exception and not fit.error


def test_kimi_in_its_int4_experts_fits_eight_h200_and_a_dense_model_in_it_is_refused_with_the_reason(fit):
    _choose(fit, "kimi-k2-thinking", "int4-experts")
    assert _table_row(fit, "H200-SXM")["GPUs"] == 8  # ~594 GB of weights; FP8 K2 Instruct needs the same 8 with no room
    fit.selectbox(key="hw-model").set_value("llama-3.3-70b")
    fit.run()
    assert not fit.exception
    assert any("only a mixture-of-experts model's routed experts" in e.value for e in fit.error)


def test_gpt_oss_asked_for_in_mxfp4_is_estimated_as_released_with_its_attention_in_bf16(fit):
    _choose(fit, "gpt-oss-120b", "mxfp4")
    cat = catalog()
    m, g = cat.model("gpt-oss-120b"), cat.gpu("H100-SXM")
    released = cat.quant("mxfp4-experts")
    args = dict(gpus=1, input_tokens=1200, output_tokens=250, ttft_ms=2000.0, output_tokens_per_s_per_user=20.0)
    est, _ = max_concurrency_meeting(m, g, released, **args)
    whole, _ = max_concurrency_meeting(m, g, cat.quant("mxfp4"), **args)
    assert est.output_tokens_per_s != whole.output_tokens_per_s
    assert _table_row(fit, "H100-SXM")["Tok/s"] == round(est.output_tokens_per_s)
