"""`opentco export`: the workbook and the summary from the command line."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from costmodel.catalog import data_dir
from costmodel.cli import app
from tests.export.helpers import make_usage_db, usage_rows

SCENARIO = str(data_dir() / "scenarios" / "api-bill-10k-50k.json")


def test_xlsx_and_html(tmp_path: Path) -> None:
    xlsx, html = tmp_path / "case.xlsx", tmp_path / "summary.html"
    res = CliRunner().invoke(app, ["export", SCENARIO, "--xlsx", str(xlsx), "--html", str(html)])
    assert res.exit_code == 0, res.output
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.read_bytes()))
    assert wb.sheetnames[0] == "Summary" and "Usage" not in wb.sheetnames
    assert html.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_usage_sheet_from_db(tmp_path: Path) -> None:
    db = make_usage_db(tmp_path / "usage.duckdb", usage_rows(hostile=False))
    xlsx = tmp_path / "case.xlsx"
    res = CliRunner().invoke(app, ["export", SCENARIO, "--xlsx", str(xlsx), "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "usage: 9 model-months" in res.output
    assert "Usage" in openpyxl.load_workbook(xlsx).sheetnames
    # a store this command can only read (here: built by another tool, no OpenTCO schema) still gives the
    # workbook; the missing audit line is said, not hidden
    assert "audit line is not" in res.stderr


def test_default_db_is_not_created(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPENTCO_DB", str(tmp_path / "absent.duckdb"))
    res = CliRunner().invoke(app, ["export", SCENARIO, "--xlsx", str(tmp_path / "c.xlsx")])
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "absent.duckdb").exists()


def test_user_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    missing_db = runner.invoke(app, ["export", SCENARIO, "--xlsx", str(tmp_path / "c.xlsx"), "--db", "nope.duckdb"])
    assert missing_db.exit_code == 2 and "no such database file" in missing_db.output
    no_output = runner.invoke(app, ["export", SCENARIO])
    assert no_output.exit_code == 2
    bad = tmp_path / "bad.json"
    bad.write_text('{"options": []}')
    invalid = runner.invoke(app, ["export", str(bad), "--html", str(tmp_path / "s.html")])
    assert invalid.exit_code == 2 and "options" in invalid.output
    unwritable = runner.invoke(app, ["export", SCENARIO, "--html", str(tmp_path / "no" / "dir" / "s.html")])
    assert unwritable.exit_code == 2 and "cannot write" in unwritable.output
