"""The audit trail of a workspace: who imported, exported or deleted what, when, with the file's SHA-256.

The trail is a table in the workspace's own store (`audit_log`), so an admin's deletion of an import and
its audit line commit in the same transaction: there is never a deletion without its line, nor a line for
a deletion that rolled back. Imports given an `Actor` write their line inside their own transaction the same
way (`record_in_transaction`); exports are recorded when the download is clicked. Entries are only ever
added; nothing in OpenTCO updates or deletes them.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import duckdb

from costmodel._base import StrictModel
from costmodel.errors import CostModelError
from costmodel.store import migration, writing

__all__ = [
    "Actor",
    "AuditAction",
    "AuditEntry",
    "ImportNotFound",
    "audit_csv",
    "audit_entries",
    "delete_import",
    "record",
    "record_in_transaction",
    "sha256_of",
]


class AuditAction(StrEnum):
    """What was done."""

    IMPORT = "import"
    EXPORT = "export"
    DELETE = "delete"


class ImportNotFound(CostModelError):
    """No import with that id in this workspace (deleted already, or another workspace's)."""


class AuditEntry(StrictModel):
    """One line of the trail."""

    id: int
    happened_at: datetime
    """When, UTC."""
    who: str
    """The signed-in user's email address."""
    workspace: str
    action: AuditAction
    subject: str
    """The file name imported or downloaded, or what was deleted (`import #3 usage.csv`)."""
    sha256: str | None
    """SHA-256 of the file imported, downloaded or deleted (hex)."""
    rows: int | None
    """Rows imported or deleted (None for a download)."""


@migration("team_001_audit_log")
def _team_001_audit_log(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SEQUENCE audit_log_id_seq START 1")
    con.execute(
        """
        CREATE TABLE audit_log (
            id BIGINT PRIMARY KEY DEFAULT nextval('audit_log_id_seq'),
            happened_at TIMESTAMP NOT NULL,   -- UTC
            who VARCHAR NOT NULL,             -- email of the signed-in user
            workspace VARCHAR NOT NULL,
            action VARCHAR NOT NULL,          -- import, export, delete
            subject VARCHAR NOT NULL,         -- file name, or what was deleted
            sha256 VARCHAR,                   -- of the file imported, downloaded or deleted
            rows BIGINT                       -- rows imported or deleted
        )
        """
    )


def sha256_of(data: bytes) -> str:
    """Hex SHA-256 of a file's bytes (what the trail records for a download)."""
    return hashlib.sha256(data).hexdigest()


def _stamp(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)


def _insert(
    con: duckdb.DuckDBPyConnection,
    *,
    action: AuditAction,
    who: str,
    workspace: str,
    subject: str,
    sha256: str | None,
    rows: int | None,
    now: datetime | None,
) -> int:
    row = con.execute(
        "INSERT INTO audit_log (happened_at, who, workspace, action, subject, sha256, rows) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [_stamp(now), who, workspace, action.value, subject, sha256, rows],
    ).fetchone()
    return int(row[0]) if row else 0


def record(
    con: duckdb.DuckDBPyConnection,
    *,
    action: AuditAction,
    who: str,
    workspace: str,
    subject: str,
    sha256: str | None = None,
    rows: int | None = None,
    now: datetime | None = None,
) -> int:
    """Add one line to the trail and return its id.

    Args:
        con: a cursor of this thread on the workspace's store.
        action: import, export or delete.
        who: the signed-in user's email address.
        workspace: the workspace the store belongs to.
        subject: file name, or what was deleted.
        sha256: hex SHA-256 of the file.
        rows: rows imported or deleted.
        now: the time to record (UTC); tests pass a fixed one.
    """
    with writing():
        return _insert(
            con, action=action, who=who, workspace=workspace, subject=subject, sha256=sha256, rows=rows, now=now
        )


@dataclass(frozen=True)
class Actor:
    """Who does what, for the trail: an import given one writes its audit line in the import's transaction."""

    who: str
    """The signed-in user's email address."""
    workspace: str
    """The workspace whose store is written."""
    now: datetime | None = None
    """The time to record (UTC); None is the moment of writing. Tests pass a fixed one."""


def record_in_transaction(
    con: duckdb.DuckDBPyConnection,
    actor: Actor,
    *,
    action: AuditAction,
    subject: str,
    sha256: str | None = None,
    rows: int | None = None,
) -> int:
    """Add one line inside the caller's open transaction (which holds `writing()`): it commits or rolls back
    with the caller's own writes, so a trail never names an import that is not there, nor misses one that is."""
    return _insert(
        con, action=action, who=actor.who, workspace=actor.workspace, subject=subject, sha256=sha256, rows=rows,
        now=actor.now,
    )  # fmt: skip


def audit_entries(con: duckdb.DuckDBPyConnection, *, limit: int = 1000) -> list[AuditEntry]:
    """The trail, newest first (at most `limit` lines)."""
    rows = con.execute(
        "SELECT id, happened_at, who, workspace, action, subject, sha256, rows FROM audit_log ORDER BY id DESC LIMIT ?",
        [limit],
    ).fetchall()
    keys = list(AuditEntry.model_fields)
    return [AuditEntry(**dict(zip(keys, r, strict=True))) for r in rows]


def audit_csv(entries: list[AuditEntry]) -> bytes:
    """The trail as CSV for auditors (UTF-8). File names and emails come from users: text a spreadsheet would
    run as a formula (`=…`, `+…`, `@…`) gets a leading `'` (OWASP's advice for CSV injection)."""
    from costmodel.export.sanitize import is_formula_like  # lazy: the export package loads the workbook code

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["id", "happened_at_utc", "who", "workspace", "action", "subject", "sha256", "rows"])
    for e in entries:
        row = [e.id, e.happened_at.isoformat(), e.who, e.workspace, e.action.value, e.subject, e.sha256, e.rows]
        w.writerow(["'" + c if isinstance(c, str) and is_formula_like(c) else c for c in row])
    return out.getvalue().encode("utf-8")


_IMPORT_TABLES = (
    "usage_events",
    "usage_hourly",
    "usage_cache_hits",
    "import_rejects",
    "fleet_windows",
    "fleet_hourly",
    "fleet_latency_buckets",
)
"""Every table whose rows belong to an import (by `import_id`); fixed identifiers, never user input."""


def delete_import(
    con: duckdb.DuckDBPyConnection, *, import_id: int, who: str, workspace: str, now: datetime | None = None
) -> AuditEntry:
    """Delete an import and every row it brought, with its audit line, in one transaction.

    Args:
        con: a cursor of this thread on the workspace's store.
        import_id: the import's id in this store.
        who: the admin's email address.
        workspace: the workspace the store belongs to.
        now: the time to record (UTC).

    Returns:
        The audit line written (rows = usage rows deleted, sha256 = the imported file's).

    Raises:
        ImportNotFound: this store has no such import.
    """
    with writing():
        con.execute("BEGIN TRANSACTION")
        try:
            found = con.execute("SELECT file_name, sha256, row_count FROM imports WHERE id = ?", [import_id]).fetchone()
            if found is None:
                raise ImportNotFound(f"workspace {workspace}: there is no import #{import_id} to delete")
            file_name, sha, _ = found
            deleted = con.execute("SELECT count(*) FROM usage_events WHERE import_id = ?", [import_id]).fetchone()
            for table in _IMPORT_TABLES:
                con.execute(f"DELETE FROM {table} WHERE import_id = ?", [import_id])
            con.execute("DELETE FROM imports WHERE id = ?", [import_id])
            n_rows = int(deleted[0]) if deleted else 0
            entry_id = _insert(
                con,
                action=AuditAction.DELETE,
                who=who,
                workspace=workspace,
                subject=f"import #{import_id} {file_name}",
                sha256=sha,
                rows=n_rows,
                now=now,
            )
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise
    return AuditEntry(
        id=entry_id,
        happened_at=_stamp(now),
        who=who,
        workspace=workspace,
        action=AuditAction.DELETE,
        subject=f"import #{import_id} {file_name}",
        sha256=sha,
        rows=n_rows,
    )
