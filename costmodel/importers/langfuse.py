"""Langfuse observations: the public API, the UI's table export, and the batch and blob-storage exports.

Two spellings of the same observation exist:

- camelCase (`langfuse-observations`): the public API — `GET /api/public/observations` (v1, pages
  `{"data": [...], "meta": {"page", "limit", "totalItems", "totalPages"}}`) and `GET /api/public/v2/observations`
  (pages `{"data": [...], "meta": {"cursor"}}`, the model as `providedModelName`) — and the UI's Generations
  table export (CSV or JSON). Fields: `id`, `traceId`, `type`, `startTime`, `model` / `providedModelName`,
  `usageDetails`, `costDetails`, the older `promptTokens`/`completionTokens`/`calculatedTotalCost`, `userId`.
  Pages may come one per file, as a JSON array of pages, one per line, or concatenated (`cat p1.json p2.json`).
- snake_case (`langfuse-export`): the UI batch export and the blob-storage export (`observations/` and the
  enriched `observations_v2/`), as CSV, JSON, JSON lines or Parquet, with `id`, `trace_id`, `type`, `start_time`
  (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC), `provided_model_name`, `usage_details`, `cost_details`, `total_cost`,
  `user_id`, `project_id`; nested values are JSON text in CSV.

As in Langfuse's own UI, input tokens are the sum of every usage type whose name contains "input" (`input`,
`input_cached_tokens`, `cache_read_input_tokens`, `cache_creation_input_tokens` …) and output tokens of those
containing "output"; cache reads are the types naming a cache read (`cache_read…`, `…cached…`) and cache writes
those naming a cache creation or write (`…1h…` for one-hour writes, five-minute otherwise). Observations other than
generations (spans, events, tools, agents) are skipped, and prompts and completions are never stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from costmodel.importers._base import CsvOrJsonImporter, ParsedRow, Skip, add_tokens, json_field, num, register
from costmodel.importers.records import make_record

__all__ = ["LangfuseExport", "LangfuseObservations", "usage_details_tokens"]


def _is_write(key: str) -> bool:
    k = key.lower()
    return "cache_creation" in k or "cache_write" in k or "cachewrite" in k or k.startswith("ephemeral_")


def _is_read(key: str) -> bool:
    k = key.lower()
    return ("cache" in k and ("read" in k or "cached" in k)) or "input_cached" in k


def usage_details_tokens(usage: dict[Any, Any]) -> tuple[Any, Any, Any, Any, Any]:
    """Input, cache-read, 5-minute write, 1-hour write and output tokens of a Langfuse `usageDetails` object.

    When both a write total (`cache_creation_input_tokens`) and its split by duration (`…5m…`, `…1h…`) are
    present, the split is used and the total is left out of the input sum so nothing is counted twice.
    """
    keys = [k for k in usage if isinstance(k, str) and k.lower() != "total"]
    writes = [k for k in keys if _is_write(k)]
    split = [k for k in writes if "5m" in k.lower() or "1h" in k.lower()]
    dropped = set(writes) - set(split) if split else set()
    kept = [k for k in keys if k not in dropped]
    inp = [usage[k] for k in kept if "input" in k.lower()]
    cached = [usage[k] for k in kept if _is_read(k) and not _is_write(k)]
    one_hour = [usage[k] for k in kept if _is_write(k) and "1h" in k.lower()]
    five_min = [usage[k] for k in kept if _is_write(k) and "1h" not in k.lower()]
    out = [usage[k] for k in kept if "output" in k.lower()]
    return add_tokens(*inp), add_tokens(*cached), add_tokens(*five_min), add_tokens(*one_hour), add_tokens(*out)


def _tokens(usage_raw: Any, legacy_raw: Any, prompt: Any, completion: Any) -> tuple[Any, Any, Any, Any, Any]:
    usage = json_field(usage_raw)
    if isinstance(usage, dict) and usage:
        return usage_details_tokens(usage)
    legacy = json_field(legacy_raw)
    if prompt in (None, ""):
        prompt = num(legacy, "input", "promptTokens")
    if completion in (None, ""):
        completion = num(legacy, "output", "completionTokens")
    return prompt if prompt is not None else 0, 0, 0, 0, completion if completion is not None else 0


def _first(*values: Any) -> Any:
    for v in values:
        if v not in (None, ""):
            return v
    return None


def _row(
    get: Callable[[str], Any], *, file: str, line: int, names: dict[str, str], columns: dict[str, str]
) -> ParsedRow:
    """One observation; `names` maps the roles (`start`, `model` …) to this spelling's field names."""
    kind = str(get(names["type"]) or "GENERATION").strip().upper()
    if kind != "GENERATION":
        return Skip(f"a {kind.lower()}, not a generation")
    inp, cached, w5, w1, out = _tokens(
        get(names["usage"]), get(names["legacy_usage"]), get(names["prompt"]), get(names["completion"])
    )
    details = json_field(get(names["cost_details"]))
    cost = _first(num(details, "total") if isinstance(details, dict) else None, *(get(c) for c in names["cost"]))
    model = _first(*(get(c) for c in names["model"]))
    return make_record(
        file=file,
        line=line,
        columns=columns,
        ts=get(names["start"]),
        provider=None,
        model=str(model or "").strip(),
        input_tokens=inp,
        cached_input_tokens=cached,
        cache_write_5m_tokens=w5,
        cache_write_1h_tokens=w1,
        output_tokens=out,
        requests=1,
        reported_cost_usd=cost,
        project=get(names["project"]),
        user=get(names["user"]),
        request_id=get("id"),
    )


