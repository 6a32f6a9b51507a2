"""OpenAI organization Usage API, completions: the JSON pages of `GET /v1/organization/usage/completions`.

A page is `{"object": "page", "data": [bucket…], "has_more": …, "next_page": …}`; each bucket has
`start_time`/`end_time` (Unix seconds) and `results`, one per group (`model`, `project_id`, `user_id`,
`api_key_id`, `batch`, `service_tier` when grouped by them). `input_tokens` includes `input_cached_tokens`.
A file may hold one page, a JSON array of pages, or JSON lines (one page per line, as a paging loop writes).
Each result becomes one row at the bucket's start; its key (bucket start + group) de-duplicates pages that
were exported twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from costmodel.errors import BadLogRow
from costmodel.importers._base import JsonImporter, ParsedRow, Skip, items, json_keys_present, register
from costmodel.importers.records import make_record

__all__ = ["OpenAiUsageApi"]

OPENAI_USAGE_COLUMNS = {
    "ts": "start_time",
    "model": "model",
    "input_tokens": "input_tokens",
    "cached_input_tokens": "input_cached_tokens",
    "output_tokens": "output_tokens",
    "requests": "num_model_requests",
    "project": "project_id",
    "user": "user_id",
}
"""Our field → OpenAI's usage field (the Usage API and the dashboard's CSV export share them)."""
_COLUMNS = OPENAI_USAGE_COLUMNS
_RESULT = "organization.usage.completions.result"


@register
class OpenAiUsageApi(JsonImporter):
    """Pages of the OpenAI completions usage API."""

    name = "openai-usage-api"
    title = "OpenAI Usage API (completions) JSON"
    doc_url = "https://platform.openai.com/docs/api-reference/usage/completions"

    def sniff(self, head: bytes, filename: str) -> bool:
        return _RESULT.encode() in head or (
            json_keys_present(head, "object", "data") and b'"bucket"' in head and b'"start_time"' in head
        )

    def rows(self, doc: Any, *, file: str, line: int) -> Iterator[ParsedRow]:
        n = 0
        for at, page in items(doc, line):
            if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                raise BadLogRow(
                    file=file,
                    line=at,
                    column="data",
                    reason='not a Usage API page: expected {"object": "page", "data": [buckets]}',
                )
            for bucket in page["data"]:
                if not isinstance(bucket, dict):
                    n += 1
                    yield BadLogRow(file=file, line=n, column="data", reason="a bucket is not a JSON object")
                    continue
                results = bucket.get("results", bucket.get("result")) or []
                for res in results if isinstance(results, list) else [results]:
                    n += 1
                    yield self._result(bucket, res, file=file, n=n)

    def _result(self, bucket: dict[str, Any], res: Any, *, file: str, n: int) -> ParsedRow:
        if not isinstance(res, dict):
            return BadLogRow(file=file, line=n, column="results", reason="a result is not a JSON object")
        if res.get("object", _RESULT) != _RESULT:
            return Skip(f"not a completions result ({res.get('object')})")
        group = [bucket.get("start_time"), bucket.get("end_time")] + [
            res.get(k) for k in ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier")
        ]
        return make_record(
            file=file,
            line=n,
            columns=_COLUMNS,
            ts=bucket.get("start_time"),
            provider="openai",
            model=res.get("model") or "unknown",
            input_tokens=res.get("input_tokens"),
            cached_input_tokens=res.get("input_cached_tokens") or 0,
            output_tokens=res.get("output_tokens"),
            requests=res.get("num_model_requests"),
            project=res.get("project_id"),
            user=res.get("user_id"),
            request_id="openai-usage:" + ":".join("" if g is None else str(g) for g in group),
        )
