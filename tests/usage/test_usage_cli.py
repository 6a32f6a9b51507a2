"""`opentco import` and `opentco usage summary`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from costmodel.cli import usage_cmd

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _app() -> typer.Typer:
    app = typer.Typer()
    usage_cmd.register(app)
    return app


def test_import_then_summary(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    runner = CliRunner()
    files = [FIXTURES / "litellm-spend-logs/spend_logs.csv", FIXTURES / "openai-usage-api/completions_pages.jsonl"]
    res = runner.invoke(_app(), ["import", *map(str, files), "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "spend_logs.csv: 2 rows imported (litellm-spend-logs), 1 duplicate request id skipped" in res.output
    assert "completions_pages.jsonl: 4 rows imported (openai-usage-api)" in res.output

    again = runner.invoke(_app(), ["import", str(files[0]), "--db", str(db)])
    assert again.exit_code == 0 and "already imported" in again.output

    text = runner.invoke(_app(), ["usage", "summary", "--db", str(db)])
    assert text.exit_code == 0
    assert "requests: 49" in text.output and "1 row differs from the recomputed cost by more than 1 %" in text.output

    out = runner.invoke(_app(), ["usage", "summary", "--db", str(db), "--json"])
    data = json.loads(out.output)
    assert (data["rows"], data["requests"], data["input_tokens"]) == (6, 49, 27200)
    assert data["flagged_rows"] == 1 and data["reported_cost_usd"] == 0.0214375


def test_bad_files_exit_2_with_messages_and_reject_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "timestamp,model,input_tokens,output_tokens\n2025-03-01T00:00:00Z,m,-1,1\n2025-03-01T00:00:00Z,m,1,1\n"
    )
    worse = tmp_path / "worse.csv"
    worse.write_text("timestamp,model,input_tokens,output_tokens\n2025-03-01T00:00:00Z,m,-1,1\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    res = CliRunner().invoke(
        _app(),
        [
            "import",
            str(bad),
            str(worse),
            str(notes),
            "--db",
            str(tmp_path / "x.duckdb"),
            "--rejects-dir",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 2
    assert "bad.csv: 1 row imported (generic-csv), 1 row rejected" in res.output
    assert "error: worse.csv: all 1 rows rejected" in res.output
    assert "error: notes.txt: not a usage log format" in res.output
    assert "negative token count" in (tmp_path / "bad.csv.rejects.csv").read_text()
    assert "negative token count" in (tmp_path / "worse.csv.rejects.csv").read_text()


def test_format_option_and_empty_summary(tmp_path: Path) -> None:
    db = str(tmp_path / "x.duckdb")
    empty = CliRunner().invoke(_app(), ["usage", "summary", "--db", db])
    assert empty.exit_code == 0 and "No usage imported yet" in empty.output
    res = CliRunner().invoke(
        _app(), ["import", str(FIXTURES / "generic-csv/usage.csv"), "--format", "nope", "--db", db]
    )
    assert res.exit_code == 2 and "unknown format 'nope'" in res.output


def test_every_new_variant_imports_without_format_and_the_summary_shows_proxy_cache_hits(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    names = [
        "langfuse-observations/observations_v1_pages_concatenated.txt",
        "langfuse-export/observations.parquet",
        "openrouter-daily-csv/activity_2025-03.csv",
        "openrouter-activity-api/activity.json",
        "openai-costs-api/costs_page.json",
        "anthropic-cost-report/cost_report.json",
        "litellm-spend-logs/litellm_db.sql",
        "bedrock-invocation-logs/firehose_data_messages.txt",
    ]
    runner = CliRunner()
    res = runner.invoke(_app(), ["import", *(str(FIXTURES / n) for n in names), "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "litellm_db.sql: 2 rows imported (litellm-spend-logs), 1 request served from the proxy cache" in res.output
    text = runner.invoke(_app(), ["usage", "summary", "--db", str(db)])
    assert "served from the proxy cache: 1 request, 300 tokens (no provider called" in text.output
    data = json.loads(runner.invoke(_app(), ["usage", "summary", "--db", str(db), "--json"]).output)
    # 5,800 + 2,800 + 34,000 + 26,000 + 0 + 0 + 1,200 + 4,000 input tokens (the fixture READMEs' totals)
    assert (data["input_tokens"], data["proxy_cache_requests"], data["proxy_cache_tokens"]) == (73800, 1, 300)


def test_history_prices_each_month_four_ways(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    runner = CliRunner()
    runner.invoke(_app(), ["import", str(FIXTURES / "litellm-spend-logs/spend_logs.csv"), "--db", str(db)])
    scenario = Path(__file__).resolve().parents[2] / "data" / "scenarios" / "api-bill-10k-50k.json"
    res = runner.invoke(_app(), ["usage", "history", str(scenario), "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "2025-03" in res.output and "reported +80 % vs in force" in res.output
    assert "List prices: genai-prices" in res.output
    data = json.loads(runner.invoke(_app(), ["usage", "history", str(scenario), "--db", str(db), "--json"]).output)
    (march,) = data["months"]
    assert march["reported_cost_usd"] == 0.0214375 and march["flagged"]
    assert set(march["options_cost_usd"]) == {o["name"] for o in json.loads(scenario.read_text())["options"]}
