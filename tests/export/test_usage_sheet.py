"""The Usage sheet: monthly tokens and costs by model and by project, read from the `usage_events` table."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl

from costmodel.demo import demo_scenario
from costmodel.export import to_xlsx, usage_summary
from costmodel.prices import usage_cost_usd
from tests.export.helpers import make_usage_db


def _summary(db: Path):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return usage_summary(con, source=db.name)
    finally:
        con.close()


def test_no_table_no_sheet(tmp_path: Path) -> None:
    db = tmp_path / "none.duckdb"
    duckdb.connect(str(db)).close()
    assert _summary(db) is None
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(demo_scenario(), usage=None)))
    assert "Usage" not in wb.sheetnames


def test_empty_table_no_sheet(tmp_path: Path) -> None:
    assert _summary(make_usage_db(tmp_path / "empty.duckdb", [])) is None


def test_monthly_totals_by_model_and_project(usage_db: Path) -> None:
    u = _summary(usage_db)
    assert u is not None
    assert u.source == "usage_events in usage.duckdb"
    jan_4o = next(m for m in u.by_model if m.month == date(2026, 1, 1) and m.model == "gpt-4o")
    assert (jan_4o.requests, jan_4o.input_tokens, jan_4o.cached_input_tokens, jan_4o.output_tokens) == (
        200,
        240_000,
        60_000,
        40_000,
    )
    assert jan_4o.reported_cost_usd == Decimal("2.5")
    # gpt-4o is priced per token: the month's list cost is that of its summed tokens
    assert jan_4o.list_cost_usd == usage_cost_usd(
        provider="openai",
        model="gpt-4o",
        input_tokens=240_000,
        cached_input_tokens=60_000,
        output_tokens=40_000,
        at=date(2026, 1, 1),
    )
    sonnet = next(m for m in u.by_model if m.model == "claude-sonnet-4-5")
    assert sonnet.list_cost_usd is not None and sonnet.list_cost_usd > 0  # tiered: priced per mean request
    assert any(m.list_cost_usd is None for m in u.by_model)  # a model genai-prices does not know
    assert sum(p.tokens for p in u.by_project) == sum(m.tokens for m in u.by_model)
    assert [m.month for m in u.by_model] == sorted(m.month for m in u.by_model)


def test_optional_columns_may_be_missing(tmp_path: Path) -> None:
    db = tmp_path / "minimal.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE usage_events (ts TIMESTAMP, model VARCHAR, input_tokens BIGINT, output_tokens BIGINT)")
    con.execute(
        "INSERT INTO usage_events VALUES (?, 'gpt-4o', 1000, 100), (?, 'gpt-4o', 500, 50)",
        [datetime(2026, 3, 2), datetime(2026, 3, 9)],
    )
    con.close()
    u = _summary(db)
    assert u is not None
    (m,) = u.by_model
    assert (m.provider, m.requests, m.input_tokens, m.output_tokens, m.reported_cost_usd) == (
        None,
        None,
        1500,
        150,
        None,
    )
    (p,) = u.by_project
    assert (p.project, p.tokens) == (None, 1650)


def test_a_table_without_required_columns_is_ignored(tmp_path: Path) -> None:
    db = tmp_path / "other.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE usage_events (when_ts TIMESTAMP, tokens BIGINT)")
    con.close()
    assert _summary(db) is None


def test_usage_sheet_lists_months_models_and_projects(usage_db: Path) -> None:
    u = _summary(usage_db)
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(demo_scenario(), usage=u)))
    assert wb.sheetnames[-2:] == ["Usage", "Sources"]
    ws = wb["Usage"]
    assert [ws.cell(5, c).value for c in range(1, 4)] == ["Month", "Provider", "Model"]
    assert ws.cell(6, 1).number_format == "yyyy-mm"
    total_row = 6 + len(u.by_model)
    assert ws.cell(total_row, 1).value == "Total"
    assert ws.cell(total_row, 5).value == f"=SUM(E6:E{total_row - 1})"
    sources = [c.value for c in wb["Sources"]["C"] if c.value]
    assert u.source in sources
