"""Monthly total cost of ownership per option over the horizon, and the comparisons built on it.

Each option kind (`costmodel.options.*`) owns its sizing and cost lines; this module projects every
option the same way, in both money views — cash (purchases when paid, residual value credited) and
accounting (amortised) — and ranks, saves, discounts and pays back in the lens the scenario chooses.
All money is `Decimal` USD (results carry the scenario's FX rate for display).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache

from costmodel.errors import ScenarioError
from costmodel.options import kind_of
from costmodel.options.base import MTOK, ONE, ZERO, Facts, MonthCost, SourceLine, d
from costmodel.prices import ApiPrice
from costmodel.quality import OptionQuality
from costmodel.scenario import ApiOption, CostLens, HybridOption, Option, Scenario
from costmodel.sizing import ReplicaSpec
from costmodel.uncertainty import OptionUncertainty

__all__ = [
    "MonthCost",
    "OptionResult",
    "ScenarioResult",
    "SourceLine",
    "evaluate",
    "evaluate_option_month",
    "option_horizon_usd",
]


@dataclass(frozen=True)
class OptionResult:
    """An option's projection and the figures executives ask for, in the lens in force."""

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
    facts: Facts | None = field(default=None, repr=False)
    lens: CostLens = CostLens.CASH
    tax_rate: Decimal = ZERO
    switch_usd: Decimal = ZERO
    """One-off evaluation and migration cost of switching to this option (in month 1's one-off line)."""
    alternatives: tuple[tuple[str, Decimal], ...] = ()
    """Other shapes or plans the engine weighed, with their horizon cost in the lens in force."""
    break_even_tokens_per_month: dict[str, Decimal | None] = field(default_factory=dict)
    """Monthly token volume (input + output) at which this option costs the same as each API option."""
    payback_month: int | None = None
    """First month whose cumulative cost (lens in force) is at or below the baseline's (None: never)."""
    break_even_month: int | None = None
    """First month whose monthly cost (lens in force) is at or below the baseline's."""
    npv_saving_usd: Decimal | None = None
    """Net present value of (baseline − this option) monthly costs in the lens in force."""
    npv_cash_saving_usd: Decimal | None = None
    """The same in the cash lens, whatever lens is in force (a switch is never advised when it is negative)."""
    uncertainty: OptionUncertainty | None = None
    quality: OptionQuality | None = None
    """Accuracy measured on the user's tasks, where the scenario carries it."""

    @property
    def accuracy(self) -> float | None:
        """Accuracy over all measured task classes (weighted by items), or None."""
        if self.quality is None:
            return None
        n = sum(c.n for c in self.quality.by_task_class.values())
        return sum(c.accuracy * c.n for c in self.quality.by_task_class.values()) / n if n else None

    @property
    def usd_per_successful_request(self) -> Decimal | None:
        """Month-1 cost per request ÷ accuracy: what one right answer costs (None: quality not measured)."""
        acc, req = self.accuracy, self.months[0].requests
        if not acc or not req:
            return None
        return self.month1_usd / req / Decimal(repr(acc))

    def monthly_usd(self) -> list[Decimal]:
        return [m.cost_usd(self.lens, self.tax_rate) for m in self.months]

    @property
    def month1_usd(self) -> Decimal:
        return self.months[0].cost_usd(self.lens, self.tax_rate)

    @property
    def horizon_usd(self) -> Decimal:
        """Horizon cost in the lens in force."""
        return sum(self.monthly_usd(), ZERO)

    @property
    def horizon_cash_usd(self) -> Decimal:
        return sum((m.cost_usd(CostLens.CASH, self.tax_rate) for m in self.months), ZERO)

    @property
    def horizon_accounting_usd(self) -> Decimal:
        return sum((m.cost_usd(CostLens.ACCOUNTING, self.tax_rate) for m in self.months), ZERO)

    @property
    def horizon_tokens(self) -> Decimal:
        return sum((m.tokens for m in self.months), ZERO)

    @property
    def usd_per_mtok(self) -> Decimal:
        """Horizon cost ÷ horizon tokens (input + output), per million tokens."""
        return self.horizon_usd / self.horizon_tokens * MTOK

    @property
    def fleet_month1(self) -> tuple[int, int]:
        """(replicas, GPUs) in month 1."""
        return self.months[0].replicas, self.months[0].gpus

    @property
    def fleet_peak(self) -> tuple[int, int]:
        """(replicas, GPUs) at the largest month of the horizon."""
        m = max(self.months, key=lambda x: (x.gpus, x.replicas))
        return m.replicas, m.gpus

    def cumulative_usd(self) -> list[Decimal]:
        out, acc = [], ZERO
        for x in self.monthly_usd():
            acc += x
            out.append(acc)
        return out


