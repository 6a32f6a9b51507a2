"""Reported cost against cost recomputed with genai-prices at each row's date.

Prices are resolved per (provider, model, day): five calls to genai-prices (`costmodel.usage.pricing`) at a typical
request of that model (its mean input, cached and output tokens per request) give the price of an uncached
input token, a cached input token, a five-minute and a one-hour cache-write token and an output token that day.
Costs are linear in tokens at a fixed request size, so a day's recomputed cost is those rates times the day's
token sums, in `Decimal`; models whose price rises with prompt length are priced at their typical request. A row
is flagged when its reported cost differs from its recomputed cost by more than `FLAG_TOLERANCE` (and by more
than a micro-dollar, so sources that round tiny costs are not flagged). Models genai-prices does not know are
listed, never dropped. Rows without tokens (the lines of a cost report) carry a cost but nothing to price: they
are never flagged, and their models are never listed as unknown.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache

import duckdb
import pandas as pd
import pyarrow as pa
from pydantic import Field

from costmodel._base import StrictModel
from costmodel.usage.pricing import list_cost_usd, model_group

__all__ = [
    "FLAG_TOLERANCE",
    "CostBasis",
    "CostCheck",
    "ModelCost",
    "cost_basis",
    "cost_check",
    "daily_cost",
    "flagged_rows",
]

FLAG_TOLERANCE = Decimal("0.01")
"""Relative difference between reported and recomputed cost above which a row is flagged (1 %)."""
_MIN_FLAG_USD = Decimal("0.000001")
_TYPICAL_IN, _TYPICAL_OUT = 1000, 300
"""Request size used for models whose logs never count requests (the Workload defaults)."""
_ZERO = Decimal(0)


class ModelCost(StrictModel):
    """Tokens and cost of one provider/model over everything imported."""

    provider: str | None
    model: str
    requests: int | None
    """Requests counted by the logs (None when no row of this model counts them)."""
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reported_cost_usd: Decimal | None
    """Sum of the costs the logs reported (None when no row reported one)."""
    recomputed_cost_usd: Decimal | None
    """genai-prices list cost at each row's date (None when genai-prices does not know the model)."""
    cache_write_tokens: int = 0
    """The part of `input_tokens` written to the prompt cache (five-minute and one-hour writes)."""
    model_group: str = ""
    """The model whatever the log calls it (`gpt-4o` for `gpt-4o-2024-08-06` and `openai/gpt-4o`), by genai-prices'
    matching; the logged name when genai-prices does not know it."""
    flagged_rows: int = 0
    """Rows whose reported cost differs from the recomputed one by more than 1 %."""


class CostCheck(StrictModel):
    """Reported against recomputed cost, over everything imported."""

    by_model: list[ModelCost] = Field(default_factory=list)
    reported_cost_usd: Decimal | None = None
    recomputed_cost_usd: Decimal = _ZERO
    """Recomputed cost of the models genai-prices knows."""
    unknown_models: list[str] = Field(default_factory=list)
    """`provider/model` labels genai-prices cannot price; their tokens are kept and listed here."""
    flagged_rows: int = 0
    tolerance_pct: float = float(FLAG_TOLERANCE * 100)


@dataclass(frozen=True)
class _Rates:
    input_usd: Decimal
    """Per uncached input token."""
    cached_usd: Decimal
    output_usd: Decimal
    write_5m_usd: Decimal
    """Per token written to the prompt cache for five minutes (the input rate where the model has no write rate)."""
    write_1h_usd: Decimal


