"""Monthly total cost of ownership per option over the horizon, and the comparisons built on it.

All money is `Decimal` USD (results carry the scenario's FX rate for display). Each option yields one
`MonthCost` per month with its cost broken down, an accounting view (`total_usd`, capex amortised) and a
cash view (`cash_usd`, capex when bought) used for payback and NPV.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from costmodel.errors import ScenarioError
from costmodel.prices import ApiPrice, api_price, request_cost_usd
from costmodel.scenario import (
    HOURS_PER_MONTH,
    ApiOption,
    CloudGpuOption,
    HybridOption,
    ManagedEndpointOption,
    OnPremOption,
    Option,
    Scenario,
    Workload,
)
from costmodel.sizing import ReplicaSpec, resolve_gpu_price, resolve_replica

__all__ = [
    "MonthCost",
    "OptionResult",
    "ScenarioResult",
    "SourceLine",
    "evaluate",
    "evaluate_option_month",
    "option_horizon_usd",
]

ZERO = Decimal(0)
ONE = Decimal(1)
MTOK = Decimal(1_000_000)
SECONDS_PER_HOUR = Decimal(3600)


def _d(x: float | int | Decimal) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(str(x))


@dataclass(frozen=True)
class MonthCost:
    """One month of one option, cost broken down by where the money goes."""

    month: int
    """1-based month of the horizon."""
    requests: Decimal
    input_tokens: Decimal
    output_tokens: Decimal
    api_usd: Decimal = ZERO
    """Per-token charges (API, managed endpoint, the API share of a hybrid)."""
    compute_usd: Decimal = ZERO
    """Rented GPU-hours."""
    capex_usd: Decimal = ZERO
    """Amortised purchase of owned servers."""
    power_usd: Decimal = ZERO
    facility_usd: Decimal = ZERO
    """Rack / colocation and maintenance."""
    people_usd: Decimal = ZERO
    one_off_usd: Decimal = ZERO
    capex_cash_usd: Decimal = ZERO
    """Servers bought this month (cash view)."""
    replicas: int = 0
    gpus: int = 0
    utilisation: float = 0.0
    """Mean load ÷ capacity of the replicas paid for."""

    @property
    def tokens(self) -> Decimal:
        return self.input_tokens + self.output_tokens

    @property
    def total_usd(self) -> Decimal:
        """Accounting cost of the month (capex amortised)."""
        return (
            self.api_usd
            + self.compute_usd
            + self.capex_usd
            + self.power_usd
            + self.facility_usd
            + self.people_usd
            + self.one_off_usd
        )

    @property
    def cash_usd(self) -> Decimal:
        """Money out of the door this month (capex when paid, not amortised)."""
        return self.total_usd - self.capex_usd + self.capex_cash_usd


@dataclass(frozen=True)
class SourceLine:
    """One input fact the option's cost rests on, with where it came from."""

    label: str
    value: str
    source: str


@dataclass(frozen=True)
class OptionResult:
    """An option's projection and the figures executives ask for."""

    name: str
    kind: str
    description: str
    months: tuple[MonthCost, ...]
    basis: str
    """How the option's capacity or price is known: 'list price', 'estimated', 'calibrated', 'measured'."""
    sources: tuple[SourceLine, ...]
    warnings: tuple[str, ...] = ()
    replica: ReplicaSpec | None = None
    api: ApiPrice | None = None
    break_even_tokens_per_month: dict[str, Decimal | None] = field(default_factory=dict)
    """Monthly token volume (input + output) at which this option costs the same as each API option."""
    payback_month: int | None = None
    """First month whose cumulative cash cost is at or below the baseline's (None: never in the horizon)."""
    break_even_month: int | None = None
    """First month whose monthly cost is at or below the baseline's."""
    npv_saving_usd: Decimal | None = None
    """Net present value of (baseline cash − this option's cash) over the horizon."""

    @property
    def month1_usd(self) -> Decimal:
        return self.months[0].total_usd

    @property
    def horizon_usd(self) -> Decimal:
        return sum((m.total_usd for m in self.months), ZERO)

    @property
    def horizon_tokens(self) -> Decimal:
        return sum((m.tokens for m in self.months), ZERO)

    @property
    def usd_per_mtok(self) -> Decimal:
        """Horizon cost ÷ horizon tokens (input + output), per million tokens."""
        return self.horizon_usd / self.horizon_tokens * MTOK

    def cumulative_usd(self) -> list[Decimal]:
        out, acc = [], ZERO
        for m in self.months:
            acc += m.total_usd
            out.append(acc)
        return out