@dataclass(frozen=True)
class ScenarioResult:
    """Every option's projection plus the comparison against the baseline."""

    scenario: Scenario
    options: tuple[OptionResult, ...]
    baseline: str
    best: str
    """Cheapest option over the horizon in the lens in force."""
    verdict: str
    recommended: str | None = None
    """The option the verdict advises switching to (None: stay, no material difference, or measure first)."""
    decision: str = ""
    """'switch', 'stay', 'no material difference' or 'uncertain'."""

    @property
    def lens(self) -> CostLens:
        return self.scenario.cost_lens

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


def _with_switch(months: list[MonthCost], switch_usd: Decimal) -> list[MonthCost]:
    if not switch_usd:
        return months
    return [replace(months[0], one_off_usd=months[0].one_off_usd + switch_usd), *months[1:]]


def _project(option: Option, scenario: Scenario, *, is_baseline: bool) -> tuple[Facts, list[MonthCost], Decimal]:
    kind = kind_of(option)
    f = kind.facts(option, scenario, share=ONE)
    switch = ZERO if is_baseline else option.switch_usd
    return f, _with_switch(kind.months(option, f, scenario, share=ONE), switch), switch


def option_horizon_usd(option: Option, scenario: Scenario) -> Decimal:
    """Cost of one option over the horizon in the lens in force."""
    cash, accounting = option_horizon_usd_both(option, scenario)
    return cash if scenario.cost_lens is CostLens.CASH else accounting


def option_horizon_usd_both(option: Option, scenario: Scenario) -> tuple[Decimal, Decimal]:
    """(cash, accounting) horizon cost of one option: the tornado labels accounting-only inputs with it."""
    is_base = option.name == scenario.baseline_option.name
    _, months, _ = _project(option, scenario, is_baseline=is_base)
    tax = d(scenario.tax_rate_pct) / 100
    cash = sum((m.cost_usd(CostLens.CASH, tax) for m in months), ZERO)
    acc = sum((m.cost_usd(CostLens.ACCOUNTING, tax) for m in months), ZERO)
    return cash, acc


def evaluate_option_month(option: Option, scenario: Scenario, *, month: int = 1) -> MonthCost:
    """One month of one option (for replaying logged months and for break-even searches)."""
    _, months, _ = _project(option, scenario, is_baseline=True)
    return months[month - 1]


def _first_month(pred: Callable[[int], bool], horizon: int) -> int | None:
    return next((m for m in range(1, horizon + 1) if pred(m)), None)


def _npv(flows: list[Decimal], rate_pct_per_year: float) -> Decimal:
    """Excel NPV semantics: the first flow is discounted by one (monthly) period."""
    r = (ONE + d(rate_pct_per_year) / 100) ** (ONE / 12) - ONE
    return sum((f / (ONE + r) ** (i + 1) for i, f in enumerate(flows)), ZERO)


def _cumulative(xs: list[Decimal]) -> list[Decimal]:
    out, acc = [], ZERO
    for x in xs:
        acc += x
        out.append(acc)
    return out


