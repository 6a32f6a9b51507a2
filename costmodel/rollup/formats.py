"""The log formats the rollup reads, each as one SQL `SELECT` that normalises its rows to the store's columns.

Every format names the source fields it reads (`columns`: our name → the header of a CSV/Parquet column, or
the JSON path inside a JSON line) and gives one `SELECT … FROM src` in DuckDB's dialect over those fields,
all read as text. The engines turn any input into that `src` (see `costmodel.rollup.sql`), so the logic below
is written once and run as is by DuckDB and, transpiled by sqlglot, by Spark.

The rules follow the importers in `costmodel.importers` (read there, not imported, apart from shared limits
and the provider aliases): the same rows are skipped (failed calls, cache hits, non-LLM calls, spans,
non-token FOCUS charges), the same token arithmetic is done, and a row the importers would reject (no time,
no model, a token count that is not a whole non-negative number) is counted as rejected and left out.

Every normalising `SELECT` yields: `ts` (naive UTC `TIMESTAMP`), `provider`, `model`, `input_tokens`,
`cached_input_tokens`, `output_tokens` (`BIGINT`), `requests` (`BIGINT`, NULL when the source has no
request count), `cost_usd` (`DECIMAL(18, 8)`, NULL when the source reports none or not in USD), `project`,
`user`, `request_id`, `skip` (why a row is not usage, else NULL) and `reject` (why it is bad, else NULL).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from costmodel.importers.records import _PROVIDERS, MAX_TOKENS_PER_ROW  # the importers' own aliases and limit

__all__ = ["FORMATS", "RollupFormat", "Shape"]

Shape = Literal["table", "json_lines"]
"""`table`: CSV or Parquet columns; `json_lines`: one JSON object per line (also Parquet, row by row)."""


@dataclasses.dataclass(frozen=True, slots=True)
class RollupFormat:
    """One log format: where its fields are, and the `SELECT` that normalises them."""

    name: str
    """What `--format` takes."""
    title: str
    """What the format is, for help and errors."""
    doc_url: str
    """The format's reference."""
    shape: Shape
    """How its fields are addressed (a column header, or a JSON path)."""
    columns: dict[str, str]
    """Our field name → its header (`table`) or JSON path (`json_lines`); fields a file lacks read as NULL."""
    signature: tuple[str, ...]
    """Source names whose presence identifies the format when `--format` is not given."""
    select: str
    """The normalising `SELECT … FROM src` (DuckDB dialect)."""


# ---------------------------------------------------------------- shared SQL pieces (DuckDB dialect)


def _text(col: str) -> str:
    """A field as trimmed text, empty → NULL."""
    return f"nullif(trim({col}), '')"


def _ts(col: str) -> str:
    """ISO 8601 text (offset or `Z` honoured, none meaning UTC) → naive UTC timestamp; NULL when unreadable."""
    return f"TRY_CAST(TRY_CAST({_text(col)} AS TIMESTAMPTZ) AS TIMESTAMP)"


def _num(col: str) -> str:
    return f"TRY_CAST({_text(col)} AS DOUBLE)"


def _tokens(col: str) -> str:
    """A token count as BIGINT (NULL when missing or not a number; badness is judged by `_bad_tokens`)."""
    return f"TRY_CAST({_num(col)} AS BIGINT)"


def _bad_tokens(col: str, label: str, *, required: bool = True) -> str:
    """A CASE arm naming why a token field is bad (nothing when it is fine)."""
    v, n = _text(col), _num(col)
    missing = f"WHEN {v} IS NULL THEN '{label}: missing' " if required else ""
    return (
        f"{missing}WHEN {v} IS NOT NULL AND {n} IS NULL THEN '{label}: not a number' "
        f"WHEN {n} < 0 THEN '{label}: negative token count' "
        f"WHEN {n} <> floor({n}) THEN '{label}: not a whole number' "
        f"WHEN {n} > {MAX_TOKENS_PER_ROW} THEN '{label}: implausibly large (unit error?)' "
    )


def _provider(expr: str) -> str:
    """A provider label → a genai-prices id, with the importers' alias table (unknown labels kept, lower-cased)."""
    key = f"lower(trim({expr}))"
    arms = " ".join(f"WHEN '{alias}' THEN '{pid}'" for alias, pid in sorted(_PROVIDERS.items()))
    return f"CASE {key} {arms} ELSE nullif({key}, '') END"


def _common_rejects(ts: str, model: str) -> str:
    return f"WHEN {ts} IS NULL THEN 'timestamp: missing or not ISO 8601' WHEN {model} IS NULL THEN 'model: missing' "


