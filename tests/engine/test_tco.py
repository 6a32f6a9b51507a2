from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.breakeven import break_even_volume, pinned_scenario, steady_month_usd
from costmodel.demo import PRESETS, preset
from costmodel.scenario import HybridOption, ManagedEndpointOption, OnPremOption, SelfHostCosts, TaskClass
from costmodel.tco import _npv, evaluate
from tests.engine.helpers import NO_PEOPLE, api, gpu_option, scenario, workload


def test_api_month_equals_genai_prices_for_the_same_usage():
    w = workload(
        requests_per_month=250_000,
        input_tokens_per_request=1800,
        output_tokens_per_request=350,
        cached_input_share=0.25,
    )
    r = evaluate(scenario(api(), workload=w, horizon_months=1))
    per_request = calc_price(
        Usage(input_tokens=1800, cache_read_tokens=450, output_tokens=350),
        "gpt-4o",
        provider_id="openai",
        genai_request_timestamp=datetime(2026, 11, 25, 12, tzinfo=UTC),
    ).total_price
    assert r.option("gpt-4o").month1_usd == per_request * 250_000
    # by hand: (1350 × 2.50 + 450 × 1.25 + 350 × 10) / 1e6 per request
    assert per_request == Decimal("0.0074375")


def test_batch_share_and_discount_apply_to_list_price():
    w = workload(
        requests_per_month=1000, input_tokens_per_request=100_000, output_tokens_per_request=100_000, batch_share=0.5
    )
    r = evaluate(scenario(api(discount_pct=10), workload=w, horizon_months=1))
    # standard 0.25 + 1.00 per request; batch 0.125 + 0.50 → mean 0.9375, less 10 %
    assert r.option("gpt-4o").month1_usd == Decimal("0.9375") * 1000 * Decimal("0.9")


def test_one_gpu_at_p_per_hour_for_730_hours_costs_730_p():
    s = scenario(api(), gpu_option(usd_per_gpu_hour=Decimal("3.17")), horizon_months=1)
    m = evaluate(s).option("8b-h100").months[0]
    assert m.replicas == 1 and m.gpus == 1
    assert m.compute_usd == Decimal("3.17") * 730
    assert m.total_usd == Decimal("2314.10")


def test_catalog_price_is_used_when_none_typed():
    s = scenario(api(), gpu_option(usd_per_gpu_hour=None, provider="lambda", gpu="H100-SXM"), horizon_months=1)
    r = evaluate(s).option("8b-h100")
    from costmodel.catalog import catalog

    rows = catalog().gpu_prices("H100-SXM", plan="on_demand", provider="lambda")
    one_gpu = next(p for p in rows if p.instance_type == "gpu_1x_h100_sxm5")
    # One 1-GPU replica is priced from Lambda's 1-GPU instance ($3.29), not its cheaper-per-GPU 8-GPU node:
    # a whole 8-GPU node would cost 8 × $2.99 an hour.
    assert min(p.usd_per_gpu_hour for p in rows) < one_gpu.usd_per_gpu_hour == Decimal("3.29")
    assert r.months[0].compute_usd == one_gpu.usd_per_instance_hour * 730
    assert any(one_gpu.instance_type in x.source and one_gpu.source in x.source for x in r.sources)


def test_scale_to_zero_pays_operating_hours_only():
    w = workload(hours_per_day=12, days_per_week=5)
    s = scenario(api(), gpu_option(scale_to_zero=True), workload=w, horizon_months=1)
    m = evaluate(s).option("8b-h100").months[0]
    assert m.compute_usd == Decimal("2.50") * w.operating_hours_per_month
    assert abs(m.compute_usd - Decimal("651.7857142857")) < Decimal("1e-9")  # 730 h × 12/24 × 5/7 × $2.50


