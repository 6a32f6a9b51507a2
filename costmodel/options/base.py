"""What every option kind shares: the month record, volume and trends, and the kind interface.

An option kind is one module (`api`, `cloud_gpu`, `on_prem`, `hybrid`) that owns three things: its
sizing hooks (`facts`: what it resolves once per evaluation — prices, replica shape, instance), its
monthly cost lines in both money views (`months`), and a vectorised restatement of those lines for the
Monte Carlo (`simulate`). Projection, NPV, break-even, sensitivity and uncertainty are written once
over this interface in `costmodel.tco`, `costmodel.breakeven`, `costmodel.sensitivity` and
`costmodel.uncertainty`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from costmodel.scenario import CostLens, Scenario, Workload

if TYPE_CHECKING:
    import numpy as np

    from costmodel.uncertainty import Draws

__all__ = [
    "MTOK",
    "ONE",
    "SECONDS_PER_HOUR",
    "ZERO",
    "Facts",
    "MonthCost",
    "OptionKind",
    "SourceLine",
    "d",
    "growth",
    "trend",
    "volume",
]

ZERO = Decimal(0)
ONE = Decimal(1)
MTOK = Decimal(1_000_000)
SECONDS_PER_HOUR = Decimal(3600)


def d(x: float | int | Decimal) -> Decimal:
    """A Decimal from a float by its shortest repr (0.1 → Decimal('0.1')), so sums stay exact to the cent."""
    return x if isinstance(x, Decimal) else Decimal(str(x))


@dataclass(frozen=True)
class MonthCost:
    """One month of one option, cost broken down by where the money goes.

    The lines sum to the accounting cost (`total_usd`: purchases amortised, prepaid commitments spread
    over their term). The cash view (`cash_usd`) swaps the amortised parts for what was paid this month
    and credits the residual value of owned hardware in the horizon's last month.
    """

    month: int
    """1-based month of the horizon."""
    requests: Decimal
    input_tokens: Decimal
    output_tokens: Decimal
    api_usd: Decimal = ZERO
    """Per-token charges (API, managed endpoint, the API share of a hybrid)."""
    compute_usd: Decimal = ZERO
    """Rented GPU instances (on-demand, spot, commitments and bursts)."""
    capex_usd: Decimal = ZERO
    """Amortised purchase of owned servers."""
    power_usd: Decimal = ZERO
    facility_usd: Decimal = ZERO
    """Rack / colocation and maintenance."""
    infra_usd: Decimal = ZERO
    """CPU hosts, storage, networking, egress, staging and inter-node interconnect."""
    people_usd: Decimal = ZERO
    """Engineers, on-call staff, support and monitoring."""
    one_off_usd: Decimal = ZERO
    """Setup, fine-tuning, data preparation and evaluation/migration of a switch."""
    capex_cash_usd: Decimal = ZERO
    """Servers paid for this month (cash view)."""
    prepaid_amortised_usd: Decimal = ZERO
    """Part of `compute_usd` that was paid upfront for a commitment (accounting view spreads it)."""
    prepaid_cash_usd: Decimal = ZERO
    """Commitment paid upfront this month (cash view)."""
    residual_cash_usd: Decimal = ZERO
    """Value of owned servers credited at the end of the horizon (resale or book value; cash view)."""
    replicas: int = 0
    gpus: int = 0
    """GPUs paid for (whole nodes) or installed (owned servers)."""
    nodes: int = 0
    """Instances rented or servers installed."""
    utilisation: float = 0.0
    """Mean load ÷ capacity of the replicas paid for."""

    @property
    def tokens(self) -> Decimal:
        return self.input_tokens + self.output_tokens

    @property
    def total_usd(self) -> Decimal:
        """Accounting cost of the month (capex amortised, prepaid commitments spread), before tax."""
        return (
            self.api_usd
            + self.compute_usd
            + self.capex_usd
            + self.power_usd
            + self.facility_usd
            + self.infra_usd
            + self.people_usd
            + self.one_off_usd
        )

    @property
    def cash_usd(self) -> Decimal:
        """Money out of the door this month, before tax (purchases when paid, residual value credited)."""
        return (
            self.total_usd
            - self.capex_usd
            + self.capex_cash_usd
            - self.prepaid_amortised_usd
            + self.prepaid_cash_usd
            - self.residual_cash_usd
        )

    def cost_usd(self, lens: CostLens, tax_rate: Decimal = ZERO) -> Decimal:
        """The month's cost in a money view, after the tax shield of its deductible (accounting) cost."""
        if lens is CostLens.ACCOUNTING:
            return self.total_usd * (ONE - tax_rate)
        return self.cash_usd - tax_rate * self.total_usd

    def plus(self, other: MonthCost) -> MonthCost:
        """Two parts of one option in the same month (a hybrid's open and API shares)."""
        sums = {k: getattr(self, k) + getattr(other, k) for k in _ADDITIVE}
        return MonthCost(month=self.month, utilisation=other.utilisation or self.utilisation, **sums)


_ADDITIVE = tuple(f.name for f in fields(MonthCost) if f.name not in ("month", "utilisation"))
"""Month fields that add up across the parts of one option."""


@dataclass(frozen=True)
class SourceLine:
    """One input fact the option's cost rests on, with where it came from."""

    label: str
    value: str
    source: str


@dataclass(frozen=True)
class Facts:
    """What an option kind resolved once for an evaluation (prices, replica, instance), and what it says."""

    description: str
    basis: str
    sources: tuple[SourceLine, ...] = ()
    warnings: tuple[str, ...] = ()
    detail: Any = None
    """Kind-specific facts (an ApiPrice, a self-hosted plan); read by the kind's own module."""
    alternatives: tuple[tuple[str, Decimal], ...] = field(default=())
    """Other ways the kind considered, with their horizon cost in the lens in force (e.g. runner-up shape)."""


class OptionKind(Protocol):
    """The interface each option kind module implements."""

    def facts(self, option: Any, scenario: Scenario, *, share: Decimal) -> Facts: ...

    def months(self, option: Any, facts: Facts, scenario: Scenario, *, share: Decimal) -> list[MonthCost]: ...

    def simulate(
        self, option: Any, facts: Facts, scenario: Scenario, draws: Draws, *, share: Decimal
    ) -> np.ndarray: ...


@lru_cache(maxsize=8192)
def _growth_factor(pct_per_month: float, month: int) -> Decimal:
    return (ONE + d(pct_per_month) / 100) ** (month - 1)


def growth(workload: Workload, month: int) -> Decimal:
    """Request volume of `month` relative to month 1."""
    return _growth_factor(workload.monthly_growth_pct, month)


@lru_cache(maxsize=8192)
def trend(pct_per_year: float, month: int) -> Decimal:
    """Price multiplier in `month` for a yearly change, compounding monthly: (1 + p)^((month − 1) / 12)."""
    if pct_per_year == 0:
        return ONE
    return (ONE + d(pct_per_year) / 100) ** (Decimal(month - 1) / 12)


def volume(workload: Workload, month: int, share: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """Requests, input tokens and output tokens of `share` of the workload in `month`."""
    req = d(workload.requests_per_month) * growth(workload, month) * share
    return req, req * workload.input_tokens_per_request, req * workload.output_tokens_per_request
