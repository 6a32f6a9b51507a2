"""A scenario `Workload` measured from the imported logs ("Use as workload"), with the period it came from.

Which period stands for "a month of our traffic" decides every number downstream, so it is chosen with guards:

- by default the last full calendar month, but only when it holds at least `MIN_SHARE_OF_MEAN` of the mean full
  month (a month with one 5-request row is not the workload of logs that average 131 requests a month); otherwise
  the mean of the full months;
- with less than a full month of logs, the whole period scaled to an average month;
- any range the user picks, scaled from its days to an average month.

Periods that look sparse (little of the mean month, few days with data, few requests) come with warnings that give
the numbers. The peak-to-average ratio is measured only from `MIN_PEAK_DAYS` days of hourly data; otherwise the
scenario keeps its own and says so.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

import duckdb
from pydantic import Field

from costmodel._base import StrictModel
from costmodel.errors import CostModelError
from costmodel.scenario import Workload
from costmodel.usage.summary import (
    MIN_PEAK_DAYS,
    MonthTotals,
    hourly_days,
    monthly_growth_pct,
    monthly_totals,
    peak_to_average,
)

__all__ = [
    "MIN_SHARE_OF_MEAN",
    "MeasuredWorkload",
    "NoUsageData",
    "PeriodBasis",
    "measure_workload",
    "month_workload",
    "workload_from_usage",
]

DAYS_PER_MONTH = 365.25 / 12
"""Days in an average month, to scale a partial period to a month."""
MIN_SHARE_OF_MEAN = 0.5
"""The last full month stands for the workload only when it holds at least this share of the mean full month."""
_FEW_REQUESTS = 100
"""Fewer requests than this in the chosen period: the token mix per request rests on too few samples."""


class NoUsageData(CostModelError):
    """Nothing has been imported yet (or the logs carry no tokens), so no workload can be measured."""


class PeriodBasis(StrEnum):
    """Which period of the logs the workload was measured on."""

    LAST_FULL_MONTH = "last full month"
    MEAN_OF_FULL_MONTHS = "mean of the full months"
    PARTIAL = "all the logs, scaled to a month"
    RANGE = "chosen range, scaled to a month"


class MeasuredWorkload(StrictModel):
    """The workload the logs describe, the period it was measured on, and what to be careful about."""

    workload: Workload
    basis: PeriodBasis
    start: date
    """First day of the period (UTC)."""
    end: date
    """Last day of the period (UTC), inclusive."""
    period_label: str
    """The period in words (`2025-03`, `mean of 3 full months, 2025-01 … 2025-03`, `2025-03-01 … 2025-03-10`)."""
    days_with_data: int
    requests_in_period: float
    """Requests in the period as logged (counted, or estimated from tokens where the source does not count them)."""
    mean_full_month_requests: float | None
    """The mean full month's requests (None without a full month), to compare the period with."""
    peak_measured: bool
    """False when the peak ratio is the scenario's own (daily buckets, or fewer than `MIN_PEAK_DAYS` days of hours)."""
    warnings: list[str] = Field(default_factory=list)


def _requests(m: MonthTotals, tokens_per_request: float) -> float:
    """Requests counted, plus those estimated for rows from sources that do not count them."""
    counted = m.requests or 0
    if not m.rows_without_requests:
        return float(counted)
    # Tokens of the rows without counts, at the token mix of the rows with counts.
    return float(counted) + max(m.input_tokens + m.output_tokens - counted * tokens_per_request, 0) / tokens_per_request


def _tokens_per_request(con: duckdb.DuckDBPyConnection, base: Workload) -> tuple[float, float]:
    row = con.execute(
        "SELECT sum(input_tokens), sum(output_tokens), sum(requests) FROM usage_events WHERE requests > 0"
    ).fetchall()[0]
    if row and row[2]:
        return float(row[0]) / float(row[2]), float(row[1]) / float(row[2])
    return float(base.input_tokens_per_request), float(base.output_tokens_per_request)


