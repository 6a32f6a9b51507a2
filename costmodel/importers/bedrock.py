"""AWS Bedrock model-invocation logs: JSON lines as delivered to S3 (often `.json.gz`) or CloudWatch.

Each record (`schemaType` "ModelInvocationLog") has `timestamp`, `accountId`, `identity.arn`, `region`,
`requestId`, `operation`, `modelId`, `input.inputTokenCount`, `input.cacheReadInputTokenCount`,
`input.cacheWriteInputTokenCount`, `output.outputTokenCount` and, for failed calls, `errorCode`. Bedrock
counts cache reads and writes apart from `inputTokenCount`, so input tokens here are the three added.
Prompt and response bodies (`inputBodyJson`, `outputBodyJson`) are never read into the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from costmodel.errors import BadLogRow
from costmodel.importers._base import JsonImporter, ParsedRow, Skip, add_tokens, items, json_keys_present, num, register
from costmodel.importers.records import make_record

__all__ = ["BedrockInvocationLogs"]

_COLUMNS = {
    "ts": "timestamp",
    "model": "modelId",
    "input_tokens": "input.inputTokenCount",
    "cached_input_tokens": "input.cacheReadInputTokenCount",
    "output_tokens": "output.outputTokenCount",
    "project": "accountId",
    "user": "identity.arn",
    "request_id": "requestId",
}


def _model(model_id: Any) -> str:
    """`modelId` may be an ARN (inference profile, provisioned model): keep its last path part."""
    text = str(model_id or "").strip()
    return text.rsplit("/", 1)[-1] if text.startswith("arn:") else text


@register
class BedrockInvocationLogs(JsonImporter):
    """Bedrock model-invocation log records."""

    name = "bedrock-invocation-logs"
    title = "AWS Bedrock model-invocation logs (JSON lines)"
    doc_url = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-invocation-logging.html"

    def sniff(self, head: bytes, filename: str) -> bool:
        return b"ModelInvocationLog" in head or json_keys_present(head, "modelId", "requestId", "input")

    def rows(self, doc: Any, *, file: str, line: int) -> Iterator[ParsedRow]:
        for n, rec in items(doc, line):
            if not isinstance(rec, dict):
                yield BadLogRow(file=file, line=n, column=None, reason="expected a JSON object per record")
                continue
            if rec.get("errorCode"):
                yield Skip(f"failed call ({rec.get('errorCode')})")
                continue
            inp, out = rec.get("input"), rec.get("output")
            cached = add_tokens(num(inp, "cacheReadInputTokenCount"))
            writes = add_tokens(num(inp, "cacheWriteInputTokenCount"))
            base = num(inp, "inputTokenCount")
            yield make_record(
                file=file,
                line=n,
                columns=_COLUMNS,
                ts=rec.get("timestamp"),
                provider="aws",
                model=_model(rec.get("modelId")),
                input_tokens=add_tokens(base, cached, writes) if base is not None else None,
                cached_input_tokens=cached,
                output_tokens=num(out, "outputTokenCount"),
                requests=1,
                project=rec.get("accountId"),
                user=num(rec.get("identity"), "arn"),
                request_id=rec.get("requestId"),
            )
