"""Decision-grade economics: each case an expert reviewer reproduced by hand, and the rule that replaces it.

Every test here failed on the engine before the reshape (one cost lens mixed with another, GPU prices
that ignored instance shape, the fewest GPUs instead of the cheapest shape, replicas at 100 %, elastic
commitments, a tornado that dropped inputs, a verdict that said "Switch" on $10 a month).
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from costmodel.capacity import erlang_c, p95_wait_s, plan_utilisation
from costmodel.catalog import catalog
from costmodel.demo import PRESETS, preset
from costmodel.gpu_offers import offers_for
from costmodel.options import kind_of
from costmodel.scenario import (
    ApiOption,
    CloudGpuOption,
    Commitment,
    CostLens,
    OnPremOption,
    Scenario,
    SelfHostCosts,
    load_scenario,
)
from costmodel.sensitivity import tornado
from costmodel.tco import evaluate
from costmodel.uncertainty import Draws, horizon_costs
from tests.engine.helpers import NO_PEOPLE, api, gpu_option, scenario, workload

# ---------------------------------------------------------------------------------------- 1. one cost lens


def _on_prem(**kw: object) -> OnPremOption:
    base: dict[str, object] = dict(
        name="owned",
        model="llama-3.1-8b",
        gpu="H100-SXM",
        quant="bf16",
        gpus_per_replica=1,
        gpus_per_server=8,
        server_capex_usd=Decimal(280_000),
        amortisation_years=4,
        costs=NO_PEOPLE,
    )
    base.update(kw)
    return OnPremOption(**base)  # type: ignore[arg-type]


def test_cash_view_credits_book_value_at_the_horizon_end() -> None:
    """A $280k server bought in month 1 of a 36-month horizon, written off over 48 months: $70k is left."""
    s = scenario(api(), _on_prem(), horizon_months=36)
    o = evaluate(s).option("owned")
    assert o.months[0].capex_cash_usd == Decimal(280_000)
    assert o.months[-1].residual_cash_usd == Decimal(70_000)  # 280k × (1 − 36/48)
    # straight-line book value: over the horizon cash and accounting agree to the cent
    assert abs(o.horizon_cash_usd - o.horizon_accounting_usd) < Decimal("0.01")


def test_typed_resale_value_replaces_book_value() -> None:
    s = scenario(api(), _on_prem(resale_pct_at_horizon=10), horizon_months=36)
    o = evaluate(s).option("owned")
    assert o.months[-1].residual_cash_usd == Decimal(28_000)
    assert o.horizon_cash_usd - o.horizon_accounting_usd == pytest.approx(Decimal(70_000 - 28_000), abs=Decimal("0.01"))


def test_a_server_bought_in_the_last_month_is_nearly_all_credited_back() -> None:
    """The RAG preset buys a second server late; the cash view must not charge its full price as a loss."""
    r = evaluate(preset("internal-search-rag"))
    owned = next(o for o in r.options if o.kind == "on_prem")
    bought = [(m.month, m.capex_cash_usd) for m in owned.months if m.capex_cash_usd]
    residual = owned.months[-1].residual_cash_usd
    life = 4 * 12
    want = sum(
        (usd * (1 - Decimal(min(life, len(owned.months) - month + 1)) / life) for month, usd in bought), Decimal(0)
    )
    assert residual == pytest.approx(want, abs=Decimal("0.01"))
    assert residual > 0


def test_everything_that_ranks_uses_the_lens_in_force() -> None:
    base = scenario(api(), _on_prem(resale_pct_at_horizon=0), horizon_months=24)
    cash = evaluate(base)
    acc = evaluate(base.model_copy(update={"cost_lens": CostLens.ACCOUNTING}))
    oc, oa = cash.option("owned"), acc.option("owned")
    assert oc.horizon_usd == oc.horizon_cash_usd and oa.horizon_usd == oa.horizon_accounting_usd
    # no resale: the cash view pays the whole server, the accounting view half of it (24 of 48 months)
    assert oc.horizon_usd - oa.horizon_usd == pytest.approx(Decimal(140_000), abs=Decimal("0.01"))
    assert cash.saving_horizon_usd("owned") == cash.baseline_result.horizon_usd - oc.horizon_usd
    assert acc.saving_horizon_usd("owned") == acc.baseline_result.horizon_usd - oa.horizon_usd


def test_never_recommends_a_saving_with_negative_cash_npv() -> None:
    """Accounting says 'cheaper'; cash says the server is not earned back in the horizon: stay, and say why."""
    # ~$15k a month on gpt-4o; one owned server written off over 10 years, bought for a 12-month horizon
    w = workload(requests_per_month=3_300_000)
    s = scenario(
        api(),
        _on_prem(resale_pct_at_horizon=0, server_capex_usd=Decimal(300_000), amortisation_years=10),
        workload=w,
        horizon_months=12,
        cost_lens=CostLens.ACCOUNTING,
        discount_rate_pct_per_year=8,
    )
    r = evaluate(s)
    o = r.option("owned")
    assert r.saving_horizon_usd("owned") > 0  # cheaper in the accounting view
    assert o.npv_cash_saving_usd is not None and o.npv_cash_saving_usd < 0
    assert r.recommended is None and r.decision == "stay"
    assert "NPV" in r.verdict and "not earned back" in r.verdict


def test_tax_shield_is_off_by_default_and_applies_to_deductible_costs() -> None:
    s = scenario(api(), horizon_months=12)
    r0 = evaluate(s)
    r30 = evaluate(s.model_copy(update={"tax_rate_pct": 30.0}))
    assert r30.option("gpt-4o").horizon_usd == r0.option("gpt-4o").horizon_usd * Decimal("0.7")


# ---------------------------------------------------------------------------------------- 2. prices by shape


def test_a_one_gpu_replica_is_priced_from_the_one_gpu_instance() -> None:
    s = scenario(api(), gpu_option(usd_per_gpu_hour=None, provider="lambda"), horizon_months=1)
    o = evaluate(s).option("8b-h100")
    assert o.facts.detail.offer.instance_type == "gpu_1x_h100_sxm5"
    assert o.months[0].compute_usd == Decimal("3.29") * 730


def test_replicas_pack_onto_whole_nodes_when_only_big_nodes_are_sold() -> None:
    """AWS sells H100 SXM as 8-GPU p5.48xlarge only (besides one 1-GPU size): two 2-GPU replicas on one node."""
    opt = gpu_option(usd_per_gpu_hour=None, provider="aws", instance_type="p5.48xlarge", gpus_per_replica=2)
    o = evaluate(scenario(api(), opt, horizon_months=1)).option("8b-h100")
    node = o.facts.detail.offer
    assert node.gpus_per_node == 8 and node.replicas_per_node(2) == 4
    assert o.months[0].nodes == 1 and o.months[0].gpus == 8  # a whole node is paid for
    assert o.months[0].compute_usd == node.usd_per_node_hour * 730


def test_a_multi_gpu_replica_is_never_priced_from_single_gpu_offers() -> None:
    for o in offers_for("H100-SXM", gpus_per_replica=2, plan="on_demand", include_flagged=True):
        assert o.gpus_per_node >= 2


def test_flagged_rows_are_left_out_unless_asked_for() -> None:
    flagged = [p for p in catalog().prices if p.flag]
    assert {p.flag for p in flagged} >= {"anomaly", "marketplace", "suspect"}
    default = offers_for("L40S", gpus_per_replica=1, plan="on_demand")
    assert all(o.flag is None for o in default)
    assert any(
        o.flag == "anomaly" for o in offers_for("L40S", gpus_per_replica=1, plan="on_demand", include_flagged=True)
    )


def test_the_newest_dated_price_wins_and_aws_p5_is_after_the_2025_cut() -> None:
    p5 = [o for o in offers_for("H100-SXM", gpus_per_replica=8, plan="on_demand", provider="aws")]
    big = next(o for o in p5 if o.instance_type == "p5.48xlarge")
    assert big.usd_per_node_hour == Decimal("55.04")  # was 98.32 before AWS's mid-2025 price cut


def test_stale_prices_are_flagged_where_they_are_used() -> None:
    s = scenario(api(), gpu_option(usd_per_gpu_hour=None, provider="lambda"), horizon_months=1)
    o = evaluate(s).option("8b-h100")
    assert any("days old" in w for w in o.warnings)


# ---------------------------------------------------------------------------------------- 3. cheapest shape


def test_auto_shape_picks_the_cheapest_not_the_fewest_gpus() -> None:
    """Llama 3.3 70B FP8 fits on one H100 (80 GiB) with ~4 GB of KV: a few streams per replica. Two GPUs hold
    ten times the KV and cost less for the same traffic."""
    d = preset("api-bill-10k-50k").model_dump(mode="json")
    opt = next(o for o in d["options"] if o["name"] == "Llama 3.3 70B FP8 on 2× H100")
    opt.pop("gpus_per_replica")
    s = Scenario.model_validate(d)
    o = evaluate(s).option(opt["name"])
    assert o.replica.gpus_per_replica >= 2
    assert o.alternatives and o.alternatives[0][0].startswith("runner-up shape")
    assert o.alternatives[0][1] >= o.horizon_usd
    one = evaluate(
        Scenario.model_validate(
            {**d, "options": [{**x, "gpus_per_replica": 1} if x is opt else x for x in d["options"]]}
        )
    ).option(opt["name"])
    assert one.horizon_usd > Decimal("1.3") * o.horizon_usd
    assert one.replica.estimate.max_concurrency * 10 < o.replica.estimate.max_concurrency
    # with 8k-token prompts the one card's KV room holds fewer than 8 streams, and the warning names it
    long = {**d, "workload": {**d["workload"], "input_tokens_per_request": 8000}}
    long["options"] = [{**x, "gpus_per_replica": 1} if x is opt else x for x in d["options"]]
    tight = evaluate(Scenario.model_validate(long)).option(opt["name"])
    assert tight.replica.estimate.max_concurrency < 8
    assert any("holds only" in w for w in tight.warnings)


# ---------------------------------------------------------------------------------------- 4. capacity planning


def test_erlang_c_matches_hand_values() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = ρ
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert p95_wait_s(1, 0.5, 1.0) == pytest.approx(math.log(0.5 / 0.05) / 0.5)


def test_queueing_lowers_the_planned_utilisation_when_ttft_headroom_is_small() -> None:
    roomy = plan_utilisation(streams=64, service_s=10, ttft_ms=300, ttft_target_ms=2000, target=0.75)
    tight = plan_utilisation(streams=4, service_s=10, ttft_ms=1800, ttft_target_ms=2000, target=0.75)
    assert roomy.utilisation == 0.75 and roomy.limited_by == "target"
    assert tight.utilisation < 0.75 and tight.limited_by.startswith("queueing")
    assert tight.p95_ttft_ms <= 2000 + 1e-6


def test_replicas_are_planned_at_the_target_utilisation_plus_spare() -> None:
    w = workload(requests_per_month=4_000_000)
    r = evaluate(scenario(api(), gpu_option(), workload=w, horizon_months=1)).option("8b-h100")
    cap, u = r.replica.output_tokens_per_s, r.replica.queue.utilisation
    peak = 4_000_000 * 200 / (730 * 3600)
    assert r.months[0].replicas == max(1, math.ceil(peak / (cap * u)))
    spare = evaluate(scenario(api(), gpu_option(n_plus_1=True), workload=w, horizon_months=1)).option("8b-h100")
    assert spare.months[0].replicas == r.months[0].replicas + 1


def test_batch_work_served_off_peak_lowers_the_peak() -> None:
    w = workload(requests_per_month=40_000_000, peak_to_average=3, batch_share=0.6)
    on = evaluate(scenario(api(), gpu_option(), workload=w, horizon_months=1)).option("8b-h100")
    off = evaluate(scenario(api(), gpu_option(batch_off_peak=True), workload=w, horizon_months=1)).option("8b-h100")
    assert off.months[0].replicas < on.months[0].replicas


def test_prompt_cache_share_reaches_self_hosted_prefill() -> None:
    w = workload(input_tokens_per_request=6000, cached_input_share=0.0)
    cold = evaluate(scenario(api(), gpu_option(), workload=w, horizon_months=1)).option("8b-h100").replica
    warm = evaluate(
        scenario(api(), gpu_option(), workload=w.model_copy(update={"cached_input_share": 0.8}), horizon_months=1)
    ).option("8b-h100")
    assert warm.replica.estimate.ttft_ms < cold.estimate.ttft_ms


# ---------------------------------------------------------------------------------------- 5. commitments


def _committed(**kw: object) -> CloudGpuOption:
    c = Commitment(term_years=1, **kw)  # type: ignore[arg-type]
    return gpu_option(
        usd_per_gpu_hour=None, provider="gcp", gpu="L4", gpus_per_replica=1, commitment=c, instance_type="g2-standard-4"
    )


def test_a_commitment_is_a_fixed_quantity_for_a_fixed_term_without_a_trend_inside_it() -> None:
    w = workload(requests_per_month=30_000_000, monthly_growth_pct=5)
    s = scenario(api(), _committed(committed_nodes=2), workload=w, horizon_months=24, gpu_price_change_pct_per_year=-10)
    o = evaluate(s).option("8b-h100")
    cp = o.facts.detail.commit
    rate = cp.offer.usd_per_node_hour * 730
    od = o.facts.detail.offer.usd_per_node_hour
    for m in o.months[:12]:
        burst = max(0, m.nodes - 2)
        trend = (Decimal("0.9")) ** (Decimal(m.month - 1) / 12)
        expected = 2 * rate + burst * od * 730 * trend
        assert m.compute_usd == pytest.approx(expected, abs=Decimal("0.01"))
    # the second term starts at month 13 at the price of that day
    assert o.months[12].compute_usd - max(0, o.months[12].nodes - 2) * od * 730 * Decimal("0.9") == pytest.approx(
        2 * rate * Decimal("0.9"), abs=Decimal("0.01")
    )


def test_all_upfront_is_paid_on_day_one_in_cash_and_spread_in_accounting() -> None:
    s = scenario(api(), _committed(committed_nodes=1, payment="all_upfront"), horizon_months=12)
    o = evaluate(s).option("8b-h100")
    monthly = o.facts.detail.commit.offer.usd_per_node_hour * 730
    assert o.months[0].prepaid_cash_usd == pytest.approx(monthly * 12, abs=Decimal("0.01"))
    assert all(m.prepaid_amortised_usd == pytest.approx(monthly, abs=Decimal("0.01")) for m in o.months)
    assert o.horizon_cash_usd == pytest.approx(o.horizon_accounting_usd, abs=Decimal("0.01"))


def test_a_commitment_shows_its_on_demand_alternative_and_the_suggested_base() -> None:
    w = workload(requests_per_month=30_000_000, monthly_growth_pct=5)
    o = evaluate(scenario(api(), _committed(), workload=w, horizon_months=24)).option("8b-h100")
    cp = o.facts.detail.commit
    assert cp.nodes == cp.suggested_nodes == min(m.nodes for m in o.months if m.nodes)
    assert any(label.startswith("on-demand only") for label, _ in o.alternatives)


def test_a_commitment_dearer_than_on_demand_says_so() -> None:
    """Committing 300 nodes to a load that needs about 100 is dearer than staying on-demand."""
    o = evaluate(scenario(api(), _committed(committed_nodes=300), horizon_months=12)).option("8b-h100")
    (_label, od_cost) = next(a for a in o.alternatives if a[0].startswith("on-demand"))
    assert od_cost < o.horizon_usd
    assert any("do not commit" in w for w in o.warnings)


def test_commitments_come_from_the_same_provider() -> None:
    """'1-year commitment' never silently switches an on-demand Lambda option to GCP."""
    opt = gpu_option(usd_per_gpu_hour=None, provider="lambda", price_plan="commit_1yr")
    with pytest.raises(Exception, match="no 1-year commitment price"):
        evaluate(scenario(api(), opt, horizon_months=1))


# ---------------------------------------------------------------------------------------- 6. full cost lines


def test_every_cost_line_lands_in_its_month() -> None:
    costs = SelfHostCosts(
        engineering_fte=0,
        cpu_host_usd_per_replica_month=Decimal(100),
        storage_usd_per_month=Decimal(50),
        network_usd_per_month=Decimal(25),
        egress_usd_per_gb=Decimal("0.09"),
        staging_share=0.1,
        oncall_fte_per_block=0.5,
        replicas_per_oncall_block=10,
        loaded_salary_usd_per_year=Decimal(120_000),
    )
    s = scenario(api(), gpu_option(costs=costs, switch_usd=Decimal(5000)), horizon_months=2)
    m1, m2 = evaluate(s).option("8b-h100").months
    compute = m1.compute_usd
    egress = m1.output_tokens * 4 / Decimal("1e9") * Decimal("0.09")
    assert m1.infra_usd == pytest.approx(m1.replicas * 100 + 75 + egress + compute / 10, abs=Decimal("1e-9"))
    assert m1.people_usd == Decimal("0.5") * 120_000 / 12  # one on-call block
    assert m1.one_off_usd == Decimal(5000) and m2.one_off_usd == 0


def test_switch_cost_applies_to_apis_too_but_never_to_the_baseline() -> None:
    s = scenario(api(switch_usd=Decimal(9)), api("mini", model="gpt-4o-mini", switch_usd=Decimal(7000)))
    r = evaluate(s)
    assert r.option("gpt-4o").months[0].one_off_usd == 0
    assert r.option("mini").months[0].one_off_usd == Decimal(7000)


# ---------------------------------------------------------------------------------------- 7. token multipliers


def test_token_multipliers_scale_what_an_option_bills() -> None:
    s = scenario(api(), api("verbose", output_token_multiplier=2.0), horizon_months=1)
    r = evaluate(s)
    base, verbose = r.option("gpt-4o").months[0].api_usd, r.option("verbose").months[0].api_usd
    # gpt-4o: $2.50/M input, $10/M output; 1000 in + 200 out → 400 out doubles the output part
    assert base == Decimal(1_000_000) * (1000 * Decimal("2.5") + 200 * 10) / Decimal("1e6")
    assert verbose - base == Decimal(1_000_000) * 200 * 10 / Decimal("1e6")
    more = evaluate(scenario(api(), gpu_option(output_token_multiplier=3.0), horizon_months=1))
    assert more.option("8b-h100").replica.estimate.output_tokens == 600


def test_negotiated_per_token_prices_replace_list_prices() -> None:
    s = scenario(api(input_usd_per_mtok=Decimal(1), output_usd_per_mtok=Decimal(4)), horizon_months=1)
    assert evaluate(s).option("gpt-4o").months[0].api_usd == Decimal(1_000_000) * (1000 + 200 * 4) / Decimal("1e6")


# ---------------------------------------------------------------------------------------- 8. sensitivity


def test_tornado_covers_decimal_inputs_gpu_price_throughput_and_zeros() -> None:
    d = preset("code-assistant").model_dump(mode="json")
    d["options"] = [o for o in d["options"] if o["name"].startswith("Claude Sonnet") or o["kind"] == "on_prem"]
    s = Scenario.model_validate(d)
    assert evaluate(s, with_uncertainty=False).best == s.options[1].name  # the owned servers win
    bars = {b.path: b for b in tornado(s)}
    paths = set(bars)
    assert "workload.requests_per_month" in paths
    assert "options.1.server_capex_usd" in paths and "options.1.usd_per_kwh" in paths  # Decimal fields
    assert any(p.endswith("loaded_salary_usd_per_year") for p in paths)  # a Decimal field
    assert any(p.endswith("setup_usd") for p in paths)
    assert any(b.note.startswith("from 0 by") for b in bars.values())  # zero inputs move by a step
    assert any(p.endswith("measured_output_tokens_per_s") and "error band" in b.note for p, b in bars.items())


def test_gpu_hour_bar_survives_float_noise() -> None:
    """1.8 × 0.8 = 1.4400000000000002 once broke validation (10 decimal places)."""
    d = preset("api-bill-10k-50k").model_dump(mode="json")
    first_api = next(o for o in d["options"] if o["kind"] == "api")
    gpu = {**next(o for o in d["options"] if o["kind"] == "cloud_gpu"), "usd_per_gpu_hour": None}
    d["options"] = [first_api, gpu]
    d["options"][1]["provider"] = None
    d.pop("baseline", None)
    s = Scenario.model_validate(d)
    bars = tornado(s.model_copy(update={"sensitivity_pct": 20.0}))
    assert any(b.path.endswith("usd_per_gpu_hour") for b in bars)


def test_accounting_only_inputs_are_labelled() -> None:
    s = scenario(
        api(),
        _on_prem(resale_pct_at_horizon=20),
        workload=workload(requests_per_month=30_000_000),
        horizon_months=24,
        cost_lens=CostLens.ACCOUNTING,
    )
    bars = {b.path.split(".")[-1]: b for b in tornado(s)}
    assert "accounting only" in bars["amortisation_years"].note


# ---------------------------------------------------------------------------------------- 9. uncertainty


@pytest.mark.parametrize("stem", sorted(PRESETS.values()))
def test_monte_carlo_at_zero_spread_is_the_engine(stem: str) -> None:
    """The vectorised restatement of every kind's cost lines reproduces the exact engine."""
    s = preset(stem)
    r = evaluate(s, with_uncertainty=False)
    costs = horizon_costs(r, Draws.point(s))
    for o in r.options:
        assert costs[o.name][0] == pytest.approx(float(o.horizon_usd), rel=1e-9, abs=0.01), o.name


