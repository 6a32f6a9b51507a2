"""Anthropic Admin API usage report for messages: the JSON pages of `GET /v1/organizations/usage_report/messages`.

A page is `{"data": [bucket…], "has_more": …, "next_page": …}`; each bucket has `starting_at`/`ending_at`
(RFC 3339) and `results`, one per group (`model`, `workspace_id`, `api_key_id`, `service_tier`,
`context_window` when grouped by them) with `uncached_input_tokens`, `cache_creation`
(`ephemeral_5m_input_tokens`, `ephemeral_1h_input_tokens`), `cache_read_input_tokens` and `output_tokens`.
The report does not count requests, so rows carry none. Input tokens here are uncached + cache writes +
cache reads; the five-minute and one-hour writes are kept apart (`cache_write_5m_tokens`, `cache_write_1h_tokens`)
and priced at their own rates (1.25× and 2× input). An older page with only `cache_creation_input_tokens` counts
them as five-minute writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from costmodel.errors import BadLogRow
from costmodel.importers._base import JsonImporter, ParsedRow, add_tokens, items, json_keys_present, num, register
from costmodel.importers.records import make_record

__all__ = ["AnthropicUsageApi"]

_COLUMNS = {
    "ts": "starting_at",
    "model": "model",
    "input_tokens": "uncached_input_tokens",
    "cached_input_tokens": "cache_read_input_tokens",
    "cache_write_5m_tokens": "cache_creation.ephemeral_5m_input_tokens",
    "cache_write_1h_tokens": "cache_creation.ephemeral_1h_input_tokens",
    "output_tokens": "output_tokens",
    "project": "workspace_id",
    "user": "api_key_id",
}


@register
class AnthropicUsageApi(JsonImporter):
    """Pages of the Anthropic messages usage report."""

    name = "anthropic-usage-api"
    title = "Anthropic Admin API usage report (messages) JSON"
    doc_url = "https://docs.anthropic.com/en/api/admin-api/usage-cost/get-messages-usage-report"

    def sniff(self, head: bytes, filename: str) -> bool:
        return json_keys_present(head, "data") and b'"starting_at"' in head and b'"ending_at"' in head

    def rows(self, doc: Any, *, file: str, line: int) -> Iterator[ParsedRow]:
        n = 0
        for at, page in items(doc, line):
            if not isinstance(page, dict) or not isinstance(page.get("data"), list):
                raise BadLogRow(
                    file=file, line=at, column="data", reason='not a usage report page: expected {"data": [buckets]}'
                )
            for bucket in page["data"]:
                results = bucket.get("results") if isinstance(bucket, dict) else None
                if not isinstance(results, list):
                    n += 1
                    yield BadLogRow(file=file, line=n, column="results", reason="a bucket has no results list")
                    continue
                for res in results:
                    n += 1
                    yield self._result(bucket, res, file=file, n=n)

    def _result(self, bucket: dict[str, Any], res: Any, *, file: str, n: int) -> ParsedRow:
        if not isinstance(res, dict):
            return BadLogRow(file=file, line=n, column="results", reason="a result is not a JSON object")
        creation = res.get("cache_creation")
        if isinstance(creation, dict):
            w5, w1 = (
                add_tokens(num(creation, "ephemeral_5m_input_tokens")),
                add_tokens(num(creation, "ephemeral_1h_input_tokens")),
            )
        else:
            w5, w1 = add_tokens(res.get("cache_creation_input_tokens")), 0
        writes = add_tokens(w5, w1)
        cached = add_tokens(res.get("cache_read_input_tokens"))
        uncached = res.get("uncached_input_tokens")
        if uncached is None:
            return BadLogRow(file=file, line=n, column="uncached_input_tokens", reason="missing")
        group = [bucket.get("starting_at")] + [
            res.get(k) for k in ("workspace_id", "api_key_id", "model", "service_tier", "context_window")
        ]
        return make_record(
            file=file,
            line=n,
            columns=_COLUMNS,
            ts=bucket.get("starting_at"),
            provider="anthropic",
            model=res.get("model") or "unknown",
            input_tokens=add_tokens(uncached, writes, cached),
            cached_input_tokens=cached,
            cache_write_5m_tokens=w5,
            cache_write_1h_tokens=w1,
            output_tokens=res.get("output_tokens"),
            requests=None,
            project=res.get("workspace_id"),
            user=res.get("api_key_id"),
            request_id="anthropic-usage:" + ":".join("" if g is None else str(g) for g in group),
        )