def _month_end(m: date) -> date:
    return date(m.year + m.month // 12, m.month % 12 + 1, 1) - timedelta(days=1)


def _at(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def _workload(
    con: duckdb.DuckDBPyConnection,
    m: MonthTotals,
    *,
    base: Workload,
    scale_to_month: float,
    start: date,
    end: date,
) -> tuple[Workload, bool]:
    """The workload of some totals; the peak measured over [start, end] when enough hourly data is there."""
    in_per_req, out_per_req = _tokens_per_request(con, base)
    if m.requests and not m.rows_without_requests:
        in_per_req, out_per_req = m.input_tokens / m.requests, m.output_tokens / m.requests
    requests = _requests(m, in_per_req + out_per_req) * scale_to_month
    if requests <= 0:
        raise NoUsageData(f"the logs of {start} … {end} hold no requests or tokens")
    peak = peak_to_average(con, start=_at(start), end=_at(end) + timedelta(days=1))
    data = base.model_dump()
    data.update(
        requests_per_month=requests,
        input_tokens_per_request=max(round(in_per_req), 1),
        output_tokens_per_request=max(round(out_per_req), 1),
        cached_input_share=min(m.cached_input_tokens / m.input_tokens, 1.0) if m.input_tokens else 0.0,
        peak_to_average=min(peak, 100.0) if peak is not None else base.peak_to_average,
    )
    return Workload.model_validate(data), peak is not None


def month_workload(
    con: duckdb.DuckDBPyConnection, m: MonthTotals, *, base: Workload, scale_to_month: float = 1.0
) -> Workload:
    """The workload of one month of logs: volume, token mix, cached share and peak ratio measured; rest from `base`.

    Args:
        con: store connection.
        m: the month's totals.
        base: latency targets, hours of operation, batch share and any figure the logs cannot give.
        scale_to_month: factor applied to the volume (a partial period scaled to a month).

    Returns:
        A validated `Workload`.
    """
    return _workload(con, m, base=base, scale_to_month=scale_to_month, start=m.month, end=_month_end(m.month))[0]


def _range_totals(con: duckdb.DuckDBPyConnection, start: date, end: date) -> MonthTotals:
    """Totals of the days [start, end] (UTC), shaped like a month's."""
    row = con.execute(
        """
        SELECT count(DISTINCT hour::DATE), sum(requests), coalesce(sum(rows_without_requests), 0),
               coalesce(sum(input_tokens), 0), coalesce(sum(cached_input_tokens), 0), coalesce(sum(output_tokens), 0),
               sum(reported_cost_usd)
        FROM usage_hourly WHERE hour >= $lo AND hour < $hi
        """,
        {"lo": _at(start), "hi": _at(end) + timedelta(days=1)},
    ).fetchall()[0]
    days, req, no_req, i, c, o, cost = row
    return MonthTotals(
        month=date(start.year, start.month, 1),
        full=False,
        days_covered=int(days or 0),
        requests=None if req is None else int(req),
        rows_without_requests=int(no_req),
        input_tokens=int(i),
        cached_input_tokens=int(c),
        output_tokens=int(o),
        reported_cost_usd=cost,
    )


def _combine(months: list[MonthTotals]) -> MonthTotals:
    req = [m.requests for m in months if m.requests is not None]
    cost = [m.reported_cost_usd for m in months if m.reported_cost_usd is not None]
    return MonthTotals(
        month=months[0].month,
        full=False,
        days_covered=sum(m.days_covered for m in months),
        requests=sum(req) if req else None,
        rows_without_requests=sum(m.rows_without_requests for m in months),
        input_tokens=sum(m.input_tokens for m in months),
        cached_input_tokens=sum(m.cached_input_tokens for m in months),
        output_tokens=sum(m.output_tokens for m in months),
        reported_cost_usd=sum(cost, Decimal(0)) if cost else None,
    )


def _days_spanned(con: duckdb.DuckDBPyConnection) -> float:
    """Days the logs span: whole days for daily-bucket logs, first to last row otherwise (at least an hour)."""
    row = con.execute(
        """
        SELECT (SELECT min(ts) FROM usage_events), (SELECT max(ts) FROM usage_events),
               count(DISTINCT hour::DATE), sum(rows) = sum(midnight_rows)
        FROM usage_hourly
        """
    ).fetchall()[0]
    if not row or row[0] is None:
        return 1.0
    first, last, dates, daily = row
    if daily:
        return float(dates)
    return max((last - first) / timedelta(days=1), 1 / 24)


def _fmt(n: float) -> str:
    return f"{n:,.0f}"


def measure_workload(
    con: duckdb.DuckDBPyConnection,
    *,
    base: Workload | None = None,
    start: date | None = None,
    end: date | None = None,
) -> MeasuredWorkload:
    """The workload the imported logs describe, from the default period or from [start, end], with warnings.

    Volume is the chosen period's requests scaled to an average month; tokens per request, cached share and the
    peak-to-average ratio are measured in that period; growth is fitted over all full months. Latency targets,
    hours of operation and anything the logs cannot tell come from `base`.

    Args:
        con: store connection.
        base: the workload to start from (default `Workload()`).
        start: first day of a chosen range (UTC); with `end`, overrides the default period.
        end: last day of the chosen range (UTC), inclusive.

    Returns:
        The workload, its period and basis, and warnings in words with their numbers.

    Raises:
        NoUsageData: nothing has been imported, or the chosen range holds no usage.
    """
    base = base or Workload()
    months = monthly_totals(con)
    if not months:
        raise NoUsageData("no usage imported yet: import a log first (`opentco import FILE`)")
    tpr = sum(_tokens_per_request(con, base))
    full = [m for m in months if m.full]
    mean_full = sum(_requests(m, tpr) for m in full) / len(full) if full else None
    warnings: list[str] = []
    first_day, last_day = months[0].month, _month_end(months[-1].month)
    bounds = con.execute("SELECT min(hour)::DATE, max(hour)::DATE FROM usage_hourly").fetchall()[0]
    if bounds and bounds[0] is not None:
        first_day, last_day = bounds[0], bounds[1]

    if start is not None or end is not None:
        lo, hi = max(start or first_day, first_day), min(end or last_day, last_day)
        if lo > hi:
            raise NoUsageData(f"the logs hold nothing between {start} and {end} (they cover {first_day} … {last_day})")
        totals = _range_totals(con, lo, hi)
        span = (hi - lo).days + 1
        basis, label, scale = PeriodBasis.RANGE, f"{lo} … {hi}", DAYS_PER_MONTH / span
    elif full:
        last = full[-1]
        last_volume = _requests(last, tpr)
        if mean_full and last_volume >= MIN_SHARE_OF_MEAN * mean_full:
            totals, basis, scale = last, PeriodBasis.LAST_FULL_MONTH, 1.0
            lo, hi, label = last.month, _month_end(last.month), f"{last.month:%Y-%m}"
        else:
            totals, basis, scale = _combine(full), PeriodBasis.MEAN_OF_FULL_MONTHS, 1.0 / len(full)
            lo, hi = full[0].month, _month_end(full[-1].month)
            label = f"mean of {len(full)} full months, {full[0].month:%Y-%m} … {full[-1].month:%Y-%m}"
            share = last_volume / mean_full if mean_full else 0.0
            warnings.append(
                f"The last full month ({last.month:%Y-%m}) held {_fmt(last_volume)} requests, {share:.0%} of the mean "
                f"full month ({_fmt(mean_full or 0)}); the workload uses the mean of the {len(full)} full months "
                "instead. Pick a range to use another period."
            )
    else:
        totals = _combine(months)
        days = _days_spanned(con)
        basis, scale, lo, hi = PeriodBasis.PARTIAL, DAYS_PER_MONTH / days, first_day, last_day
        label = f"{first_day} … {last_day}"
        warnings.append(
            f"The logs cover {days:.1f} days, less than one full month: their volume is scaled to an average month "
            f"({DAYS_PER_MONTH:.1f} days)."
        )

    in_period = _requests(totals, tpr)
    wl, peak_measured = _workload(con, totals, base=base, scale_to_month=scale, start=lo, end=hi)
    days = totals.days_covered
    per_month = in_period * scale if basis is not PeriodBasis.MEAN_OF_FULL_MONTHS else in_period / len(full)
    if mean_full and basis is PeriodBasis.RANGE and per_month < MIN_SHARE_OF_MEAN * mean_full:
        warnings.append(
            f"Sparse period: {label} comes to {_fmt(per_month)} requests a month, {per_month / mean_full:.0%} of the "
            f"mean full month ({_fmt(mean_full)})."
        )
    if in_period < _FEW_REQUESTS:
        warnings.append(f"Only {_fmt(in_period)} requests in {label}: the token mix per request rests on few samples.")
    if days < MIN_PEAK_DAYS and basis is not PeriodBasis.PARTIAL:
        warnings.append(f"{label} holds data on {days} day(s) only.")
    if not peak_measured:
        hours = hourly_days(con, start=_at(lo), end=_at(hi) + timedelta(days=1))
        warnings.append(
            f"Peak ÷ mean needs {MIN_PEAK_DAYS} days of hourly data; the period has {hours}, so the scenario keeps "
            f"its own {base.peak_to_average:.2f}."
        )
    growth = monthly_growth_pct(con)
    if growth is not None:
        wl = Workload.model_validate({**wl.model_dump(), "monthly_growth_pct": round(growth, 2)})
    return MeasuredWorkload(
        workload=wl,
        basis=basis,
        start=lo,
        end=hi,
        period_label=label,
        days_with_data=days,
        requests_in_period=in_period,
        mean_full_month_requests=mean_full,
        peak_measured=peak_measured,
        warnings=warnings,
    )


def workload_from_usage(
    con: duckdb.DuckDBPyConnection,
    *,
    base: Workload | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Workload:
    """The workload the imported logs describe, ready to drop into a scenario (see `measure_workload`).

    Raises:
        NoUsageData: nothing has been imported.
    """
    return measure_workload(con, base=base, start=start, end=end).workload