def test_monte_carlo_is_seeded_ordered_and_on_every_option() -> None:
    s = preset("api-bill-10k-50k")
    a, b = evaluate(s), evaluate(s)
    for oa, ob in zip(a.options, b.options, strict=True):
        assert oa.uncertainty == ob.uncertainty
        u = oa.uncertainty
        assert u is not None and u.draws == 1000
        assert u.p10_usd <= u.p50_usd <= u.p90_usd
        assert 0 <= u.p_saving_positive <= 1


# ---------------------------------------------------------------------------------------- 10. the verdict


def test_a_trivial_saving_is_no_material_difference() -> None:
    """$10 a month is not a reason to switch."""
    s = scenario(api(), api("same", discount_pct=0.1), horizon_months=36)
    r = evaluate(s)
    assert r.decision == "no material difference" and r.recommended is None
    assert r.verdict.startswith("No material difference")


def test_an_unlikely_saving_says_measure_first() -> None:
    """A saving that rests on an unmeasured throughput guess, with a ±80 % error, is not advised yet."""
    w = workload(requests_per_month=300_000_000)
    probe = evaluate(scenario(api(), gpu_option(), workload=w, horizon_months=1), with_uncertainty=False)
    fleet = probe.option("8b-h100").months[0].replicas
    api_month = probe.option("gpt-4o").months[0].api_usd
    price = (api_month * Decimal("0.85") / (fleet * 730)).quantize(Decimal("0.0001"))  # 15 % cheaper at the estimate
    base = scenario(api(), gpu_option(usd_per_gpu_hour=price), workload=w, horizon_months=12)
    u = base.uncertainty.model_copy(update={"throughput_error_pct": 80.0})
    r = evaluate(base.model_copy(update={"uncertainty": u}))
    o = r.option("8b-h100")
    assert o.horizon_usd < r.baseline_result.horizon_usd  # the point estimate saves
    assert o.uncertainty is not None and o.uncertainty.p_saving_positive < 0.8
    assert r.decision == "uncertain" and r.recommended is None
    assert "opentco measure" in r.verdict


