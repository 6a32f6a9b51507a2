"""Format detection from the first bytes, and the rules every usage row obeys."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from costmodel.errors import BadLogRow, ImportRejected, UnknownLogFormat
from costmodel.importers import IMPORTERS, detect_format, get_importer
from costmodel.importers._base import iter_json_documents
from costmodel.importers.records import UsageRecord, make_record, normalise_provider, redact

PAGE = b'{"object": "page", "data": [{"object": "bucket", "start_time": 1, "results": []}]}'
REPORT = b'{"data": [{"starting_at": "2025-01-01T00:00:00Z", "ending_at": "x", "results": []}]}'
SPEND = b'[{"request_id": "r", "call_type": "acompletion", "spend": 0, "startTime": "t"}]'


@pytest.mark.parametrize(
    ("head", "filename", "expected"),
    [
        (b"timestamp,model,input_tokens,output_tokens\n", "u.csv", "generic-csv"),
        (b"\xef\xbb\xbfTimestamp,Model,Input_Tokens,Output_Tokens,cost_usd\n", "u.csv", "generic-csv"),
        (b"PAR1\x15\x04", "u.parquet", "generic-parquet"),
        (PAGE, "p.json", "openai-usage-api"),
        (REPORT, "a.json", "anthropic-usage-api"),
        (b'{"schemaType": "ModelInvocationLog", "modelId": "m"}\n', "b.json", "bedrock-invocation-logs"),
        (SPEND, "l.json", "litellm-spend-logs"),
        (b'[{"id": "o", "traceId": "t", "startTime": "s", "model": "m"}]', "g.json", "langfuse-observations"),
        (b"generation_id,created_at,cost_total,tokens_prompt,model_permaslug\n", "o.csv", "openrouter-activity"),
        (b"ChargePeriodStart,ChargeCategory,BilledCost,ConsumedQuantity,ConsumedUnit\n", "f.csv", "focus"),
        (b"usage_date_utc,model_version,usage_output_tokens\n", "c.csv", "anthropic-console-csv"),
        (b"start_time,end_time,num_model_requests,input_tokens,output_tokens,model\n", "o.csv", "openai-usage-csv"),
    ],
)
def test_detect_format(head: bytes, filename: str, expected: str) -> None:
    assert detect_format(head, filename).name == expected


@pytest.mark.parametrize("head", [b"hello world\n", b"a,b,c\n1,2,3\n", b'{"foo": 1}', b"\x00\x01\x02binary", b"<html>"])
def test_unknown_content_names_what_it_saw_and_the_known_formats(head: bytes) -> None:
    with pytest.raises(UnknownLogFormat) as ex:
        detect_format(head, "mystery.log")
    msg = str(ex.value)
    assert "mystery.log" in msg and "generic-csv" in msg and "--format" in msg


def test_get_importer_by_name_and_unknown_name() -> None:
    assert get_importer(" FOCUS ").name == "focus"
    with pytest.raises(UnknownLogFormat, match=r"use one of: .*bedrock-invocation-logs"):
        get_importer("splunk")


def test_each_importer_sniffs_only_its_own_kind() -> None:
    head = b"timestamp,model,input_tokens,output_tokens\n"
    assert [i.name for i in IMPORTERS if i.sniff(head, "x.csv")] == ["generic-csv"]


NOW = datetime.now(UTC)
GOOD = dict(ts="2025-03-01T10:00:00Z", model="gpt-4o", input_tokens=10, output_tokens=5)


@pytest.mark.parametrize(
    ("change", "column", "reason"),
    [
        ({"input_tokens": -1}, "in_col", "greater than or equal to 0"),
        ({"input_tokens": float("nan")}, "in_col", "finite number"),
        ({"input_tokens": "abc"}, "in_col", "valid integer"),
        ({"input_tokens": "1.5"}, "in_col", "valid integer"),
        ({"input_tokens": True}, "in_col", "not true/false"),
        ({"input_tokens": ""}, "in_col", "missing"),
        ({"output_tokens": 10**16}, "output_tokens", "less than or equal to"),
        ({"ts": "2019-12-31T23:59:59Z"}, "time", "before 2020"),
        ({"ts": (NOW + timedelta(days=2)).isoformat()}, "time", "in the future"),
        ({"ts": "yesterday"}, "time", "valid datetime"),
        ({"model": ""}, "model", "at least 1 character"),
        ({"cached_input_tokens": 11}, None, "exceed input_tokens"),
        ({"reported_cost_usd": "-0.5"}, "cost", "greater than or equal to 0"),
        ({"reported_cost_usd": "inf"}, "cost", "finite number"),
    ],
)
def test_bad_values_become_a_bad_row_naming_the_source_column(change: dict, column: str | None, reason: str) -> None:
    row = make_record(
        file="f.csv",
        line=7,
        columns={"ts": "time", "input_tokens": "in_col", "reported_cost_usd": "cost"},
        **{**GOOD, **change},
    )
    assert isinstance(row, BadLogRow)
    assert (row.file, row.line, row.column) == ("f.csv", 7, column)
    assert reason in row.reason
    assert str(row).startswith("f.csv, row 7")


def test_a_good_row_is_normalised() -> None:
    rec = make_record(
        file="f",
        line=1,
        columns={},
        **{**GOOD, "ts": "2025-03-01T10:00:00+02:00", "requests": "3.0", "reported_cost_usd": "0.25", "user": " "},
    )
    assert isinstance(rec, UsageRecord)
    assert rec.ts == datetime(2025, 3, 1, 8, 0)  # naive UTC
    assert (rec.requests, rec.reported_cost_usd, rec.user) == (3, Decimal("0.25"), None)


@pytest.mark.parametrize(
    "secret",
    [
        "sk-proj-Qx7Lm2Np9Rt4Vw8Yz3Bc6Df1Gh5Jk0",
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123",
        "sk-or-v1-0123456789abcdef0123456789abcdef",
        "AKIAIOSFODNN7EXAMPLE",
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
        "hf_abcdefghijklmnopqrstuvwxyz",
    ],
)
def test_secrets_are_redacted_before_storage(secret: str) -> None:
    rec = UsageRecord(**{**GOOD, "user": secret, "project": f"team {secret}", "request_id": secret})  # type: ignore[arg-type]
    for value in (rec.user, rec.project, rec.request_id):
        assert value is not None and value.startswith("redacted-") and secret not in value
    assert redact("alice") == "alice" and redact(None) is None
    assert redact(secret) == redact(secret)  # stable: the same key still groups together


def test_provider_labels_map_to_genai_prices_ids() -> None:
    assert [normalise_provider(p) for p in ("bedrock", "Vertex_AI", "Amazon Web Services", "OpenAI", "", None)] == [
        "aws",
        "google",
        "aws",
        "openai",
        None,
        None,
    ]


def test_json_documents_stream_lines_and_name_the_truncated_line() -> None:
    docs = list(iter_json_documents(io.BytesIO(b'{"a": 1}\n\n{"a": 2}\n'), file="x", limit_bytes=100))
    assert docs == [(1, {"a": 1}), (3, {"a": 2})]
    assert list(iter_json_documents(io.BytesIO(b'[\n {"a": 1}\n]\n'), file="x", limit_bytes=100)) == [(1, [{"a": 1}])]
    with pytest.raises(BadLogRow, match=r"x, row 2: invalid JSON.*truncated"):
        list(iter_json_documents(io.BytesIO(b'{"a": 1}\n{"a": '), file="x", limit_bytes=100))
    with pytest.raises(BadLogRow, match=r"x, row 4: invalid JSON: Expecting value"):
        list(iter_json_documents(io.BytesIO(b'{\n  "a": 1,\n  "b": \n'), file="x", limit_bytes=100))
    with pytest.raises(ImportRejected, match="larger than"):
        list(iter_json_documents(io.BytesIO(b"[" + b'{"a": 1},\n' * 50 + b"{}]"), file="x", limit_bytes=100))
    with pytest.raises(ImportRejected, match="not UTF-8"):
        list(iter_json_documents(io.BytesIO(b'{"a": "\xff"}\n'), file="x", limit_bytes=100))
