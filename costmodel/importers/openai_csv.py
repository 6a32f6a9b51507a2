"""OpenAI usage CSV export (platform.openai.com → Usage → Export, `completions_usage_<from>_<to>.csv`).

The export flattens the completions Usage API: one row per time bucket and group with `start_time`,
`end_time` (Unix seconds), `start_time_iso`, `end_time_iso`, `num_model_requests`, `input_tokens` (cached
included), `input_cached_tokens`, `output_tokens` and the grouping columns (`project_id`, `user_id`,
`api_key_id`, `model`, `batch`, `service_tier`). Each row's bucket + group is its de-duplication key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from costmodel.importers._base import CsvImporter, ParsedRow, int_or_zero, register
from costmodel.importers.openai_api import OPENAI_USAGE_COLUMNS
from costmodel.importers.records import make_record

__all__ = ["OpenAiUsageCsv"]

_COLUMNS = OPENAI_USAGE_COLUMNS  # the export has the Usage API's field names


@register
class OpenAiUsageCsv(CsvImporter):
    """The completions usage CSV downloaded from the OpenAI platform's Usage page."""

    name = "openai-usage-csv"
    title = "OpenAI usage CSV export"
    doc_url = "https://platform.openai.com/docs/api-reference/usage/completions_object"
    required = ("start_time", "num_model_requests", "input_tokens", "output_tokens")
    signature = required

    def row(self, get: Callable[[str], Any], *, file: str, line: int) -> ParsedRow:
        group = [get(k) for k in ("start_time", "end_time", "project_id", "user_id", "api_key_id", "model", "batch")]
        return make_record(
            file=file,
            line=line,
            columns=_COLUMNS,
            ts=get("start_time") or get("start_time_iso"),
            provider="openai",
            model=(get("model") or "").strip() or "unknown",
            input_tokens=get("input_tokens"),
            cached_input_tokens=int_or_zero(get("input_cached_tokens")),
            output_tokens=get("output_tokens"),
            requests=get("num_model_requests"),
            project=get("project_id"),
            user=get("user_id"),
            request_id="openai-usage:" + ":".join(g or "" for g in group),
        )
