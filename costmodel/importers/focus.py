"""FinOps FOCUS 1.x cost-and-usage CSV: the token rows of a provider's FOCUS export.

FOCUS rows are charges: `ChargePeriodStart`, `ChargeCategory`, `BilledCost` (in `BillingCurrency`),
`ConsumedQuantity` in `ConsumedUnit`, the provider (`ProviderName`, renamed `ServiceProviderName` in 1.3),
`SkuId`, `SkuMeter` (1.2+), `ChargeDescription`, `ResourceName`, `SubAccountName` and `Tags` (JSON).
Only usage charges measured in tokens are read (`ConsumedUnit` such as `Tokens`, `1K Tokens`,
`1M Tokens`); other rows (purchases, taxes, credits, hours) are skipped. Whether a row's tokens are input,
cached input or output is read from `SkuMeter`/`ChargeDescription` (words such as "input", "prompt",
"cached", "cache read", "output", "completion"); the model from the `model` tag, else `ResourceName`, else
`SkuId`. FOCUS has no request counts. Costs in another currency than USD are not kept as reported cost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from costmodel.errors import BadLogRow
from costmodel.importers._base import CsvImporter, ParsedRow, Skip, json_field, num, register
from costmodel.importers.records import make_record, normalise_provider

__all__ = ["FocusCsv"]

_UNIT = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*([km])?|(thousand|million))?\s*tokens?\s*$", re.IGNORECASE)
_SCALE = {None: 1, "k": 1_000, "m": 1_000_000, "thousand": 1_000, "million": 1_000_000}


def _per_unit(unit: str) -> int | None:
    """Tokens per `ConsumedUnit` (`1K Tokens` → 1000); None when the unit is not tokens."""
    m = _UNIT.match(unit)
    if not m:
        return None
    count, letter, word = m.groups()
    scale = _SCALE[(letter or word or "").lower() or None]
    return int(Decimal(count or 1) * scale)


def _direction(text: str) -> str | None:
    t = text.lower()
    if re.search(r"cache[sd]?[ _-]*(read|hit)|cached", t):
        return "cached"
    if re.search(r"output|completion|generat|\bout\b", t):
        return "output"
    if re.search(r"input|prompt|cache[ _-]*(write|creation)|\binp?\b", t):
        return "input"
    return None


@register
class FocusCsv(CsvImporter):
    """A FOCUS 1.0–1.3 cost and usage export (CSV), token rows only."""

    name = "focus"
    title = "FinOps FOCUS 1.x cost and usage CSV"
    doc_url = "https://focus.finops.org/focus-specification/v1-2/"
    required = ("ChargePeriodStart", "ChargeCategory", "BilledCost", "ConsumedQuantity", "ConsumedUnit")
    signature = ("ChargePeriodStart", "BilledCost", "ConsumedQuantity")

    def row(self, get: Callable[[str], Any], *, file: str, line: int) -> ParsedRow:
        if str(get("ChargeCategory") or "").strip().lower() != "usage":
            return Skip("not a usage charge")
        per_unit = _per_unit(str(get("ConsumedUnit") or ""))
        if per_unit is None:
            return Skip("not measured in tokens")
        try:
            tokens: Any = Decimal(str(get("ConsumedQuantity")).strip()) * per_unit
            tokens = int(tokens) if tokens == tokens.to_integral_value() else str(tokens)
        except (InvalidOperation, ValueError, OverflowError):  # Infinity/NaN: rejected as a bad token count below
            tokens = get("ConsumedQuantity")
        what = " ".join(str(get(c) or "") for c in ("SkuMeter", "ChargeDescription", "SkuPriceDetails", "SkuId"))
        direction = _direction(what)
        if direction is None:
            return BadLogRow(
                file=file,
                line=line,
                column="SkuMeter",
                reason="cannot tell input from output tokens: SkuMeter or ChargeDescription should say "
                "'input', 'cached input' or 'output'",
            )
        tags = json_field(get("Tags"))
        model = num(tags, "model", "Model") or get("ResourceName") or get("SkuId") or ""
        cost = get("BilledCost")
        if str(get("BillingCurrency") or "USD").strip().upper() != "USD":
            cost = None
        zero = 0
        return make_record(
            file=file,
            line=line,
            columns={
                "ts": "ChargePeriodStart",
                "model": "ResourceName",
                "input_tokens": "ConsumedQuantity",
                "cached_input_tokens": "ConsumedQuantity",
                "output_tokens": "ConsumedQuantity",
                "reported_cost_usd": "BilledCost",
                "project": "SubAccountName",
            },
            ts=get("ChargePeriodStart"),
            provider=normalise_provider(get("ServiceProviderName") or get("ProviderName") or get("PublisherName")),
            model=str(model).strip(),
            input_tokens=tokens if direction in ("input", "cached") else zero,
            cached_input_tokens=tokens if direction == "cached" else zero,
            output_tokens=tokens if direction == "output" else zero,
            requests=None,
            reported_cost_usd=cost,
            project=get("SubAccountName") or get("SubAccountId"),
            user=num(tags, "user", "User"),
        )