def test_people_and_one_off_costs():
    costs = SelfHostCosts(
        engineering_fte=0.5,
        loaded_salary_usd_per_year=Decimal(240_000),
        support_usd_per_month=Decimal(1000),
        monitoring_usd_per_month=Decimal(200),
        fine_tuning_gpu_hours=100,
        fine_tuning_usd_per_gpu_hour=Decimal(3),
        data_prep_days=5,
        data_prep_usd_per_day=Decimal(800),
        setup_usd=Decimal(20_000),
    )
    s = scenario(api(), gpu_option(costs=costs), horizon_months=2)
    m1, m2 = evaluate(s).option("8b-h100").months
    assert m1.people_usd == m2.people_usd == Decimal(10_000) + 1000 + 200
    assert m1.one_off_usd == 300 + 4000 + 20_000
    assert m2.one_off_usd == 0


def test_replicas_sized_for_peak_with_redundancy_floor():
    base = evaluate(scenario(api(), gpu_option(), horizon_months=1)).option("8b-h100")
    cap = base.replica.output_tokens_per_s * base.replica.queue.utilisation  # planned load per replica
    assert base.replica.queue.utilisation == 0.75  # the default target, queueing does not bind here
    # exactly 2.5 replicas' worth of planned peak output → 3 replicas
    out_per_month = cap * 2.5 * 730 * 3600
    w = workload(requests_per_month=out_per_month / 200, output_tokens_per_request=200, peak_to_average=1)
    m = evaluate(scenario(api(), gpu_option(min_replicas=1), workload=w, horizon_months=1)).option("8b-h100").months[0]
    assert m.replicas == 3
    m = evaluate(scenario(api(), gpu_option(min_replicas=5), workload=w, horizon_months=1)).option("8b-h100").months[0]
    assert m.replicas == 5


def test_growth_and_price_trends_compound():
    s = scenario(api(), workload=workload(monthly_growth_pct=10), horizon_months=13, api_price_change_pct_per_year=-20)
    months = evaluate(s).option("gpt-4o").months
    assert months[1].requests == Decimal("1100000.0")
    # after 12 months volume ×1.1^12 and price ×0.8
    ratio = months[12].api_usd / months[0].api_usd
    assert float(ratio) == pytest.approx(1.1**12 * 0.8, rel=1e-12)


def test_on_prem_hand_checked():
    opt = OnPremOption(
        name="onprem",
        model="llama-3.1-8b",
        gpu="H100-SXM",
        quant="bf16",
        gpus_per_server=8,
        server_capex_usd=Decimal(240_000),
        amortisation_years=4,
        server_overhead_watts=1000,
        gpu_idle_power_share=0.5,
        pue=1.5,
        usd_per_kwh=Decimal("0.10"),
        rack_usd_per_server_month=Decimal(400),
        maintenance_pct_per_year=6,
        costs=NO_PEOPLE,
    )
    r = evaluate(scenario(api(), opt, horizon_months=2))
    m1, m2 = r.option("onprem").months
    assert m1.capex_usd == Decimal(5000)  # 240k / 48 months
    assert m1.capex_cash_usd == Decimal(240_000) and m2.capex_cash_usd == 0
    assert m1.facility_usd == Decimal(400) + Decimal(240_000) * 6 / 100 / 12
    # 1 active GPU (busy share by utilisation), 7 idle GPUs, 1 kW server overhead, all 730 h
    util = Decimal(str(m1.utilisation))
    busy_w = Decimal(350) + Decimal(350) * util
    watt_h = busy_w * 730 + 7 * Decimal(350) * 730 + 1000 * 730
    assert abs(m1.power_usd - watt_h / 1000 * Decimal("1.5") * Decimal("0.10")) < Decimal("1e-15")
    assert m1.cash_usd - m1.total_usd == Decimal(240_000) - Decimal(5000)


def test_hybrid_is_the_sum_of_its_parts():
    w = workload(requests_per_month=2_000_000)
    hybrid = HybridOption(
        name="h",
        open_option="8b-h100",
        api_option="gpt-4o",
        task_classes=[
            TaskClass(name="easy", share=0.6, on_open_model=True),
            TaskClass(name="hard", share=0.4, on_open_model=False),
        ],
    )
    r = evaluate(scenario(api(), gpu_option(), hybrid, workload=w, horizon_months=3))
    for hm, am in zip(r.option("h").months, r.option("gpt-4o").months, strict=True):
        assert hm.api_usd == am.api_usd * Decimal("0.4")
        assert hm.requests == am.requests
    assert r.option("h").months[0].compute_usd == r.option("8b-h100").months[0].compute_usd


