"""Monthly usage from the store, shaped for the workbook's Usage sheet and the summary page.

The usage-logs feature owns the `usage_events` table; this module only reads it. It reads the columns
the normalised `UsageRecord` defines (`ts`, `provider`, `model`, `input_tokens`, `cached_input_tokens`,
`output_tokens`, `requests`, `reported_cost_usd`, `project`). The required ones are `ts`, `model`,
`input_tokens` and `output_tokens`; an optional column that is missing reads as empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import duckdb

from costmodel.prices import api_price, usage_cost_usd

__all__ = ["ModelMonth", "ProjectMonth", "UsageSummary", "usage_summary"]

_TABLE = "usage_events"
_REQUIRED = ("ts", "model", "input_tokens", "output_tokens")
# Column → the SQL expression used when the column is absent. Only these fixed identifiers ever reach the
# SQL text (no user input does), so assembling the select list from them is safe.
_OPTIONAL = {
    "provider": "CAST(NULL AS VARCHAR)",
    "cached_input_tokens": "0",
    "requests": "CAST(NULL AS BIGINT)",
    "reported_cost_usd": "CAST(NULL AS DECIMAL(38, 10))",
    "project": "CAST(NULL AS VARCHAR)",
}


@dataclass(frozen=True)
class ModelMonth:
    """One model's usage in one calendar month."""

    month: date
    """First day of the month (UTC)."""
    provider: str | None
    model: str
    requests: int | None
    """None when the log does not count requests."""
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reported_cost_usd: Decimal | None
    """What the source reported (None when no row of the month reported a cost)."""
    list_cost_usd: Decimal | None
    """The same tokens at genai-prices list price (None when genai-prices does not know the model)."""

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class ProjectMonth:
    """One project's usage in one calendar month."""

    month: date
    project: str | None
    requests: int | None
    tokens: int
    reported_cost_usd: Decimal | None


@dataclass(frozen=True)
class UsageSummary:
    """Stored usage by month and model, and by month and project."""

    by_model: tuple[ModelMonth, ...]
    by_project: tuple[ProjectMonth, ...]
    source: str
    """Where the figures come from (the table and the database file)."""


def usage_summary(con: duckdb.DuckDBPyConnection, *, source: str = "usage store") -> UsageSummary | None:
    """Monthly tokens and costs by model and by project; None when no usage is stored.

    Args:
        con: a connection (or cursor) to the store.
        source: how to name the store in the workbook's Sources sheet (e.g. the file path).

    Returns:
        The summary, or None when the `usage_events` table is absent, empty, or lacks a required column.
    """
    cols = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [_TABLE]
        ).fetchall()
    }
    if not cols or not set(_REQUIRED) <= cols:
        return None
    select = ", ".join(c if c in cols else f"{fallback} AS {c}" for c, fallback in _OPTIONAL.items())
    base = f"SELECT ts, model, input_tokens, output_tokens, {select} FROM {_TABLE}"  # fixed identifiers only
    by_model = con.execute(
        f"""
        SELECT date_trunc('month', ts)::DATE AS month, provider, model,
               CASE WHEN count(requests) = count(*) THEN sum(requests) END AS requests,
               sum(input_tokens), sum(coalesce(cached_input_tokens, 0)), sum(output_tokens),
               sum(reported_cost_usd)
        FROM ({base}) GROUP BY ALL ORDER BY month, provider NULLS FIRST, model
        """
    ).fetchall()
    if not by_model:
        return None
    by_project = con.execute(
        f"""
        SELECT date_trunc('month', ts)::DATE AS month, project,
               CASE WHEN count(requests) = count(*) THEN sum(requests) END AS requests,
               sum(input_tokens) + sum(output_tokens), sum(reported_cost_usd)
        FROM ({base}) GROUP BY ALL ORDER BY month, project NULLS FIRST
        """
    ).fetchall()
    return UsageSummary(
        by_model=tuple(
            ModelMonth(
                month=_day(m),
                provider=prov,
                model=model,
                requests=_int(req),
                input_tokens=int(inp),
                cached_input_tokens=int(cached),
                output_tokens=int(out),
                reported_cost_usd=_dec(cost),
                list_cost_usd=_list_cost(prov, model, _int(req), int(inp), int(cached), int(out), _day(m)),
            )
            for m, prov, model, req, inp, cached, out, cost in by_model
        ),
        by_project=tuple(
            ProjectMonth(month=_day(m), project=proj, requests=_int(req), tokens=int(tok), reported_cost_usd=_dec(c))
            for m, proj, req, tok, c in by_project
        ),
        source=f"{_TABLE} in {source}",
    )


def _list_cost(
    provider: str | None, model: str, requests: int | None, inp: int, cached: int, out: int, month: date
) -> Decimal | None:
    """List price of a month's tokens. Tiered prices depend on each request's prompt length, so for those the
    month is priced as `requests` requests of the mean size (and not at all when requests are not counted)."""
    try:
        tiered = api_price(provider, model, at=month).tiered if provider else False
    except LookupError:
        tiered = False
    if not tiered:
        return usage_cost_usd(
            provider=provider, model=model, input_tokens=inp, cached_input_tokens=cached, output_tokens=out, at=month
        )
    if not requests:
        return None
    one = usage_cost_usd(
        provider=provider,
        model=model,
        input_tokens=round(inp / requests),
        cached_input_tokens=min(round(cached / requests), round(inp / requests)),
        output_tokens=round(out / requests),
        at=month,
    )
    return None if one is None else one * requests


def _day(v: date | datetime) -> date:
    return v.date() if isinstance(v, datetime) else v


def _int(v: object) -> int | None:
    return None if v is None else int(v)  # type: ignore[call-overload]


def _dec(v: object) -> Decimal | None:
    return None if v is None else Decimal(str(v))
