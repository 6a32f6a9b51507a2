"""`opentco import FILE…` and `opentco usage …`: usage logs from the command line, and deleting an import."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from costmodel.audit import delete_import
from costmodel.cli._common import echo_json, user_errors
from costmodel.cli._store import DB_OPTION, WORKSPACE_OPTION, cli_actor, on_existing_store, store_path
from costmodel.cli.fleet_cmd import fleet_cmd
from costmodel.errors import CostModelError
from costmodel.importers import IMPORTERS
from costmodel.store import connect
from costmodel.usage import ImportResult, RowsRejected, import_file, import_history, summarize
from costmodel.usage.folders import log_files
from costmodel.usage.summary import MIN_PEAK_DAYS

__all__ = ["register"]

_FORMATS = ", ".join(i.name for i in IMPORTERS)


def _write_rejects(result: ImportResult, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"{Path(result.file_name).name}.rejects.csv"
    out.write_bytes(result.reject_csv())
    return out


@user_errors
def import_cmd(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Usage-log files (.gz accepted), or folders of them (e.g. an `opentco rollup` output).",
            show_default=False,
        ),
    ],
    format_name: Annotated[
        str | None, typer.Option("--format", help=f"Skip detection and read every file as: {_FORMATS}.")
    ] = None,
    db: Annotated[Path | None, DB_OPTION] = None,
    workspace: Annotated[str | None, WORKSPACE_OPTION] = None,
    rejects_dir: Annotated[
        Path, typer.Option("--rejects-dir", help="Where `<file>.rejects.csv` files are written.")
    ] = Path("."),
) -> None:
    """Import usage-log files: each in one transaction, each file once, each request id once.

    Each import's audit line (who: $OPENTCO_ACTOR, else cli:<login>@<host>; the file's SHA-256) is written in
    the import's own transaction.
    """
    inputs = log_files(files)
    store = store_path(db, workspace)
    actor = cli_actor(store)
    con = connect(store)
    failed = 0
    try:
        for path, name in inputs:
            try:
                result = import_file(con, path, file_name=name, format_name=format_name, actor=actor)
            except RowsRejected as ex:
                failed += 1
                typer.echo(f"error: {ex} Rejects: {_write_rejects(ex.result, rejects_dir)}", err=True)
                continue
            except CostModelError as ex:
                failed += 1
                typer.echo(f"error: {ex}", err=True)
                continue
            line = result.summary()
            if result.rows_rejected:
                line += f" (reasons: {_write_rejects(result, rejects_dir)})"
            typer.echo(line)
    finally:
        con.close()
    if failed:
        raise typer.Exit(2)


@user_errors
def summary_cmd(
    db: Annotated[Path | None, DB_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Totals, peak ratio, growth and reported vs recomputed cost of everything imported."""
    con = connect(db)
    try:
        s = summarize(con)
    finally:
        con.close()
    if as_json:
        echo_json(s.model_dump(mode="python"))
        return
    if not s.rows:
        typer.echo("No usage imported yet: `opentco import FILE…`.")
        return
    typer.echo(f"{s.rows:,} rows from {s.imports} import(s), {s.first_ts:%Y-%m-%d} to {s.last_ts:%Y-%m-%d} (UTC)")
    requests = f"{s.requests:,}" if s.requests is not None else "not counted by these logs"
    typer.echo(f"requests: {requests}")
    writes = f", {s.cache_write_tokens:,} written to the prompt cache" if s.cache_write_tokens else ""
    typer.echo(
        f"tokens: {s.input_tokens:,} input ({s.cached_input_tokens:,} cached{writes}), {s.output_tokens:,} output"
    )
    if s.proxy_cache_requests:
        plural = "" if s.proxy_cache_requests == 1 else "s"
        typer.echo(
            f"served from the proxy cache: {s.proxy_cache_requests:,} request{plural}, {s.proxy_cache_tokens:,} "
            "tokens (no provider called; not in the totals above)"
        )
    peak = (
        f"{s.peak_to_average:.2f}"
        if s.peak_to_average is not None
        else f"n/a (needs {MIN_PEAK_DAYS} days of hourly data; the logs have {s.hourly_days})"
    )
    growth = f"{s.monthly_growth_pct:+.1f} %/month" if s.monthly_growth_pct is not None else "n/a (< 2 full months)"
    typer.echo(f"peak-to-average (p95 hour / mean hour): {peak}; growth: {growth}")
    reported = f"${s.reported_cost_usd:,.2f}" if s.reported_cost_usd is not None else "none reported"
    typer.echo(f"cost: reported {reported}, recomputed with genai-prices ${s.recomputed_cost_usd:,.2f}")
    if s.flagged_rows:
        verb = "row differs" if s.flagged_rows == 1 else "rows differ"
        typer.echo(f"{s.flagged_rows:,} {verb} from the recomputed cost by more than 1 %")
    if s.unknown_models:
        typer.echo(f"models genai-prices does not price (kept, not costed): {', '.join(s.unknown_models)}")
    for m in s.by_model:
        typer.echo(
            f"  {(m.provider or '?') + '/' + m.model:<50} {m.input_tokens:>15,} in {m.output_tokens:>14,} out  "
            + (f"${m.recomputed_cost_usd:,.2f}" if m.recomputed_cost_usd is not None else "unpriced")
        )


