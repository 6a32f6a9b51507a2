"""What the imported usage says: volume over time, peaks, busy hours and growth.

Every function runs one aggregate query over `usage_events` (DuckDB answers them over ten million rows in
well under 200 ms) and returns a typed model or a DataFrame whose column names carry their units.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

import duckdb
import pandas as pd
from pydantic import Field

from costmodel._base import StrictModel
from costmodel.usage.costs import CostBasis, CostCheck, ModelCost, cost_check

__all__ = [
    "MIN_PEAK_DAYS",
    "Dimension",
    "Grain",
    "MonthTotals",
    "UsageSummary",
    "hour_of_week",
    "hourly_days",
    "monthly_growth_pct",
    "monthly_totals",
    "peak_to_average",
    "summarize",
    "usage_series",
]


class Grain(StrEnum):
    """Time bucket of a series."""

    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


class Dimension(StrEnum):
    """What a series is broken down by."""

    PROVIDER = "provider"
    MODEL = "model"
    PROJECT = "project"
    USER = "user"


# Whitelisted SQL for each dimension (never built from user input).
_DIM_SQL = {
    Dimension.PROVIDER: "coalesce(provider, '(unknown)')",
    Dimension.MODEL: "model",
    Dimension.PROJECT: "coalesce(project, '(none)')",
    Dimension.USER: "coalesce(user, '(none)')",
}
# Raw rows are grouped on a cheap integer-like key first (date_trunc per row costs more than the grouping),
# then the few groups are turned into the bucket's timestamp.
_RAW_KEY = {Grain.HOUR: "epoch_us(ts) // 3600000000", Grain.DAY: "ts::DATE", Grain.MONTH: "ts::DATE"}
_RAW_PERIOD = {
    Grain.HOUR: "make_timestamp(k * 3600000000)",
    Grain.DAY: "k::TIMESTAMP",
    Grain.MONTH: "date_trunc('month', k)::TIMESTAMP",
}
_TOTALS = """
    sum(input_tokens)::BIGINT AS input_tokens, sum(cached_input_tokens)::BIGINT AS cached_input_tokens,
    sum(output_tokens)::BIGINT AS output_tokens, sum(input_tokens + output_tokens)::BIGINT AS total_tokens,
    sum(requests)::BIGINT AS requests"""


def _aligned(t: datetime | None) -> bool:
    return t is None or t == t.replace(minute=0, second=0, microsecond=0)


def usage_series(
    con: duckdb.DuckDBPyConnection,
    *,
    grain: Grain = Grain.DAY,
    by: Dimension | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """Tokens and requests per hour, day or month, optionally per provider, model, project or user.

    Totals read the hourly roll-up kept with each import (milliseconds over tens of millions of rows);
    breakdowns by a dimension scan the rows.

    Args:
        con: store connection.
        grain: the time bucket.
        by: break each bucket down by this dimension (a column named after it).
        start: first instant included (UTC), default everything.
        end: first instant excluded (UTC), default everything.

    Returns:
        Columns `period` (bucket start, UTC), the dimension if any, `input_tokens`, `cached_input_tokens`,
        `output_tokens`, `total_tokens` (input + output) and `requests` (rows that count them), sorted.
    """
    bounds = {"start": start, "end": end}
    window = "coalesce($start, TIMESTAMP '-infinity') AND {col} < coalesce($end, TIMESTAMP 'infinity')"
    if by is None and _aligned(start) and _aligned(end):
        sql = f"""
            SELECT date_trunc($grain, hour) AS period, {_TOTALS}
            FROM usage_hourly WHERE hour >= {window.format(col="hour")}
            GROUP BY 1 ORDER BY 1"""
        return con.execute(sql, {"grain": grain.value, **bounds}).df()
    dim = f", {_DIM_SQL[by]} AS {by.value}" if by else ""
    outer_dim = f", {by.value}" if by else ""
    sql = f"""
        SELECT {_RAW_PERIOD[grain]} AS period{outer_dim},
               sum(i)::BIGINT AS input_tokens, sum(c)::BIGINT AS cached_input_tokens,
               sum(o)::BIGINT AS output_tokens, sum(i + o)::BIGINT AS total_tokens, sum(r)::BIGINT AS requests
        FROM (
            SELECT {_RAW_KEY[grain]} AS k{dim}, sum(input_tokens) AS i, sum(cached_input_tokens) AS c,
                   sum(output_tokens) AS o, sum(requests) AS r
            FROM usage_events WHERE ts >= {window.format(col="ts")}
            GROUP BY ALL)
        GROUP BY ALL ORDER BY ALL"""
    return con.execute(sql, bounds).df()


def _daily_only(con: duckdb.DuckDBPyConnection) -> bool:
    """True when every row sits at midnight: the logs are daily buckets and hours cannot be told apart."""
    row = con.execute("SELECT sum(rows), sum(midnight_rows) FROM usage_hourly").fetchall()[0]
    return bool(row and row[0] and row[0] == row[1])


MIN_PEAK_DAYS = 7
"""Days of hourly data a peak ÷ mean ratio needs: fewer, and one busy afternoon (or one row in one hour) reads as
the whole pattern, so the ratio is not measured."""


def hourly_days(con: duckdb.DuckDBPyConnection, *, start: datetime | None = None, end: datetime | None = None) -> int:
    """Days in [start, end) that hold rows with a time of day (daily-bucket rows, stamped at midnight, do not count)."""
    lo, hi = start or datetime(1970, 1, 1), end or datetime(9999, 1, 1)
    row = con.execute(
        "SELECT count(DISTINCT hour::DATE) FROM usage_hourly WHERE hour >= $lo AND hour < $hi AND rows > midnight_rows",
        {"lo": lo, "hi": hi},
    ).fetchall()[0]
    return int(row[0]) if row and row[0] else 0


def peak_to_average(
    con: duckdb.DuckDBPyConnection,
    *,
    month: date | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    min_days: int = MIN_PEAK_DAYS,
) -> float | None:
    """p95 hour ÷ mean hour of total tokens, over every hour from the first to the last (empty hours count as 0).

    Args:
        con: store connection.
        month: restrict to this calendar month (any date in it); default all data.
        start: first instant included (UTC), when no month is given.
        end: first instant excluded (UTC), when no month is given.
        min_days: days of hourly data needed (`MIN_PEAK_DAYS`); with fewer the ratio is not measured.

    Returns:
        The ratio (≥ 1), or None when there is no data, the logs only have daily buckets, or fewer than
        `min_days` days hold hourly data.
    """
    if _daily_only(con):
        return None
    lo, hi = _month_bounds(month) if month is not None else (start or datetime(1970, 1, 1), end or datetime(9999, 1, 1))
    if hourly_days(con, start=lo, end=hi) < min_days:
        return None
    row = con.execute(
        """
        WITH h AS (
            SELECT hour, sum(input_tokens + output_tokens)::DOUBLE AS tok
            FROM usage_hourly WHERE hour >= $lo AND hour < $hi GROUP BY 1),
        span AS (SELECT min(hour) AS first, max(hour) AS last FROM h),
        filled AS (
            SELECT coalesce(h.tok, 0) AS tok
            FROM span, range(span.first, span.last + INTERVAL 1 HOUR, INTERVAL 1 HOUR) AS g(hour)
            LEFT JOIN h ON h.hour = g.hour)
        SELECT quantile_cont(tok, 0.95), avg(tok) FROM filled
        """,
        {"lo": lo, "hi": hi},
    ).fetchall()[0]
    if not row or not row[1]:
        return None
    return max(float(row[0]) / float(row[1]), 1.0)


def _month_bounds(month: date | None) -> tuple[datetime, datetime]:
    if month is None:
        return datetime(1970, 1, 1), datetime(9999, 1, 1)
    first = datetime(month.year, month.month, 1)
    nxt = datetime(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, nxt


def hour_of_week(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Mean tokens and requests in each hour of the week (UTC), for the busiest-hours heatmap.

    Returns:
        168 rows: `weekday` (0 = Monday), `hour` (0–23), `tokens_per_hour` and `requests_per_hour`, each the
        slot's total divided by the number of weeks the data spans.
    """
    return con.execute(
        """
        WITH span AS (
            SELECT greatest(ceil(date_diff('hour', min(hour), max(hour)) / 168.0), 1) AS weeks FROM usage_hourly),
        slots AS (
            SELECT isodow(hour) - 1 AS weekday, hour(hour) AS hour_of_day,
                   sum(input_tokens + output_tokens)::DOUBLE AS tok, sum(requests)::DOUBLE AS req
            FROM usage_hourly GROUP BY ALL),
        grid AS (SELECT w.weekday, h.hour_of_day FROM range(7) w(weekday), range(24) h(hour_of_day))
        SELECT grid.weekday::INTEGER AS weekday, grid.hour_of_day::INTEGER AS hour,
               coalesce(tok, 0) / span.weeks AS tokens_per_hour, coalesce(req, 0) / span.weeks AS requests_per_hour
        FROM grid CROSS JOIN span LEFT JOIN slots USING (weekday, hour_of_day)
        ORDER BY 1, 2
        """
    ).df()


