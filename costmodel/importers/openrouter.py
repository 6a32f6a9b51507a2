"""OpenRouter activity export (openrouter.ai/activity → Export, one row per generation).

Columns: `generation_id`, `created_at` (UTC), `cost_total` (USD credits), `cost_web_search`, `cost_cache`,
`cost_file_processing`, `byok_usage_inference` (USD billed by your own provider key), `tokens_prompt`,
`tokens_completion`, `tokens_reasoning`, `tokens_cached`, `model_permaslug`, `provider_name`, `variant`,
`cancelled`, `streamed`, `user`, `finish_reason_raw`, `finish_reason_normalized`, `generation_time_ms`,
`time_to_first_token_ms`, `api_key_disabled`, `api_key_name`, `app_name`. Token counts follow the
generation API (`tokensPrompt`, `nativeTokensCached`): the prompt count includes its cached part and the
completion count includes reasoning. The reported cost is `cost_total` + `byok_usage_inference`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from costmodel.importers._base import CsvImporter, ParsedRow, int_or_zero, register
from costmodel.importers.records import make_record

__all__ = ["OpenRouterActivity"]

_COLUMNS = {
    "ts": "created_at",
    "model": "model_permaslug",
    "input_tokens": "tokens_prompt",
    "cached_input_tokens": "tokens_cached",
    "output_tokens": "tokens_completion",
    "reported_cost_usd": "cost_total",
    "project": "app_name",
    "user": "user",
    "request_id": "generation_id",
}


def _cost(total: Any, byok: Any) -> Any:
    if total in (None, ""):
        return None
    try:
        extra = Decimal(str(byok).strip()) if byok not in (None, "") else Decimal(0)
        return Decimal(str(total).strip()) + extra
    except InvalidOperation:
        return total  # the record's validation names the bad value


@register
class OpenRouterActivity(CsvImporter):
    """The per-generation activity CSV of OpenRouter."""

    name = "openrouter-activity"
    title = "OpenRouter activity export CSV"
    doc_url = "https://openrouter.ai/docs/api-reference/get-a-generation"
    required = ("generation_id", "created_at", "cost_total", "tokens_prompt", "tokens_completion", "model_permaslug")
    signature = ("generation_id", "created_at", "cost_total", "model_permaslug")

    def row(self, get: Callable[[str], Any], *, file: str, line: int) -> ParsedRow:
        return make_record(
            file=file,
            line=line,
            columns=_COLUMNS,
            ts=get("created_at"),
            provider="openrouter",
            model=(get("model_permaslug") or "").strip(),
            input_tokens=get("tokens_prompt"),
            cached_input_tokens=int_or_zero(get("tokens_cached")),
            output_tokens=get("tokens_completion"),
            requests=1,
            reported_cost_usd=_cost(get("cost_total"), get("byok_usage_inference")),
            project=get("app_name"),
            user=get("user") or get("api_key_name"),
            request_id=get("generation_id"),
        )
