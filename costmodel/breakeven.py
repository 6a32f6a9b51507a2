"""Break-even volume: the monthly token volume at which an option costs the same as an API.

An API's cost is linear in volume; a self-hosted option's is a step function (one step per replica,
node or server) plus fixed people costs. Both are compared in steady state: month 1 with no growth, no
price trend and no one-off costs, in the accounting view (a steady month's amortised cost), with the
replica shape the full evaluation chose held fixed. Within each replica step the crossing is found by
bisection on the real
evaluator, so the reported volume makes both options cost the same when evaluated (to a fraction of a
cent), except where the crossing falls exactly on a step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

from costmodel.options.base import Facts
from costmodel.scenario import ApiOption, CloudGpuOption, HybridOption, OnPremOption, Option, Scenario

__all__ = ["break_even_volume", "pin_shapes", "pinned_scenario", "steady_month_usd"]

_MAX_STEPS = 1 << 20
"""Replica steps searched before declaring that an option never breaks even."""
_BISECTIONS = 44
"""Halvings of the crossing step: 2⁻⁴⁴ of a step, far below a cent."""


def pin_shapes(
    scenario: Scenario, gpus_by_option: dict[str, int], instances: dict[str, tuple[str, str]] | None = None
) -> Scenario:
    """The scenario with each self-hosted option's GPUs per replica (and rented instance) fixed as chosen.

    Searches over volume or inputs then move along one cost curve instead of jumping between shapes.
    """
    instances = instances or {}
    options = []
    for o in scenario.options:
        update: dict[str, object] = {}
        if isinstance(o, CloudGpuOption | OnPremOption) and o.gpus_per_replica is None and o.name in gpus_by_option:
            update["gpus_per_replica"] = gpus_by_option[o.name]
        if isinstance(o, CloudGpuOption) and o.name in instances and o.usd_per_gpu_hour is None:
            update["provider"], update["instance_type"] = instances[o.name]
        options.append(o.model_copy(update=update) if update else o)
    return scenario.model_copy(update={"options": options})


def pinned_scenario(scenario: Scenario, facts_by_option: dict[str, object]) -> Scenario:
    """`scenario` with every self-hosted option pinned to the shape and instance its evaluation chose."""
    gpus: dict[str, int] = {}
    instances: dict[str, tuple[str, str]] = {}
    for name, f in facts_by_option.items():
        detail = getattr(f, "detail", None)
        rep = getattr(detail, "replica", None)
        if rep is not None:
            gpus[name] = rep.gpus_per_replica
        offer = getattr(detail, "offer", None)
        if offer is not None and not offer.typed:
            instances[name] = (offer.provider, offer.instance_type)
    return pin_shapes(scenario, gpus, instances)


def _steady(scenario: Scenario, tokens_per_month: Decimal) -> Scenario:
    """The scenario in steady state at a given monthly volume (input + output tokens)."""
    w = scenario.workload
    requests = float(tokens_per_month) / w.tokens_per_request
    workload = w.model_copy(update={"requests_per_month": requests, "monthly_growth_pct": 0.0})
    return scenario.model_copy(
        update={
            "workload": workload,
            "horizon_months": 1,
            "api_price_change_pct_per_year": 0.0,
            "gpu_price_change_pct_per_year": 0.0,
        }
    )


def steady_month_usd(
    option: Option, scenario: Scenario, tokens_per_month: Decimal, *, facts: Facts | None = None
) -> Decimal:
    """Recurring monthly cost of `option` at a volume (one-off costs left out).

    `facts` (the option's sizing at the scenario's own volume) are reused when given: the shape,
    instance and any commitment stay as chosen while the volume moves, and the search runs fast.
    """
    from costmodel.options import kind_of

    steady = _steady(scenario, tokens_per_month)
    kind = kind_of(option)
    f = facts or kind.facts(option, steady, share=Decimal(1))
    m = kind.months(option, f, steady, share=Decimal(1))[0]
    return m.total_usd - m.one_off_usd


def break_even_volume(option: Option, api: ApiOption, scenario: Scenario) -> Decimal | None:
    """Lowest monthly volume (input + output tokens) from which `option` costs no more than `api`.

    Returns None when the option never gets cheaper (its cost per extra token exceeds the API's).
    """
    if isinstance(option, ApiOption):
        return None
    if isinstance(option, HybridOption) and isinstance(scenario.option(option.open_option), ApiOption):
        return None  # all per-token: no capacity step at which the costs cross
    from costmodel.options import kind_of

    option = scenario.option(option.name)
    api_per_token = steady_month_usd(api, scenario, Decimal(1_000_000)) / Decimal(1_000_000)
    if api_per_token <= 0:
        return None
    facts = kind_of(option).facts(option, scenario, share=Decimal(1))

    def gap(v: Decimal) -> Decimal:
        return steady_month_usd(option, scenario, v, facts=facts) - api_per_token * v

    step = _step_volume(option, scenario)
    block = _block(option, scenario)
    # Replicas pack `block` to a node or server, so cost is flat within a block and steps up between
    # blocks: inside a block the gap is lowest at its top. Galloping over block tops finds a block that
    # crosses (or, past _MAX_STEPS, that none does). The gap is not monotone in blocks — on-call staff come
    # in blocks of replicas and a commitment covers only its first nodes — so it can cross, turn positive
    # and cross again; the answer is the *first* crossing, found by `_first_crossing_block`. Inside that
    # block, the first replica step whose top crosses by a scan; the exact volume by bisection over volume.
    top = step * block
    if gap(top) > 0:
        j_hi = 1
        while gap(top * j_hi) > 0:
            if j_hi * block >= _MAX_STEPS:
                return None
            j_hi = min(j_hi * 2, max(1, _MAX_STEPS // block))
        first_k = (_first_crossing_block(gap, top, api_per_token * top, j_hi) - 1) * block + 1
    else:
        first_k = 1
    k = next(k for k in range(first_k, first_k + block) if k == first_k + block - 1 or gap(step * k) <= 0)
    a, b = step * (k - 1), step * k
    for _ in range(_BISECTIONS):  # gap(a) > 0 (or a = 0), gap(b) <= 0
        mid = (a + b) / 2
        if gap(mid) <= 0:
            b = mid
        else:
            a = mid
    return b


def _first_crossing_block(
    gap: Callable[[Decimal], Decimal], top: Decimal, api_usd_per_block: Decimal, j_hi: int
) -> int:
    """The first block j ≤ `j_hi` whose top has gap ≤ 0, given gap(j_hi · top) ≤ 0.

    Why a skipping scan and not bisection: the gap at block tops can fall below zero and rise again, so
    bisection would find *a* crossing, not the first (the workbook's search table takes the first). One more
    block adds at least nothing to the option's cost and exactly `api_usd_per_block` to the API's, so the gap
    falls by at most that per block: from a positive gap g, no block before the next ⌈g ÷ api_usd_per_block⌉
    can cross, and the scan jumps there. Blocks where the gap is far above zero are skipped in few steps.
    """
    j = 1
    while j < j_hi:
        g = gap(top * j)
        if g <= 0:
            return j
        j = min(j_hi, j + max(1, math.ceil(g / api_usd_per_block)))
    return j_hi


def _block(option: Option, scenario: Scenario) -> int:
    """Replicas that share one rented node or owned server (cost is flat across them)."""
    from costmodel.options import kind_of

    inner = scenario.option(option.open_option) if isinstance(option, HybridOption) else option
    if not isinstance(inner, CloudGpuOption | OnPremOption):
        return 1
    detail = kind_of(inner).facts(inner, _steady(scenario, Decimal(1))).detail
    g = detail.replica.gpus_per_replica
    if isinstance(inner, OnPremOption):
        return max(1, inner.gpus_per_server // g)
    return max(1, detail.offer.replicas_per_node(g))


def _step_volume(option: Option, scenario: Scenario) -> Decimal:
    """Monthly tokens one replica (or, for a hybrid, its open part) carries at the peak ratio."""
    from costmodel.sizing import resolve_replica

    if isinstance(option, HybridOption):
        inner = scenario.option(option.open_option)
        share = Decimal(str(option.open_share)) or Decimal(1)
        return _step_volume(inner, scenario) / share
    assert isinstance(option, CloudGpuOption | OnPremOption), type(option)
    w = scenario.workload
    rep = resolve_replica(option, w)
    out_mult = Decimal(rep.estimate.output_tokens) / w.output_tokens_per_request
    out_per_month = (
        Decimal(str(rep.planned_output_tokens_per_s))
        / out_mult
        * w.operating_hours_per_month
        * 3600
        / Decimal(str(w.peak_to_average))
    )
    return out_per_month * w.tokens_per_request / w.output_tokens_per_request