# ---------------------------------------------------------------- the formats

_GENERIC = RollupFormat(
    name="generic",
    title="generic usage CSV or Parquet (the columns of costmodel/importers/generic.py)",
    doc_url="costmodel/importers/generic.py",
    shape="table",
    columns={
        c: c
        for c in (
            "timestamp",
            "model",
            "input_tokens",
            "output_tokens",
            "cached_input_tokens",
            "requests",
            "cost_usd",
            "provider",
            "project",
            "user",
            "request_id",
        )
    },
    signature=("timestamp", "model", "input_tokens", "output_tokens"),
    select=f"""
SELECT {_ts("timestamp")} AS ts,
       {_provider('"provider"')} AS provider,
       {_text("model")} AS model,
       {_tokens("input_tokens")} AS input_tokens,
       coalesce({_tokens("cached_input_tokens")}, 0) AS cached_input_tokens,
       {_tokens("output_tokens")} AS output_tokens,
       coalesce({_tokens("requests")}, 1) AS requests,
       TRY_CAST({_num("cost_usd")} AS DECIMAL(18, 8)) AS cost_usd,
       {_text("project")} AS project,
       {_text('"user"')} AS "user",
       {_text("request_id")} AS request_id,
       CAST(NULL AS VARCHAR) AS skip,
       CASE {_common_rejects(_ts("timestamp"), _text("model"))}
            {_bad_tokens("input_tokens", "input_tokens")}
            {_bad_tokens("output_tokens", "output_tokens")}
            {_bad_tokens("cached_input_tokens", "cached_input_tokens", required=False)}
            {_bad_tokens("requests", "requests", required=False)}
            WHEN coalesce({_tokens("cached_input_tokens")}, 0) > {_tokens("input_tokens")}
                THEN 'cached_input_tokens: more cached tokens than input tokens'
            WHEN {_num("cost_usd")} < 0 THEN 'cost_usd: negative'
       END AS reject
FROM src""",
)

_LITELLM_NOT_LLM = ("embedding", "image", "moderation", "transcription", "speech", "rerank", "file", "batch")
_LITELLM_NOT_LLM_ARMS = " ".join(
    f"WHEN contains(lower(coalesce(call_type, '')), '{k}') THEN 'not a text-generation call'" for k in _LITELLM_NOT_LLM
)
_LITELLM_MODEL = f"coalesce({_text('model')}, {_text('model_group')})"
_LITELLM_PREFIX = f"CASE WHEN contains({_LITELLM_MODEL}, '/') THEN split_part({_LITELLM_MODEL}, '/', 1) END"
_LITELLM_PROVIDER = f"coalesce({_provider('custom_llm_provider')}, {_provider(_LITELLM_PREFIX)})"
_LITELLM = RollupFormat(
    name="litellm-spend-logs",
    title="LiteLLM proxy spend logs (LiteLLM_SpendLogs dumped as CSV or Parquet; metadata a JSON column)",
    doc_url="https://docs.litellm.ai/docs/proxy/cost_tracking",
    shape="table",
    columns={
        c: c
        for c in (
            "request_id",
            "call_type",
            "spend",
            "prompt_tokens",
            "completion_tokens",
            "startTime",
            "model",
            "model_group",
            "custom_llm_provider",
            "user",
            "metadata",
            "cache_hit",
            "team_id",
            "end_user",
            "status",
        )
    },
    signature=("request_id", "call_type", "spend", "startTime"),
    select=f"""
SELECT {_ts('"startTime"')} AS ts,
       {_LITELLM_PROVIDER} AS provider,
       CASE WHEN {_LITELLM_PREFIX} IS NOT NULL AND {_provider(_LITELLM_PREFIX)} = {_LITELLM_PROVIDER}
            THEN substr({_LITELLM_MODEL}, length({_LITELLM_PREFIX}) + 2) ELSE {_LITELLM_MODEL} END AS model,
       {_tokens("prompt_tokens")} AS input_tokens,
       coalesce(TRY_CAST(TRY_CAST(coalesce(
           json_extract_string(metadata, '$.usage_object.prompt_tokens_details.cached_tokens'),
           json_extract_string(metadata, '$.usage_object.cache_read_input_tokens')) AS DOUBLE) AS BIGINT), 0)
           AS cached_input_tokens,
       {_tokens("completion_tokens")} AS output_tokens,
       CAST(1 AS BIGINT) AS requests,
       TRY_CAST({_num("spend")} AS DECIMAL(18, 8)) AS cost_usd,
       coalesce({_text("json_extract_string(metadata, '$.user_api_key_team_alias')")}, {_text("team_id")})
           AS project,
       coalesce({_text("end_user")}, {_text('"user"')}) AS "user",
       {_text("request_id")} AS request_id,
       CASE WHEN lower(coalesce({_text("status")}, 'success')) <> 'success'
                THEN 'call status ' || lower({_text("status")})
            WHEN lower(coalesce({_text("cache_hit")}, '')) IN ('true', '1', 'yes')
                THEN 'served from LiteLLM''s response cache'
            {_LITELLM_NOT_LLM_ARMS}
       END AS skip,
       CASE {_common_rejects(_ts('"startTime"'), _LITELLM_MODEL)}
            {_bad_tokens("prompt_tokens", "prompt_tokens")}
            {_bad_tokens("completion_tokens", "completion_tokens")}
       END AS reject
FROM src""",
)

