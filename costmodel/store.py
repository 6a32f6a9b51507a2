"""The DuckDB file that keeps imported usage logs and live benchmark runs.

One connection per process (DuckDB allows one writer process per file); threads — every Streamlit
session runs in its own — take their own `cursor()` from it. Schema changes are numbered migrations
registered with `@migration` by the module that owns the tables, applied once each and recorded in
`_migrations`, in name order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import duckdb

from costmodel.errors import CostModelError

__all__ = ["DEFAULT_DB_PATH", "StoreError", "connect", "db_path", "migration"]

DEFAULT_DB_PATH = Path("var") / "opentco.duckdb"

Migration = Callable[[duckdb.DuckDBPyConnection], None]
_MIGRATIONS: dict[str, Migration] = {}
_lock = threading.Lock()


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


def _load_schema_modules() -> None:
    # The owners of tables register their migrations on import.
    import costmodel.measure.schema
    import costmodel.usage.schema  # noqa: F401


def connect(path: str | Path | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) and migrate the store. Errors name the file and what to do."""
    _load_schema_modules()
    p = db_path(path)
    try:
        if not read_only:
            p.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(p), read_only=read_only)
    except (duckdb.Error, OSError) as ex:
        raise StoreError(
            f"cannot open the usage database {p}: {ex}. Point OPENTCO_DB or --db at a writable file, "
            "or move the damaged file aside to start a fresh one."
        ) from None
    if not read_only:
        _migrate(con)
    return con


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
