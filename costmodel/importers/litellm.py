"""LiteLLM proxy spend logs: rows of the `LiteLLM_SpendLogs` table, exported as CSV or JSON.

Columns follow the proxy's Prisma schema: `request_id`, `call_type`, `api_key` (a hash of the virtual key,
never stored), `spend` (USD), `prompt_tokens`, `completion_tokens`, `total_tokens`, `startTime`,
`endTime`, `model`, `model_group`, `custom_llm_provider`, `user`, `metadata` (JSON), `cache_hit`,
`team_id`, `end_user`, `status`. LiteLLM reports tokens OpenAI-style, so `prompt_tokens` includes cached
tokens; the cached part is read from `metadata.usage_object` when present. Rows served from LiteLLM's own
response cache (`cache_hit`), failed calls and non-LLM calls (embeddings, images, audio) are skipped.
Only the columns above are read: prompts, responses and the rest of `metadata` are never stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from costmodel.importers._base import CsvOrJsonImporter, ParsedRow, Skip, int_or_zero, json_field, num, register
from costmodel.importers.records import make_record, normalise_provider

__all__ = ["LiteLlmSpendLogs"]

_COLUMNS = {
    "ts": "startTime",
    "model": "model",
    "input_tokens": "prompt_tokens",
    "cached_input_tokens": "metadata",
    "output_tokens": "completion_tokens",
    "reported_cost_usd": "spend",
    "project": "team_id",
    "user": "end_user",
    "request_id": "request_id",
}
_NOT_LLM = ("embedding", "image", "moderation", "transcription", "speech", "rerank", "file", "batch")


def _cached(metadata: Any) -> Any:
    usage = num(json_field(metadata), "usage_object")
    if not isinstance(usage, dict):
        return 0
    details = usage.get("prompt_tokens_details")
    return int_or_zero(
        num(details, "cached_tokens") if isinstance(details, dict) else usage.get("cache_read_input_tokens")
    )


def _truthy(v: Any) -> bool:
    return v is True or (isinstance(v, str) and v.strip().lower() in ("true", "1", "yes"))


@register
class LiteLlmSpendLogs(CsvOrJsonImporter):
    """LiteLLM `LiteLLM_SpendLogs` rows (CSV or JSON)."""

    name = "litellm-spend-logs"
    title = "LiteLLM spend logs (LiteLLM_SpendLogs)"
    doc_url = "https://docs.litellm.ai/docs/proxy/cost_tracking"
    required = ("request_id", "startTime", "model", "prompt_tokens", "completion_tokens", "spend")
    signature = ("request_id", "call_type", "spend", "startTime")

    def row(self, get: Callable[[str], Any], *, file: str, line: int) -> ParsedRow:
        status = str(get("status") or "success").strip().lower()
        if status not in ("success", ""):
            return Skip(f"call status {status}")
        if _truthy(get("cache_hit")):
            return Skip("served from LiteLLM's response cache")
        call_type = str(get("call_type") or "").lower()
        if any(k in call_type for k in _NOT_LLM):
            return Skip(f"not a text-generation call ({call_type})")
        model = str(get("model") or get("model_group") or "").strip()
        provider = normalise_provider(get("custom_llm_provider"))
        if "/" in model:
            prefix, rest = model.split("/", 1)
            provider = provider or normalise_provider(prefix)
            if normalise_provider(prefix) == provider:
                model = rest
        metadata = json_field(get("metadata"))
        team = num(metadata, "user_api_key_team_alias") or get("team_id")
        return make_record(
            file=file,
            line=line,
            columns=_COLUMNS,
            ts=get("startTime"),
            provider=provider,
            model=model,
            input_tokens=get("prompt_tokens"),
            cached_input_tokens=_cached(metadata),
            output_tokens=get("completion_tokens"),
            requests=1,
            reported_cost_usd=get("spend"),
            project=team,
            user=get("end_user") or get("user"),
            request_id=get("request_id"),
        )