_BEDROCK_CACHE_READ = _tokens("cache_read")
_BEDROCK_CACHE_WRITE = _tokens("cache_write")
_BEDROCK = RollupFormat(
    name="bedrock-invocation-logs",
    title="AWS Bedrock model-invocation logs (JSON lines, as delivered to S3)",
    doc_url="https://docs.aws.amazon.com/bedrock/latest/userguide/model-invocation-logging.html",
    shape="json_lines",
    columns={
        "timestamp": "$.timestamp",
        "account": "$.accountId",
        "arn": "$.identity.arn",
        "request_id": "$.requestId",
        "model_id": "$.modelId",
        "input_tokens": "$.input.inputTokenCount",
        "cache_read": "$.input.cacheReadInputTokenCount",
        "cache_write": "$.input.cacheWriteInputTokenCount",
        "output_tokens": "$.output.outputTokenCount",
        "error_code": "$.errorCode",
    },
    signature=("modelId", "requestId", "input"),
    select=f"""
SELECT {_ts("timestamp")} AS ts,
       'aws' AS provider,
       CASE WHEN starts_with({_text("model_id")}, 'arn:') THEN split_part({_text("model_id")}, '/', -1)
            ELSE {_text("model_id")} END AS model,
       {_tokens("input_tokens")} + coalesce({_BEDROCK_CACHE_READ}, 0) + coalesce({_BEDROCK_CACHE_WRITE}, 0)
           AS input_tokens,
       coalesce({_BEDROCK_CACHE_READ}, 0) AS cached_input_tokens,
       {_tokens("output_tokens")} AS output_tokens,
       CAST(1 AS BIGINT) AS requests,
       CAST(NULL AS DECIMAL(18, 8)) AS cost_usd,
       {_text("account")} AS project,
       {_text("arn")} AS "user",
       {_text("request_id")} AS request_id,
       CASE WHEN {_text("error_code")} IS NOT NULL THEN 'failed call' END AS skip,
       CASE {_common_rejects(_ts("timestamp"), _text("model_id"))}
            {_bad_tokens("input_tokens", "input.inputTokenCount")}
            {_bad_tokens("cache_read", "input.cacheReadInputTokenCount", required=False)}
            {_bad_tokens("cache_write", "input.cacheWriteInputTokenCount", required=False)}
            {_bad_tokens("output_tokens", "output.outputTokenCount")}
       END AS reject
FROM src""",
)

