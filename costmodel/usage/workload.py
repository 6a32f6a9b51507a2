"""A scenario `Workload` measured from the imported logs ("Use as workload")."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from costmodel.errors import CostModelError
from costmodel.scenario import Workload
from costmodel.usage.summary import MonthTotals, monthly_growth_pct, monthly_totals, peak_to_average

__all__ = ["NoUsageData", "month_workload", "workload_from_usage"]

DAYS_PER_MONTH = 365.25 / 12
"""Days in an average month, to scale a partial period to a month."""


class NoUsageData(CostModelError):
    """Nothing has been imported yet (or the logs carry no tokens), so no workload can be measured."""


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
    in_per_req, out_per_req = _tokens_per_request(con, base)
    if m.requests and not m.rows_without_requests:
        in_per_req, out_per_req = m.input_tokens / m.requests, m.output_tokens / m.requests
    requests = _requests(m, in_per_req + out_per_req) * scale_to_month
    if requests <= 0:
        raise NoUsageData(f"the logs of {m.month:%B %Y} hold no requests or tokens")
    peak = peak_to_average(con, month=m.month)
    data = base.model_dump()
    data.update(
        requests_per_month=requests,
        input_tokens_per_request=max(round(in_per_req), 1),
        output_tokens_per_request=max(round(out_per_req), 1),
        cached_input_share=min(m.cached_input_tokens / m.input_tokens, 1.0) if m.input_tokens else 0.0,
        peak_to_average=min(peak, 100.0) if peak is not None else base.peak_to_average,
    )
    return Workload.model_validate(data)


def workload_from_usage(con: duckdb.DuckDBPyConnection, *, base: Workload | None = None) -> Workload:
    """The workload the imported logs describe, ready to drop into a scenario.

    Volume is the last full calendar month's requests (with less than a full month of logs, the whole period
    scaled to an average month); tokens per request, cached share and the peak-to-average ratio are measured
    in that month; growth is fitted over all full months. Latency targets, hours of operation and anything the
    logs cannot tell (growth with fewer than two full months, peaks of daily-bucket logs) come from `base`.

    Args:
        con: store connection.
        base: the workload to start from (default `Workload()`).

    Returns:
        A validated `Workload`.

    Raises:
        NoUsageData: nothing has been imported.
    """
    base = base or Workload()
    months = monthly_totals(con)
    if not months:
        raise NoUsageData("no usage imported yet: import a log first (`opentco import FILE`)")
    full = [m for m in months if m.full]
    if full:
        wl = month_workload(con, full[-1], base=base)
    else:
        whole = _combine(months)
        wl = month_workload(con, whole, base=base, scale_to_month=DAYS_PER_MONTH / _days_covered(con))
        peak = peak_to_average(con)
        wl = Workload.model_validate(
            {**wl.model_dump(), "peak_to_average": min(peak, 100.0) if peak else base.peak_to_average}
        )
    growth = monthly_growth_pct(con)
    if growth is not None:
        wl = Workload.model_validate({**wl.model_dump(), "monthly_growth_pct": round(growth, 2)})
    return wl


def _days_covered(con: duckdb.DuckDBPyConnection) -> float:
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


def _combine(months: list[MonthTotals]) -> MonthTotals:
    req = [m.requests for m in months if m.requests is not None]
    cost = [m.reported_cost_usd for m in months if m.reported_cost_usd is not None]
    return MonthTotals(
        month=months[0].month if len(months) == 1 else date(1970, 1, 1),
        full=False,
        days_covered=sum(m.days_covered for m in months),
        requests=sum(req) if req else None,
        rows_without_requests=sum(m.rows_without_requests for m in months),
        input_tokens=sum(m.input_tokens for m in months),
        cached_input_tokens=sum(m.cached_input_tokens for m in months),
        output_tokens=sum(m.output_tokens for m in months),
        reported_cost_usd=sum(cost) if cost else None,
    )