@lru_cache(maxsize=65536)
def _rates(provider: str | None, model: str, day: date, n_in: int, n_cached: int, n_out: int) -> _Rates | None:
    def cost(i: int, c: int, w5: int, w1: int, o: int) -> Decimal | None:
        return list_cost_usd(
            provider=provider,
            model=model,
            input_tokens=i,
            cached_input_tokens=c,
            cache_write_5m_tokens=w5,
            cache_write_1h_tokens=w1,
            output_tokens=o,
            at=day,
        )

    base = cost(n_in, 0, 0, 0, 0)
    if base is None:
        return None
    cached, w5, w1 = cost(n_in, n_in, 0, 0, 0), cost(n_in, 0, n_in, 0, 0), cost(n_in, 0, 0, n_in, 0)
    with_out = cost(n_in, 0, 0, 0, n_out)
    if cached is None or with_out is None or w5 is None or w1 is None:
        return None
    return _Rates(
        input_usd=base / n_in,
        cached_usd=cached / n_in,
        output_usd=(with_out - base) / n_out,
        write_5m_usd=w5 / n_in,
        write_1h_usd=w1 / n_in,
    )


def _typical_sizes(con: duckdb.DuckDBPyConnection) -> dict[tuple[str | None, str], tuple[int, int, int]]:
    """Mean input, cached and output tokens per request of each model, from rows that count requests."""
    rows = con.execute(
        """
        SELECT provider, model, sum(input_tokens), sum(cached_input_tokens), sum(output_tokens), sum(requests)
        FROM usage_events WHERE requests > 0 GROUP BY ALL
        """
    ).fetchall()
    out = {}
    for prov, model, i, c, o, r in rows:
        n_in = max(round(i / r), 1)
        out[(prov, model)] = (n_in, min(round(c / r), n_in), max(round(o / r), 1))
    return out


@dataclass
class _Group:
    provider: str | None
    model: str
    day: date
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    requests: int | None
    reported_usd: Decimal | None
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def _groups(con: duckdb.DuckDBPyConnection) -> list[_Group]:
    rows = con.execute(
        """
        SELECT provider, model, ts::DATE, sum(input_tokens), sum(cached_input_tokens), sum(output_tokens),
               sum(requests), sum(reported_cost_usd), sum(cache_write_5m_tokens), sum(cache_write_1h_tokens)
        FROM usage_events GROUP BY ALL ORDER BY ALL
        """
    ).fetchall()
    return [_Group(*r) for r in rows]


def _group_rates(
    groups: list[_Group], sizes: dict[tuple[str | None, str], tuple[int, int, int]]
) -> dict[tuple[str | None, str, date], _Rates | None]:
    out = {}
    for g in groups:
        n_in, n_cached, n_out = sizes.get((g.provider, g.model), (_TYPICAL_IN, 0, _TYPICAL_OUT))
        out[(g.provider, g.model, g.day)] = _rates(g.provider, g.model, g.day, n_in, n_cached, n_out)
    return out


_Key = tuple[str | None, str, date]


@dataclass(frozen=True)
class CostBasis:
    """Token sums per (provider, model, day) and the genai-prices rates of each: computed once, used thrice."""

    groups: tuple[_Group, ...]
    rates: dict[_Key, _Rates | None]
    """The list price in force on each group's day."""
    sizes: dict[tuple[str | None, str], tuple[int, int, int]] = field(default_factory=dict)
    """Typical request of each model (input, cached, output tokens): the size tiered prices are read at."""

    def rates_on(self, day: date) -> dict[tuple[str | None, str], _Rates | None]:
        """Each model's list rates on one day (today's list price, say), instead of each group's own day."""
        out: dict[tuple[str | None, str], _Rates | None] = {}
        for g in self.groups:
            key = (g.provider, g.model)
            if key not in out:
                out[key] = _rates(g.provider, g.model, day, *self.sizes.get(key, (_TYPICAL_IN, 0, _TYPICAL_OUT)))
        return out


def cost_basis(con: duckdb.DuckDBPyConnection) -> CostBasis:
    """Resolve the prices every cost view needs (one scan of the rows, one price lookup per model and day)."""
    groups = _groups(con)
    sizes = _typical_sizes(con)
    return CostBasis(groups=tuple(groups), rates=_group_rates(groups, sizes), sizes=sizes)


def group_cost(g: _Group, rates: _Rates) -> Decimal:
    """List cost of one (provider, model, day) group at some rates (cache reads and writes at theirs)."""
    return _cost(g, rates)