@user_errors
def workload_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario JSON whose workload the logs replace.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the updated scenario here.")] = None,
    start: Annotated[
        datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="First day of the period (UTC).")
    ] = None,
    end: Annotated[
        datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day of the period (UTC), inclusive.")
    ] = None,
    db: Annotated[Path | None, DB_OPTION] = None,
) -> None:
    """Put the workload measured in the logs (volume, token mix, cached share, peak ratio, growth) into a scenario.

    The period is the last full month, unless it holds less than half the mean full month (then the mean of the
    full months), or the days given with --from/--to.
    """
    from costmodel.scenario import load_scenario
    from costmodel.usage.workload import measure_workload

    s = load_scenario(scenario)
    con = connect(db)
    try:
        measured = measure_workload(
            con, base=s.workload, start=start.date() if start else None, end=end.date() if end else None
        )
    finally:
        con.close()
    w = measured.workload
    typer.echo(f"period: {measured.period_label} ({measured.basis})", err=True)
    for warning in measured.warnings:
        typer.echo(f"warning: {warning}", err=True)
    updated = s.model_copy(update={"workload": w})
    text = updated.model_dump_json(indent=2)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        typer.echo(
            f"wrote {out}: {w.requests_per_month:,.0f} requests/month, {w.input_tokens_per_request} in / "
            f"{w.output_tokens_per_request} out tokens, cached {w.cached_input_share:.0%}, "
            f"peak ÷ mean {w.peak_to_average:.2f}, growth {w.monthly_growth_pct:+.1f} %/month"
        )


