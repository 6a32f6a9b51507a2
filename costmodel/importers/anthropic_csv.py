"""Anthropic Console usage CSV (console.anthropic.com → Usage → Export).

One row per day (or hour) and group, with `usage_date_utc`, `model_version`, `api_key` (the key's *name*),
`workspace`, `usage_type`, `context_window`, `usage_input_tokens_no_cache`,
`usage_input_tokens_cache_write_5m`, `usage_input_tokens_cache_write_1h`, `usage_input_tokens_cache_read`
and `usage_output_tokens`. There is no request count. Input tokens are no-cache + cache writes + cache
reads, with the five-minute and one-hour writes kept apart for pricing; the key name is kept as the row's user
(values that look like a secret are redacted).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from costmodel.importers._base import CsvImporter, ParsedRow, add_tokens, register
from costmodel.importers.records import make_record

__all__ = ["AnthropicConsoleCsv"]

_COLUMNS = {
    "ts": "usage_date_utc",
    "model": "model_version",
    "input_tokens": "usage_input_tokens_no_cache",
    "cached_input_tokens": "usage_input_tokens_cache_read",
    "cache_write_5m_tokens": "usage_input_tokens_cache_write_5m",
    "cache_write_1h_tokens": "usage_input_tokens_cache_write_1h",
    "output_tokens": "usage_output_tokens",
    "project": "workspace",
    "user": "api_key",
}


@register
class AnthropicConsoleCsv(CsvImporter):
    """The usage CSV exported from the Anthropic Console."""

    name = "anthropic-console-csv"
    title = "Anthropic Console usage CSV"
    doc_url = "https://support.anthropic.com/en/articles/9534590-cost-and-usage-reporting-in-console"
    required = ("usage_date_utc", "model_version", "usage_input_tokens_no_cache", "usage_output_tokens")
    signature = ("usage_date_utc", "model_version", "usage_output_tokens")

    def row(self, get: Callable[[str], Any], *, file: str, line: int) -> ParsedRow:
        uncached = get("usage_input_tokens_no_cache")
        cached = add_tokens(get("usage_input_tokens_cache_read"))
        w5 = add_tokens(get("usage_input_tokens_cache_write_5m"))
        w1 = add_tokens(get("usage_input_tokens_cache_write_1h"))
        writes = add_tokens(w5, w1)
        group = [get(k) for k in ("usage_date_utc", "workspace", "api_key", "model_version", "usage_type")]
        group.append(get("context_window"))
        return make_record(
            file=file,
            line=line,
            columns=_COLUMNS,
            ts=get("usage_date_utc"),
            provider="anthropic",
            model=(get("model_version") or "").strip(),
            input_tokens=add_tokens(uncached, writes, cached) if (uncached or "").strip() else uncached,
            cached_input_tokens=cached,
            cache_write_5m_tokens=w5,
            cache_write_1h_tokens=w1,
            output_tokens=get("usage_output_tokens"),
            requests=None,
            project=get("workspace"),
            user=get("api_key"),
            request_id="anthropic-console:" + ":".join(g or "" for g in group),
        )
