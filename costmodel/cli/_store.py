"""Which store a command writes, and who the audit trail names for it.

A team deployment keeps one store per workspace (`costmodel.workspaces`). Operators reach those files from
the command line too: a nightly bulk import, an `opentco rollup` output, a deletion asked for by email.
Those writes belong in the same trail as the dashboard's, so every command that imports, exports from or
deletes in a store names who ran it and the workspace the store belongs to.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import duckdb
import typer

from costmodel.audit import Actor
from costmodel.errors import CostModelError
from costmodel.store import connect, db_path
from costmodel.workspaces import workspace_store_path, workspaces_dir

__all__ = [
    "ACTOR_ENV",
    "DB_OPTION",
    "SINGLE_USER_WORKSPACE",
    "WORKSPACE_OPTION",
    "cli_actor",
    "on_existing_store",
    "store_path",
]

T = TypeVar("T")

ACTOR_ENV = "OPENTCO_ACTOR"
"""Environment variable naming who runs the command (e.g. an email address), for the audit trail."""

SINGLE_USER_WORKSPACE = "default"
"""The workspace the trail names for a store outside the workspaces folder (the single-user store)."""

DB_OPTION = typer.Option("--db", help="DuckDB file (default: $OPENTCO_DB, else var/opentco.duckdb).")
WORKSPACE_OPTION = typer.Option(
    "--workspace",
    help="A team workspace's store (var/workspaces/NAME.duckdb beside the default store) instead of --db.",
)


def store_path(db: Path | None, workspace: str | None) -> Path:
    """The store a command uses: `--workspace NAME`'s file, else `--db`, else the default store."""
    if workspace is not None and db is not None:
        raise CostModelError("give --db PATH or --workspace NAME, not both")
    if workspace is not None:
        return workspace_store_path(workspace)
    return db_path(db)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user with no passwd entry and no $USER
        return f"uid{os.getuid()}"


def cli_actor(store: Path, *, env: Mapping[str, str] | None = None) -> Actor:
    """Who runs this command, in which workspace.

    `who` is `$OPENTCO_ACTOR` when set (an operator's email, a job's name), else `cli:<login>@<host>`: the
    command line has no sign-in, so the trail names the account that ran it. `workspace` is the store's
    name when it lives in the workspaces folder (or any folder named `workspaces`), else `default`.
    """
    environ = os.environ if env is None else env
    who = (environ.get(ACTOR_ENV) or "").strip() or f"cli:{_login()}@{socket.gethostname()}"
    in_workspaces = store.parent.name == "workspaces" or store.parent.resolve() == workspaces_dir().resolve()
    return Actor(who=who, workspace=store.stem if in_workspaces else SINGLE_USER_WORKSPACE)


def on_existing_store(store: Path, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """`fn` on the store, which must exist: a listing, a trail or a deletion never creates an empty one."""
    if not store.exists():
        raise CostModelError(f"{store}: no such store; import logs into it with `opentco import` first")
    con = connect(store)
    try:
        return fn(con)
    finally:
        con.close()