# Langfuse sums every usage type whose name holds "input" (resp. "output"); SQL that both engines run cannot
# iterate a JSON object's keys, so the usage types Langfuse and its integrations write are listed here.
_LF_INPUT = (
    "input",
    "input_cached_tokens",
    "input_cache_read",
    "input_cache_creation",
    "input_audio_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)
_LF_CACHED = ("input_cached_tokens", "input_cache_read", "cache_read_input_tokens")
_LF_OUTPUT = ("output", "output_reasoning_tokens", "output_audio_tokens")
_LF_USAGE = "coalesce(usage_details, usage_details_camel)"


def _lf_sum(keys: tuple[str, ...]) -> str:
    parts = [f"coalesce({_tokens(f'json_extract_string({_LF_USAGE}, {chr(39)}$.{k}{chr(39)})')}, 0)" for k in keys]
    return " + ".join(parts)


_LF_HAS_USAGE = f"coalesce({_LF_USAGE}, '{{}}') NOT IN ('{{}}', 'null')"
_LF_TS = "coalesce(start_time, start_time_camel)"
_LF_MODEL = f"coalesce({_text('provided_model_name')}, {_text('model')})"
_LANGFUSE = RollupFormat(
    name="langfuse",
    title="Langfuse observations: blob-storage export (observations_v2, JSON lines or Parquet) or UI export",
    doc_url="https://langfuse.com/docs/api-and-data-platform/features/blob-storage-export-fields",
    shape="json_lines",
    columns={
        "id": "$.id",
        "type": "$.type",
        "start_time": "$.start_time",
        "start_time_camel": "$.startTime",
        "provided_model_name": "$.provided_model_name",
        "model": "$.model",
        "usage_details": "$.usage_details",
        "usage_details_camel": "$.usageDetails",
        "prompt_tokens": "$.promptTokens",
        "completion_tokens": "$.completionTokens",
        "total_cost": "$.total_cost",
        "cost_total": "$.cost_details.total",
        "cost_total_camel": "$.costDetails.total",
        "calculated_total_cost": "$.calculatedTotalCost",
        "project_id": "$.project_id",
        "project_id_camel": "$.projectId",
        "user_id": "$.user_id",
        "user_id_camel": "$.userId",
    },
    signature=("id", "type", "start_time"),
    select=f"""
SELECT {_ts(_LF_TS)} AS ts,
       CAST(NULL AS VARCHAR) AS provider,
       {_LF_MODEL} AS model,
       CASE WHEN {_LF_HAS_USAGE} THEN {_lf_sum(_LF_INPUT)} ELSE coalesce({_tokens("prompt_tokens")}, 0) END
           AS input_tokens,
       CASE WHEN {_LF_HAS_USAGE} THEN {_lf_sum(_LF_CACHED)} ELSE 0 END AS cached_input_tokens,
       CASE WHEN {_LF_HAS_USAGE} THEN {_lf_sum(_LF_OUTPUT)} ELSE coalesce({_tokens("completion_tokens")}, 0) END
           AS output_tokens,
       CAST(1 AS BIGINT) AS requests,
       TRY_CAST(coalesce({_num("cost_total")}, {_num("cost_total_camel")}, {_num("total_cost")},
                         {_num("calculated_total_cost")}) AS DECIMAL(18, 8)) AS cost_usd,
       coalesce({_text("project_id")}, {_text("project_id_camel")}) AS project,
       coalesce({_text("user_id")}, {_text("user_id_camel")}) AS "user",
       {_text("id")} AS request_id,
       CASE WHEN upper(coalesce({_text('"type"')}, 'GENERATION')) <> 'GENERATION'
            THEN 'a ' || lower({_text('"type"')}) || ', not a generation' END AS skip,
       CASE {_common_rejects(_ts(_LF_TS), _LF_MODEL)}
            {_bad_tokens("prompt_tokens", "promptTokens", required=False)}
            {_bad_tokens("completion_tokens", "completionTokens", required=False)}
       END AS reject
FROM src""",
)

_FOCUS_UNIT = r"^\s*(\d+(\.\d+)?)?\s*(k|m|thousand|million)?\s*tokens?\s*$"


def _q(name: str) -> str:
    """A quoted identifier (FOCUS names are CamelCase)."""
    return '"' + name + '"'


def _tag(key: str) -> str:
    return _text(f"json_extract_string({_q('Tags')}, '$.{key}')")


_FOCUS_U = f"lower(coalesce({_text(_q('ConsumedUnit'))}, ''))"
_FOCUS_PER_UNIT = (
    f"coalesce(TRY_CAST(nullif(regexp_extract({_FOCUS_U}, '{_FOCUS_UNIT}', 1), '') AS DOUBLE), 1) * "
    f"CASE regexp_extract({_FOCUS_U}, '{_FOCUS_UNIT}', 3) WHEN 'k' THEN 1000 WHEN 'thousand' THEN 1000 "
    "WHEN 'm' THEN 1000000 WHEN 'million' THEN 1000000 ELSE 1 END"
)
_FOCUS_QTY = _num(_q("ConsumedQuantity"))
_FOCUS_EXACT = f"{_FOCUS_QTY} * {_FOCUS_PER_UNIT}"
_FOCUS_TOKENS = f"TRY_CAST({_FOCUS_EXACT} AS BIGINT)"
_FOCUS_WHAT = (
    "lower(concat_ws(' ', "
    + ", ".join(f"coalesce({_q(c)}, '')" for c in ("SkuMeter", "ChargeDescription", "SkuPriceDetails", "SkuId"))
    + "))"
)
_FOCUS_DIRECTION = (
    f"CASE WHEN regexp_matches({_FOCUS_WHAT}, 'cache[sd]?[ _-]*(read|hit)|cached') THEN 'cached' "
    f"WHEN regexp_matches({_FOCUS_WHAT}, 'output|completion|generat|\\bout\\b') THEN 'output' "
    f"WHEN regexp_matches({_FOCUS_WHAT}, 'input|prompt|cache[ _-]*(write|creation)|\\binp?\\b') THEN 'input' END"
)
_FOCUS_MODEL = f"coalesce({_tag('model')}, {_tag('Model')}, {_text(_q('ResourceName'))}, {_text(_q('SkuId'))})"
_FOCUS_PROVIDER = _provider(
    f"coalesce({_text(_q('ServiceProviderName'))}, {_text(_q('ProviderName'))}, {_text(_q('PublisherName'))})"
)
_FOCUS_TS = _ts(_q("ChargePeriodStart"))
_FOCUS_QTY_TEXT = _text(_q("ConsumedQuantity"))
_FOCUS = RollupFormat(
    name="focus",
    title="FinOps FOCUS 1.x cost and usage export (CSV or Parquet), token rows only",
    doc_url="https://focus.finops.org/focus-specification/v1-2/",
    shape="table",
    columns={
        c: c
        for c in (
            "ChargePeriodStart",
            "ChargeCategory",
            "BilledCost",
            "BillingCurrency",
            "ConsumedQuantity",
            "ConsumedUnit",
            "ProviderName",
            "ServiceProviderName",
            "PublisherName",
            "SkuId",
            "SkuMeter",
            "SkuPriceDetails",
            "ChargeDescription",
            "ResourceName",
            "SubAccountName",
            "SubAccountId",
            "Tags",
        )
    },
    signature=("ChargePeriodStart", "BilledCost", "ConsumedQuantity"),
    select=f"""
SELECT {_FOCUS_TS} AS ts,
       {_FOCUS_PROVIDER} AS provider,
       {_FOCUS_MODEL} AS model,
       CASE WHEN {_FOCUS_DIRECTION} IN ('input', 'cached') THEN {_FOCUS_TOKENS} ELSE 0 END AS input_tokens,
       CASE WHEN {_FOCUS_DIRECTION} = 'cached' THEN {_FOCUS_TOKENS} ELSE 0 END AS cached_input_tokens,
       CASE WHEN {_FOCUS_DIRECTION} = 'output' THEN {_FOCUS_TOKENS} ELSE 0 END AS output_tokens,
       CAST(NULL AS BIGINT) AS requests,
       CASE WHEN upper(coalesce({_text(_q("BillingCurrency"))}, 'USD')) = 'USD'
            THEN TRY_CAST({_num(_q("BilledCost"))} AS DECIMAL(18, 8)) END AS cost_usd,
       coalesce({_text(_q("SubAccountName"))}, {_text(_q("SubAccountId"))}) AS project,
       coalesce({_tag("user")}, {_tag("User")}) AS "user",
       CAST(NULL AS VARCHAR) AS request_id,
       CASE WHEN lower(coalesce({_text(_q("ChargeCategory"))}, '')) <> 'usage' THEN 'not a usage charge'
            WHEN NOT regexp_matches({_FOCUS_U}, '{_FOCUS_UNIT}') THEN 'not measured in tokens' END AS skip,
       CASE {_common_rejects(_FOCUS_TS, _FOCUS_MODEL)}
            WHEN {_FOCUS_QTY_TEXT} IS NULL THEN 'ConsumedQuantity: missing'
            WHEN {_FOCUS_QTY} IS NULL THEN 'ConsumedQuantity: not a number'
            WHEN {_FOCUS_QTY} < 0 THEN 'ConsumedQuantity: negative'
            WHEN {_FOCUS_EXACT} <> floor({_FOCUS_EXACT}) THEN 'ConsumedQuantity: not a whole number of tokens'
            WHEN {_FOCUS_EXACT} > {MAX_TOKENS_PER_ROW} THEN 'ConsumedQuantity: implausibly large (unit error?)'
            WHEN {_FOCUS_DIRECTION} IS NULL THEN 'SkuMeter: cannot tell input from output tokens'
       END AS reject
FROM src""",
)

FORMATS: dict[str, RollupFormat] = {f.name: f for f in (_GENERIC, _LITELLM, _BEDROCK, _LANGFUSE, _FOCUS)}
"""Every format the rollup reads, by `--format` name."""