@dataclass(frozen=True)
class ScenarioResult:
    """Every option's projection plus the comparison against the baseline."""

    scenario: Scenario
    options: tuple[OptionResult, ...]
    baseline: str
    best: str
    """Cheapest option over the horizon."""
    verdict: str

    def option(self, name: str) -> OptionResult:
        for o in self.options:
            if o.name == name:
                return o
        raise ScenarioError(f"no option named {name!r}")

    @property
    def baseline_result(self) -> OptionResult:
        return self.option(self.baseline)

    def saving_month1_usd(self, name: str) -> Decimal:
        return self.baseline_result.month1_usd - self.option(name).month1_usd

    def saving_horizon_usd(self, name: str) -> Decimal:
        return self.baseline_result.horizon_usd - self.option(name).horizon_usd


# ---------------------------------------------------------------- volume and trends


@lru_cache(maxsize=8192)
def _growth_factor(pct_per_month: float, month: int) -> Decimal:
    return (ONE + _d(pct_per_month) / 100) ** (month - 1)


def _growth(workload: Workload, month: int) -> Decimal:
    return _growth_factor(workload.monthly_growth_pct, month)


@lru_cache(maxsize=8192)
def _trend(pct_per_year: float, month: int) -> Decimal:
    """Price multiplier in `month` for a yearly change, compounding monthly: (1 + p)^((month − 1) / 12)."""
    if pct_per_year == 0:
        return ONE
    return (ONE + _d(pct_per_year) / 100) ** (Decimal(month - 1) / 12)


