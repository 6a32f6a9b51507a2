"""Every importer against its fixture, written from the format's public documentation (see each README.md).

The expected totals are the ones computed by hand in the fixture's README.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from costmodel.errors import BadLogRow
from costmodel.importers import IMPORTERS, Skip, UsageRecord, detect_format, get_importer
from costmodel.importers._base import parquet_columns
from costmodel.store import connect
from costmodel.usage import import_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# file, format, rows stored, input, cached, output, requests, reported USD, skipped, duplicate
OAI_CSV = "openai-usage-csv/completions_usage_2025-03-01_2025-03-03.csv"
ANT_CSV = "anthropic-console-csv/claude_api_tokens_2025_03.csv"
OR_CSV = "openrouter-activity/openrouter_activity_2025-03-03.csv"
CASES = [
    ("openai-usage-api/completions_page.json", "openai-usage-api", 1, 1000, 800, 500, 5, None, 0, 0),
    ("openai-usage-api/completions_pages.jsonl", "openai-usage-api", 4, 26000, 6500, 6750, 47, None, 0, 0),
    (
        "openai-usage-csv/completions_usage_2025-03-01_2025-03-03.csv",
        "openai-usage-csv",
        4,
        26000,
        6500,
        6750,
        47,
        None,
        0,
        0,
    ),
    ("anthropic-usage-api/messages_usage_report.json", "anthropic-usage-api", 3, 27000, 5000, 4500, None, None, 0, 0),
    (
        "anthropic-console-csv/claude_api_tokens_2025_03.csv",
        "anthropic-console-csv",
        3,
        27000,
        5000,
        4500,
        None,
        None,
        0,
        0,
    ),
    ("litellm-spend-logs/spend_logs.csv", "litellm-spend-logs", 2, 1200, 50, 600, 2, "0.0214375", 3, 1),
    ("litellm-spend-logs/spend_logs.json", "litellm-spend-logs", 2, 1200, 50, 600, 2, "0.0214375", 3, 1),
    ("litellm-spend-logs/spend_logs_ui_page.json", "litellm-spend-logs", 2, 1200, 50, 600, 2, "0.0214375", 3, 0),
    ("litellm-spend-logs/litellm_db.sql", "litellm-spend-logs", 2, 1200, 50, 600, 2, "0.0214375", 3, 0),
    ("langfuse-observations/generations.csv", "langfuse-observations", 2, 3800, 600, 600, 2, "0.0038025", 1, 0),
    ("langfuse-observations/generations.json", "langfuse-observations", 2, 3800, 600, 600, 2, "0.0038025", 1, 0),
    (
        "langfuse-observations/observations_v1_page1.json",
        "langfuse-observations",
        1,
        2000,
        500,
        300,
        1,
        "0.0004425",
        1,
        0,
    ),
    (
        "langfuse-observations/observations_v1_page2.json",
        "langfuse-observations",
        1,
        3800,
        2000,
        400,
        1,
        "0.00354",
        0,
        0,
    ),
    (
        "langfuse-observations/observations_v1_pages_concatenated.txt",
        "langfuse-observations",
        2,
        5800,
        2500,
        700,
        2,
        "0.0039825",
        1,
        0,
    ),
    ("langfuse-observations/observations_v2_page.json", "langfuse-observations", 1, 4000, 0, 500, 1, "0.015", 1, 0),
    ("langfuse-export/observations.csv", "langfuse-export", 2, 2800, 1000, 450, 2, "0.0022", 1, 0),
    ("langfuse-export/observations.json", "langfuse-export", 2, 2800, 1000, 450, 2, "0.0022", 1, 0),
    ("langfuse-export/observations.jsonl", "langfuse-export", 2, 2800, 1000, 450, 2, "0.0022", 1, 0),
    ("langfuse-export/observations.parquet", "langfuse-export", 2, 2800, 1000, 450, 2, "0.0022", 1, 0),
    ("openrouter-daily-csv/activity_2025-03.csv", "openrouter-daily-csv", 4, 34000, 0, 4250, 23, "0.02537", 0, 0),
    ("openrouter-activity-api/activity.json", "openrouter-activity-api", 3, 26000, 0, 3250, 19, "0.01445", 0, 0),
    ("openai-costs-api/costs_page.json", "openai-costs-api", 4, 0, 0, 0, 0, "0.0584", 0, 0),
    ("anthropic-cost-report/cost_report.json", "anthropic-cost-report", 4, 0, 0, 0, 0, "2.6595", 0, 0),
    (
        "openrouter-activity/openrouter_activity_2025-03-03.csv",
        "openrouter-activity",
        2,
        2000,
        200,
        400,
        2,
        "0.007092",
        0,
        0,
    ),
    ("bedrock-invocation-logs/model_invocations.jsonl", "bedrock-invocation-logs", 2, 2235, 800, 746, 2, None, 1, 0),
    (
        "bedrock-invocation-logs/cloudwatch_export_000000.log",
        "bedrock-invocation-logs",
        2,
        4000,
        1500,
        650,
        2,
        None,
        1,
        0,
    ),
    ("bedrock-invocation-logs/filter_log_events.json", "bedrock-invocation-logs", 2, 4000, 1500, 650, 2, None, 1, 0),
    (
        "bedrock-invocation-logs/firehose_data_messages.txt",
        "bedrock-invocation-logs",
        2,
        4000,
        1500,
        650,
        2,
        None,
        2,
        0,
    ),
    ("bedrock-invocation-logs/logs_insights_results.csv", "bedrock-invocation-logs", 2, 4000, 1500, 650, 2, None, 1, 0),
    ("focus/focus_1_2_genai.csv", "focus", 3, 7_000_000, 2_000_000, 1_000_000, None, "25", 3, 0),
    ("prometheus-metrics/vllm_scrapes.prom", "prometheus-metrics", 5, 5500, 1400, 2000, 27, None, 0, 0),
    ("prometheus-metrics/sglang_single.prom", "prometheus-metrics", 2, 7200, 1000, 3600, 40, None, 0, 0),
    ("prometheus-metrics/query_range.json", "prometheus-metrics", 4, 2600, 0, 1050, 14, None, 0, 0),
    ("generic-csv/usage.csv", "generic-csv", 4, 16000, 500, 3600, 14, "0.036875", 0, 0),
    ("generic-parquet/usage.parquet", "generic-parquet", 4, 16000, 500, 3600, 14, "0.036875", 0, 0),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_import_totals_match_the_hand_computed_ones(case: tuple, tmp_path: Path) -> None:
    name, fmt, rows, inp, cached, out, requests, cost, skipped, dupes = case
    con = connect(tmp_path / "t.duckdb")
    result = import_file(con, FIXTURES / name)
    assert (result.format, result.rows_imported, result.rows_rejected) == (fmt, rows, 0)
    assert (result.rows_skipped, result.rows_duplicate) == (skipped, dupes)
    got = con.execute(
        "SELECT count(*), sum(input_tokens), sum(cached_input_tokens), sum(output_tokens), sum(requests), "
        "sum(reported_cost_usd) FROM usage_events"
    ).fetchone()
    assert got == (rows, inp, cached, out, requests, None if cost is None else Decimal(cost))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_detection_picks_the_fixture_format(case: tuple) -> None:
    path = FIXTURES / case[0]
    head = path.read_bytes()[:65536]
    # a Parquet file's column names sit in its footer: the import reads them from there, as here
    columns = parquet_columns(path) if head[:4] == b"PAR1" else None
    assert detect_format(head, path.name, columns=columns).name == case[1]


@pytest.mark.parametrize("case", [c for c in CASES if c[1] != "generic-parquet"], ids=lambda c: c[0])
def test_parse_yields_the_same_rows_as_the_import(case: tuple) -> None:
    """`parse()` is the interface every importer honours, including those the pipeline reads in SQL."""
    name, fmt, rows, inp, cached, out, *_ = case
    with (FIXTURES / name).open("rb") as fp:
        parsed = list(get_importer(fmt).parse(fp, file=name))
    records = [r for r in parsed if isinstance(r, UsageRecord)]
    assert not [r for r in parsed if isinstance(r, BadLogRow)]
    # duplicates are dropped by the store, not by the parser
    unique = {r.request_id or id(r): r for r in records}.values()
    assert len(unique) == rows
    assert sum(r.input_tokens for r in unique) == inp
    assert sum(r.cached_input_tokens for r in unique) == cached
    assert sum(r.output_tokens for r in unique) == out
    assert len([r for r in parsed if isinstance(r, Skip)]) == case[8]


def test_parquet_parse_matches_its_csv_twin() -> None:
    imp = get_importer("generic-parquet")
    with (FIXTURES / "generic-parquet/usage.parquet").open("rb") as fp:
        from_parquet = [r for r in imp.parse(fp, file="usage.parquet") if isinstance(r, UsageRecord)]
    with (FIXTURES / "generic-csv/usage.csv").open("rb") as fp:
        from_csv = [r for r in get_importer("generic-csv").parse(fp, file="usage.csv") if isinstance(r, UsageRecord)]
    assert [r.model_dump() for r in from_parquet] == [r.model_dump() for r in from_csv]


@pytest.mark.parametrize("importer", IMPORTERS, ids=lambda i: i.name)
def test_every_importer_has_a_documented_fixture(importer) -> None:
    folder = FIXTURES / importer.name
    assert folder.is_dir(), f"add tests/fixtures/{importer.name}/ with a sample and a README citing the docs"
    readme = (folder / "README.md").read_text()
    assert f"`{importer.name}`" in readme
    assert [p for p in folder.iterdir() if p.name != "README.md"], "no sample file"
    if importer.name.startswith("generic-"):  # OpenTCO's own format, documented in its module
        assert importer.doc_url == "costmodel/importers/generic.py" and "generic.py" in readme
    else:
        assert re.search(r"https://\S+", readme), "the README must cite the format's public documentation"
        assert importer.doc_url.startswith("https://")
    assert importer.name in {c[1] for c in CASES}, "no expected totals for this importer"


def test_importer_names_are_unique_and_generic_formats_are_detected_last() -> None:
    names = [i.name for i in IMPORTERS]
    assert len(names) == len(set(names))
    assert names[-2:] == ["generic-csv", "generic-parquet"]


def test_times_are_stored_as_utc(tmp_path: Path) -> None:
    con = connect(tmp_path / "t.duckdb")
    import_file(con, FIXTURES / "generic-csv/usage.csv")
    times = [str(t) for (t,) in con.execute("SELECT ts FROM usage_events ORDER BY ts").fetchall()]
    # 09:30+01:00 is 08:30 UTC; a time without offset is taken as UTC
    assert times == ["2025-03-01 08:30:00", "2025-03-01 09:00:00", "2025-03-01 10:15:00", "2025-03-02 12:00:00"]


def test_secrets_in_the_source_never_reach_the_store(tmp_path: Path) -> None:
    con = connect(tmp_path / "t.duckdb")
    for name in ("litellm-spend-logs/spend_logs.csv", "litellm-spend-logs/spend_logs.json"):
        import_file(con, FIXTURES / name)
    dump = " ".join(
        str(v)
        for table in ("imports", "usage_events", "import_rejects")
        for row in con.execute(f"SELECT * FROM {table}").fetchall()
        for v in row
    )
    assert "sk-proj" not in dump and "Bearer" not in dump
    assert "88dc28d0f030c55e" not in dump  # LiteLLM's hashed virtual key is not kept either
    assert "Summarise" not in dump  # nor any prompt


def test_providers_models_and_labels_are_normalised(tmp_path: Path) -> None:
    con = connect(tmp_path / "t.duckdb")
    import_file(con, FIXTURES / "bedrock-invocation-logs/model_invocations.jsonl")
    import_file(con, FIXTURES / "litellm-spend-logs/spend_logs.csv")
    import_file(con, FIXTURES / "focus/focus_1_2_genai.csv")
    rows = con.execute("SELECT provider, model, project, user FROM usage_events ORDER BY ts, model").fetchall()
    assert ("aws", "us.anthropic.claude-3-5-sonnet-20241022-v2:0") in [r[:2] for r in rows]  # ARN → model id
    assert ("openai", "gpt-4o", "search", "customer-42") in rows  # LiteLLM team alias and end user
    assert ("azure", "gpt-4o", "team-search", "search-api") in rows  # FOCUS provider, model tag, sub-account
