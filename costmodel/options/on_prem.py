"""Owned servers: bought when the fleet needs them, powered, racked, maintained and finally sold.

Accounting view: each server is written off straight-line over its amortisation period. Cash view: a
server costs its price in the month it is bought, and at the horizon end the servers still owned are
credited at their resale value (a percentage the user types) or, by default, their book value — so a
server bought in the last month is not a sunk cost. Sizing hooks: the replica shape is the cheapest of
the tensor-parallel degrees the model fits on (unless fixed), replicas pack onto servers of
`gpus_per_server` GPUs, and servers are never sold while the horizon runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from costmodel.options._self_hosted import (
    RunningCosts,
    fleet_sources,
    fleet_warnings,
    one_off_usd,
    peak_array,
    peak_output_tokens_per_s,
    rank_shapes,
)
from costmodel.options.base import ONE, SECONDS_PER_HOUR, ZERO, Facts, MonthCost, SourceLine, d, volume
from costmodel.scenario import HOURS_PER_MONTH, OnPremOption, Scenario
from costmodel.sizing import ReplicaSpec, effective_tokens, resolve_replica

if TYPE_CHECKING:
    import numpy as np

    from costmodel.uncertainty import Draws

__all__ = ["OnPremPlan", "facts", "months", "simulate"]


@dataclass(frozen=True)
class OnPremPlan:
    replica: ReplicaSpec
    share: Decimal

    def servers_for(self, option: OnPremOption, replicas: int) -> int:
        g, gps = self.replica.gpus_per_replica, option.gpus_per_server
        if g <= gps:
            return math.ceil(replicas * g / gps)
        return replicas * math.ceil(g / gps)

    def interconnect_nodes(self, option: OnPremOption, replicas: int) -> int:
        g, gps = self.replica.gpus_per_replica, option.gpus_per_server
        return replicas * math.ceil(g / gps) if g > gps else 0


def residual_usd(option: OnPremOption, purchases: list[tuple[int, int]], horizon: int) -> Decimal:
    """Value of the servers owned at the horizon end: resale % of their price, else their book value."""
    capex = option.server_capex_usd
    if option.resale_pct_at_horizon is not None:
        return sum((n for _, n in purchases), 0) * capex * d(option.resale_pct_at_horizon) / 100
    life = d(option.amortisation_years) * 12
    return sum((n * capex * max(ZERO, ONE - min(life, Decimal(horizon - p + 1)) / life) for p, n in purchases), ZERO)


def _months(option: OnPremOption, plan: OnPremPlan, scenario: Scenario) -> list[MonthCost]:
    w, rep = scenario.workload, plan.replica
    life_months = d(option.amortisation_years) * 12
    capex_each = option.server_capex_usd
    out_mult = d(effective_tokens(option, w)[1]) / w.output_tokens_per_request
    purchases: list[tuple[int, int]] = []
    installed = 0
    op_h = w.operating_hours_per_month
    tdp, idle_share = d(rep.gpu.tdp_w or rep.watts_per_gpu_at_load), d(option.gpu_idle_power_share)
    idle_w = tdp * idle_share
    load_w = d(rep.watts_per_gpu_at_load)
    running = RunningCosts.of(option)
    out = []
    for m in range(1, scenario.horizon_months + 1):
        req, inp, outp = volume(w, m, plan.share)
        out_eff = outp * out_mult
        replicas = rep.replicas_for(peak_output_tokens_per_s(option, w, out_eff), option.min_replicas)
        active_gpus = replicas * rep.gpus_per_replica
        servers = plan.servers_for(option, replicas)
        bought = max(0, servers - installed)
        if bought:
            purchases.append((m, bought))
            installed += bought
        amortised = sum((n * capex_each / life_months for p, n in purchases if m - p < life_months), ZERO)
        capacity = replicas * rep.output_tokens_per_s * float(op_h * SECONDS_PER_HOUR)
        util = float(out_eff) / capacity if capacity else 0.0
        busy_w = idle_w + (load_w - idle_w) * d(min(util, 1.0))
        installed_gpus = installed * option.gpus_per_server
        watt_hours = (
            active_gpus * (busy_w * op_h + idle_w * (HOURS_PER_MONTH - op_h))
            + (installed_gpus - active_gpus) * idle_w * HOURS_PER_MONTH
            + installed * d(option.server_overhead_watts) * HOURS_PER_MONTH
        )
        power = watt_hours / 1000 * d(option.pue) * option.usd_per_kwh
        facility = (
            installed * option.rack_usd_per_server_month
            + installed * capex_each * d(option.maintenance_pct_per_year) / 100 / 12
        )
        infra, people = running.month(
            replicas=replicas,
            interconnect_nodes=plan.interconnect_nodes(option, replicas),
            output_tokens=out_eff,
            hardware_usd=amortised + power + facility,
        )
        last = m == scenario.horizon_months
        out.append(
            MonthCost(
                month=m,
                requests=req,
                input_tokens=inp,
                output_tokens=outp,
                capex_usd=amortised,
                power_usd=power,
                facility_usd=facility,
                infra_usd=infra,
                people_usd=people,
                one_off_usd=one_off_usd(option, m),
                capex_cash_usd=bought * capex_each,
                residual_cash_usd=residual_usd(option, purchases, m) if last else ZERO,
                replicas=replicas,
                gpus=installed_gpus,
                nodes=installed,
                utilisation=util,
            )
        )
    return out


def _ranked(option: OnPremOption, scenario: Scenario, share: Decimal) -> list[tuple[Decimal, OnPremPlan]]:
    return rank_shapes(
        option,
        scenario,
        plan=lambda g: OnPremPlan(resolve_replica(option, scenario.workload, gpus=g), share),
        months=lambda p: _months(option, p, scenario),
        gpus_of=lambda p: p.replica.gpus_per_replica,
    )


def facts(option: OnPremOption, scenario: Scenario, *, share: Decimal = ONE) -> Facts:
    ranked = _ranked(option, scenario, share)
    plan = ranked[0][1]
    rep = plan.replica
    src = fleet_sources(rep)
    src.append(SourceLine("GPU power at load", f"{rep.watts_per_gpu_at_load:g} W", rep.watts_basis))
    residual = (
        f"{option.resale_pct_at_horizon:g} % of purchase price (typed)"
        if option.resale_pct_at_horizon is not None
        else f"book value after {option.amortisation_years:g}-year straight-line amortisation"
    )
    src.append(SourceLine("Residual value at the horizon end", residual, "scenario: resale_pct_at_horizon"))
    alternatives = []
    if len(ranked) > 1:
        cost, runner = ranked[1]
        alternatives.append((f"runner-up shape: {runner.replica.gpus_per_replica}× {rep.gpu.gpu_id} per replica", cost))
    desc = f"{rep.model.name} · {rep.quant.quant_id} · {rep.gpus_per_replica}× {rep.gpu.gpu_id} per replica · on-prem"
    return Facts(desc, rep.basis.value, tuple(src), tuple(fleet_warnings(option, rep)), plan, tuple(alternatives))


def months(option: OnPremOption, facts: Facts, scenario: Scenario, *, share: Decimal = ONE) -> list[MonthCost]:
    return _months(option, facts.detail, scenario)


def simulate(
    option: OnPremOption, facts: Facts, scenario: Scenario, draws: Draws, *, share: Decimal = ONE
) -> np.ndarray:
    """Monthly cost per draw (draws × months) in the lens in force, restating `months` over arrays."""
    import numpy as np

    plan: OnPremPlan = facts.detail
    w, rep = scenario.workload, plan.replica
    g, gps, h = rep.gpus_per_replica, option.gpus_per_server, scenario.horizon_months
    out_mult = effective_tokens(option, w)[1] / w.output_tokens_per_request
    out_eff = draws.requests(scenario) * float(plan.share) * w.output_tokens_per_request * out_mult
    cap = rep.output_tokens_per_s * draws.throughput_factor(rep.error_band_pct)
    need = np.ceil(peak_array(option, w, out_eff) / (cap * draws.utilisation(rep.queue.utilisation)) - 1e-9)
    replicas = np.maximum(option.min_replicas, np.where(need > 0, need + rep.spare, rep.spare))
    servers = np.ceil(replicas * g / gps) if g <= gps else replicas * math.ceil(g / gps)
    installed = np.maximum.accumulate(servers, axis=1)
    bought = np.diff(installed, axis=1, prepend=0)
    capex = float(option.server_capex_usd)
    life = option.amortisation_years * 12
    month = np.arange(1, h + 1)
    # servers bought at p are amortised in months m with m - p < life: installed(m) - installed(floor(m - life))
    back = np.floor(month - life).astype(int)
    old = np.where(back >= 1, installed[:, np.clip(back - 1, 0, h - 1)], 0.0)
    amortised = (installed - old) * capex / life
    op_h = float(w.operating_hours_per_month)
    util = out_eff / (op_h * 3600) / (replicas * cap)
    tdp = rep.gpu.tdp_w or rep.watts_per_gpu_at_load
    idle_w = tdp * option.gpu_idle_power_share
    busy_w = idle_w + (rep.watts_per_gpu_at_load - idle_w) * np.minimum(util, 1.0)
    active = replicas * g
    hpm = float(HOURS_PER_MONTH)
    watt_hours = (
        active * (busy_w * op_h + idle_w * (hpm - op_h))
        + (installed * gps - active) * idle_w * hpm
        + installed * option.server_overhead_watts * hpm
    )
    power = watt_hours / 1000 * option.pue * float(option.usd_per_kwh)
    facility = (
        installed * float(option.rack_usd_per_server_month) + installed * capex * option.maintenance_pct_per_year / 1200
    )
    infra, people = RunningCosts.of(option).arrays(
        replicas=replicas,
        interconnect_nodes=replicas * math.ceil(g / gps) if g > gps else 0.0,
        output_tokens=out_eff,
        hardware_usd=amortised + power + facility,
    )
    total = amortised + power + facility + infra + people
    total[:, 0] += float(option.costs.one_off_usd)
    cash = total - amortised + bought * capex
    if option.resale_pct_at_horizon is not None:
        residual = installed[:, -1] * capex * option.resale_pct_at_horizon / 100
    else:
        taken = np.minimum(life, h - month + 1)  # months amortised by the horizon end, per purchase month
        residual = (bought * capex * np.maximum(0.0, 1 - taken / life)).sum(axis=1)
    cash[:, -1] -= residual
    return draws.lens(scenario, cash=cash, accounting=total)