def _volume(workload: Workload, month: int, share: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    req = _d(workload.requests_per_month) * _growth(workload, month) * share
    return req, req * workload.input_tokens_per_request, req * workload.output_tokens_per_request


# ---------------------------------------------------------------- per-kind month cost


@dataclass(frozen=True)
class _Static:
    """Everything about an option that does not change month to month."""

    usd_per_request: Decimal = ZERO
    api: ApiPrice | None = None
    replica: ReplicaSpec | None = None
    usd_per_gpu_hour: Decimal = ZERO
    price_source: str = ""


def _per_request_usd(option: ApiOption, scenario: Scenario) -> tuple[Decimal, ApiPrice]:
    """One request's price: standard and batch rates mixed by the batch share, less the discount."""
    w = scenario.workload

    def price(*, batch: bool) -> Decimal:
        return request_cost_usd(
            option.provider,
            option.model,
            input_tokens=w.input_tokens_per_request,
            cached_input_tokens=w.cached_input_tokens_per_request,
            output_tokens=w.output_tokens_per_request,
            at=scenario.price_date,
            batch=batch,
        )

    bs = _d(w.batch_share)
    per = price(batch=False)
    if bs > 0:
        per = (ONE - bs) * per + bs * price(batch=True)
    per *= ONE - _d(option.discount_pct) / 100
    return per, api_price(option.provider, option.model, at=scenario.price_date)


def _static(option: Option, scenario: Scenario) -> _Static:
    if isinstance(option, ApiOption):  # ManagedEndpointOption is an ApiOption
        per, price = _per_request_usd(option, scenario)
        return _Static(usd_per_request=per, api=price)
    if isinstance(option, CloudGpuOption):
        replica = resolve_replica(option, scenario.workload)
        usd, src, _ = resolve_gpu_price(option, replica.gpu)
        return _Static(replica=replica, usd_per_gpu_hour=usd, price_source=src)
    if isinstance(option, OnPremOption):
        return _Static(replica=resolve_replica(option, scenario.workload))
    raise TypeError(f"no static facts for {type(option).__name__}")


def _api_month(option: ApiOption, st: _Static, scenario: Scenario, month: int, share: Decimal) -> MonthCost:
    req, inp, out = _volume(scenario.workload, month, share)
    cost = req * st.usd_per_request * _trend(scenario.api_price_change_pct_per_year, month)
    return MonthCost(month=month, requests=req, input_tokens=inp, output_tokens=out, api_usd=cost)


def _peak_output_tokens_per_s(workload: Workload, output_tokens: Decimal) -> Decimal:
    seconds = workload.operating_hours_per_month * SECONDS_PER_HOUR
    return output_tokens / seconds * _d(workload.peak_to_average)


def _cloud_month(option: CloudGpuOption, st: _Static, scenario: Scenario, month: int, share: Decimal) -> MonthCost:
    w, rep = scenario.workload, st.replica
    assert rep is not None
    req, inp, out = _volume(w, month, share)
    replicas = rep.replicas_for(_peak_output_tokens_per_s(w, out), option.min_replicas)
    hours = w.operating_hours_per_month if option.scale_to_zero else HOURS_PER_MONTH
    gpus = replicas * rep.gpus_per_replica
    compute = gpus * st.usd_per_gpu_hour * hours * _trend(scenario.gpu_price_change_pct_per_year, month)
    util = float(out / (hours * SECONDS_PER_HOUR)) / (replicas * rep.output_tokens_per_s) if replicas else 0.0
    return MonthCost(
        month=month,
        requests=req,
        input_tokens=inp,
        output_tokens=out,
        compute_usd=compute,
        people_usd=option.costs.people_usd_per_month,
        one_off_usd=option.costs.one_off_usd if month == 1 else ZERO,
        replicas=replicas,
        gpus=gpus,
        utilisation=util,
    )


def _on_prem_months(option: OnPremOption, st: _Static, scenario: Scenario, share: Decimal) -> list[MonthCost]:
    """On-prem needs the whole history: servers bought earlier are still being amortised."""
    w, rep = scenario.workload, st.replica
    assert rep is not None
    life_months = _d(option.amortisation_years) * 12
    capex_each = option.server_capex_usd
    purchases: list[tuple[int, int]] = []  # (month, servers bought)
    installed = 0
    months = []
    op_h = w.operating_hours_per_month
    for m in range(1, scenario.horizon_months + 1):
        req, inp, out = _volume(w, m, share)
        replicas = rep.replicas_for(_peak_output_tokens_per_s(w, out), option.min_replicas)
        active_gpus = replicas * rep.gpus_per_replica
        servers = math.ceil(active_gpus / option.gpus_per_server)
        bought = max(0, servers - installed)
        if bought:
            purchases.append((m, bought))
            installed += bought
        amortised = sum((n * capex_each / life_months for p, n in purchases if m - p < life_months), ZERO)
        util = float(out / (op_h * SECONDS_PER_HOUR)) / (replicas * rep.output_tokens_per_s) if replicas else 0.0
        tdp, idle_share = _d(rep.gpu.tdp_w or rep.watts_per_gpu_at_load), _d(option.gpu_idle_power_share)
        idle_w = tdp * idle_share
        load_w = _d(rep.watts_per_gpu_at_load)
        busy_w = idle_w + (load_w - idle_w) * _d(min(util, 1.0))
        installed_gpus = installed * option.gpus_per_server
        watt_hours = (
            active_gpus * (busy_w * op_h + idle_w * (HOURS_PER_MONTH - op_h))
            + (installed_gpus - active_gpus) * idle_w * HOURS_PER_MONTH
            + installed * _d(option.server_overhead_watts) * HOURS_PER_MONTH
        )
        power = watt_hours / 1000 * _d(option.pue) * option.usd_per_kwh
        facility = (
            installed * option.rack_usd_per_server_month
            + installed * capex_each * _d(option.maintenance_pct_per_year) / 100 / 12
        )
        months.append(
            MonthCost(
                month=m,
                requests=req,
                input_tokens=inp,
                output_tokens=out,
                capex_usd=amortised,
                power_usd=power,
                facility_usd=facility,
                people_usd=option.costs.people_usd_per_month,
                one_off_usd=option.costs.one_off_usd if m == 1 else ZERO,
                capex_cash_usd=bought * capex_each,
                replicas=replicas,
                gpus=installed_gpus,
                utilisation=util,
            )
        )
    return months


def _months(option: Option, st: _Static, scenario: Scenario, share: Decimal) -> list[MonthCost]:
    horizon = range(1, scenario.horizon_months + 1)
    if isinstance(option, ApiOption):
        return [_api_month(option, st, scenario, m, share) for m in horizon]
    if isinstance(option, CloudGpuOption):
        return [_cloud_month(option, st, scenario, m, share) for m in horizon]
    if isinstance(option, OnPremOption):
        return _on_prem_months(option, st, scenario, share)
    raise TypeError(type(option).__name__)


def _add(a: MonthCost, b: MonthCost) -> MonthCost:
    return MonthCost(
        month=a.month,
        requests=a.requests + b.requests,
        input_tokens=a.input_tokens + b.input_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
        api_usd=a.api_usd + b.api_usd,
        compute_usd=a.compute_usd + b.compute_usd,
        capex_usd=a.capex_usd + b.capex_usd,
        power_usd=a.power_usd + b.power_usd,
        facility_usd=a.facility_usd + b.facility_usd,
        people_usd=a.people_usd + b.people_usd,
        one_off_usd=a.one_off_usd + b.one_off_usd,
        capex_cash_usd=a.capex_cash_usd + b.capex_cash_usd,
        replicas=a.replicas + b.replicas,
        gpus=a.gpus + b.gpus,
        utilisation=b.utilisation or a.utilisation,
    )


def option_horizon_usd(option: Option, scenario: Scenario) -> Decimal:
    """Accounting cost of one option over the horizon (what the tornado varies)."""
    return sum((m.total_usd for m in _option_months(option, scenario)), ZERO)


def evaluate_option_month(option: Option, scenario: Scenario, *, month: int = 1) -> MonthCost:
    """One month of one option (for replaying logged months and for break-even searches)."""
    return _option_months(option, scenario)[month - 1]


def _option_months(option: Option, scenario: Scenario) -> list[MonthCost]:
    if isinstance(option, HybridOption):
        open_opt, api_opt = scenario.option(option.open_option), scenario.option(option.api_option)
        share = _d(option.open_share)
        open_m = _months(open_opt, _static(open_opt, scenario), scenario, share)
        api_m = _months(api_opt, _static(api_opt, scenario), scenario, ONE - share)
        return [_add(a, b) for a, b in zip(open_m, api_m, strict=True)]
    return _months(option, _static(option, scenario), scenario, ONE)


# ---------------------------------------------------------------- descriptions and provenance


def _describe(option: Option, scenario: Scenario) -> tuple[str, str, list[SourceLine], list[str], _Static | None]:
    if isinstance(option, HybridOption):
        pct = round(option.open_share * 100)
        classes = ", ".join(f"{t.name} {t.share:.0%}" for t in option.task_classes)
        return (
            f"{pct}% of traffic on {option.open_option}, the rest on {option.api_option} ({classes})",
            "mixed",
            [],
            [],
            None,
        )
    st = _static(option, scenario)
    if isinstance(option, ApiOption):
        p = st.api
        assert p is not None
        kind = "Managed endpoint" if isinstance(option, ManagedEndpointOption) else "API"
        src = [
            SourceLine(
                f"{p.label} prices",
                f"in ${p.input_usd_per_mtok}/Mtok, cached ${p.cached_input_usd_per_mtok}/Mtok, "
                f"out ${p.output_usd_per_mtok}/Mtok"
                + (f", batch ${p.batch_input_usd_per_mtok}/${p.batch_output_usd_per_mtok}" if p.has_batch_rate else ""),
                p.source,
            )
        ]
        warns = [f"{p.label}: price rises with prompt length; tiers applied per request"] if p.tiered else []
        return f"{kind}: {p.label}", f"list price as of {p.price_date}", src, warns, st
    rep = st.replica
    assert rep is not None
    e = rep.estimate
    src = [
        SourceLine(
            "Model", f"{rep.model.name} ({rep.model.total_params_b:g}B)", f"{rep.model.source} ({rep.model.as_of})"
        ),
        SourceLine(
            "GPU",
            f"{rep.gpu.name}, {rep.gpu.memory_gb:g} GB, {rep.gpu.hbm_bandwidth_gb_s:g} GB/s",
            f"{rep.gpu.source} ({rep.gpu.as_of})",
        ),
        SourceLine(
            "Quantization",
            f"{rep.quant.name}, {rep.quant.bits_per_weight:g} bits/weight",
            f"{rep.quant.source} ({rep.quant.as_of})",
        ),
        SourceLine(
            "Replica throughput",
            f"{rep.output_tokens_per_s:,.0f} output tok/s at {rep.concurrency} streams"
            f" on {rep.gpus_per_replica} GPU(s)",
            "measured by the user" if rep.basis == "measured" else e.efficiency.source,
        ),
    ]
    warns = []
    if not rep.meets_targets:
        warns.append(
            f"{option.name}: even one stream misses the latency targets "
            f"(TTFT {e.ttft_ms:,.0f} ms, {e.output_tokens_per_s_per_stream:,.1f} tok/s per user); sized at 1 stream"
        )
    desc = f"{rep.model.name} · {rep.quant.quant_id} · {rep.gpus_per_replica}× {rep.gpu.gpu_id}"
    if isinstance(option, CloudGpuOption):
        src.append(SourceLine("GPU-hour price", f"${st.usd_per_gpu_hour}/GPU-hour", st.price_source))
        desc += f" · {option.provider or 'cheapest cloud'} {option.price_plan.value}"
    else:
        src.append(SourceLine("GPU power at load", f"{rep.watts_per_gpu_at_load:g} W", rep.watts_basis))
        desc += " · on-prem"
    return desc, rep.basis.value, src, warns, st


# ---------------------------------------------------------------- comparisons


def _first_month(pred: Callable[[int], bool], horizon: int) -> int | None:
    return next((m for m in range(1, horizon + 1) if pred(m)), None)


def _npv(flows: list[Decimal], rate_pct_per_year: float) -> Decimal:
    """Excel NPV semantics: the first flow is discounted by one (monthly) period."""
    r = (ONE + _d(rate_pct_per_year) / 100) ** (ONE / 12) - ONE
    return sum((f / (ONE + r) ** (i + 1) for i, f in enumerate(flows)), ZERO)


def evaluate(scenario: Scenario, *, with_break_even: bool = True) -> ScenarioResult:
    """Project every option over the horizon and compare each with the baseline.

    Args:
        scenario: the scenario to evaluate.
        with_break_even: also search break-even volumes (skip for speed in sensitivity runs).

    Returns:
        The per-option projections, the baseline and best option, and the verdict sentence.
    """
    from costmodel.breakeven import break_even_volume
    from costmodel.verdict import verdict

    base_name = scenario.baseline_option.name
    raw: dict[str, tuple[str, str, list[SourceLine], list[str], _Static | None, list[MonthCost]]] = {}
    for opt in scenario.options:
        desc, basis, src, warns, st = _describe(opt, scenario)
        months = _option_months(opt, scenario)
        raw[opt.name] = (desc, basis, src, warns, st, months)
    base_months = raw[base_name][5]
    horizon = scenario.horizon_months
    api_options = [o for o in scenario.options if type(o) is ApiOption]
    results = []
    for opt in scenario.options:
        desc, basis, src, warns, st, months = raw[opt.name]
        is_base = opt.name == base_name
        cum_o = _cumulative([m.cash_usd for m in months])
        cum_b = _cumulative([m.cash_usd for m in base_months])
        be: dict[str, Decimal | None] = {}
        if with_break_even and not _per_token(opt, scenario):
            be = {a.name: break_even_volume(opt, a, scenario) for a in api_options}
        payback = break_even_m = npv = None
        if not is_base:
            payback = _first_month(lambda m, a=cum_o, b=cum_b: a[m - 1] <= b[m - 1], horizon)
            break_even_m = _first_month(lambda m, a=months: a[m - 1].total_usd <= base_months[m - 1].total_usd, horizon)
            flows = [b.cash_usd - o.cash_usd for b, o in zip(base_months, months, strict=True)]
            npv = _npv(flows, scenario.discount_rate_pct_per_year)
        results.append(
            OptionResult(
                name=opt.name,
                kind=opt.kind,
                description=desc,
                months=tuple(months),
                basis=basis,
                sources=tuple(src),
                warnings=tuple(warns),
                replica=st.replica if st else None,
                api=st.api if st else None,
                break_even_tokens_per_month=be,
                payback_month=payback,
                break_even_month=break_even_m,
                npv_saving_usd=npv,
            )
        )
    best = min(results, key=lambda r: (r.horizon_usd, r.name != base_name)).name
    partial = ScenarioResult(scenario=scenario, options=tuple(results), baseline=base_name, best=best, verdict="")
    return ScenarioResult(
        scenario=scenario, options=tuple(results), baseline=base_name, best=best, verdict=verdict(partial)
    )


def _per_token(option: Option, scenario: Scenario) -> bool:
    """Options billed purely per token (no capacity steps, so no break-even volume against an API)."""
    if isinstance(option, HybridOption):
        return isinstance(scenario.option(option.open_option), ApiOption)
    return isinstance(option, ApiOption)


def _cumulative(xs: list[Decimal]) -> list[Decimal]:
    out, acc = [], ZERO
    for x in xs:
        acc += x
        out.append(acc)
    return out


@lru_cache(maxsize=256)
def _evaluate_json(text: str) -> ScenarioResult:
    return evaluate(Scenario.model_validate_json(text))