def _per_token(option: Option, scenario: Scenario) -> bool:
    """Options billed purely per token (no capacity steps, so no break-even volume against an API)."""
    if isinstance(option, HybridOption):
        return isinstance(scenario.option(option.open_option), ApiOption)
    return isinstance(option, ApiOption)


def evaluate(scenario: Scenario, *, with_break_even: bool = True, with_uncertainty: bool = True) -> ScenarioResult:
    """Project every option over the horizon and compare each with the baseline.

    Args:
        scenario: the scenario to evaluate.
        with_break_even: also search break-even volumes (skip for speed in sensitivity runs).
        with_uncertainty: also run the Monte Carlo (skip in sensitivity runs; the verdict then cannot
            say how likely a saving is and treats it as certain).

    Returns:
        The per-option projections, the baseline and best option, and the verdict sentence.
    """
    from costmodel.breakeven import break_even_volume, pinned_scenario
    from costmodel.uncertainty import simulate
    from costmodel.verdict import decide

    base_name = scenario.baseline_option.name
    lens, tax = scenario.cost_lens, d(scenario.tax_rate_pct) / 100
    projected = {o.name: _project(o, scenario, is_baseline=o.name == base_name) for o in scenario.options}
    base_months = projected[base_name][1]
    base_lens = [m.cost_usd(lens, tax) for m in base_months]
    base_cash = [m.cost_usd(CostLens.CASH, tax) for m in base_months]
    horizon = scenario.horizon_months
    api_options = [o for o in scenario.options if type(o) is ApiOption]
    pinned = pinned_scenario(scenario, {n: p[0] for n, p in projected.items()})
    results = []
    for opt in scenario.options:
        f, months, switch = projected[opt.name]
        own = [m.cost_usd(lens, tax) for m in months]
        be: dict[str, Decimal | None] = {}
        if with_break_even and not _per_token(opt, scenario):
            be = {a.name: break_even_volume(opt, a, pinned) for a in api_options}
        payback = break_even_m = npv = npv_cash = None
        if opt.name != base_name:
            cum_o, cum_b = _cumulative(own), _cumulative(base_lens)
            payback = _first_month(lambda m, a=cum_o, b=cum_b: a[m - 1] <= b[m - 1], horizon)
            break_even_m = _first_month(lambda m, a=own: a[m - 1] <= base_lens[m - 1], horizon)
            npv = _npv([b - o for b, o in zip(base_lens, own, strict=True)], scenario.discount_rate_pct_per_year)
            cash = [m.cost_usd(CostLens.CASH, tax) for m in months]
            npv_cash = _npv([b - o for b, o in zip(base_cash, cash, strict=True)], scenario.discount_rate_pct_per_year)
        detail = f.detail
        results.append(
            OptionResult(
                name=opt.name,
                kind=opt.kind,
                description=f.description,
                months=tuple(months),
                basis=f.basis,
                sources=f.sources,
                warnings=f.warnings,
                replica=getattr(detail, "replica", None),
                api=getattr(detail, "price", None),
                facts=f,
                lens=lens,
                tax_rate=tax,
                switch_usd=switch,
                alternatives=f.alternatives,
                break_even_tokens_per_month=be,
                payback_month=payback,
                break_even_month=break_even_m,
                npv_saving_usd=npv,
                npv_cash_saving_usd=npv_cash,
                quality=getattr(opt, "quality", None),
            )
        )
    best = min(results, key=lambda r: (r.horizon_usd, r.name != base_name)).name
    partial = ScenarioResult(scenario=scenario, options=tuple(results), baseline=base_name, best=best, verdict="")
    if with_uncertainty:
        mc = simulate(partial)
        results = [replace(r, uncertainty=mc[r.name]) for r in results]
        partial = replace(partial, options=tuple(results))
    decision = decide(partial)
    return replace(partial, verdict=decision.sentence, recommended=decision.recommended, decision=decision.kind)


@lru_cache(maxsize=256)
def _evaluate_json(text: str) -> ScenarioResult:
    return evaluate(Scenario.model_validate_json(text))
