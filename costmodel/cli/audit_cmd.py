"""`opentco audit`: a store's audit trail (imports, exports, deletions) from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from costmodel.audit import audit_csv, audit_entries
from costmodel.cli._common import echo_json, user_errors
from costmodel.cli._store import DB_OPTION, WORKSPACE_OPTION, on_existing_store, store_path
from costmodel.errors import CostModelError

__all__ = ["register"]


@user_errors
def audit_cmd(
    db: Annotated[Path | None, DB_OPTION] = None,
    workspace: Annotated[str | None, WORKSPACE_OPTION] = None,
    limit: Annotated[int, typer.Option(min=1, help="Newest lines to show.")] = 1000,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Write the lines as CSV here (text a spreadsheet would run is quoted).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Who imported, exported or deleted what in a store, when, with each file's SHA-256 (newest first)."""
    entries = on_existing_store(store_path(db, workspace), lambda con: audit_entries(con, limit=limit))
    if csv_out is not None:
        try:
            csv_out.write_bytes(audit_csv(entries))
        except OSError as ex:
            raise CostModelError(f"cannot write {csv_out}: {ex.strerror}") from None
        typer.echo(f"wrote {csv_out} ({len(entries)} lines)")
        return
    if as_json:
        echo_json([e.model_dump(mode="python") for e in entries])
        return
    if not entries:
        typer.echo("Nothing recorded in this store yet.")
    for e in entries:
        rows = f"{e.rows:,} rows" if e.rows is not None else ""
        sha = e.sha256[:12] if e.sha256 else "-"
        typer.echo(
            f"#{e.id:<5} {e.happened_at:%Y-%m-%d %H:%M:%S}  {e.workspace:<12} {e.who:<32} {e.action.value:<7} "
            f"{rows:>14}  {sha:<12}  {e.subject}"
        )


def register(app: typer.Typer) -> None:
    """Add `audit` to `app`."""
    app.command("audit")(audit_cmd)