@user_errors
def replay_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario JSON whose options the logged months are priced under.")],
    db: Annotated[Path | None, DB_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What each logged month would have cost under each option of a scenario."""
    from costmodel.scenario import load_scenario
    from costmodel.usage.replay import replay, replay_totals

    s = load_scenario(scenario)
    con = connect(db)
    try:
        months = replay(con, s)
    finally:
        con.close()
    if as_json:
        echo_json([m.model_dump(mode="python") for m in months])
        return
    names = [o.name for o in s.options]

    def line(label: str, cost_usd: dict[str, Decimal], reported_usd: Decimal | None) -> str:
        cells = "".join(f"{'$' + format(cost_usd[n], ',.2f'):>24}" for n in names)
        rep = f"${reported_usd:,.2f}" if reported_usd is not None else "—"
        return f"{label:<10}{cells}{rep:>14}"

    typer.echo("month     " + "".join(f"{n[:22]:>24}" for n in names) + f"{'reported':>14}")
    for m in months:
        typer.echo(line(f"{m.month:%Y-%m}{'' if m.full else '*'}", m.cost_usd, m.reported_cost_usd))
    t = replay_totals(months)
    typer.echo(line("total", t.cost_usd, t.reported_cost_usd))
    typer.echo(f"Cheapest over the {t.months} logged month(s): {t.cheapest}")
    if any(not m.full for m in months):
        typer.echo("* partial month: volume as logged, not scaled")


@user_errors
def history_cmd(
    scenario: Annotated[
        Path | None, typer.Argument(help="Scenario JSON whose options each month is also priced under.")
    ] = None,
    db: Annotated[Path | None, DB_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Each logged month priced four ways: reported, list price in force then, today's list price, each option."""
    from costmodel.scenario import load_scenario
    from costmodel.usage.replay import replay
    from costmodel.usage.reprice import reprice

    s = load_scenario(scenario) if scenario else None
    con = connect(db)
    try:
        h = reprice(con, replayed=replay(con, s) if s else ())
    finally:
        con.close()
    if as_json:
        echo_json(h.model_dump(mode="python"))
        return
    names = [o.name for o in s.options] if s else []

    def usd(v: Decimal | None) -> str:
        return "—" if v is None else f"${v:,.2f}"

    head = f"{'month':<9}{'reported':>14}{'in force':>14}{'today':>14}" + "".join(f"{n[:22]:>24}" for n in names)
    typer.echo(head + "  flag")
    for m in h.months:
        cells = "".join(f"{usd(m.options_cost_usd.get(n)):>24}" for n in names)
        flag = f"  reported {m.difference_pct:+.0f} % vs in force" if m.flagged and m.difference_pct is not None else ""
        line = f"{m.month:%Y-%m}  {usd(m.reported_cost_usd):>14}{usd(m.in_force_cost_usd):>14}"
        typer.echo(line + f"{usd(m.today_cost_usd):>14}{cells}{flag}")
    typer.echo(f"List prices: genai-prices {h.genai_prices_version}; today = {h.today}.")
    if h.unknown_models:
        typer.echo(f"Not in any list-price column (genai-prices does not price them): {', '.join(h.unknown_models)}")


@user_errors
def imports_cmd(
    db: Annotated[Path | None, DB_OPTION] = None,
    workspace: Annotated[str | None, WORKSPACE_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every import of the store, newest first: id, file, SHA-256 and rows (the ids `usage delete` takes)."""
    history = on_existing_store(store_path(db, workspace), import_history)
    if as_json:
        echo_json([h.model_dump(mode="python") for h in history])
        return
    if not history:
        typer.echo("No import in this store.")
    for h in history:
        typer.echo(
            f"#{h.id:<5} {h.imported_at:%Y-%m-%d %H:%M}  {h.row_count:>12,} rows  {h.format:<20} "
            f"{h.sha256[:12]}  {h.file_name}"
        )


@user_errors
def delete_cmd(
    import_id: Annotated[int, typer.Argument(help="Import id (`opentco usage imports`).", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: the rows cannot be brought back.")] = False,
    db: Annotated[Path | None, DB_OPTION] = None,
    workspace: Annotated[str | None, WORKSPACE_OPTION] = None,
) -> None:
    """Delete an import and every row it brought, with its audit line, in one transaction."""
    if not yes:
        raise typer.BadParameter("deleting cannot be undone; add --yes to confirm", param_hint="--yes")
    store = store_path(db, workspace)
    actor = cli_actor(store)
    entry = on_existing_store(
        store, lambda con: delete_import(con, import_id=import_id, who=actor.who, workspace=actor.workspace)
    )
    typer.echo(f"deleted {entry.subject}: {entry.rows:,} usage rows (audit line #{entry.id}, by {entry.who})")


def register(app: typer.Typer) -> None:
    """Add `import` and the `usage` group (summary, workload, replay, history, fleet, imports, delete) to `app`."""
    app.command("import")(import_cmd)
    usage = typer.Typer(help="What the imported usage logs say.", no_args_is_help=True)
    usage.command("summary")(summary_cmd)
    usage.command("workload")(workload_cmd)
    usage.command("replay")(replay_cmd)
    usage.command("history")(history_cmd)
    usage.command("fleet")(fleet_cmd)
    usage.command("imports")(imports_cmd)
    usage.command("delete")(delete_cmd)
    app.add_typer(usage, name="usage")
