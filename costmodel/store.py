"""The DuckDB file that keeps imported usage logs and live benchmark runs.

One connection per process (DuckDB allows one writer process per file); threads — every Streamlit
session runs in its own — take their own `cursor()` from it. Schema changes are numbered migrations
registered with `@migration` by the module that owns the tables, applied once each and recorded in
`_migrations`, in name order.

DuckDB gives each transaction a snapshot (MVCC) and only detects write-write conflicts on the same row. An
import reads before it writes (is this file's hash stored? which request ids are?), so two imports running
at once on two cursors each see the other's rows as absent and both commit: the same request stored twice,
with no error to tell. Writers therefore take `writing()`, one process-wide lock, for the whole
check-then-write; readers never wait for it. A reader that runs several queries for one view takes
`snapshot(con)`, so every query sees the same committed imports (tests/hardening/test_concurrency.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb

from costmodel.errors import CostModelError

__all__ = ["DEFAULT_DB_PATH", "StoreError", "connect", "db_path", "migration", "snapshot", "writing"]

DEFAULT_DB_PATH = Path("var") / "opentco.duckdb"

Migration = Callable[[duckdb.DuckDBPyConnection], None]
_MIGRATIONS: dict[str, Migration] = {}
_lock = threading.Lock()
_write_lock = threading.Lock()


class StoreError(CostModelError):
    """The database file cannot be opened or migrated (corrupt, read-only, locked by another process)."""


def migration(name: str) -> Callable[[Migration], Migration]:
    """Register a schema change; `name` sorts in application order (`usage_001_tables`, `bench_001_…`)."""

    def register(fn: Migration) -> Migration:
        if name in _MIGRATIONS and _MIGRATIONS[name] is not fn:
            raise ValueError(f"migration {name!r} registered twice")
        _MIGRATIONS[name] = fn
        return fn

    return register


def db_path(path: str | Path | None = None) -> Path:
    """`path`, else `$OPENTCO_DB`, else `var/opentco.duckdb` under the working directory."""
    return Path(path or os.environ.get("OPENTCO_DB") or DEFAULT_DB_PATH)


@contextlib.contextmanager
def writing() -> Iterator[None]:
    """Hold the process-wide writer lock: one import (check-then-write transaction) at a time.

    Not re-entrant. Reads need no lock: they see the last committed state and never block a writer.
    """
    with _write_lock:
        yield


@contextlib.contextmanager
def snapshot(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run several reads on `con` (a cursor of this thread) against one committed state of the store.

    Without it, an import committing between two queries of one summary makes its totals disagree (the
    headline from before the import, the monthly rows from after). The transaction only reads; it is
    rolled back at the end.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")


def _load_schema_modules() -> None:
    # The owners of tables register their migrations on import.
    import costmodel.audit
    import costmodel.evals.schema
    import costmodel.fleet.schema
    import costmodel.measure.schema
    import costmodel.saved_scenarios
    import costmodel.usage.schema  # noqa: F401


def connect(path: str | Path | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed), check and migrate the store. Errors name the file and what to do.

    Raises:
        StoreError: the file is locked by another process, read-only, or damaged.
    """
    _load_schema_modules()
    p = db_path(path)
    try:
        if not read_only:
            p.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(p), read_only=read_only)
    except (duckdb.Error, OSError) as ex:
        raise _store_error(p, ex) from None
    try:
        _read_every_block(con)
        if not read_only:
            _migrate(con)
            _write_now(con)
    except duckdb.Error as ex:
        con.close()
        raise _store_error(p, ex) from None
    return con


def _store_error(p: Path, ex: Exception) -> StoreError:
    text = str(ex)
    if re.search(r"\block\b", text, re.IGNORECASE):  # "Could not set lock on file …" (not "block")
        fix = (
            "Another OpenTCO process (the dashboard, or a command still running) has it open: stop that "
            "process, or point OPENTCO_DB or --db at another file."
        )
    elif isinstance(ex, PermissionError) or re.search(r"permission denied|read-only file system", text, re.IGNORECASE):
        fix = (
            f"The file or its folder ({p.parent}) is read-only: make it writable, or point OPENTCO_DB or --db "
            "at a file in a writable folder."
        )
    elif not p.exists():
        fix = (
            "There is no such file: import usage logs first (`opentco import FILE…`), or point OPENTCO_DB or --db "
            "at one."
        )
    else:
        fix = (
            f"The file is damaged: move it aside (`mv {p} {p}.damaged`) and OpenTCO starts a fresh one; import "
            "your usage logs again, or point OPENTCO_DB or --db at another file."
        )
    return StoreError(
        f"cannot open the usage database {p}: {text.splitlines()[0] if text else type(ex).__name__}. {fix}"
    )


def _read_every_block(con: duckdb.DuckDBPyConnection) -> None:
    """Read every column of every table once, so that DuckDB checks each block's checksum now.

    A damaged block otherwise surfaces in the middle of some later query, as a traceback. Scanning costs
    about 40 ms per million usage rows, once per process (the dashboard) or command (the CLI).
    """
    tables: dict[str, list[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND NOT internal ORDER BY table_name, column_index"
    ).fetchall():
        tables.setdefault(table, []).append(column)
    for table, columns in tables.items():
        # identifiers come from DuckDB's own catalog, quoted; no user input reaches this SQL
        cols = ", ".join(f"min(hash({_quote(c)}))" for c in columns)
        con.execute(f"SELECT {cols} FROM {_quote(table)}").fetchall()


def _write_now(con: duckdb.DuckDBPyConnection) -> None:
    """Commit a write at once, so that a store that cannot be written is refused when opened, not mid-import.

    A writable file in a read-only folder opens and reads fine; only the first commit fails, when DuckDB
    creates its write-ahead log beside the file.
    """
    con.execute("BEGIN TRANSACTION")
    con.execute("CREATE TABLE _write_check (x INTEGER)")
    con.execute("DROP TABLE _write_check")
    con.execute("COMMIT")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    with _lock:
        con.execute("CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
        done = {r[0] for r in con.execute("SELECT name FROM _migrations").fetchall()}
        for name in sorted(_MIGRATIONS):
            if name in done:
                continue
            con.execute("BEGIN TRANSACTION")
            try:
                _MIGRATIONS[name](con)
                con.execute("INSERT INTO _migrations VALUES (?, now())", [name])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
