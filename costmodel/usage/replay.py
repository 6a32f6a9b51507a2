"""Replay: what each logged month would have cost under each option of a scenario.

Each calendar month of logs becomes a one-month scenario (its measured workload, horizon 1) evaluated by the
TCO engine. One-off costs (setup, fine-tuning, data preparation) are charged in the first replayed month only,
as they would have been. Partial months (the first and last, usually) are replayed as they are and marked, so
fixed monthly costs of self-hosted options are not compared against half a month of API traffic unnoticed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

import duckdb

from costmodel._base import StrictModel
from costmodel.scenario import CloudGpuOption, OnPremOption, Scenario
from costmodel.usage.summary import monthly_totals
from costmodel.usage.workload import NoUsageData, month_workload

__all__ = ["ReplayMonth", "ReplayTotals", "replay", "replay_totals"]


class _MonthLike(Protocol):
    @property
    def total_usd(self) -> Decimal: ...


class _OptionLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def months(self) -> Sequence[_MonthLike]: ...


class _ResultLike(Protocol):
    @property
    def options(self) -> Sequence[_OptionLike]: ...


Evaluate = Callable[[Scenario], _ResultLike]
"""The engine's contract: `costmodel.tco.evaluate(scenario)` → result with `options[i].months[j].total_usd`."""


class ReplayMonth(StrictModel):
    """One logged month, replayed."""

    month: date
    """First day of the month."""
    full: bool
    """False for a month the logs only partly cover."""
    requests: float
    """Requests that month (counted, or estimated from tokens for sources that do not count them)."""
    input_tokens: int
    output_tokens: int
    reported_cost_usd: Decimal | None
    """What the logs say the month cost (None when they report no cost)."""
    cost_usd: dict[str, Decimal]
    """Option name → total cost of the month under that option."""


class ReplayTotals(StrictModel):
    """The replayed months added up: what the whole logged period would have cost under each option."""

    months: int
    full_months: int
    cost_usd: dict[str, Decimal]
    """Option name → cost of every replayed month together (one-off costs included, once)."""
    reported_cost_usd: Decimal | None
    """What the logs reported for the same months (None when no month reported a cost)."""
    cheapest: str
    """The option that would have cost least over the logged period."""


def replay_totals(months: Sequence[ReplayMonth]) -> ReplayTotals:
    """Sum of `replay()`'s months per option, and which option would have been cheapest.

    Raises:
        ValueError: `months` is empty (`replay()` raises `NoUsageData` before that can happen).
    """
    if not months:
        raise ValueError("no replayed months to add up")
    names = list(months[0].cost_usd)
    cost = {n: sum((m.cost_usd[n] for m in months), Decimal(0)) for n in names}
    reported = [m.reported_cost_usd for m in months if m.reported_cost_usd is not None]
    return ReplayTotals(
        months=len(months),
        full_months=sum(m.full for m in months),
        cost_usd=cost,
        reported_cost_usd=sum(reported, Decimal(0)) if reported else None,
        cheapest=min(names, key=cost.__getitem__),
    )


def _without_one_offs(scenario: Scenario) -> Scenario:
    options: list[Any] = []
    for o in scenario.options:
        if isinstance(o, CloudGpuOption | OnPremOption):
            costs = o.costs.model_copy(
                update={"setup_usd": Decimal(0), "fine_tuning_gpu_hours": 0.0, "data_prep_days": 0.0}
            )
            o = o.model_copy(update={"costs": costs})
        options.append(o)
    return scenario.model_copy(update={"options": options})


def _default_evaluate() -> Evaluate:
    from costmodel.tco import evaluate

    return functools.partial(evaluate, with_break_even=False)  # type: ignore[return-value]


def replay(
    con: duckdb.DuckDBPyConnection, scenario: Scenario, *, evaluate: Evaluate | None = None
) -> list[ReplayMonth]:
    """Cost of every logged month under every option of `scenario`.

    Args:
        con: store connection.
        scenario: the options to replay (its workload supplies latency targets and hours of operation).
        evaluate: the TCO engine (default `costmodel.tco.evaluate`); injectable for tests.

    Returns:
        One `ReplayMonth` per calendar month present in the logs, oldest first.

    Raises:
        NoUsageData: nothing has been imported.
    """
    run = evaluate or _default_evaluate()
    months = monthly_totals(con)
    if not months:
        raise NoUsageData("no usage imported yet: import a log first (`opentco import FILE`)")
    later = _without_one_offs(scenario)
    out = []
    for i, m in enumerate(months):
        wl = month_workload(con, m, base=scenario.workload)
        wl = wl.model_copy(update={"monthly_growth_pct": 0.0})
        one = (scenario if i == 0 else later).model_copy(update={"workload": wl, "horizon_months": 1})
        result = run(one)
        out.append(
            ReplayMonth(
                month=m.month,
                full=m.full,
                requests=wl.requests_per_month,
                input_tokens=m.input_tokens,
                output_tokens=m.output_tokens,
                reported_cost_usd=m.reported_cost_usd,
                cost_usd={o.name: o.months[0].total_usd for o in result.options},
            )
        )
    return out
