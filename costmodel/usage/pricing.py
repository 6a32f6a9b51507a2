"""genai-prices for logged usage: matching the names logs use, and pricing cache reads and writes at their rates.

Logs name one model many ways (`gpt-4o`, `gpt-4o-2024-08-06`, `openai/gpt-4o`); genai-prices' own matching
(`find_provider_model`, which knows each model's dated and aliased names) decides which are the same model, after
a leading `provider/` is read as the provider. Prices are resolved at a date, so each row can be priced at the
list price in force that day (genai-prices keeps price changes by date) or at today's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache

from genai_prices import Usage
from genai_prices.data_snapshot import get_snapshot

from costmodel.importers.records import normalise_provider
from costmodel.prices import GENAI_PRICES_VERSION

__all__ = ["GENAI_PRICES_VERSION", "list_cost_usd", "model_group"]


@lru_cache(maxsize=1)
def _provider_ids() -> frozenset[str]:
    return frozenset(p.id for p in get_snapshot().providers)


def _lookup(provider: str | None, model: str) -> tuple[object, object] | None:
    snap = get_snapshot()
    try:
        return snap.find_provider_model(model, None, provider, None)
    except LookupError:
        pass
    if provider:
        prov = next((p for p in snap.providers if p.id == provider), None)
        exact = next((m for m in prov.models if m.id.lower() == model.lower()), None) if prov else None
        if exact is not None:
            return prov, exact
    return None


@lru_cache(maxsize=8192)
def _match(provider: str | None, model: str) -> tuple[object, object] | None:
    """(provider, model) of genai-prices for a logged name; None when it cannot price it."""
    prov = normalise_provider(provider)
    found = _lookup(prov, model)
    if found is None and "/" in model:
        prefix, rest = model.split("/", 1)
        vendor = normalise_provider(prefix)
        if vendor in _provider_ids():
            found = _lookup(vendor, rest)
    if found is None and prov is not None:
        found = _lookup(None, model)
    return found


@lru_cache(maxsize=8192)
def model_group(provider: str | None, model: str) -> str:
    """The name one model goes by whatever the log calls it: genai-prices' id of its match, else the name itself.

    >>> model_group("openai", "gpt-4o-2024-08-06") == model_group(None, "openai/gpt-4o") == "gpt-4o"
    True
    """
    bare = (
        model.split("/", 1)[1]
        if "/" in model and normalise_provider(model.split("/", 1)[0]) in _provider_ids()
        else model
    )
    # the maker's own catalogue names the model best (an aggregator's id repeats the maker's prefix)
    found = _lookup(None, bare) or _match(provider, model)
    if found is None:
        return model
    mid = str(found[1].id)  # type: ignore[attr-defined]
    return mid.split("/", 1)[1] if "/" in mid else mid


def list_cost_usd(
    *,
    provider: str | None,
    model: str,
    input_tokens: int,
    cached_input_tokens: int = 0,
    cache_write_5m_tokens: int = 0,
    cache_write_1h_tokens: int = 0,
    output_tokens: int,
    at: date,
) -> Decimal | None:
    """List price of some usage on a date, cache reads and five-minute and one-hour writes at their own rates.

    Args:
        provider: provider id as stored (None: any provider that lists the model).
        model: model name as logged.
        input_tokens: all prompt tokens, cache reads and writes included.
        cached_input_tokens: the part read from the prompt cache.
        cache_write_5m_tokens: the part written to the cache for five minutes.
        cache_write_1h_tokens: the part written to the cache for an hour.
        output_tokens: completion tokens.
        at: the day whose list price applies (noon UTC).

    Returns:
        USD, or None when genai-prices does not know the model.
    """
    found = _match(provider, model)
    if found is None:
        return None
    prov, mod = found
    writes = cache_write_5m_tokens + cache_write_1h_tokens
    usage = Usage(
        input_tokens=input_tokens,
        cache_read_tokens=cached_input_tokens,
        cache_write_tokens=writes,
        cache_write_1h_tokens=cache_write_1h_tokens,
        output_tokens=output_tokens,
    )
    when = datetime.combine(at, time(12), tzinfo=UTC)
    try:
        return mod.calc_price(usage, prov, genai_request_timestamp=when).total_price  # type: ignore[attr-defined]
    except (LookupError, ValueError):
        return None
