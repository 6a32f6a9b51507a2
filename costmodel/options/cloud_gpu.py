"""Rented GPUs billed per instance-hour: dedicated endpoints and cloud instances.

Sizing hooks: the replica shape (GPUs per replica) and the instance it runs on are chosen together, as
the pair with the lowest horizon cost under the lens in force (tensor-parallel degrees 1/2/4/8 and
multi-node shapes where the model needs them), unless the option fixes them. Replicas pack onto whole
nodes and whole nodes are paid for.

Commitments are sold as clouds sell them: a fixed number of nodes for a fixed term (1 or 3 years) at the
price in force when the term starts (no trend inside a term), paid monthly, half upfront or all
upfront; traffic above the base bursts on-demand at that day's price. The suggested base is the fewest
nodes any month of the horizon needs (capacity that is never idle).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from costmodel.catalog import catalog
from costmodel.errors import ScenarioError
from costmodel.gpu_offers import Offer, choose_offer, offers_for, typed_offer
from costmodel.options._self_hosted import (
    RunningCosts,
    available_hours,
    fleet_sources,
    fleet_warnings,
    one_off_usd,
    peak_array,
    peak_output_tokens_per_s,
    rank_shapes,
)
from costmodel.options.base import ONE, SECONDS_PER_HOUR, ZERO, Facts, MonthCost, SourceLine, d, trend, volume
from costmodel.scenario import HOURS_PER_MONTH, CloudGpuOption, Commitment, PricePlan, Scenario
from costmodel.sizing import ReplicaSpec, effective_tokens, resolve_replica

if TYPE_CHECKING:
    import numpy as np

    from costmodel.uncertainty import Draws

__all__ = ["CloudPlan", "CommitPlan", "facts", "months", "plan_for", "simulate"]

_UPFRONT_SHARE = {"none": Decimal(0), "partial": Decimal("0.5"), "all_upfront": Decimal(1)}
"""Share of a term's commitment paid on its first day; 'partial' is half, as AWS's Partial Upfront."""


@dataclass(frozen=True)
class CommitPlan:
    """A commitment as sold: nodes, term, payment and the price per node-hour for the term."""

    offer: Offer
    term_months: int
    payment: str
    nodes: int
    suggested_nodes: int

    @property
    def upfront_share(self) -> Decimal:
        return _UPFRONT_SHARE[self.payment]


@dataclass(frozen=True)
class CloudPlan:
    """Everything a cloud option's months need: the replica, the instance, the commitment."""

    replica: ReplicaSpec
    offer: Offer
    """Instance billed on-demand (or spot): the whole fleet without a commitment, the burst with one."""
    commit: CommitPlan | None
    hours_paid: Decimal
    """Hours a month each on-demand node is paid for (730, or the operating hours when scaling to zero)."""
    floor: int
    share: Decimal

    @property
    def interconnect_nodes_per_replica(self) -> int:
        n = self.offer.nodes_per_replica(self.replica.gpus_per_replica)
        return n if n > 1 else 0


def _plan_name(option: CloudGpuOption) -> str:
    if option.price_plan is PricePlan.SPOT:
        return "spot"
    return "on_demand"


def _commitment(option: CloudGpuOption) -> Commitment | None:
    """The option's commitment; the older `price_plan` commit_1yr/commit_3yr means one of the suggested size."""
    if option.commitment is not None:
        return option.commitment
    if option.price_plan is PricePlan.COMMIT_1YR:
        return Commitment(term_years=1)
    if option.price_plan is PricePlan.COMMIT_3YR:
        return Commitment(term_years=3)
    return None


def _replicas_by_month(option: CloudGpuOption, rep: ReplicaSpec, scenario: Scenario, share: Decimal) -> list[int]:
    w = scenario.workload
    out_mult = d(rep.estimate.output_tokens) / w.output_tokens_per_request
    return [
        rep.replicas_for(
            peak_output_tokens_per_s(option, w, volume(w, m, share)[2] * out_mult), max(0, option.min_replicas)
        )
        for m in range(1, scenario.horizon_months + 1)
    ]