def test_npv_matches_excel_semantics():
    # Excel: NPV(r_month, 100, 100) with r_month = 1.12^(1/12) − 1
    r = (1.12) ** (1 / 12) - 1
    expected = 100 / (1 + r) + 100 / (1 + r) ** 2
    assert float(_npv([Decimal(100), Decimal(100)], 12.0)) == pytest.approx(expected, rel=1e-12)


def test_payback_month_with_one_off_costs():
    costs = SelfHostCosts(engineering_fte=0, setup_usd=Decimal(50_000))
    w = workload(requests_per_month=3_000_000)
    r = evaluate(scenario(api(), gpu_option(costs=costs), workload=w, horizon_months=12))
    o, b = r.option("8b-h100"), r.option("gpt-4o")
    monthly_saving = b.months[1].total_usd - o.months[1].total_usd
    assert monthly_saving > 0
    cum_o = cum_b = Decimal(0)
    expected = None
    for i in range(12):
        cum_o += o.months[i].cash_usd
        cum_b += b.months[i].cash_usd
        if expected is None and cum_o <= cum_b:
            expected = i + 1
    assert o.payback_month == expected and expected > 1


@pytest.mark.parametrize("stem", sorted(PRESETS.values()))
def test_break_even_volume_makes_both_options_cost_the_same(stem):
    r = evaluate(preset(stem))
    # break-even volumes hold the replica shape and instance the evaluation chose
    s = pinned_scenario(preset(stem), {o.name: o.facts for o in r.options})
    checked = 0
    for o in r.options:
        for api_name, vol in o.break_even_tokens_per_month.items():
            if vol is None:
                continue
            own = steady_month_usd(s.option(o.name), s, vol)
            theirs = steady_month_usd(s.option(api_name), s, vol)
            assert abs(own - theirs) <= max(Decimal("0.01"), theirs * Decimal("1e-9")) or own < theirs
            # just below the break-even volume the API is still cheaper
            below = vol * Decimal("0.999")
            assert steady_month_usd(s.option(o.name), s, below) > steady_month_usd(s.option(api_name), s, below)
            checked += 1
    assert checked >= 1


def test_break_even_interior_crossing_is_exact():
    s = scenario(api(), gpu_option(usd_per_gpu_hour=Decimal(2)))
    vol = break_even_volume(s.option("8b-h100"), s.option("gpt-4o"), s)
    assert vol is not None
    own = steady_month_usd(s.option("8b-h100"), s, vol)
    theirs = steady_month_usd(s.option("gpt-4o"), s, vol)
    assert own == Decimal(1460)  # one GPU, 730 h × $2
    assert abs(own - theirs) < Decimal("0.000001")


def test_break_even_never_when_self_hosting_marginal_cost_exceeds_api():
    cheap = api("cheap", model="gpt-4o-mini")
    s = scenario(cheap, gpu_option(usd_per_gpu_hour=Decimal(90), gpu="T4", model="llama-3.1-8b", quant="awq-int4"))
    assert break_even_volume(s.option("8b-h100"), s.option("cheap"), s) is None


@settings(max_examples=25, deadline=None)
@given(v1=st.floats(1e3, 1e9), v2=st.floats(1e3, 1e9), peak=st.floats(1, 10))
def test_cost_non_decreasing_in_volume(v1, v2, peak):
    lo, hi = sorted((v1, v2))
    opts = (
        api(),
        gpu_option(),
        OnPremOption(name="op", model="llama-3.1-8b", gpu="L40S", quant="fp8", costs=NO_PEOPLE),
        ManagedEndpointOption(name="m", provider="together", model="meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"),
    )
    a = evaluate(
        scenario(*opts, workload=workload(requests_per_month=lo, peak_to_average=peak), horizon_months=2),
        with_break_even=False,
    )
    b = evaluate(
        scenario(*opts, workload=workload(requests_per_month=hi, peak_to_average=peak), horizon_months=2),
        with_break_even=False,
    )
    for oa, ob in zip(a.options, b.options, strict=True):
        assert ob.horizon_usd >= oa.horizon_usd
        assert ob.months[0].replicas >= oa.months[0].replicas


