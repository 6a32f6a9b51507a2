"""The audit trail: lines are added in order; an admin's deletion of an import is one transaction with its line.

The log has two requests (input 100 + 200 = 300 tokens) and one bad row (a negative token count) that goes to
the reject table, so the import touches imports, usage_events, usage_hourly and import_rejects.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from costmodel import audit
from costmodel.audit import (
    Actor,
    AuditAction,
    ImportNotFound,
    audit_csv,
    audit_entries,
    delete_import,
    record,
    sha256_of,
)
from costmodel.errors import ImportRejected
from costmodel.measure.result_files import ImportFields, import_benchmark_files
from costmodel.store import StoreError, connect
from costmodel.usage import import_file, summarize
from costmodel.workspaces import workspace_store_path

LOG = b"""timestamp,model,input_tokens,output_tokens,requests,provider,request_id
2025-03-01T09:00:00Z,gpt-4o,100,10,1,openai,req-1
2025-03-01T10:00:00Z,gpt-4o,200,20,1,openai,req-2
2025-03-01T11:00:00Z,gpt-4o,-5,20,1,openai,req-3
"""
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, tzinfo=UTC)  # after the result fixtures ran


@pytest.fixture
def con(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENTCO_DB", str(tmp_path / "opentco.duckdb"))
    c = connect(workspace_store_path("b"))
    yield c
    c.close()


def _count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def test_lines_are_kept_newest_first_with_hash_and_rows(con):
    record(con, action=AuditAction.IMPORT, who="bob@x.com", workspace="b", subject="u.csv", sha256="ab", rows=2, now=T0)
    record(con, action=AuditAction.EXPORT, who="bob@x.com", workspace="b", subject="case.xlsx", sha256=sha256_of(b"x"))
    lines = audit_entries(con)
    assert [(e.action, e.subject, e.rows) for e in lines] == [
        (AuditAction.EXPORT, "case.xlsx", None),
        (AuditAction.IMPORT, "u.csv", 2),
    ]
    assert lines[0].sha256 == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"  # sha256("x")
    assert lines[1].happened_at == datetime(2026, 1, 2, 3, 4, 5)  # stored as naive UTC


def test_the_trail_as_csv_is_safe_to_open_in_a_spreadsheet(con):
    record(con, action=AuditAction.IMPORT, who="bob@x.com", workspace="b", subject="=HYPERLINK(1)", rows=2, now=T0)
    text = audit_csv(audit_entries(con)).decode()
    assert text.splitlines() == [
        "id,happened_at_utc,who,workspace,action,subject,sha256,rows",
        "1,2026-01-02T03:04:05,bob@x.com,b,import,'=HYPERLINK(1),,2",
    ]


def test_deleting_an_import_removes_all_its_rows_and_records_who(con):
    res = import_file(con, LOG, file_name="u.csv")
    assert (res.rows_imported, res.rows_rejected) == (2, 1)
    assert (_count(con, "usage_events"), _count(con, "import_rejects")) == (2, 1)
    entry = delete_import(con, import_id=res.import_id, who="ops@x.com", workspace="b", now=T0)
    assert (entry.action, entry.subject, entry.sha256, entry.rows) == (
        AuditAction.DELETE,
        f"import #{res.import_id} u.csv",
        res.sha256,
        2,
    )
    for table in ("imports", "usage_events", "usage_hourly", "import_rejects", "usage_cache_hits"):
        assert _count(con, table) == 0, table
    assert summarize(con).rows == 0
    assert [e.model_dump() for e in audit_entries(con)] == [entry.model_dump()]
    # the file's hash is free again: importing it again stores it again
    assert not import_file(con, LOG, file_name="u.csv").already_imported


def test_a_deletion_that_fails_midway_deletes_nothing_and_records_nothing(con, monkeypatch):
    res = import_file(con, LOG, file_name="u.csv")
    # the third table does not exist: the DELETEs before it must roll back with the rest
    monkeypatch.setattr(audit, "_IMPORT_TABLES", ("usage_events", "usage_hourly", "no_such_table"))
    with pytest.raises(duckdb.CatalogException, match="no_such_table"):
        delete_import(con, import_id=res.import_id, who="ops@x.com", workspace="b")
    assert (_count(con, "imports"), _count(con, "usage_events"), _count(con, "usage_hourly")) == (1, 2, 2)  # 2 hours
    assert audit_entries(con) == []


def test_an_import_of_another_workspace_cannot_be_deleted_from_this_one(con, tmp_path):
    res = import_file(con, LOG, file_name="u.csv")
    other = connect(workspace_store_path("a"))
    try:
        with pytest.raises(ImportNotFound, match=f"workspace a: there is no import #{res.import_id}"):
            delete_import(other, import_id=res.import_id, who="alice@x.com", workspace="a")
        assert audit_entries(other) == []
    finally:
        other.close()
    assert _count(con, "usage_events") == 2


def test_an_import_by_a_signed_in_user_commits_its_audit_line_with_its_rows(con):
    bob = Actor(who="bob@x.com", workspace="b", now=T0)
    res = import_file(con, LOG, file_name="u.csv", actor=bob)
    (line,) = audit_entries(con)
    assert (line.action, line.who, line.workspace, line.subject, line.sha256, line.rows, line.happened_at) == (
        AuditAction.IMPORT, "bob@x.com", "b", "u.csv", res.sha256, 2, datetime(2026, 1, 2, 3, 4, 5),
    )  # fmt: skip
    # the same file again stores nothing, so it records nothing
    assert import_file(con, LOG, file_name="again.csv", actor=bob).already_imported
    assert len(audit_entries(con)) == 1


def test_an_import_whose_audit_line_fails_stores_nothing(con, monkeypatch):
    def refuse(*args, **kwargs):
        raise duckdb.ConstraintException("the trail refused the line")

    monkeypatch.setattr(audit, "_insert", refuse)
    with pytest.raises(ImportRejected, match="trail refused"):
        import_file(con, LOG, file_name="u.csv", actor=Actor(who="bob@x.com", workspace="b"))
    for table in ("imports", "usage_events", "usage_hourly", "import_rejects"):
        assert _count(con, table) == 0, table
    monkeypatch.undo()
    # nothing half-written: the file imports whole afterwards, with its line
    assert import_file(con, LOG, file_name="u.csv", actor=Actor(who="bob@x.com", workspace="b")).rows_imported == 2
    assert [e.subject for e in audit_entries(con)] == ["u.csv"]


def test_a_benchmark_file_import_commits_its_audit_line_with_its_run(con, monkeypatch):
    path = next((ROOT / "tests/fixtures/bench_results/vllm_bench_serve").glob("*.json"))
    fields = ImportFields(gpu="h100")
    [run] = import_benchmark_files(
        con, [(path.name, path.read_bytes())], fields=fields, now=NOW, actor=Actor("bob@x.com", "b", T0)
    )
    (line,) = audit_entries(con)
    assert (line.action, line.subject, line.sha256, line.rows) == (
        AuditAction.IMPORT,
        path.name,
        run.sha256,
        len(run.levels),
    )
    # a line that cannot be written takes the run with it
    monkeypatch.setattr(audit, "_insert", lambda *a, **k: (_ for _ in ()).throw(duckdb.ConstraintException("no")))
    other = next((ROOT / "tests/fixtures/bench_results/guidellm").glob("*.json"))
    runs_before = _count(con, "benchmark_imports")
    with pytest.raises(StoreError):
        import_benchmark_files(
            con, [(other.name, other.read_bytes())], fields=ImportFields(gpu="h100", runtime="vllm"), now=NOW,
            actor=Actor("bob@x.com", "b", T0),
        )  # fmt: skip
    assert _count(con, "benchmark_imports") == runs_before