def _cost(g: _Group, r: _Rates) -> Decimal:
    w5, w1 = g.cache_write_5m_tokens, g.cache_write_1h_tokens
    uncached = g.input_tokens - g.cached_input_tokens - w5 - w1
    return (
        uncached * r.input_usd
        + g.cached_input_tokens * r.cached_usd
        + w5 * r.write_5m_usd
        + w1 * r.write_1h_usd
        + g.output_tokens * r.output_usd
    )


def _rates_table(rates: dict[tuple[str | None, str, date], _Rates | None]) -> pa.Table:
    known = [(k, v) for k, v in rates.items() if v is not None]
    dec = pa.decimal128(38, 18)

    def q(x: Decimal) -> Decimal:
        return x.quantize(Decimal("1e-18"))

    return pa.table(
        {
            "provider": pa.array([k[0] for k, _ in known], pa.string()),
            "model": pa.array([k[1] for k, _ in known], pa.string()),
            "day": pa.array([k[2] for k, _ in known], pa.date32()),
            "rate_in": pa.array([q(v.input_usd) for _, v in known], dec),
            "rate_cached": pa.array([q(v.cached_usd) for _, v in known], dec),
            "rate_out": pa.array([q(v.output_usd) for _, v in known], dec),
            "rate_w5": pa.array([q(v.write_5m_usd) for _, v in known], dec),
            "rate_w1": pa.array([q(v.write_1h_usd) for _, v in known], dec),
        }
    )


_ROW_COST = """
    (e.input_tokens - e.cached_input_tokens - e.cache_write_5m_tokens - e.cache_write_1h_tokens) * r.rate_in
    + e.cached_input_tokens * r.rate_cached + e.cache_write_5m_tokens * r.rate_w5
    + e.cache_write_1h_tokens * r.rate_w1 + e.output_tokens * r.rate_out"""
_FLAGGED = f"""
    e.reported_cost_usd IS NOT NULL AND e.input_tokens + e.output_tokens > 0
    AND abs(e.reported_cost_usd - ({_ROW_COST})) > greatest($tol * ({_ROW_COST}), $min_usd)"""
_JOIN = """
    FROM usage_events e JOIN _usage_rates r
      ON e.provider IS NOT DISTINCT FROM r.provider AND e.model = r.model AND e.ts::DATE = r.day"""


def _with_rates(con: duckdb.DuckDBPyConnection, rates: dict[tuple[str | None, str, date], _Rates | None]) -> None:
    con.register("_usage_rates", _rates_table(rates))


