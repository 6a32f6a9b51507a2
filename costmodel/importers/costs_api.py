"""Cost reports without token counts: OpenAI's Costs API and Anthropic's cost report.

Both answer "what was billed per day", not "how many tokens": each line becomes a row with no tokens and no
requests, only its reported cost, at the start of its day (UTC). Imported next to the same period's usage (OpenAI
Usage API, Anthropic usage report), the cost per model is what the provider billed and the tokens are what was
used, so the cost check compares the bill with the list price of that usage. A row without tokens is never
flagged as mispriced and its model is never listed as unknown: there is nothing to price.

- OpenAI (`openai-costs-api`), `GET /v1/organization/costs`: pages `{"object": "page", "data": [bucket…],
  "has_more", "next_page"}`, each bucket `{"object": "bucket", "start_time", "end_time", "results": [...]}` (Unix
  seconds, one day wide), each result `{"object": "organization.costs.result", "amount": {"value", "currency"},
  "line_item", "project_id"}`. A line item such as `gpt-4o-2024-08-06, input` names the model before the comma;
  without `group_by=line_item` it is null and the row's model reads `(all line items)`.
- Anthropic (`anthropic-cost-report`), `GET /v1/organizations/cost_report`: pages `{"data": [bucket…],
  "has_more", "next_page"}`, each bucket `{"starting_at", "ending_at", "results": [...]}` (RFC 3339), each result
  `{"amount", "currency", "cost_type", "token_type", "model", "description", "workspace_id", "service_tier",
  "context_window", "inference_geo"}`, where `amount` is a decimal string in the lowest currency unit (cents:
  "123.45" is $1.2345). Non-token costs (web search, code execution) keep their `cost_type` as model.

Amounts in another currency than USD are rejected with a reason rather than stored as dollars.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from costmodel.errors import BadLogRow
from costmodel.importers._base import JsonImporter, ParsedRow, items, register
from costmodel.importers.records import make_record

__all__ = ["AnthropicCostReport", "OpenAiCostsApi"]

_OAI_RESULT = "organization.costs.result"
_ANTHROPIC_GROUP = (
    "workspace_id",
    "description",
    "model",
    "cost_type",
    "token_type",
    "service_tier",
    "context_window",
    "inference_geo",
)


def _buckets(doc: Any, line: int, *, file: str, what: str) -> Iterator[tuple[dict[str, Any], Any]]:
    """(bucket, result) pairs of a page, a JSON array of pages, or pages one per line."""
    for at, page in items(doc, line):
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise BadLogRow(
                file=file, line=at, column="data", reason=f'not a {what} page: expected {{"data": [buckets]}}'
            )
        for bucket in page["data"]:
            results = bucket.get("results", bucket.get("result")) if isinstance(bucket, dict) else None
            if not isinstance(results, list):
                yield ({} if not isinstance(bucket, dict) else bucket), None
                continue
            for res in results:
                yield bucket, res


@register
class OpenAiCostsApi(JsonImporter):
    """Pages of the OpenAI organization Costs API."""

    name = "openai-costs-api"
    title = "OpenAI Costs API JSON (/v1/organization/costs)"
    doc_url = "https://platform.openai.com/docs/api-reference/usage/costs"
    priority = 40  # before the Usage API importer, whose looser check also fits a costs page

    def sniff(self, head: bytes, filename: str) -> bool:
        return _OAI_RESULT.encode() in head

    def rows(self, doc: Any, *, file: str, line: int) -> Iterator[ParsedRow]:
        n = 0
        for bucket, res in _buckets(doc, line, file=file, what="Costs API"):
            n += 1
            if not isinstance(res, dict):
                yield BadLogRow(file=file, line=n, column="results", reason="a result is not a JSON object")
                continue
            amount = res.get("amount")
            value = amount.get("value") if isinstance(amount, dict) else None
            currency = str(amount.get("currency") or "usd") if isinstance(amount, dict) else "usd"
            if currency.strip().lower() != "usd":
                yield BadLogRow(file=file, line=n, column="amount.currency", reason=f"cost in {currency}, not USD")
                continue
            item = res.get("line_item")
            model = str(item).split(",", 1)[0].strip() if item not in (None, "") else "(all line items)"
            key = [bucket.get("start_time"), res.get("project_id"), item]
            yield make_record(
                file=file,
                line=n,
                columns={"ts": "start_time", "model": "line_item", "reported_cost_usd": "amount.value"},
                ts=bucket.get("start_time"),
                provider="openai",
                model=model or "(all line items)",
                input_tokens=0,
                output_tokens=0,
                requests=0,
                reported_cost_usd=value,
                project=res.get("project_id"),
                request_id="openai-costs:" + ":".join("" if k is None else str(k) for k in key),
            )


def _cents_to_usd(amount: Any) -> Any:
    if amount in (None, ""):
        return None
    try:
        return Decimal(str(amount).strip()) / 100
    except InvalidOperation:
        return amount  # the record's validation names the bad value


@register
class AnthropicCostReport(JsonImporter):
    """Pages of the Anthropic Admin API cost report."""

    name = "anthropic-cost-report"
    title = "Anthropic Admin API cost report JSON (/v1/organizations/cost_report)"
    doc_url = "https://platform.claude.com/docs/en/api/admin/cost_report"
    priority = 40  # before the usage report importer: both pages have starting_at / ending_at buckets

    def sniff(self, head: bytes, filename: str) -> bool:
        return (
            b'"starting_at"' in head
            and b'"amount"' in head
            and b'"currency"' in head
            and not re.search(rb'"uncached_input_tokens"\s*:', head)  # a usage report's field (a cost's value here)
        )

    def rows(self, doc: Any, *, file: str, line: int) -> Iterator[ParsedRow]:
        n = 0
        for bucket, res in _buckets(doc, line, file=file, what="cost report"):
            n += 1
            if not isinstance(res, dict):
                yield BadLogRow(file=file, line=n, column="results", reason="a result is not a JSON object")
                continue
            currency = str(res.get("currency") or "USD").strip()
            if currency.upper() != "USD":
                yield BadLogRow(file=file, line=n, column="currency", reason=f"cost in {currency}, not USD")
                continue
            model = res.get("model") or res.get("cost_type") or res.get("description") or "(all costs)"
            key = [bucket.get("starting_at")] + [res.get(k) for k in _ANTHROPIC_GROUP]
            yield make_record(
                file=file,
                line=n,
                columns={"ts": "starting_at", "model": "model", "reported_cost_usd": "amount"},
                ts=bucket.get("starting_at"),
                provider="anthropic",
                model=str(model).strip() or "(all costs)",
                input_tokens=0,
                output_tokens=0,
                requests=0,
                reported_cost_usd=_cents_to_usd(res.get("amount")),
                project=res.get("workspace_id"),
                request_id="anthropic-cost:" + ":".join("" if k is None else str(k) for k in key),
            )
