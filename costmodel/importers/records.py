"""One normalised usage row, the checks every row passes, and the limits every file passes.

Every importer turns its format into `UsageRecord`s (or, for big CSV and Parquet files, into the same
columns in SQL under the same rules). A row that breaks a rule becomes a `BadLogRow` naming the file, the
line, the source column and the reason; it is counted, offered in the reject file and never stored.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from costmodel._base import StrictModel
from costmodel.errors import BadLogRow

__all__ = [
    "EARLIEST_TS",
    "FUTURE_TOLERANCE",
    "MAX_TOKENS_PER_ROW",
    "SECRET_PATTERN",
    "ImportLimits",
    "UsageRecord",
    "make_record",
    "normalise_provider",
    "redact",
]

EARLIEST_TS = datetime(2020, 1, 1)
"""Rows before this (UTC) are rejected: no LLM API usage log predates 2020, so it is a unit or parse error."""
FUTURE_TOLERANCE = timedelta(days=1)
"""Rows later than now + this are rejected as "in the future" (a day absorbs time zones and clock skew)."""
MAX_TOKENS_PER_ROW = 10**15
"""Token counts above this are rejected as implausible (a unit error rather than usage)."""

_SECRET = re.compile(
    r"(sk-[A-Za-z0-9_\-]{16,}|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|xox[abprs]-[A-Za-z0-9\-]{10,}|(?i:bearer)\s+\S{8,}|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.)"
)
SECRET_PATTERN = _SECRET.pattern
"""What an API key or bearer token looks like (OpenAI/Anthropic/OpenRouter `sk-…`, AWS, Hugging Face, GitHub,
Slack, `Bearer …`, JWTs). Values matching it are replaced by `redacted-<hash prefix>` before storage."""

_PROVIDERS = {
    "amazon": "aws",
    "amazon bedrock": "aws",
    "amazon web services": "aws",
    "aws": "aws",
    "bedrock": "aws",
    "bedrock_converse": "aws",
    "sagemaker": "aws",
    "azure": "azure",
    "azure openai": "azure",
    "azure_ai": "azure",
    "azure_text": "azure",
    "microsoft": "azure",
    "microsoft azure": "azure",
    "anthropic": "anthropic",
    "gemini": "google",
    "google": "google",
    "google cloud": "google",
    "vertex_ai": "google",
    "vertex_ai_beta": "google",
    "openai": "openai",
    "text-completion-openai": "openai",
    "openrouter": "openrouter",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "mistral": "mistral",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "x-ai",
    "cohere": "cohere",
    "cohere_chat": "cohere",
}


def redact(value: str | None) -> str | None:
    """Replace a value that looks like an API key or bearer token by a stable, non-reversible label."""
    if value is None or not _SECRET.search(value):
        return value
    return "redacted-" + hashlib.sha256(value.encode()).hexdigest()[:12]


def normalise_provider(value: object) -> str | None:
    """Map a provider label as logs spell it (`bedrock`, `vertex_ai`, `Amazon Web Services`) to a genai-prices id.

    Anything that is not text (a number where a JSON log should hold a name) is read as its text form.
    """
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if not text.strip():
        return None
    key = text.strip().lower()
    return _PROVIDERS.get(key, key)


def _no_bool(v: Any) -> Any:
    # JSON `true` would otherwise count as one token.
    if isinstance(v, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(v, str):
        v = v.strip()
        if v == "":
            raise ValueError("missing")
    return v


def _blank_is_none(v: Any) -> Any:
    if isinstance(v, str) and not v.strip():
        return None
    if isinstance(v, bool):
        raise ValueError("must be a number, not true/false")
    return v


_SHORT_OFFSET = re.compile(r"([+-]\d\d)$")


def _timestamp(v: Any) -> Any:
    # PostgreSQL writes `2025-03-01 10:00:00.123+00` (an hour-only offset) in dumps and `COPY … CSV`.
    if isinstance(v, str):
        t = v.strip()
        if len(t) > 19 and _SHORT_OFFSET.search(t) and t[-6:-3] != ":":
            return _SHORT_OFFSET.sub(r"\1:00", t)
        return t
    return v


Tokens = Annotated[int, BeforeValidator(_no_bool), Field(ge=0, le=MAX_TOKENS_PER_ROW)]
Label = Annotated[Annotated[str, Field(max_length=500)] | None, BeforeValidator(_blank_is_none)]
Count = Annotated[Annotated[int, Field(ge=0, le=MAX_TOKENS_PER_ROW)] | None, BeforeValidator(_blank_is_none)]
Cost = Annotated[
    Annotated[Decimal, Field(ge=0, le=Decimal(10**10), allow_inf_nan=False)] | None, BeforeValidator(_blank_is_none)
]


class UsageRecord(StrictModel):
    """One normalised usage row: a request, or an aggregate bucket of requests, at one time."""

    ts: Annotated[datetime, BeforeValidator(_timestamp)]
    """When the usage happened, stored as naive UTC (aware inputs are converted, naive ones taken as UTC)."""
    provider: Label = None
    """genai-prices provider id (`openai`, `anthropic`, `aws` …); empty when the log does not say."""
    model: Annotated[str, Field(min_length=1, max_length=300)]
    """Model id as the provider names it."""
    input_tokens: Tokens
    """All prompt tokens, the cached part included."""
    cached_input_tokens: Tokens = 0
    """The part of `input_tokens` read from the provider's prompt cache."""
    cache_write_5m_tokens: Tokens = 0
    """The part of `input_tokens` written to the prompt cache for 5 minutes (Anthropic, Bedrock: 1.25× input)."""
    cache_write_1h_tokens: Tokens = 0
    """The part of `input_tokens` written to the prompt cache for an hour (Anthropic: 2× input)."""
    output_tokens: Tokens
    """Completion tokens (reasoning tokens included)."""
    requests: Count = 1
    """Requests in this row: 1 for a per-request log, the bucket's count for aggregates, None when unknown."""
    reported_cost_usd: Cost = None
    """Cost the source reported for this row, USD (None when the source reports none)."""
    project: Label = None
    """Project, team, workspace or account the usage belongs to."""
    user: Label = None
    """End user or API-key owner."""
    request_id: Label = None
    """The provider's or gateway's request id, or a deterministic key of an aggregate bucket; used to de-duplicate."""

    @field_validator("ts")
    @classmethod
    def _utc_in_range(cls, v: datetime) -> datetime:
        if v.tzinfo is not None:
            v = v.astimezone(UTC).replace(tzinfo=None)
        if v < EARLIEST_TS:
            raise ValueError(f"{v:%Y-%m-%d} is before 2020: check the column's unit or time zone")
        if v > datetime.now(UTC).replace(tzinfo=None) + FUTURE_TOLERANCE:
            raise ValueError(f"{v:%Y-%m-%d %H:%M} is in the future")
        return v

    @field_validator("project", "user", "request_id", "provider")
    @classmethod
    def _no_secrets(cls, v: str | None) -> str | None:
        return redact(v)

    @model_validator(mode="after")
    def _cached_within_input(self) -> UsageRecord:
        if self.cached_input_tokens > self.input_tokens:
            raise ValueError(
                f"cached_input_tokens ({self.cached_input_tokens}) exceed input_tokens ({self.input_tokens})"
            )
        writes = self.cache_write_5m_tokens + self.cache_write_1h_tokens
        if self.cached_input_tokens + writes > self.input_tokens:
            raise ValueError(
                f"cache reads ({self.cached_input_tokens}) and writes ({writes}) exceed input_tokens "
                f"({self.input_tokens})"
            )
        return self