@settings(max_examples=25, deadline=None)
@given(p1=st.floats(1, 50), p2=st.floats(1, 50))
def test_replicas_non_decreasing_in_peak(p1, p2):
    lo, hi = sorted((p1, p2))
    w = dict(requests_per_month=5e7)
    a = evaluate(
        scenario(api(), gpu_option(), workload=workload(peak_to_average=lo, **w), horizon_months=1),
        with_break_even=False,
    )
    b = evaluate(
        scenario(api(), gpu_option(), workload=workload(peak_to_average=hi, **w), horizon_months=1),
        with_break_even=False,
    )
    assert b.option("8b-h100").months[0].replicas >= a.option("8b-h100").months[0].replicas


def test_verdict_states_numbers():
    r = evaluate(preset("api-bill-10k-50k"))
    assert r.best != r.baseline
    best = r.option(r.best)
    assert f"{best.month1_usd:,.0f}" in r.verdict
    assert r.baseline in r.verdict


def test_cost_per_million_tokens():
    s = scenario(api(), gpu_option(), horizon_months=3)
    o = evaluate(s).option("gpt-4o")
    tokens = sum(m.input_tokens + m.output_tokens for m in o.months)
    assert o.usd_per_mtok == o.horizon_usd / tokens * 1_000_000


def test_a_self_hosted_option_is_sized_on_the_engine_it_names():
    from costmodel.errors import ScenarioError
    from costmodel.options._self_hosted import fleet_sources
    from costmodel.sizing import resolve_replica

    w = workload(input_tokens_per_request=2000, output_tokens_per_request=200)
    # an FP8 70B on 2 H100s at the latency targets: TensorRT-LLM's engines reach more of the tensor peak (the fit's
    # tensorrt_compute_factor) than a vLLM-like server, so its replica serves more at the same targets
    shape = dict(model="llama-3.3-70b", quant="fp8", gpus_per_replica=2)
    default = resolve_replica(gpu_option(**shape), w)
    trt = resolve_replica(gpu_option(runtime="tensorrt-llm", **shape), w)
    assert trt.runtime == "tensorrt-llm" and default.runtime is None
    assert trt.output_tokens_per_s > default.output_tokens_per_s
    assert "Serving engine" in [s.label for s in fleet_sources(trt)]
    engine = {r.runtime: next(s.value for s in fleet_sources(r) if s.label == "Serving engine") for r in (trt, default)}
    assert engine == {"tensorrt-llm": "tensorrt-llm", None: "not named: a vLLM-like server"}
    # a release widens the band to that release's published error; the figure stays
    sgl = resolve_replica(gpu_option(runtime="sglang 0.5.6", **shape), w)
    assert sgl.output_tokens_per_s == default.output_tokens_per_s and sgl.error_band_pct >= 25.7
    # NIM 2.x runs vLLM: sized as the vLLM-like default, and its source line says why
    nim2 = resolve_replica(gpu_option(runtime="nvidia-nim 2.0.8", **shape), w)
    assert nim2.output_tokens_per_s == default.output_tokens_per_s
    line = next(s for s in fleet_sources(nim2) if s.label == "Serving engine")
    assert line.value == "nvidia-nim 2.0.8" and "serves with vLLM alone" in line.source
    # a name the estimate does not model is an input error, not the default engine in disguise
    with pytest.raises(ScenarioError, match=r"runtime: Unknown serving engine .vlm.. Did you mean: vllm\?"):
        resolve_replica(gpu_option(runtime="vlm", **shape), w)
    # and the whole evaluation carries it: a TensorRT-LLM fleet needs no more replicas than the default one
    month = {
        o.name: o.months[0].replicas
        for o in evaluate(
            scenario(gpu_option("trt", runtime="tensorrt-llm", **shape), gpu_option("default", **shape))
        ).options
    }
    assert month["trt"] <= month["default"]
