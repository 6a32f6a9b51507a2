"""AWS Bedrock model-invocation logs: as delivered to S3 or CloudWatch Logs, and as CloudWatch Logs exports them.

Each record (`schemaType` "ModelInvocationLog") has `timestamp`, `accountId`, `identity.arn`, `region`,
`requestId`, `operation`, `modelId`, `input.inputTokenCount`, `input.cacheReadInputTokenCount`,
`input.cacheWriteInputTokenCount`, `output.outputTokenCount` and, for failed calls, `errorCode`. Bedrock
counts cache reads and writes apart from `inputTokenCount`, so input tokens here are the three added; writes are
kept as five-minute cache writes (Bedrock's default time to live). Prompt and response bodies (`inputBodyJson`,
`outputBodyJson`) are never read into the store.

Records delivered to CloudWatch Logs reach a file wrapped in one of CloudWatch's own shapes, each accepted:

- an export task to S3 (`CreateExportTask`): one event per line, `<ISO timestamp> <message>`;
- `aws logs filter-log-events` / `get-log-events` output: `{"events": [{"timestamp", "message", …}], …}`;
- a subscription delivered through Firehose: `{"messageType": "DATA_MESSAGE", "logGroup", "logStream",
  "logEvents": [{"id", "timestamp", "message"}]}` objects, one after the other (`CONTROL_MESSAGE`s skipped);
- a Logs Insights result downloaded as JSON (`[{"@timestamp", "@message"}]`) or CSV (`@timestamp,@message`).

In each, the event's `message` is the invocation record as JSON text.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from typing import IO, Any

from costmodel.errors import BadLogRow
from costmodel.importers._base import (
    JsonImporter,
    ParsedRow,
    Skip,
    _Utf8Reader,
    add_tokens,
    items,
    json_keys_present,
    num,
    register,
)
from costmodel.importers.records import make_record

__all__ = ["BedrockInvocationLogs"]

_COLUMNS = {
    "ts": "timestamp",
    "model": "modelId",
    "input_tokens": "input.inputTokenCount",
    "cached_input_tokens": "input.cacheReadInputTokenCount",
    "cache_write_5m_tokens": "input.cacheWriteInputTokenCount",
    "output_tokens": "output.outputTokenCount",
    "project": "accountId",
    "user": "identity.arn",
    "request_id": "requestId",
}
_EXPORT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z? (.*)$", re.DOTALL)


def _model(model_id: Any) -> str:
    """`modelId` may be an ARN (inference profile, provisioned model): keep its last path part."""
    text = str(model_id or "").strip()
    return text.rsplit("/", 1)[-1] if text.startswith("arn:") else text


def _is_event_list(doc: Any) -> bool:
    return isinstance(doc, list) and bool(doc) and all(isinstance(e, dict) and "@message" in e for e in doc)


@register
class BedrockInvocationLogs(JsonImporter):
    """Bedrock model-invocation log records, bare or wrapped by CloudWatch Logs."""

    name = "bedrock-invocation-logs"
    title = "AWS Bedrock model-invocation logs (JSON lines, or CloudWatch Logs exports of them)"
    doc_url = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-invocation-logging.html"

    def sniff(self, head: bytes, filename: str) -> bool:
        return b"ModelInvocationLog" in head or json_keys_present(head, "modelId", "requestId", "input")

    def parse(self, fp: IO[bytes], *, file: str) -> Iterator[ParsedRow]:
        start = fp.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        fp.seek(0)
        if _EXPORT_LINE.match(start[:64].decode("ascii", "replace")):
            yield from self._export_lines(fp, file=file)
        elif start[:1] == b"@" or start[:2] == b'"@':
            yield from self._insights_csv(fp, file=file)
        else:
            yield from super().parse(fp, file=file)

    def _export_lines(self, fp: IO[bytes], *, file: str) -> Iterator[ParsedRow]:
        for n, text in enumerate(_Utf8Reader(fp, file), start=1):
            if not text.strip():
                continue
            m = _EXPORT_LINE.match(text.strip())
            if not m:
                yield BadLogRow(
                    file=file, line=n, column=None, reason="expected `<timestamp> <message>` (CloudWatch export)"
                )
                continue
            yield from self._message(m.group(1), file=file, line=n)

    def _insights_csv(self, fp: IO[bytes], *, file: str) -> Iterator[ParsedRow]:
        reader = csv.DictReader(_Utf8Reader(fp, file))
        if "@message" not in (reader.fieldnames or []):
            raise BadLogRow(
                file=file, line=1, column="@message", reason="a Logs Insights CSV needs the @message column"
            )
        try:
            for row in reader:
                yield from self._message(row.get("@message"), file=file, line=reader.line_num)
        except csv.Error as ex:
            raise BadLogRow(file=file, line=reader.line_num, column=None, reason=f"unreadable CSV: {ex}") from None

    def _message(self, message: Any, *, file: str, line: int) -> Iterator[ParsedRow]:
        """One CloudWatch event's message: the invocation record as JSON text."""
        if isinstance(message, dict):
            yield from self._records(message, file=file, line=line)
            return
        try:
            doc = json.loads(message) if isinstance(message, str) else None
        except (json.JSONDecodeError, RecursionError):
            doc = None
        if not isinstance(doc, dict):
            yield BadLogRow(
                file=file, line=line, column="message", reason="the log event's message is not a JSON record"
            )
            return
        yield from self._records(doc, file=file, line=line)

    def rows(self, doc: Any, *, file: str, line: int) -> Iterator[ParsedRow]:
        if isinstance(doc, dict) and isinstance(doc.get("events"), list):  # filter-log-events / get-log-events
            events: Any = doc["events"]
        elif isinstance(doc, dict) and "messageType" in doc:  # a subscription's DATA_MESSAGE
            if doc.get("messageType") != "DATA_MESSAGE":
                yield Skip(f"CloudWatch {doc.get('messageType')}")
                return
            events = doc.get("logEvents") if isinstance(doc.get("logEvents"), list) else []
        elif _is_event_list(doc):  # Logs Insights JSON
            events = [{"message": e.get("@message")} for e in doc]
        elif isinstance(doc, dict) and isinstance(doc.get("message"), str) and "modelId" not in doc:  # one event
            events = [doc]
        else:
            yield from self._records(doc, file=file, line=line)
            return
        for n, event in enumerate(events, start=1):
            where = line if len(events) == 1 else n
            if not isinstance(event, dict):
                yield BadLogRow(file=file, line=where, column="events", reason="a log event is not a JSON object")
                continue
            yield from self._message(event.get("message"), file=file, line=where)

    def _records(self, doc: Any, *, file: str, line: int) -> Iterator[ParsedRow]:
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
                cache_write_5m_tokens=writes,
                output_tokens=num(out, "outputTokenCount"),
                requests=1,
                project=rec.get("accountId"),
                user=num(rec.get("identity"), "arn"),
                request_id=rec.get("requestId"),
            )