def make_record(*, file: str, line: int, columns: dict[str, str], **fields: Any) -> UsageRecord | BadLogRow:
    """Build a `UsageRecord`, or the `BadLogRow` that says which source column is wrong and why.

    Args:
        file: file name shown in messages.
        line: line (CSV, JSON lines) or record number (JSON documents) of the row.
        columns: record field → the source column it came from, so the message names the user's column.
        **fields: the record's fields, raw (strings are parsed).

    Returns:
        The record, or a `BadLogRow` describing the first problem.
    """
    try:
        return UsageRecord(**fields)
    except ValidationError as ex:
        err = ex.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else None
        msg = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        shown = "" if field is None or isinstance(got, dict | list) else f" (got {str(redact(str(got)))[:60]!r})"
        return BadLogRow(file=file, line=line, column=columns.get(field or "", field), reason=f"{msg}{shown}")


class ImportLimits(StrictModel):
    """Size limits that stop a hostile or mistaken upload before it fills memory or disk."""

    max_file_bytes: Annotated[int, Field(gt=0)] = 4 * 1024**3
    """Largest file accepted, bytes (the dashboard passes its 200 MiB upload limit)."""
    max_expanded_bytes: Annotated[int, Field(gt=0)] = 4 * 1024**3
    """Largest size a .gz file may expand to, bytes (guards against decompression bombs)."""
    max_stored_rejects: Annotated[int, Field(gt=0)] = 10_000
    """Rejected rows kept for the reject file; the count is always exact."""
