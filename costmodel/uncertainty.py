"""How sure is the saving? A seeded, vectorised Monte Carlo over what the point estimate assumes.

Each draw is one possible world: a replica throughput error (the estimate's stated band; shared by all
self-hosted options, since one model's bias hits them alike), yearly GPU-hour and API price trends,
monthly request growth, and the utilisation replicas really reach. Every option kind restates its
cost lines over these arrays (`simulate` in `costmodel.options.*`); with zero spread the draws
reproduce the exact engine (a test holds them together), so the percentiles are of the same model.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np

from costmodel.scenario import CostLens, Scenario

if TYPE_CHECKING:
    from costmodel.tco import ScenarioResult

__all__ = ["Draws", "OptionUncertainty", "simulate"]

_UTILISATION_BOUNDS = (0.05, 0.99)


@dataclass(frozen=True)
class Draws:
    """Sampled inputs, one row per draw."""

    growth_pct: np.ndarray
    """Monthly request growth, percent (n,)."""
    api_trend_pct: np.ndarray
    gpu_trend_pct: np.ndarray
    throughput_z: np.ndarray
    """Standard-normal throughput error, scaled by each replica's band (n,)."""
    utilisation_delta: np.ndarray
    horizon: int
    throughput_error_pct: float | None = None
    """Overrides every replica's own band when the scenario sets `uncertainty.throughput_error_pct`."""

    @property
    def n(self) -> int:
        return len(self.growth_pct)

    @classmethod
    def sample(cls, scenario: Scenario) -> Draws:
        u = scenario.uncertainty
        rng = np.random.default_rng(u.seed)
        n = u.draws
        return cls(
            growth_pct=scenario.workload.monthly_growth_pct + rng.normal(0, u.growth_sd_pct, n),
            api_trend_pct=scenario.api_price_change_pct_per_year + rng.normal(0, u.api_price_trend_sd_pct, n),
            gpu_trend_pct=scenario.gpu_price_change_pct_per_year + rng.normal(0, u.gpu_price_trend_sd_pct, n),
            throughput_z=rng.standard_normal(n),
            utilisation_delta=rng.normal(0, u.utilisation_sd, n),
            horizon=scenario.horizon_months,
            throughput_error_pct=u.throughput_error_pct,
        )

    @classmethod
    def point(cls, scenario: Scenario) -> Draws:
        """One draw at the scenario's own values: reproduces the exact engine."""
        return cls(
            growth_pct=np.array([scenario.workload.monthly_growth_pct]),
            api_trend_pct=np.array([scenario.api_price_change_pct_per_year]),
            gpu_trend_pct=np.array([scenario.gpu_price_change_pct_per_year]),
            throughput_z=np.zeros(1),
            utilisation_delta=np.zeros(1),
            horizon=scenario.horizon_months,
        )

    def _months(self) -> np.ndarray:
        return np.arange(self.horizon, dtype=float)

    def requests(self, scenario: Scenario) -> np.ndarray:
        """Requests per month (n × months)."""
        g = np.maximum(self.growth_pct, -99.0)[:, None] / 100
        return scenario.workload.requests_per_month * (1 + g) ** self._months()[None, :]

    def _trend(self, pct: np.ndarray) -> np.ndarray:
        p = np.maximum(pct, -99.0)[:, None] / 100
        return (1 + p) ** (self._months()[None, :] / 12)

    def api_trend(self, scenario: Scenario) -> np.ndarray:
        return self._trend(self.api_trend_pct)

    def gpu_trend(self, scenario: Scenario) -> np.ndarray:
        return self._trend(self.gpu_trend_pct)

    def throughput_factor(self, band_pct: float) -> np.ndarray:
        """Real ÷ estimated throughput (n × 1): log-normal with the band as its spread, median 1."""
        band = self.throughput_error_pct if self.throughput_error_pct is not None else band_pct
        return np.exp(self.throughput_z * np.log1p(band / 100))[:, None]

    def utilisation(self, planned: float) -> np.ndarray:
        lo, hi = _UTILISATION_BOUNDS
        return np.clip(planned + self.utilisation_delta, lo, hi)[:, None]

    def lens(self, scenario: Scenario, *, cash: np.ndarray, accounting: np.ndarray) -> np.ndarray:
        """Monthly cost in the lens in force, after the tax shield (as `MonthCost.cost_usd`)."""
        t = scenario.tax_rate_pct / 100
        if scenario.cost_lens is CostLens.ACCOUNTING:
            return accounting * (1 - t)
        return cash - t * accounting


@dataclass(frozen=True)
class OptionUncertainty:
    """Percentiles of one option's horizon cost and of its saving against the baseline."""

    p10_usd: Decimal
    p50_usd: Decimal
    p90_usd: Decimal
    saving_p10_usd: Decimal
    saving_p50_usd: Decimal
    saving_p90_usd: Decimal
    p_saving_positive: float
    """Share of draws in which the option costs less than the baseline."""
    draws: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "p10_usd": float(self.p10_usd),
            "p50_usd": float(self.p50_usd),
            "p90_usd": float(self.p90_usd),
            "saving_p10_usd": float(self.saving_p10_usd),
            "saving_p50_usd": float(self.saving_p50_usd),
            "saving_p90_usd": float(self.saving_p90_usd),
            "p_saving_positive": self.p_saving_positive,
            "draws": self.draws,
        }


def _usd(x: float) -> Decimal:
    return Decimal(str(round(float(x), 2)))


def horizon_costs(result: ScenarioResult, draws: Draws) -> dict[str, np.ndarray]:
    """Each option's horizon cost in every draw, one-off switch costs included."""
    from costmodel.options import kind_of

    s = result.scenario
    out = {}
    t = s.tax_rate_pct / 100
    for opt in s.options:
        r = result.option(opt.name)
        monthly = kind_of(opt).simulate(opt, r.facts, s, draws, share=Decimal(1))
        switch = float(r.switch_usd) * (1 - t)
        out[opt.name] = monthly.sum(axis=1) + switch
    return out


def simulate(result: ScenarioResult) -> dict[str, OptionUncertainty]:
    """P10/P50/P90 of every option's horizon cost and saving, and P(saving > 0), from seeded draws."""
    draws = Draws.sample(result.scenario)
    costs = horizon_costs(result, draws)
    base = costs[result.baseline]
    out = {}
    for name, cost in costs.items():
        saving = base - cost
        p = np.percentile(cost, [10, 50, 90])
        sp = np.percentile(saving, [10, 50, 90])
        out[name] = OptionUncertainty(
            *(_usd(x) for x in p),
            *(_usd(x) for x in sp),
            p_saving_positive=float((saving > 0).mean()) if name != result.baseline else 0.0,
            draws=draws.n,
        )
    return out
