"""Logs as they really come: API pages, concatenated pages, Parquet, database dumps, CloudWatch wrappers, cost reports.

Each expectation is one of the hand-computed figures in the fixture READMEs.
"""

from __future__ import annotations

import gzip
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from costmodel.importers import CacheHit, UsageRecord, detect_format, get_importer
from costmodel.importers._base import iter_json_documents
from costmodel.importers.litellm import _copy_value
from costmodel.store import connect
from costmodel.usage import cost_check, import_file, summarize

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _writes(con) -> tuple:
    return con.execute("SELECT sum(cache_write_5m_tokens), sum(cache_write_1h_tokens) FROM usage_events").fetchone()


@pytest.mark.parametrize(
    ("name", "writes_5m", "writes_1h"),
    [
        ("langfuse-observations/generations.json", 300, 0),
        ("langfuse-observations/observations_v1_page2.json", 500, 300),
        ("langfuse-export/observations.parquet", 400, 0),
        ("anthropic-usage-api/messages_usage_report.json", 1000, 2000),
        ("bedrock-invocation-logs/filter_log_events.json", 1000, 0),
        ("bedrock-invocation-logs/model_invocations.jsonl", 200, 0),
    ],
)
def test_cache_writes_get_their_own_columns(tmp_path: Path, name: str, writes_5m: int, writes_1h: int) -> None:
    con = connect(tmp_path / "s.duckdb")
    import_file(con, FIXTURES / name)
    assert _writes(con) == (writes_5m, writes_1h)
    hourly = con.execute("SELECT sum(cache_write_5m_tokens), sum(cache_write_1h_tokens) FROM usage_hourly").fetchone()
    assert hourly == (writes_5m, writes_1h)


@pytest.mark.parametrize(
    "name",
    [
        "langfuse-observations/generations.json",
        "langfuse-observations/observations_v1_pages_concatenated.txt",
        "langfuse-export/observations.csv",
    ],
)
def test_prompt_caching_rows_priced_at_their_write_rate_are_not_flagged(tmp_path: Path, name: str) -> None:
    con = connect(tmp_path / "s.duckdb")
    import_file(con, FIXTURES / name)
    check = cost_check(con)
    assert check.flagged_rows == 0
    assert check.recomputed_cost_usd.quantize(Decimal("1e-7")) == check.reported_cost_usd


def test_one_hour_writes_cost_more_than_five_minute_ones(tmp_path: Path) -> None:
    con = connect(tmp_path / "s.duckdb")
    import_file(con, FIXTURES / "langfuse-observations/observations_v1_page2.json")
    (haiku,) = cost_check(con).by_model
    # 1,000 × 0.8 + 2,000 × 0.08 + 500 × 1.00 + 300 × 1.60 + 400 × 4 µ$ (the README's sum)
    assert haiku.recomputed_cost_usd.quantize(Decimal("1e-8")) == Decimal("0.00354000")
    assert haiku.cache_write_tokens == 800


def test_litellm_cache_hits_stay_out_of_usage_and_are_counted_apart(tmp_path: Path) -> None:
    con = connect(tmp_path / "s.duckdb")
    result = import_file(con, FIXTURES / "litellm-spend-logs/spend_logs.json")
    assert (result.rows_imported, result.rows_skipped, result.rows_cache_hits) == (2, 3, 1)
    assert "1 request served from the proxy cache" in result.summary()
    s = summarize(con)
    assert (s.input_tokens, s.output_tokens, s.requests) == (1200, 600, 2)  # provider usage only
    assert (s.proxy_cache_requests, s.proxy_cache_tokens) == (1, 300)
    # the same rows again as CSV: no new usage, and the cache hit is not counted twice
    import_file(con, FIXTURES / "litellm-spend-logs/spend_logs.csv")
    s = summarize(con)
    assert (s.input_tokens, s.proxy_cache_requests, s.proxy_cache_tokens) == (1200, 1, 300)


def test_a_litellm_cache_hit_is_parsed_as_one() -> None:
    with (FIXTURES / "litellm-spend-logs/spend_logs.json").open("rb") as fp:
        parsed = list(get_importer("litellm-spend-logs").parse(fp, file="spend_logs.json"))
    hits = [p for p in parsed if isinstance(p, CacheHit)]
    assert [(h.record.request_id, h.record.input_tokens, h.record.output_tokens) for h in hits] == [
        ("chatcmpl-9a1d", 200, 100)
    ]