class MonthTotals(StrictModel):
    """One calendar month of usage."""

    month: date
    """First day of the month."""
    full: bool
    """True when the logs cover the whole month (the first and last month are usually partial)."""
    days_covered: int
    requests: int | None
    """Requests counted by the logs (None when no row that month counts them)."""
    rows_without_requests: int
    """Rows from sources that do not count requests (their tokens are in the totals)."""
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reported_cost_usd: Decimal | None


def monthly_totals(con: duckdb.DuckDBPyConnection) -> list[MonthTotals]:
    """Totals per calendar month, each marked full or partial."""
    bounds = con.execute("SELECT min(hour), max(hour) FROM usage_hourly").fetchall()[0]
    if not bounds or bounds[0] is None:
        return []
    first_day, last_day = bounds[0].date(), bounds[1].date()
    rows = con.execute(
        """
        SELECT date_trunc('month', hour)::DATE AS month, count(DISTINCT hour::DATE), sum(requests),
               sum(rows_without_requests), sum(input_tokens), sum(cached_input_tokens), sum(output_tokens),
               sum(reported_cost_usd)
        FROM usage_hourly GROUP BY 1 ORDER BY 1
        """
    ).fetchall()
    out = []
    for month, days, req, no_req, i, c, o, cost in rows:
        nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        full = first_day <= month and last_day >= nxt - timedelta(days=1)
        out.append(
            MonthTotals(
                month=month,
                full=full,
                days_covered=days,
                requests=None if req is None else int(req),
                rows_without_requests=no_req,
                input_tokens=i,
                cached_input_tokens=c,
                output_tokens=o,
                reported_cost_usd=cost,
            )
        )
    return out