def _commit_offer(option: CloudGpuOption, c: Commitment, gpu_id: str, g: int, like: Offer) -> tuple[Offer, Offer]:
    """(commitment offer, on-demand offer for bursts) at one provider and instance shape."""
    plan = f"commit_{c.term_years}yr"
    rows = offers_for(gpu_id, gpus_per_replica=g, plan=plan, provider=option.provider,
                      include_flagged=option.include_flagged_prices)  # fmt: skip
    if c.payment != "none":
        paid = [o for o in rows if _payment(o) == c.payment]
        rows = paid or rows
    if not rows:
        plans = sorted({p.plan for p in catalog().gpu_prices(gpu_id, provider=option.provider)})
        where = f" at {option.provider}" if option.provider else ""
        raise ScenarioError(
            f"option {option.name!r}: no {c.term_years}-year commitment price for {gpu_id}{where} in data/ "
            f"(listed plans: {', '.join(plans) or 'none'}); type commitment.usd_per_gpu_hour, or choose "
            "another provider or GPU"
        )
    same = [o for o in rows if o.provider == like.provider and o.gpus_per_node == like.gpus_per_node]
    commit = (same or rows)[0]
    burst = like
    if commit.provider != like.provider or commit.gpus_per_node != like.gpus_per_node:
        od = [
            o
            for o in offers_for(
                gpu_id, gpus_per_replica=g, plan="on_demand", provider=commit.provider, include_flagged=True
            )
            if o.gpus_per_node == commit.gpus_per_node
        ]
        burst = od[0] if od else replace(commit, plan="on_demand")
    if c.usd_per_gpu_hour is not None:
        commit = replace(
            commit, usd_per_node_hour=c.usd_per_gpu_hour * commit.gpus_per_node, source="typed by the user", typed=True
        )
    return commit, burst


def _payment(o: Offer) -> str:
    return o.payment or "none"


def _plan_for_shape(option: CloudGpuOption, scenario: Scenario, share: Decimal, g: int) -> CloudPlan:
    w = scenario.workload
    rep = resolve_replica(option, w, gpus=g)
    replicas = _replicas_by_month(option, rep, scenario, share)
    plan = _plan_name(option)
    c = _commitment(option)
    offers = offers_for(rep.gpu.gpu_id, gpus_per_replica=g, plan=plan, provider=option.provider,
                        include_flagged=option.include_flagged_prices)  # fmt: skip
    if option.instance_type:
        offers = [o for o in offers if o.instance_type.lower() == option.instance_type.lower()]
    if option.usd_per_gpu_hour is not None:
        like = choose_offer(offers, gpus_per_replica=g, replicas_by_month=replicas) if offers else None
        offer = typed_offer(option.usd_per_gpu_hour, like=like, gpus_per_replica=g, plan=plan)
    elif offers:
        offer = choose_offer(offers, gpus_per_replica=g, replicas_by_month=replicas)
    elif c is None:
        where = f" at {option.provider}" if option.provider else ""
        plans = sorted({p.plan for p in catalog().gpu_prices(rep.gpu.gpu_id, provider=option.provider)})
        flagged = [p for p in catalog().gpu_prices(rep.gpu.gpu_id, plan=plan, provider=option.provider) if p.flag]
        hint = f"; {len(flagged)} flagged row(s) exist (include_flagged_prices shows them)" if flagged else ""
        raise ScenarioError(
            f"option {option.name!r}: no {plan} price for {rep.gpu.gpu_id} instances of ≥{g} GPUs{where} in data/ "
            f"(listed plans: {', '.join(plans) or 'none'}){hint}; choose another plan, provider, GPU or "
            "gpus_per_replica, or type usd_per_gpu_hour"
        )
    else:
        offer = None  # type: ignore[assignment]
    commit = None
    if c is not None:
        like = offer or offers_for(rep.gpu.gpu_id, gpus_per_replica=g, plan=f"commit_{c.term_years}yr",
                                   provider=option.provider, include_flagged=True)[0]  # fmt: skip
        commit_offer, burst = _commit_offer(option, c, rep.gpu.gpu_id, g, like)
        if option.usd_per_gpu_hour is None:
            offer = burst
        nodes = [offer.nodes_for(r, g) for r in replicas]
        suggested = min(nodes)
        commit = CommitPlan(
            offer=commit_offer,
            term_months=12 * c.term_years,
            payment=c.payment,
            nodes=c.committed_nodes if c.committed_nodes is not None else suggested,
            suggested_nodes=suggested,
        )
    hours = available_hours(option, w)
    return CloudPlan(rep, offer, commit, hours, max(0, option.min_replicas), share)


def plan_for(option: CloudGpuOption, scenario: Scenario, share: Decimal = ONE) -> CloudPlan:
    """The cheapest (shape, instance) over the horizon in the lens in force; see `facts` for the runner-up."""
    return _ranked_plans(option, scenario, share)[0][1]


