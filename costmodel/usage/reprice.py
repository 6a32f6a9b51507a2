"""History re-priced: each logged month four ways, to see what moved the bill — prices, or usage.

1. what the logs (or the provider's cost report) say was charged;
2. the list price in force on each row's date, from genai-prices' dated prices;
3. today's list price, for the same tokens;
4. each option of a scenario (the replay of `costmodel.usage.replay`).

A month whose reported cost differs from the price in force by more than `FLAG_TOLERANCE` is flagged: a discount,
a surcharge, a cost the recomputation cannot see (tools, fine-tuned models) or a log that misreports. The version
of genai-prices every list price comes from is named, so a figure can be traced to its source.

Re-pricing reads one scan of the rows (grouped per provider, model and day) and prices each group, so ten million
rows re-price in about a second (`bench/bench_import.py`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
from pydantic import Field

from costmodel._base import StrictModel
from costmodel.usage.costs import FLAG_TOLERANCE, CostBasis, cost_basis, group_cost
from costmodel.usage.pricing import GENAI_PRICES_VERSION
from costmodel.usage.replay import ReplayMonth
from costmodel.usage.workload import NoUsageData

__all__ = ["RepricedHistory", "RepricedMonth", "reprice"]

_ZERO = Decimal(0)


class RepricedMonth(StrictModel):
    """One logged month, priced four ways (USD)."""

    month: date
    """First day of the month."""
    reported_cost_usd: Decimal | None
    """What the logs reported (None when no row that month reported a cost)."""
    in_force_cost_usd: Decimal
    """The list price in force on each row's date (models genai-prices knows)."""
    today_cost_usd: Decimal
    """The same tokens at today's list price."""
    options_cost_usd: dict[str, Decimal] = Field(default_factory=dict)
    """Scenario option name → the month under that option (empty when no scenario was given)."""
    difference_pct: float | None
    """(reported − in force) ÷ in force × 100 (None without a reported cost or a list price)."""
    flagged: bool
    """True when the reported cost differs from the price in force by more than 1 %."""


class RepricedHistory(StrictModel):
    """Every logged month re-priced, and where the prices come from."""

    months: list[RepricedMonth]
    genai_prices_version: str
    """The genai-prices release every list price comes from."""
    today: date
    """The date "today's list price" was resolved at."""
    unknown_models: list[str] = Field(default_factory=list)
    """`provider/model` labels genai-prices cannot price: their tokens are in no list-price column."""


def _month(d: date) -> date:
    return date(d.year, d.month, 1)


def reprice(
    con: duckdb.DuckDBPyConnection,
    *,
    today: date | None = None,
    replayed: Sequence[ReplayMonth] = (),
    basis: CostBasis | None = None,
) -> RepricedHistory:
    """Price each logged month as reported, at the list price in force, at today's list price, and per option.

    Args:
        con: store connection.
        today: the date of "today's list price" (default: today, UTC); tests pass a fixed one.
        replayed: `replay(con, scenario)`'s months, whose option costs fill `options_cost_usd`.
        basis: prices already resolved by `cost_basis(con)`.

    Returns:
        One row per calendar month with logged usage, oldest first.

    Raises:
        NoUsageData: nothing has been imported.
    """
    basis = basis or cost_basis(con)
    if not basis.groups:
        raise NoUsageData("no usage imported yet: import a log first (`opentco import FILE`)")
    today = today or datetime.now(UTC).date()
    now = basis.rates_on(today)
    reported: dict[date, Decimal] = defaultdict(Decimal)
    has_reported: set[date] = set()
    in_force: dict[date, Decimal] = defaultdict(Decimal)
    at_today: dict[date, Decimal] = defaultdict(Decimal)
    unknown: set[str] = set()
    for g in basis.groups:
        m = _month(g.day)
        if g.reported_usd is not None:
            reported[m] += g.reported_usd
            has_reported.add(m)
        if not g.tokens:
            in_force.setdefault(m, _ZERO)
            at_today.setdefault(m, _ZERO)
            continue
        r, t = basis.rates[(g.provider, g.model, g.day)], now[(g.provider, g.model)]
        if r is None or t is None:
            unknown.add(f"{g.provider or '?'}/{g.model}")
            in_force.setdefault(m, _ZERO)
            at_today.setdefault(m, _ZERO)
            continue
        in_force[m] += group_cost(g, r)
        at_today[m] += group_cost(g, t)
    options = {r.month: r.cost_usd for r in replayed}
    months = []
    for m in sorted(in_force):
        rep = reported[m] if m in has_reported else None
        diff = float((rep - in_force[m]) / in_force[m] * 100) if rep is not None and in_force[m] else None
        flagged = rep is not None and abs(rep - in_force[m]) > max(FLAG_TOLERANCE * in_force[m], Decimal("0.000001"))
        months.append(
            RepricedMonth(
                month=m,
                reported_cost_usd=rep,
                in_force_cost_usd=in_force[m],
                today_cost_usd=at_today[m],
                options_cost_usd=dict(options.get(m, {})),
                difference_pct=diff,
                flagged=flagged,
            )
        )
    return RepricedHistory(
        months=months, genai_prices_version=GENAI_PRICES_VERSION, today=today, unknown_models=sorted(unknown)
    )
