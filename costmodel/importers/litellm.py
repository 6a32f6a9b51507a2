"""LiteLLM proxy spend logs: rows of the `LiteLLM_SpendLogs` table, as CSV, JSON, API pages or a database dump.

Accepted shapes: the table exported as CSV (`psql \\copy … CSV HEADER`, the UI) or JSON; the proxy's
`GET /spend/logs` (a JSON array of rows) and `GET /spend/logs/ui` / `/spend/logs/v2` (pages `{"data": [rows],
"total", "page", "page_size", "total_pages"}`); and a `pg_dump` of the proxy database (plain SQL, whose
`COPY public."LiteLLM_SpendLogs" (…) FROM stdin;` block holds the rows tab-separated, `\\N` for NULL).

Columns follow the proxy's Prisma schema: `request_id`, `call_type`, `api_key` (a hash of the virtual key,
never stored), `spend` (USD), `prompt_tokens`, `completion_tokens`, `total_tokens`, `startTime`,
`endTime`, `model`, `model_group`, `custom_llm_provider`, `user`, `metadata` (JSON), `cache_hit`,
`team_id`, `end_user`, `status`. LiteLLM reports tokens OpenAI-style, so `prompt_tokens` includes cached
tokens; the cached part is read from `metadata.usage_object` when present, and Anthropic cache writes
(`cache_creation_input_tokens`) from there too. Failed calls and non-LLM calls (embeddings, images, audio) are
skipped. Rows served from LiteLLM's own response cache (`cache_hit`) called no provider: they never count as
provider usage and are kept apart, to be shown as "served from the proxy cache: N requests, T tokens".
Only the columns above are read: prompts, responses and the rest of `metadata` are never stored.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from collections.abc import Callable, Iterator
from typing import IO, Any

from costmodel.errors import BadLogRow, ImportRejected
from costmodel.importers._base import (
    CacheHit,
    CsvOrJsonImporter,
    ParsedRow,
    Skip,
    _getter,
    _Utf8Reader,
    int_or_zero,
    json_field,
    num,
    register,
)
from costmodel.importers.records import UsageRecord, make_record, normalise_provider

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


def _cached(metadata: Any) -> tuple[Any, Any]:
    """Cache reads and (five-minute) cache writes in `metadata.usage_object`, both parts of `prompt_tokens`."""
    usage = num(json_field(metadata), "usage_object")
    if not isinstance(usage, dict):
        return 0, 0
    details = usage.get("prompt_tokens_details")
    reads = num(details, "cached_tokens") if isinstance(details, dict) else None
    if reads is None:
        reads = usage.get("cache_read_input_tokens")
    return int_or_zero(reads), int_or_zero(usage.get("cache_creation_input_tokens"))


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
        reads, writes = _cached(metadata)
        prompt = get("prompt_tokens")
        if isinstance(reads, int) and isinstance(writes, int) and isinstance(prompt, int | str):
            # Older LiteLLM versions leave Anthropic cache writes out of prompt_tokens: count no more than it holds
            with contextlib.suppress(ValueError):
                writes = max(min(writes, int(prompt) - reads), 0)
        rec = make_record(
            file=file,
            line=line,
            columns=_COLUMNS,
            ts=get("startTime"),
            provider=provider,
            model=model,
            input_tokens=get("prompt_tokens"),
            cached_input_tokens=reads,
            cache_write_5m_tokens=writes,
            output_tokens=get("completion_tokens"),
            requests=1,
            reported_cost_usd=get("spend"),
            project=team,
            user=get("end_user") or get("user"),
            request_id=get("request_id"),
        )
        if _truthy(get("cache_hit")) and isinstance(rec, UsageRecord):
            return CacheHit(rec)
        return rec

    def sniff(self, head: bytes, filename: str) -> bool:
        return super().sniff(head, filename) or _dump_sniff(head)

    def parse(self, fp: IO[bytes], *, file: str) -> Iterator[ParsedRow]:
        start = fp.read(65536)
        fp.seek(0)
        if _dump_sniff(start) and not super().sniff(start, file):
            yield from self._parse_dump(fp, file=file)
            return
        yield from super().parse(fp, file=file)

    def _parse_dump(self, fp: IO[bytes], *, file: str) -> Iterator[ParsedRow]:
        """The `COPY … "LiteLLM_SpendLogs" … FROM stdin;` block of a plain-SQL `pg_dump`."""
        lines = iter(_Utf8Reader(fp, file))
        columns: list[str] | None = None
        n = 0
        for n, text in enumerate(lines, start=1):  # noqa: B007 - n is the COPY line's number after the loop
            m = _COPY.match(text)
            if m:
                columns = [c.strip().strip('"') for c in m.group(1).split(",")]
                break
        if columns is None:
            raise ImportRejected(
                f"{file}: a PostgreSQL dump without a LiteLLM_SpendLogs table; dump the LiteLLM database "
                "(`pg_dump --table '\"LiteLLM_SpendLogs\"'`)"
            )
        missing = [c for c in self.required if c not in columns]
        if missing:
            raise BadLogRow(file=file, line=n, column=missing[0], reason=f"the dump's COPY has no {missing[0]} column")
        for n, text in enumerate(lines, start=n + 1):  # noqa: B020 - numbering goes on from the COPY line
            row = text.rstrip("\r\n")
            if row == "\\.":
                return
            if not row:
                continue
            cells = row.split("\t")
            if len(cells) != len(columns):
                yield BadLogRow(
                    file=file, line=n, column=None, reason=f"expected {len(columns)} fields, found {len(cells)}"
                )
                continue
            values = {c: _copy_value(v) for c, v in zip(columns, cells, strict=True)}
            yield self.row(_getter(values), file=file, line=n)
        raise BadLogRow(file=file, line=n, column=None, reason="the COPY block does not end (is the dump truncated?)")


_COPY = re.compile(r'^COPY\s+(?:"?\w+"?\.)?"?LiteLLM_SpendLogs"?\s*\((.*)\)\s+FROM\s+stdin;', re.IGNORECASE)


def _dump_sniff(head: bytes) -> bool:
    return b"LiteLLM_SpendLogs" in head and (b"PostgreSQL database dump" in head or b"COPY " in head)


def _copy_value(cell: str) -> str | None:
    """A field of PostgreSQL's COPY text format: `\\N` is NULL, backslash escapes (`\\t`, `\\n`, `\\\\` …) decoded."""
    if cell == "\\N":
        return None
    if "\\" not in cell:
        return cell
    try:
        raw = codecs.decode(cell.encode("utf-8", "surrogatepass"), "unicode_escape")
        return raw.encode("latin-1").decode("utf-8", "replace")
    except (UnicodeError, ValueError):
        return cell  # a malformed escape: the value as written, for the row's validation to judge