def _ranked_plans(option: CloudGpuOption, scenario: Scenario, share: Decimal) -> list[tuple[Decimal, CloudPlan]]:
    return rank_shapes(
        option,
        scenario,
        plan=lambda g: _plan_for_shape(option, scenario, share, g),
        months=lambda p: _months(option, p, scenario),
        gpus_of=lambda p: p.replica.gpus_per_replica,
    )


def _shape_label(plan: CloudPlan) -> str:
    return f"{plan.replica.gpus_per_replica}× {plan.replica.gpu.gpu_id} per replica on {plan.offer.instance_type}"


def facts(option: CloudGpuOption, scenario: Scenario, *, share: Decimal = ONE) -> Facts:
    ranked = _ranked_plans(option, scenario, share)
    plan = ranked[0][1]
    rep, offer = plan.replica, plan.offer
    today = scenario.price_date or date.today()
    src = fleet_sources(rep)
    src.append(
        SourceLine("Instance (on-demand)" if plan.commit else "Instance", _offer_value(offer, rep), offer.describe())
    )
    warns = fleet_warnings(option, rep)
    alternatives: list[tuple[str, Decimal]] = []
    if len(ranked) > 1:
        runner_cost, runner = ranked[1]
        alternatives.append((f"runner-up shape: {_shape_label(runner)}", runner_cost))
    if plan.commit is not None:
        cp = plan.commit
        src.append(
            SourceLine(
                f"{cp.term_months // 12}-year commitment",
                f"{cp.nodes} node(s) of {cp.offer.instance_type} at ${cp.offer.usd_per_node_hour}/node-hour, "
                f"payment {cp.payment} (suggested base: {cp.suggested_nodes} node(s))",
                cp.offer.describe(),
            )
        )
        od_option = option.model_copy(update={"commitment": None, "price_plan": PricePlan.ON_DEMAND})
        try:
            od_plan = _plan_for_shape(od_option, scenario, share, rep.gpus_per_replica)
            tax = d(scenario.tax_rate_pct) / 100
            od_cost = sum((m.cost_usd(scenario.cost_lens, tax) for m in _months(od_option, od_plan, scenario)), ZERO)
            alternatives.append((f"on-demand only ({od_plan.offer.provider} {od_plan.offer.instance_type})", od_cost))
            if od_cost < ranked[0][0]:
                warns.append(
                    f"{option.name}: the commitment costs ${ranked[0][0] - od_cost:,.0f} more over the horizon than "
                    "staying on-demand; do not commit at this base"
                )
        except ScenarioError:
            pass
        if cp.offer.is_stale(today):
            warns.append(_stale(option, cp.offer, today))
    if offer.is_stale(today):
        warns.append(_stale(option, offer, today))
    if offer.flag:
        warns.append(f"{option.name}: priced from a row flagged {offer.flag} ({offer.provider} {offer.instance_type})")
    desc = (
        f"{rep.model.name} · {rep.quant.quant_id} · {rep.gpus_per_replica}× {rep.gpu.gpu_id} per replica · "
        f"{offer.provider} {offer.instance_type} {'commitment' if plan.commit else option.price_plan.value}"
    )
    return Facts(desc, rep.basis.value, tuple(src), tuple(dict.fromkeys(warns)), plan, tuple(alternatives))


def _offer_value(offer: Offer, rep: ReplicaSpec) -> str:
    g = rep.gpus_per_replica
    per = offer.replicas_per_node(g)
    pack = f"{per} replica(s) per node" if per else f"{offer.nodes_per_replica(g)} nodes per replica"
    per_gpu = f"${offer.usd_per_gpu_hour:.4f}/GPU-hour"
    return f"${offer.usd_per_node_hour}/node-hour ({offer.gpus_per_node} GPUs, {per_gpu}), {pack}"


def _stale(option: CloudGpuOption, offer: Offer, today: date) -> str:
    return (
        f"{offer.provider} {offer.instance_type} price dated {offer.price_date} ({offer.age_days(today):,} days old): "
        "refresh it or type your own"
    )


def _term_start(month: int, term_months: int) -> int:
    return (month - 1) // term_months * term_months + 1