def test_cost_reports_add_cost_but_no_tokens_and_no_unknown_models(tmp_path: Path) -> None:
    con = connect(tmp_path / "s.duckdb")
    import_file(con, FIXTURES / "openai-costs-api/costs_page.json")
    import_file(con, FIXTURES / "openai-usage-api/completions_pages.jsonl")
    check = cost_check(con)
    assert check.unknown_models == [] and check.flagged_rows == 0
    assert check.reported_cost_usd == Decimal("0.0584")
    models = {m.model: m for m in check.by_model}
    assert models["web search tool calls"].recomputed_cost_usd == 0
    assert models["gpt-4o-2024-08-06"].reported_cost_usd == Decimal("0.0325")


@pytest.mark.parametrize(
    ("text", "pages"),
    [
        (b'{"data": [1], "meta": {}}\n{"data": [2], "meta": {}}\n', [[1], [2]]),  # JSON lines
        (b'{\n  "data": [1]\n}\n{\n  "data": [2]\n}\n', [[1], [2]]),  # pretty-printed, concatenated
        (b'{"data": [1]}{"data": [2]}  {"data": [3]}', [[1], [2], [3]]),  # no separator (Firehose)
    ],
)
def test_documents_one_after_the_other_are_each_read(text: bytes, pages: list) -> None:
    docs = [d for _, d in iter_json_documents(io.BytesIO(text), file="x.json", limit_bytes=1 << 20)]
    assert [d["data"] for d in docs] == pages


def test_a_truncated_second_document_names_its_line() -> None:
    text = b'{\n  "data": [1]\n}\n{\n  "data": [2'
    with pytest.raises(Exception, match=r"row [45]\b.*invalid JSON"):
        list(iter_json_documents(io.BytesIO(text), file="x.json", limit_bytes=1 << 20))


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("\\N", None),
        ("plain", "plain"),
        ("a\\tb\\nc\\\\d", "a\tb\nc\\d"),
        ("caf\u00e9 \\\\", "caf\u00e9 \\"),
        ("bad\\", "bad\\"),
    ],
)
def test_postgres_copy_fields_are_unescaped(cell: str, value: str | None) -> None:
    assert _copy_value(cell) == value


def test_a_dump_without_the_spend_logs_table_says_what_to_dump(tmp_path: Path) -> None:
    con = connect(tmp_path / "s.duckdb")
    dump = b'--\n-- PostgreSQL database dump\n--\nCOPY public."LiteLLM_SpendLogs_Old" (a) FROM stdin;\n\\.\n'
    with pytest.raises(Exception, match="pg_dump"):
        import_file(con, dump, file_name="db.sql", format_name="litellm-spend-logs")


def test_gzipped_cloudwatch_export_is_detected_and_read(tmp_path: Path) -> None:
    data = gzip.compress((FIXTURES / "bedrock-invocation-logs/cloudwatch_export_000000.log").read_bytes())
    con = connect(tmp_path / "s.duckdb")
    result = import_file(con, data, file_name="000000.gz")
    assert (result.format, result.rows_imported, result.rows_skipped) == ("bedrock-invocation-logs", 2, 1)


def test_langfuse_v2_pages_without_a_model_field_are_still_recognised() -> None:
    page = json.loads((FIXTURES / "langfuse-observations/observations_v2_page.json").read_text())
    head = json.dumps(page).encode()
    assert b'"model"' not in head
    assert detect_format(head, "page.json").name == "langfuse-observations"


def test_parquet_rows_keep_nested_maps_as_objects() -> None:
    with (FIXTURES / "langfuse-export/observations.parquet").open("rb") as fp:
        recs = [r for r in get_importer("langfuse-export").parse(fp, file="o.parquet") if isinstance(r, UsageRecord)]
    assert [(r.request_id, r.input_tokens, r.cached_input_tokens, r.cache_write_5m_tokens) for r in recs] == [
        ("lf-1", 800, 0, 0),
        ("lf-2", 2000, 1000, 400),
    ]


def test_postgres_short_offsets_are_read_as_utc() -> None:
    rec = UsageRecord(ts="2025-03-01 10:00:00.123+02", model="m", input_tokens=1, output_tokens=1)
    assert str(rec.ts) == "2025-03-01 08:00:00.123000"


def test_a_cost_in_another_currency_is_refused_with_a_reason(tmp_path: Path) -> None:
    page = json.loads((FIXTURES / "openai-costs-api/costs_page.json").read_text())
    page["data"][0]["results"][0]["amount"]["currency"] = "eur"
    con = connect(tmp_path / "s.duckdb")
    result = import_file(con, json.dumps(page).encode(), file_name="costs.json")
    assert result.rows_rejected == 1 and result.rejects[0].reason == "cost in eur, not USD"
