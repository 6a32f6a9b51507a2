"""OpenRouter: the per-generation activity export, the Activity page's daily CSV and the activity API.

Per generation (`openrouter-activity`, openrouter.ai/activity → Export, one row per generation):

Columns: `generation_id`, `created_at` (UTC), `cost_total` (USD credits), `cost_web_search`, `cost_cache`,
`cost_file_processing`, `byok_usage_inference` (USD billed by your own provider key), `tokens_prompt`,
`tokens_completion`, `tokens_reasoning`, `tokens_cached`, `model_permaslug`, `provider_name`, `variant`,
`cancelled`, `streamed`, `user`, `finish_reason_raw`, `finish_reason_normalized`, `generation_time_ms`,
`time_to_first_token_ms`, `api_key_disabled`, `api_key_name`, `app_name`. Token counts follow the
generation API (`tokensPrompt`, `nativeTokensCached`): the prompt count includes its cached part and the
completion count includes reasoning. The reported cost is `cost_total` + `byok_usage_inference`.

Daily totals (`openrouter-daily-csv`, the Activity page → Export to CSV): `"Date","Slug","Usage","BYOK Usage",
"Requests","Prompt Tokens","Completion Tokens","Reasoning Tokens",…`; reasoning tokens are part of the completion
tokens ("reasoning tokens … are included in completion tokens for billing; the export shows how many of the
completion tokens were reasoning tokens"). Usage is OpenRouter credits spent (USD) and BYOK Usage the estimated
spend on your own provider keys; the reported cost is their sum, as for one generation.

Activity API (`openrouter-activity-api`, `GET /api/v1/activity`, the last 30 completed UTC days):
`{"data": [{"date", "model", "model_permaslug", "endpoint_id", "provider_name", "usage", "byok_usage_inference",
"requests", "prompt_tokens", "completion_tokens", "reasoning_tokens"}]}` (the SDKs' camelCase spelling too).
Daily rows sit at midnight UTC; each (day, group) is its own de-duplication key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from costmodel.errors import BadLogRow
from costmodel.importers._base import (
    CsvImporter,
    JsonImporter,
    ParsedRow,
    int_or_zero,
    num,
    records_of,
    register,
)
from costmodel.importers.records import make_record

__all__ = ["OpenRouterActivity", "OpenRouterActivityApi", "OpenRouterDailyCsv"]

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


def _sum_cost(*values: Any) -> Any:
    """USD amounts added (empty counts as 0); a non-number is returned for the record's validation to name."""
    total = Decimal(0)
    seen = False
    for v in values:
        if v in (None, ""):
            continue
        try:
            total += Decimal(str(v).strip())
        except InvalidOperation:
            return v
        seen = True
    return total if seen else None


@register
class OpenRouterDailyCsv(CsvImporter):
    """The Activity page's CSV export: one row per day and model (or API key, or member) with totals."""

    name = "openrouter-daily-csv"
    title = "OpenRouter Activity page CSV (daily totals)"
    doc_url = "https://openrouter.ai/docs/cookbook/administration/activity-export"
    required = ("Date", "Requests", "Prompt Tokens", "Completion Tokens")
    signature = ("Date", "Usage", "Requests", "Prompt Tokens", "Completion Tokens")

    def row(self, get: Callable[[str], Any], *, file: str, line: int) -> ParsedRow:
        group = [get(k) for k in ("Date", "Slug", "Model", "API Key", "Creator", "Provider")]
        return make_record(
            file=file,
            line=line,
            columns={
                "ts": "Date",
                "model": "Slug",
                "input_tokens": "Prompt Tokens",
                "cached_input_tokens": "Cached Tokens",
                "output_tokens": "Completion Tokens",
                "requests": "Requests",
                "reported_cost_usd": "Usage",
            },
            ts=get("Date"),
            provider="openrouter",
            model=str(get("Slug") or get("Model") or "").strip() or "(all models)",
            input_tokens=get("Prompt Tokens"),
            cached_input_tokens=int_or_zero(get("Cached Tokens") or get("Cache Read Tokens")),
            output_tokens=get("Completion Tokens"),
            requests=get("Requests"),
            reported_cost_usd=_sum_cost(get("Usage"), get("BYOK Usage")),
            project=get("API Key") or get("Creator"),
            request_id="openrouter-daily:" + ":".join(str(g or "") for g in group),
        )


@register
class OpenRouterActivityApi(JsonImporter):
    """`GET /api/v1/activity`: daily totals per model endpoint for the last 30 days."""

    name = "openrouter-activity-api"
    title = "OpenRouter activity API JSON (/api/v1/activity)"
    doc_url = "https://openrouter.ai/docs/api/api-reference/analytics/get-user-activity"

    def sniff(self, head: bytes, filename: str) -> bool:
        return (b'"endpoint_id"' in head and b'"model_permaslug"' in head) or (
            b'"endpointId"' in head and b'"modelPermaslug"' in head
        )

    def rows(self, doc: Any, *, file: str, line: int) -> Iterator[ParsedRow]:
        for n, item in records_of(doc, line):
            if not isinstance(item, dict):
                yield BadLogRow(file=file, line=n, column="data", reason="expected a JSON object per activity item")
                continue

            def get(*keys: str, _item: dict[str, Any] = item) -> Any:
                return num(_item, *keys)

            date, slug, endpoint = (
                get("date"),
                get("model_permaslug", "modelPermaslug"),
                get("endpoint_id", "endpointId"),
            )
            yield make_record(
                file=file,
                line=n,
                columns={
                    "ts": "date",
                    "model": "model_permaslug",
                    "input_tokens": "prompt_tokens",
                    "output_tokens": "completion_tokens",
                    "requests": "requests",
                    "reported_cost_usd": "usage",
                },
                ts=date,
                provider="openrouter",
                model=str(slug or get("model") or "").strip(),
                input_tokens=get("prompt_tokens", "promptTokens"),
                output_tokens=get("completion_tokens", "completionTokens"),
                requests=get("requests"),
                reported_cost_usd=_sum_cost(get("usage"), get("byok_usage_inference", "byokUsageInference")),
                request_id="openrouter-activity:" + ":".join(str(g or "") for g in (date, endpoint, slug)),
            )
