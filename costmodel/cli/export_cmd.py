"""`opentco export SCENARIO.json --xlsx case.xlsx [--html summary.html] [--db PATH]`: the business case."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import duckdb
import typer

from costmodel.audit import AuditAction, record, sha256_of
from costmodel.cli._common import user_errors
from costmodel.cli._store import cli_actor, on_existing_store
from costmodel.errors import CostModelError, ScenarioError
from costmodel.export import to_html, to_xlsx, usage_summary
from costmodel.export.usage import UsageSummary
from costmodel.scenario import load_scenario
from costmodel.store import connect, db_path
from costmodel.tco import evaluate

__all__ = ["register"]


def _usage(db: Path | None) -> UsageSummary | None:
    """Stored usage, if the database exists (an export never creates one)."""
    path = db_path(db)
    if not path.exists():
        if db is not None:
            raise ScenarioError(f"--db {db}: no such database file; import logs with `opentco usage import` first")
        return None
    con = connect(path, read_only=True)
    try:
        return usage_summary(con, source=str(path))
    finally:
        con.close()


def _record_export(store: Path, *, file_name: str, data: bytes) -> None:
    """Add the export's line to the store's trail. A store this command may only read (a read-only volume, a
    file another tool wrote) still gives its workbook: the line's absence is said on stderr, not hidden."""
    actor = cli_actor(store)
    try:
        on_existing_store(
            store,
            lambda con: record(
                con, action=AuditAction.EXPORT, who=actor.who, workspace=actor.workspace, subject=file_name,
                sha256=sha256_of(data),
            ),
        )  # fmt: skip
    except (CostModelError, duckdb.Error, OSError) as ex:
        typer.echo(f"warning: {file_name} is written, but its audit line is not: {ex}", err=True)


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as ex:
        raise ScenarioError(f"cannot write {path}: {ex.strerror}") from None


def register(app: typer.Typer) -> None:
    @app.command("export")
    @user_errors
    def export_command(
        scenario: Annotated[Path, typer.Argument(help="Scenario JSON file (see data/scenarios/).")],
        xlsx: Annotated[
            Path | None, typer.Option("--xlsx", help="Write the Excel business case (live formulas) here.")
        ] = None,
        html: Annotated[Path | None, typer.Option("--html", help="Write the one-page executive summary here.")] = None,
        db: Annotated[
            Path | None, typer.Option("--db", help="Usage database for the Usage sheet (default: $OPENTCO_DB).")
        ] = None,
    ) -> None:
        """Business case for finance: an Excel workbook of live formulas and a one-page HTML summary."""
        if xlsx is None and html is None:
            raise typer.BadParameter("give --xlsx PATH, --html PATH or both")
        s = load_scenario(scenario)
        r = evaluate(s)
        if xlsx is not None:
            usage = _usage(db)
            book = to_xlsx(s, result=r, usage=usage)
            _write(xlsx, book)
            if usage is not None:  # the workbook carries the store's usage: the store's trail says who took it
                _record_export(db_path(db), file_name=xlsx.name, data=book)
            typer.echo(f"wrote {xlsx}" + (f" (usage: {len(usage.by_model)} model-months)" if usage else ""))
        if html is not None:
            _write(html, to_html(s, result=r).encode("utf-8"))
            typer.echo(f"wrote {html}")
