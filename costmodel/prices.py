"""Per-token API prices from genai-prices — never a hand-copied table.

genai-prices keeps a maintained, dated price database (standard, cached input, batch, tiers, price
changes by date). This module asks it for the price of one request at a date, and says which provider,
which model and which package version the figure came from, so every API number is traceable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache, lru_cache

import genai_prices
from genai_prices import Usage
from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import ModelPrice, StartDateConstraint, TieredPrices

from costmodel.errors import UnknownName

__all__ = [
    "GENAI_PRICES_VERSION",
    "OPEN_MODEL_PROVIDERS",
    "ApiPrice",
    "api_price",
    "list_api_prices",
    "request_cost_usd",
    "usage_cost_usd",
]

GENAI_PRICES_VERSION: str = genai_prices.__version__

OPEN_MODEL_PROVIDERS = frozenset(
    {"together", "fireworks", "groq", "novita", "cerebras", "baseten", "avian", "deepinfra", "ovhcloud", "nebius"}
    | {p.id for p in get_snapshot().providers if p.id.startswith("huggingface_")}
)
"""genai-prices providers that sell open-weight models per token (managed endpoints)."""

_BATCH = {"processing": "batch"}
MTOK = Decimal(1_000_000)


@dataclass(frozen=True)
class ApiPrice:
    """List prices of one model at one provider on one date, in USD per million tokens."""

    provider_id: str
    provider_name: str
    model_id: str
    model_name: str
    input_usd_per_mtok: Decimal
    cached_input_usd_per_mtok: Decimal
    output_usd_per_mtok: Decimal
    batch_input_usd_per_mtok: Decimal
    batch_output_usd_per_mtok: Decimal
    has_batch_rate: bool
    tiered: bool
    """True when the price rises with prompt length (the per-million figures are the base tier)."""
    price_date: date
    """Date the price was resolved at (genai-prices keeps price changes by date)."""
    effective_from: date | None
    """Start date of the price in force, where genai-prices records one."""
    source: str
    """Where the figure comes from, for captions and the Excel Sources sheet."""

    @property
    def label(self) -> str:
        return f"{self.provider_name} {self.model_name}"


def _at(day: date | None) -> datetime:
    return datetime.combine(day or date.today(), time(12), tzinfo=UTC)


def _base(p: Decimal | TieredPrices | None) -> Decimal:
    if p is None:
        return Decimal(0)
    return p.base if isinstance(p, TieredPrices) else p


@lru_cache(maxsize=4096)
def _find(provider: str, model: str) -> tuple[object, object]:
    snap = get_snapshot()
    try:
        return snap.find_provider_model(model, None, provider, None)
    except LookupError:
        prov = next((p for p in snap.providers if p.id == provider.lower()), None)
        if prov is None:
            raise UnknownName("API provider", provider, [p.id for p in snap.providers]) from None
        # genai-prices matches request-style names (e.g. Fireworks' `accounts/fireworks/models/…`); its own
        # catalogue ids, which our pickers show, must resolve too.
        exact = next((m for m in prov.models if m.id.lower() == model.lower()), None)
        if exact is not None:
            return prov, exact
        raise UnknownName(f"{prov.id} model", model, [m.id for m in prov.models]) from None


@lru_cache(maxsize=4096)
def api_price(provider: str, model: str, *, at: date | None = None) -> ApiPrice:
    """Look up a model's prices; raises `UnknownName` with the closest model ids when it is not listed.

    Args:
        provider: genai-prices provider id (`openai`, `anthropic`, `together` …).
        model: model id or any name genai-prices matches (`gpt-4o`, `claude-sonnet-4-5`).
        at: the date prices are resolved at; None means today.

    Returns:
        The prices with their provider, model, date and source.
    """
    prov, mod = _find(provider, model)
    when = _at(at)
    std: ModelPrice = mod.get_prices(when)  # type: ignore[attr-defined]
    batch: ModelPrice = mod.get_prices(when, _BATCH)  # type: ignore[attr-defined]
    effective = None
    if isinstance(mod.prices, list):  # type: ignore[attr-defined]
        starts = [
            c.constraint.start_date
            for c in mod.prices  # type: ignore[attr-defined]
            if isinstance(c.constraint, StartDateConstraint) and c.constraint.start_date <= when.date()
        ]
        effective = max(starts, default=None)
    inp = _base(std.input_mtok)
    return ApiPrice(
        provider_id=prov.id,  # type: ignore[attr-defined]
        provider_name=prov.name,  # type: ignore[attr-defined]
        model_id=mod.id,  # type: ignore[attr-defined]
        model_name=mod.name or mod.id,  # type: ignore[attr-defined]
        input_usd_per_mtok=inp,
        cached_input_usd_per_mtok=_base(std.cache_read_mtok) if std.cache_read_mtok is not None else inp,
        output_usd_per_mtok=_base(std.output_mtok),
        batch_input_usd_per_mtok=_base(batch.input_mtok),
        batch_output_usd_per_mtok=_base(batch.output_mtok),
        has_batch_rate=batch != std,
        tiered=any(isinstance(v, TieredPrices) for v in std.__dict__.values()),
        price_date=when.date(),
        effective_from=effective,
        source=f"genai-prices {GENAI_PRICES_VERSION} ({prov.id}/{mod.id}, resolved at {when.date()})",  # type: ignore[attr-defined]
    )


@lru_cache(maxsize=65536)
def request_cost_usd(
    provider: str,
    model: str,
    *,
    input_tokens: int,
    cached_input_tokens: int = 0,
    output_tokens: int,
    at: date | None = None,
    batch: bool = False,
) -> Decimal:
    """Price of one request exactly as genai-prices computes it (tiers by prompt length included).

    Args:
        provider: genai-prices provider id.
        model: model id.
        input_tokens: all prompt tokens, cached ones included.
        cached_input_tokens: the part of `input_tokens` read from the prompt cache.
        output_tokens: completion tokens.
        at: date the price is resolved at (None: today).
        batch: price at the batch rate where the model has one.

    Returns:
        USD for that one request.
    """
    _find(provider, model)  # unknown names raise UnknownName with suggestions
    usage = Usage(input_tokens=input_tokens, cache_read_tokens=cached_input_tokens, output_tokens=output_tokens)
    _, mod = _find(provider, model)
    calc = mod.calc_price(  # type: ignore[attr-defined]
        usage, _find(provider, model)[0], genai_request_timestamp=_at(at), price_context=_BATCH if batch else None
    )
    return calc.total_price


def usage_cost_usd(
    *,
    provider: str | None,
    model: str,
    input_tokens: int,
    cached_input_tokens: int = 0,
    output_tokens: int,
    at: datetime | date | None = None,
) -> Decimal | None:
    """Recompute the list cost of logged usage; None when genai-prices does not know the model."""
    day = at.date() if isinstance(at, datetime) else at
    try:
        prov, mod = _find(provider or "", model) if provider else _find_any(model)
    except UnknownName:
        return None
    usage = Usage(input_tokens=input_tokens, cache_read_tokens=cached_input_tokens, output_tokens=output_tokens)
    return mod.calc_price(usage, prov, genai_request_timestamp=_at(day)).total_price  # type: ignore[attr-defined]


@lru_cache(maxsize=4096)
def _find_any(model: str) -> tuple[object, object]:
    try:
        return get_snapshot().find_provider_model(model, None, None, None)
    except LookupError:
        raise UnknownName("API model", model, []) from None


@cache
def list_api_prices(*, at: date | None = None) -> tuple[ApiPrice, ...]:
    """Every token-priced text model genai-prices lists, for pickers (deprecated models left out)."""
    out: list[ApiPrice] = []
    for prov in get_snapshot().providers:
        for mod in prov.models:
            if mod.deprecated:
                continue
            try:
                price = api_price(prov.id, mod.id, at=at)
            except (UnknownName, LookupError):
                continue
            if price.input_usd_per_mtok > 0 or price.output_usd_per_mtok > 0:
                out.append(price)
    return tuple(out)