_CAMEL = {
    "type": "type",
    "start": "startTime",
    "model": ("providedModelName", "model"),
    "usage": "usageDetails",
    "legacy_usage": "usage",
    "prompt": "promptTokens",
    "completion": "completionTokens",
    "cost_details": "costDetails",
    "cost": ("totalCost", "calculatedTotalCost"),
    "project": "projectId",
    "user": "userId",
}
_SNAKE = {
    "type": "type",
    "start": "start_time",
    "model": ("provided_model_name", "model"),
    "usage": "usage_details",
    "legacy_usage": "usage",
    "prompt": "prompt_tokens",
    "completion": "completion_tokens",
    "cost_details": "cost_details",
    "cost": ("total_cost", "calculated_total_cost"),
    "project": "project_id",
    "user": "user_id",
}


def _columns(names: dict[str, Any]) -> dict[str, str]:
    model = names["model"]
    return {
        "ts": names["start"],
        "model": model[0] if isinstance(model, tuple) else model,
        "input_tokens": names["usage"],
        "cached_input_tokens": names["usage"],
        "cache_write_5m_tokens": names["usage"],
        "cache_write_1h_tokens": names["usage"],
        "output_tokens": names["usage"],
        "reported_cost_usd": names["cost_details"],
        "user": names["user"],
        "request_id": "id",
    }


@register
class LangfuseObservations(CsvOrJsonImporter):
    """Langfuse observations in camelCase: public API pages (v1, v2) and the UI's generations export."""

    name = "langfuse-observations"
    title = "Langfuse observations (public API v1/v2 pages, UI generations export)"
    doc_url = "https://langfuse.com/docs/api-and-data-platform/features/public-api"
    required = ("id", "startTime", "model")
    signature = ("traceId", "startTime", "model")

    def sniff(self, head: bytes, filename: str) -> bool:
        # v2 pages name the model `providedModelName` and may leave `model` out.
        return super().sniff(head, filename) or (
            b'"traceId"' in head
            and b'"startTime"' in head
            and (b'"providedModelName"' in head or b'"usageDetails"' in head)
        )

    def row(self, get: Callable[[str], Any], *, file: str, line: int) -> ParsedRow:
        return _row(get, file=file, line=line, names=_CAMEL, columns=_COLUMNS_CAMEL)


@register
class LangfuseExport(CsvOrJsonImporter):
    """Langfuse observations in snake_case: the UI batch export and the blob-storage export (CSV, JSON, Parquet)."""

    name = "langfuse-export"
    title = "Langfuse batch / blob-storage export (observations, CSV, JSON, JSON lines or Parquet)"
    doc_url = "https://langfuse.com/docs/api-and-data-platform/features/blob-storage-export-fields"
    required = ("id", "start_time")
    signature = ("trace_id", "start_time", "provided_model_name")

    def row(self, get: Callable[[str], Any], *, file: str, line: int) -> ParsedRow:
        return _row(get, file=file, line=line, names=_SNAKE, columns=_COLUMNS_SNAKE)


_COLUMNS_CAMEL = _columns(_CAMEL)
_COLUMNS_SNAKE = _columns(_SNAKE)
