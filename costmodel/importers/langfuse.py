"""Langfuse observations / generations export (Langfuse UI → Generations → Export as CSV or JSON).

Every observation is exported with its camelCase fields: `id`, `traceId`, `type`, `startTime`, `model`,
`usageDetails` (a JSON object of token counts: `input`, `output` and breakdown keys such as
`input_cached_tokens`, `cache_read_input_tokens`, `cache_creation_input_tokens`), `costDetails`
(`input`, `output`, `total` in USD), the older `promptTokens`/`completionTokens`/`calculatedTotalCost`, and
the prompt and completion themselves (never stored). As in Langfuse's own UI, input tokens are the sum of
every usage type whose name contains "input" (`input`, `input_cached_tokens`, `cache_read_input_tokens` …)
and output tokens of those containing "output"; cached tokens are the cache-read types. Observations other
than generations (spans, events) are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from costmodel.importers._base import CsvOrJsonImporter, ParsedRow, Skip, add_tokens, json_field, num, register
from costmodel.importers.records import make_record

__all__ = ["LangfuseObservations"]

_COLUMNS = {
    "ts": "startTime",
    "model": "model",
    "input_tokens": "usageDetails",
    "cached_input_tokens": "usageDetails",
    "output_tokens": "usageDetails",
    "reported_cost_usd": "costDetails",
    "user": "userId",
    "request_id": "id",
}


def _tokens(get: Callable[[str], Any]) -> tuple[Any, Any, Any]:
    """Input, cached and output tokens, summed the way Langfuse's UI sums usage types."""
    usage = json_field(get("usageDetails"))
    if isinstance(usage, dict) and usage:
        keys = [k for k in usage if isinstance(k, str)]
        inp = [usage[k] for k in keys if "input" in k.lower()]
        cached = [usage[k] for k in keys if "cache" in k.lower() and ("read" in k.lower() or "cached" in k.lower())]
        out = [usage[k] for k in keys if "output" in k.lower()]
        return add_tokens(*inp), add_tokens(*cached), add_tokens(*out)
    legacy = json_field(get("usage"))
    prompt = get("promptTokens")
    if prompt in (None, ""):
        prompt = num(legacy, "input", "promptTokens")
    completion = get("completionTokens")
    if completion in (None, ""):
        completion = num(legacy, "output", "completionTokens")
    return prompt if prompt is not None else 0, 0, completion if completion is not None else 0


def _cost(get: Callable[[str], Any]) -> Any:
    details = json_field(get("costDetails"))
    total = num(details, "total") if isinstance(details, dict) else None
    for v in (total, get("calculatedTotalCost"), get("totalCost")):
        if v not in (None, ""):
            return v
    return None


@register
class LangfuseObservations(CsvOrJsonImporter):
    """Langfuse generations exported from the UI (CSV or JSON)."""

    name = "langfuse-observations"
    title = "Langfuse observations / generations export"
    doc_url = "https://langfuse.com/docs/api-and-data-platform/features/export-from-ui"
    required = ("id", "startTime", "model")
    signature = ("traceId", "startTime", "model")

    def row(self, get: Callable[[str], Any], *, file: str, line: int) -> ParsedRow:
        kind = str(get("type") or "GENERATION").strip().upper()
        if kind != "GENERATION":
            return Skip(f"a {kind.lower()}, not a generation")
        inp, cached, out = _tokens(get)
        return make_record(
            file=file,
            line=line,
            columns=_COLUMNS,
            ts=get("startTime"),
            provider=None,
            model=str(get("model") or "").strip(),
            input_tokens=inp,
            cached_input_tokens=cached,
            output_tokens=out,
            requests=1,
            reported_cost_usd=_cost(get),
            project=get("projectId"),
            user=get("userId"),
            request_id=get("id"),
        )