def test_the_verdict_names_the_fleet_and_the_model_class() -> None:
    s = scenario(api(), gpu_option(), workload=workload(requests_per_month=60_000_000), horizon_months=12)
    r = evaluate(s)
    assert r.recommended == "8b-h100"
    o = r.option("8b-h100")
    assert f"on {o.fleet_peak[1]}× H100-SXM at peak" in r.verdict
    assert "Llama 3.1 8B" in r.verdict and "quality" in r.verdict


# ---------------------------------------------------------------------------------------- 11. presets and files


def test_every_preset_has_a_current_frontier_baseline_or_option() -> None:
    current = ("gpt-5", "claude-sonnet-4-5", "claude-haiku-4-5", "gemini-2.5")
    for stem in PRESETS.values():
        models = [getattr(o, "model", "") for o in preset(stem).options if o.kind == "api"]
        assert any(m.startswith(current) for m in models), stem


def test_old_scenario_files_still_load(tmp_path) -> None:
    old = tmp_path / "old.json"
    old.write_text(
        '{"options": [{"kind": "api", "name": "a", "provider": "openai", "model": "gpt-4o"},'
        '{"kind": "on_prem", "name": "b", "model": "llama-3.1-8b", "gpu": "H100-SXM"}]}'
    )
    s = load_scenario(old)
    assert s.cost_lens is CostLens.CASH and s.options[1].target_utilisation == 0.75
    r = evaluate(s)
    assert r.options[1].months