def _months(option: CloudGpuOption, plan: CloudPlan, scenario: Scenario) -> list[MonthCost]:
    w = scenario.workload
    rep, offer, cp = plan.replica, plan.offer, plan.commit
    g = rep.gpus_per_replica
    out_mult = d(effective_tokens(option, w)[1]) / w.output_tokens_per_request
    gpu_trend = scenario.gpu_price_change_pct_per_year
    running = RunningCosts.of(option)
    out = []
    for m in range(1, scenario.horizon_months + 1):
        req, inp, outp = volume(w, m, plan.share)
        out_eff = outp * out_mult
        replicas = rep.replicas_for(peak_output_tokens_per_s(option, w, out_eff), plan.floor)
        nodes = offer.nodes_for(replicas, g)
        prepaid_amortised = prepaid_cash = ZERO
        if cp is None:
            compute = nodes * offer.usd_per_node_hour * plan.hours_paid * trend(gpu_trend, m)
            paid_nodes = nodes
        else:
            start = _term_start(m, cp.term_months)
            committed = cp.nodes * cp.offer.usd_per_node_hour * HOURS_PER_MONTH * trend(gpu_trend, start)
            burst = max(0, nodes - cp.nodes) * offer.usd_per_node_hour * plan.hours_paid * trend(gpu_trend, m)
            compute = committed + burst
            prepaid_amortised = committed * cp.upfront_share
            if m == start:
                prepaid_cash = committed * cp.upfront_share * cp.term_months
            paid_nodes = max(nodes, cp.nodes)
        infra, people = running.month(
            replicas=replicas,
            interconnect_nodes=replicas * plan.interconnect_nodes_per_replica,
            output_tokens=out_eff,
            hardware_usd=compute,
        )
        capacity = replicas * rep.output_tokens_per_s * float(plan.hours_paid * SECONDS_PER_HOUR)
        out.append(
            MonthCost(
                month=m,
                requests=req,
                input_tokens=inp,
                output_tokens=outp,
                compute_usd=compute,
                infra_usd=infra,
                people_usd=people,
                one_off_usd=one_off_usd(option, m),
                prepaid_amortised_usd=prepaid_amortised,
                prepaid_cash_usd=prepaid_cash,
                replicas=replicas,
                nodes=paid_nodes,
                gpus=paid_nodes * offer.gpus_per_node,
                utilisation=float(out_eff) / capacity if capacity else 0.0,
            )
        )
    return out


def months(option: CloudGpuOption, facts: Facts, scenario: Scenario, *, share: Decimal = ONE) -> list[MonthCost]:
    return _months(option, facts.detail, scenario)


def simulate(
    option: CloudGpuOption, facts: Facts, scenario: Scenario, draws: Draws, *, share: Decimal = ONE
) -> np.ndarray:
    """Monthly cost per draw (draws × months) in the lens in force, restating `months` over arrays."""
    import numpy as np

    plan: CloudPlan = facts.detail
    w = scenario.workload
    rep, offer, cp = plan.replica, plan.offer, plan.commit
    g = rep.gpus_per_replica
    out_mult = effective_tokens(option, w)[1] / w.output_tokens_per_request
    req = draws.requests(scenario) * float(plan.share)
    out_eff = req * w.output_tokens_per_request * out_mult
    peak = peak_array(option, w, out_eff)
    cap = rep.output_tokens_per_s * draws.throughput_factor(rep.error_band_pct)
    util = draws.utilisation(rep.queue.utilisation)
    need = np.ceil(peak / (cap * util) - 1e-9)
    replicas = np.maximum(plan.floor, np.where(need > 0, need + rep.spare, rep.spare))
    per = offer.replicas_per_node(g)
    nodes = np.ceil(replicas / per) if per else replicas * offer.nodes_per_replica(g)
    gtrend = draws.gpu_trend(scenario)
    hours = float(plan.hours_paid)
    if cp is None:
        compute = nodes * float(offer.usd_per_node_hour) * hours * gtrend
        prepaid_amortised = prepaid_cash = 0.0
    else:
        months_idx = np.arange(scenario.horizon_months)
        starts = months_idx // cp.term_months * cp.term_months
        committed = cp.nodes * float(cp.offer.usd_per_node_hour) * float(HOURS_PER_MONTH) * gtrend[:, starts]
        burst = np.maximum(0, nodes - cp.nodes) * float(offer.usd_per_node_hour) * hours * gtrend
        compute = committed + burst
        up = float(cp.upfront_share)
        prepaid_amortised = committed * up
        prepaid_cash = np.where(months_idx == starts, committed * up * cp.term_months, 0.0)
    infra, people = RunningCosts.of(option).arrays(
        replicas=replicas,
        interconnect_nodes=replicas * plan.interconnect_nodes_per_replica,
        output_tokens=out_eff,
        hardware_usd=compute,
    )
    total = compute + infra + people
    total[:, 0] += float(option.costs.one_off_usd)
    cash = total - prepaid_amortised + prepaid_cash
    return draws.lens(scenario, cash=cash, accounting=total)