def monthly_growth_pct(con: duckdb.DuckDBPyConnection) -> float | None:
    """Month-over-month growth of volume, fitted (least squares on the log) over the full months present.

    Volume is requests when every full month counts them, tokens otherwise. Returns None with fewer than two
    full months; the result is clamped to the scenario's range (−50 … +200 %).
    """
    months = [m for m in monthly_totals(con) if m.full]
    if len(months) < 2:
        return None
    use_requests = all(m.requests and not m.rows_without_requests for m in months)
    ys = [float(m.requests if use_requests else m.input_tokens + m.output_tokens) for m in months]  # type: ignore[arg-type]
    if any(y <= 0 for y in ys):
        return None
    xs = [(m.month.year - months[0].month.year) * 12 + m.month.month - months[0].month.month for m in months]
    logs = [math.log(y) for y in ys]
    mx, my = sum(xs) / len(xs), sum(logs) / len(logs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, logs, strict=True)) / sum((x - mx) ** 2 for x in xs)
    return min(max((math.exp(slope) - 1) * 100, -50.0), 200.0)


class UsageSummary(StrictModel):
    """Everything imported, in one object (`opentco usage summary --json`)."""

    imports: int
    rows: int
    first_ts: datetime | None
    """Earliest row, UTC."""
    last_ts: datetime | None
    requests: int | None
    """Requests counted by the logs (rows from sources without request counts add tokens only)."""
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    peak_to_average: float | None
    """p95 hour ÷ mean hour of tokens (None for daily-bucket logs and fewer than `MIN_PEAK_DAYS` days of hours)."""
    hourly_days: int = 0
    """Days that hold hourly (not daily-bucket) data: the peak ratio needs `MIN_PEAK_DAYS` of them."""
    monthly_growth_pct: float | None
    """Fitted month-over-month growth over the full months (None with fewer than two)."""
    reported_cost_usd: Decimal | None
    recomputed_cost_usd: Decimal
    """genai-prices list cost at each row's date, models it knows only."""
    unknown_models: list[str] = Field(default_factory=list)
    flagged_rows: int = 0
    """Rows whose reported cost is more than 1 % away from the recomputed cost."""
    by_model: list[ModelCost] = Field(default_factory=list)
    by_month: list[MonthTotals] = Field(default_factory=list)
    cache_write_tokens: int = 0
    """The part of `input_tokens` written to the provider's prompt cache (five-minute and one-hour writes)."""
    proxy_cache_requests: int = 0
    """Requests a gateway (LiteLLM) answered from its own response cache: no provider was called, so they are in
    none of the totals above."""
    proxy_cache_tokens: int = 0
    """Input + output tokens of those cached responses (what the provider would have been asked for)."""