def test_bad_new_values_get_field_level_messages() -> None:
    with pytest.raises(Exception) as ex:
        Scenario.from_json('{"options": [{"kind": "cloud_gpu", "name": "x", "model": "m", "gpu": "g",'
                           ' "target_utilisation": 1.5}]}', source="mine.json")  # fmt: skip
    text = str(ex.value)
    assert "mine.json" in text and "target_utilisation" in text


def test_kinds_are_one_module_each() -> None:
    kinds = {o.kind for stem in PRESETS.values() for o in preset(stem).options}
    for k in kinds:
        mod = kind_of(next(o for stem in PRESETS.values() for o in preset(stem).options if o.kind == k))
        assert all(callable(getattr(mod, f)) for f in ("facts", "months", "simulate"))


def _first_crossing_cases() -> list[tuple[Scenario, str, str]]:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "export" / "scenarios"
    s = Scenario.model_validate_json((root / "every-cost-line.json").read_text())
    return [
        (s, o.name, a.name)
        for o in s.options
        if isinstance(o, CloudGpuOption | OnPremOption)
        for a in s.options
        if isinstance(a, ApiOption)
    ]


@pytest.mark.parametrize(("s", "option", "api"), _first_crossing_cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_break_even_is_the_first_crossing(s: Scenario, option: str, api: str) -> None:
    """On-call staff come in blocks of replicas and a commitment covers only its first nodes, so the cost gap to an
    API can cross zero, turn positive and cross again. The break-even volume is the first crossing: no replica
    step's top below it already pays off (the workbook's search table takes the first row that pays off, too)."""
    from costmodel.breakeven import _step_volume, break_even_volume, steady_month_usd

    opt, a = s.option(option), s.option(api)
    v = break_even_volume(opt, a, s)
    facts = kind_of(opt).facts(opt, s, share=Decimal(1))
    per_token = steady_month_usd(a, s, Decimal(1_000_000)) / Decimal(1_000_000)

    def gap(x: Decimal) -> Decimal:
        return steady_month_usd(opt, s, x, facts=facts) - per_token * x

    step = _step_volume(opt, s)
    if v is None:  # "never": no step top pays off over a long stretch either
        assert all(gap(step * k) > 0 for k in (1, 2, 3, 10, 100, 1000, 4096))
        return
    assert gap(v) <= Decimal("0.01")
    below = [k for k in range(1, int(v / step) + 1) if step * k < v and gap(step * k) <= 0]
    assert below == [], f"steps {below[:5]} already pay off below {v:,.0f} tokens/month"
