"""The command line writes the same audit trail as the dashboard: imports, exports and deletions name who ran
them (`$OPENTCO_ACTOR`, else `cli:<login>@<host>`) and the workspace whose store they wrote."""

from __future__ import annotations

import csv
import hashlib
import io
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costmodel.audit import audit_entries
from costmodel.cli import app
from costmodel.cli._store import cli_actor
from costmodel.store import connect
from costmodel.usage import import_history

FIXTURES = Path(__file__).parents[1] / "fixtures"
LOG = FIXTURES / "litellm-spend-logs" / "spend_logs.csv"
VLLM_RESULT = next((FIXTURES / "bench_results" / "vllm_bench_serve").glob("*.json"))
runner = CliRunner()


def _trail(db: Path) -> list:
    con = connect(db)
    try:
        return audit_entries(con)
    finally:
        con.close()


def _usage_rows(db: Path) -> int:
    con = connect(db)
    try:
        return int(con.execute("SELECT count(*) FROM usage_events").fetchone()[0])
    finally:
        con.close()


def test_an_import_into_a_workspace_names_the_actor_the_workspace_and_the_file(tmp_path):
    env = {"OPENTCO_DB": str(tmp_path / "opentco.duckdb"), "OPENTCO_ACTOR": "ops@example.com"}
    res = runner.invoke(app, ["import", str(LOG), "--workspace", "finance"], env=env)
    assert res.exit_code == 0, res.output
    store = tmp_path / "workspaces" / "finance.duckdb"
    (line,) = _trail(store)
    rows = _usage_rows(store)
    assert rows > 0
    assert (line.who, line.workspace, line.action, line.subject, line.rows) == (
        "ops@example.com",
        "finance",
        "import",
        LOG.name,
        rows,
    )
    assert line.sha256 == hashlib.sha256(LOG.read_bytes()).hexdigest()
    assert not (tmp_path / "opentco.duckdb").exists()  # nothing went to the single-user store

    again = runner.invoke(app, ["import", str(LOG), "--workspace", "finance"], env=env)
    assert again.exit_code == 0 and "already imported" in again.stdout  # nothing happened: no line
    assert len(_trail(store)) == 1


def test_without_opentco_actor_the_trail_names_the_login_and_host(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENTCO_ACTOR", raising=False)
    monkeypatch.setenv("USER", "carol")
    monkeypatch.setenv("LOGNAME", "carol")
    db = tmp_path / "mine.duckdb"
    assert runner.invoke(app, ["import", str(LOG), "--db", str(db)]).exit_code == 0
    (line,) = _trail(db)
    assert (line.who, line.workspace) == (f"cli:carol@{socket.gethostname()}", "default")


def test_the_workspace_is_the_store_name_inside_a_workspaces_folder(tmp_path):
    assert cli_actor(tmp_path / "workspaces" / "research.duckdb", env={"OPENTCO_ACTOR": "a@x"}).workspace == "research"
    assert cli_actor(tmp_path / "research.duckdb", env={"OPENTCO_ACTOR": " a@x "}).workspace == "default"
    assert cli_actor(tmp_path / "r.duckdb", env={"OPENTCO_ACTOR": " a@x "}).who == "a@x"


def test_delete_needs_yes_then_removes_the_rows_in_one_transaction_with_its_line(tmp_path):
    db = tmp_path / "u.duckdb"
    env = {"OPENTCO_ACTOR": "ops@example.com"}
    assert runner.invoke(app, ["import", str(LOG), "--db", str(db)], env=env).exit_code == 0
    rows = _usage_rows(db)
    listing = runner.invoke(app, ["usage", "imports", "--db", str(db)])
    assert listing.exit_code == 0 and "#1 " in listing.stdout and LOG.name in listing.stdout

    refused = runner.invoke(app, ["usage", "delete", "1", "--db", str(db)], env=env)
    assert refused.exit_code == 2 and "--yes" in refused.output
    assert _usage_rows(db) == rows

    gone = runner.invoke(app, ["usage", "delete", "1", "--yes", "--db", str(db)], env=env)
    assert gone.exit_code == 0, gone.output
    assert f"{rows:,} usage rows" in gone.stdout
    assert _usage_rows(db) == 0
    con = connect(db)
    assert import_history(con) == []
    con.close()
    newest, first = _trail(db)
    assert (newest.action, newest.subject, newest.rows, newest.who) == (
        "delete",
        f"import #1 {LOG.name}",
        rows,
        "ops@example.com",
    )
    assert newest.sha256 == first.sha256 == hashlib.sha256(LOG.read_bytes()).hexdigest()

    missing = runner.invoke(app, ["usage", "delete", "1", "--yes", "--db", str(db)], env=env)
    assert missing.exit_code == 2 and "no import #1" in missing.stderr
    assert len(_trail(db)) == 2


def test_a_benchmark_import_and_a_workbook_export_are_in_the_trail(tmp_path):
    db = tmp_path / "u.duckdb"
    env = {"OPENTCO_ACTOR": "eng@example.com"}
    res = runner.invoke(
        app,
        ["measure", "import", str(VLLM_RESULT), "--model", "m", "--gpu", "h100", "--runtime", "vllm", "--db", str(db)],
        env=env,
    )
    assert res.exit_code == 0, res.output
    assert runner.invoke(app, ["import", str(LOG), "--db", str(db)], env=env).exit_code == 0
    out = tmp_path / "case.xlsx"
    exported = runner.invoke(
        app, ["export", "data/scenarios/customer-service-triage.json", "--xlsx", str(out), "--db", str(db)], env=env
    )
    assert exported.exit_code == 0, exported.output
    export_line, import_line, bench_line = _trail(db)
    assert (bench_line.action, bench_line.subject) == ("import", VLLM_RESULT.name)
    assert bench_line.sha256 == hashlib.sha256(VLLM_RESULT.read_bytes()).hexdigest()
    assert import_line.subject == LOG.name
    assert (export_line.action, export_line.subject, export_line.who) == ("export", "case.xlsx", "eng@example.com")
    assert export_line.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()


def test_the_trail_prints_and_writes_csv_with_user_text_neutralised(tmp_path):
    db = tmp_path / "u.duckdb"
    hostile = tmp_path / "=HYPERLINK(1).csv"
    hostile.write_bytes(LOG.read_bytes())
    assert runner.invoke(app, ["import", str(hostile), "--db", str(db)], env={"OPENTCO_ACTOR": "@evil"}).exit_code == 0
    shown = runner.invoke(app, ["audit", "--db", str(db)])
    assert shown.exit_code == 0 and "=HYPERLINK(1).csv" in shown.stdout and "@evil" in shown.stdout
    out = tmp_path / "trail.csv"
    assert runner.invoke(app, ["audit", "--db", str(db), "--csv", str(out)]).exit_code == 0
    (row,) = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert row["subject"] == "'=HYPERLINK(1).csv" and row["who"] == "'@evil"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["audit", "--db", "x.duckdb", "--workspace", "a"], "not both"),
        (["audit", "--workspace", "Bad Name"], "is not a workspace name"),
        (["audit", "--db", "nowhere.duckdb"], "no such store"),
        (["usage", "imports", "--workspace", "nobody"], "no such store"),
    ],
)
def test_bad_store_choices_exit_2_with_a_message_and_create_nothing(tmp_path, args, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENTCO_DB", str(tmp_path / "opentco.duckdb"))
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and message in res.stderr
    assert list(tmp_path.rglob("*.duckdb")) == []