def summarize(con: duckdb.DuckDBPyConnection, *, basis: CostBasis | None = None) -> UsageSummary:
    """Totals, cost check, peak ratio, growth, and per-model and per-month breakdowns.

    Args:
        con: store connection.
        basis: prices already resolved by `cost_basis(con)` (saves resolving them again).
    """
    row = con.execute(
        """
        SELECT (SELECT count(*) FROM imports), coalesce(sum(rows), 0),
               (SELECT min(ts) FROM usage_events), (SELECT max(ts) FROM usage_events), sum(requests),
               coalesce(sum(input_tokens), 0), coalesce(sum(cached_input_tokens), 0), coalesce(sum(output_tokens), 0)
        FROM usage_hourly
        """
    ).fetchall()[0] or (0, 0, None, None, None, 0, 0, 0)
    check: CostCheck = cost_check(con, basis=basis)
    hits = con.execute(
        "SELECT count(*), coalesce(sum(input_tokens + output_tokens), 0), "
        "(SELECT coalesce(sum(cache_write_5m_tokens + cache_write_1h_tokens), 0) FROM usage_hourly) "
        "FROM usage_cache_hits"
    ).fetchall()[0]
    return UsageSummary(
        imports=row[0],
        rows=int(row[1]),
        first_ts=row[2],
        last_ts=row[3],
        requests=None if row[4] is None else int(row[4]),
        input_tokens=int(row[5]),
        cached_input_tokens=int(row[6]),
        output_tokens=int(row[7]),
        peak_to_average=peak_to_average(con) if row[1] else None,
        hourly_days=hourly_days(con),
        monthly_growth_pct=monthly_growth_pct(con),
        reported_cost_usd=check.reported_cost_usd,
        recomputed_cost_usd=check.recomputed_cost_usd,
        unknown_models=check.unknown_models,
        flagged_rows=check.flagged_rows,
        by_model=check.by_model,
        by_month=monthly_totals(con),
        cache_write_tokens=int(hits[2]),
        proxy_cache_requests=int(hits[0]),
        proxy_cache_tokens=int(hits[1]),
    )