def cost_check(con: duckdb.DuckDBPyConnection, *, basis: CostBasis | None = None) -> CostCheck:
    """Reported and recomputed cost per model, unknown models and the number of flagged rows.

    Args:
        con: store connection.
        basis: prices already resolved by `cost_basis(con)`.
    """
    basis = basis or cost_basis(con)
    groups, rates = list(basis.groups), basis.rates
    if not groups:
        return CostCheck()
    per_model: dict[tuple[str | None, str], list[_Group]] = defaultdict(list)
    for g in groups:
        per_model[(g.provider, g.model)].append(g)
    _with_rates(con, rates)
    try:
        flagged = dict(
            ((p, m), int(n))
            for p, m, n in con.execute(
                f"SELECT e.provider, e.model, count(*) {_JOIN} WHERE {_FLAGGED} GROUP BY ALL",
                {"tol": FLAG_TOLERANCE, "min_usd": _MIN_FLAG_USD},
            ).fetchall()
        )
    finally:
        con.unregister("_usage_rates")
    models = []
    for (prov, model), gs in sorted(per_model.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        # a cost-report line (no tokens) needs no price: it neither makes a model unknown nor adds list cost
        known = all(rates[(g.provider, g.model, g.day)] is not None for g in gs if g.tokens)
        reported = [g.reported_usd for g in gs if g.reported_usd is not None]
        counted = [g.requests for g in gs if g.requests is not None]
        models.append(
            ModelCost(
                provider=prov,
                model=model,
                requests=sum(counted) if counted else None,
                input_tokens=sum(g.input_tokens for g in gs),
                cached_input_tokens=sum(g.cached_input_tokens for g in gs),
                output_tokens=sum(g.output_tokens for g in gs),
                cache_write_tokens=sum(g.cache_write_5m_tokens + g.cache_write_1h_tokens for g in gs),
                model_group=model_group(prov, model),
                reported_cost_usd=sum(reported, _ZERO) if reported else None,
                recomputed_cost_usd=sum((_cost(g, rates[(g.provider, g.model, g.day)]) for g in gs if g.tokens), _ZERO)  # type: ignore[arg-type]
                if known
                else None,
                flagged_rows=flagged.get((prov, model), 0),
            )
        )
    reported_all = [m.reported_cost_usd for m in models if m.reported_cost_usd is not None]
    return CostCheck(
        by_model=models,
        reported_cost_usd=sum(reported_all, _ZERO) if reported_all else None,
        recomputed_cost_usd=sum((m.recomputed_cost_usd for m in models if m.recomputed_cost_usd is not None), _ZERO),
        unknown_models=[
            f"{m.provider or '?'}/{m.model}"
            for m in models
            if m.recomputed_cost_usd is None and m.input_tokens + m.output_tokens
        ],
        flagged_rows=sum(m.flagged_rows for m in models),
    )


def daily_cost(con: duckdb.DuckDBPyConnection, *, basis: CostBasis | None = None) -> pd.DataFrame:
    """Per day: `day`, `reported_cost_usd` and `recomputed_cost_usd` (known models only), as floats for charts."""
    basis = basis or cost_basis(con)
    groups, rates = basis.groups, basis.rates
    reported: dict[date, Decimal] = defaultdict(Decimal)
    recomputed: dict[date, Decimal] = defaultdict(Decimal)
    for g in groups:
        if g.reported_usd is not None:
            reported[g.day] += g.reported_usd
        r = rates[(g.provider, g.model, g.day)]
        if r is not None and g.tokens:
            recomputed[g.day] += _cost(g, r)
    days = sorted({g.day for g in groups})
    return pd.DataFrame(
        {
            "day": pd.to_datetime(days),
            "reported_cost_usd": [float(reported[d]) if d in reported else None for d in days],
            "recomputed_cost_usd": [float(recomputed[d]) for d in days],
        }
    )


def flagged_rows(con: duckdb.DuckDBPyConnection, *, limit: int = 500, basis: CostBasis | None = None) -> pd.DataFrame:
    """The rows whose reported cost is more than 1 % away from the recomputed cost, largest gap first.

    Args:
        con: store connection.
        limit: at most this many rows.
        basis: prices already resolved by `cost_basis(con)`.

    Returns:
        Columns `ts`, `provider`, `model`, `input_tokens`, `cached_input_tokens`, `output_tokens`,
        `reported_cost_usd`, `recomputed_cost_usd`, `difference_pct`, `request_id`, `import_id`.
    """
    basis = basis or cost_basis(con)
    _with_rates(con, basis.rates)
    try:
        return con.execute(
            f"""
            SELECT e.ts, e.provider, e.model, e.input_tokens, e.cached_input_tokens, e.output_tokens,
                   e.reported_cost_usd::DOUBLE AS reported_cost_usd, ({_ROW_COST})::DOUBLE AS recomputed_cost_usd,
                   CASE WHEN ({_ROW_COST}) > 0
                        THEN ((e.reported_cost_usd - ({_ROW_COST})) / ({_ROW_COST}) * 100)::DOUBLE
                   END AS difference_pct,
                   e.request_id, e.import_id
            {_JOIN} WHERE {_FLAGGED}
            ORDER BY abs(e.reported_cost_usd - ({_ROW_COST})) DESC LIMIT $limit
            """,
            {"tol": FLAG_TOLERANCE, "min_usd": _MIN_FLAG_USD, "limit": limit},
        ).df()
    finally:
        con.unregister("_usage_rates")
