"""`opentco eval` (run a task set against endpoints), `eval-runs`, `eval-delete` and `eval-from-logs`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import click
import typer
from pydantic import ValidationError

from costmodel.cli._common import echo_json, user_errors
from costmodel.cli._store import DB_OPTION, cli_actor, on_existing_store
from costmodel.errors import render_validation_error
from costmodel.evals import (
    EvalInputError,
    Progress,
    RunSettings,
    RunSummary,
    delete_run,
    list_runs,
    load_tasks,
    parse_target,
    run_eval,
    summarise,
    tasks_from_logs,
)
from costmodel.store import connect, db_path

__all__ = ["register"]


def _pct(x: float) -> str:
    return f"{x * 100:5.1f}%"


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}"


def _tokens(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}"


def _table(summary: RunSummary) -> str:
    metric = summary.metric_label
    lines = [
        f"{'target':<20} {'n':>5} {metric[:18]:>18} {'95% interval':>17} {'in tok':>7} {'out tok':>7} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'errors':>6}"
    ]
    for t in summary.targets:
        lines.append(
            f"{t.label[:20]:<20} {t.n:>5} {_pct(t.accuracy):>18} {_pct(t.ci_low) + ' – ' + _pct(t.ci_high):>17} "
            f"{_tokens(t.mean_input_tokens):>7} {_tokens(t.mean_output_tokens):>7} {_ms(t.p50_latency_ms):>7} "
            f"{_ms(t.p95_latency_ms):>7} {t.errors:>6}"
        )
    classes = sorted({c for t in summary.targets for c in t.by_task_class})
    if classes:
        lines += ["", f"{metric} per task class (n):"]
        lines.append(f"{'class':<20}" + "".join(f"{t.label[:22]:>24}" for t in summary.targets))
        for c in classes:
            cells = []
            for t in summary.targets:
                cs = t.by_task_class.get(c)
                cells.append(f"{_pct(cs.accuracy).strip()} ({cs.n})" if cs else "—")
            lines.append(f"{c[:20]:<20}" + "".join(f"{x:>24}" for x in cells))
    for p in summary.paired_comparison:
        sig = "significant" if p.significant else "not significant"
        lines.append(
            f"{p.label} vs {p.baseline}: {p.difference * 100:+.1f} points (95% {p.ci_low * 100:+.1f} to "
            f"{p.ci_high * 100:+.1f}) on {p.n_pairs} paired tasks; exact McNemar p = {p.p_value:.3g}, {sig}"
        )
    return "\n".join(lines)


class _Reporter:
    """A progress bar on a terminal; one line per stored batch otherwise (CI logs, pipes)."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._shown = 0
        self._stored = -1
        self._tty = sys.stderr.isatty()

    def __call__(self, p: Progress) -> None:
        if self._tty:
            if self._bar is None:
                self._bar = click.progressbar(length=max(p.total, 1), label="evaluating", file=sys.stderr)
                self._bar.__enter__()
            self._bar.update(p.done - self._shown)
            self._shown = p.done
        elif p.stored != self._stored:
            self._stored = p.stored
            typer.echo(f"run #{p.run_id}: {p.stored}/{p.total} stored, {p.errors} errors", err=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@user_errors
def eval_cmd(
    tasks: Annotated[Path, typer.Argument(help="Task set: JSON lines or CSV (see the README's format).")],
    target: Annotated[
        list[str],
        typer.Option(help='"LABEL=BASE_URL,model=NAME[,api_key_env=VAR][,stream=false]"; repeat; first = baseline.'),
    ],
    judge: Annotated[
        str | None, typer.Option(help='Judge endpoint for judge-scored tasks: "LABEL=BASE_URL,model=NAME[,…]".')
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight per target.")] = 8,
    limit: Annotated[int | None, typer.Option(help="Run only the first N tasks.")] = None,
    max_tokens: Annotated[int, typer.Option(help="Answer length cap (a task's max_tokens wins).")] = 1024,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.0,
    timeout: Annotated[float, typer.Option(help="Seconds one request may take.")] = 120.0,
    retries: Annotated[int, typer.Option(help="Retries after 429, 5xx, timeouts, malformed answers.")] = 5,
    fresh: Annotated[bool, typer.Option(help="Start a new run instead of resuming the same one.")] = False,
    db: Annotated[Path | None, DB_OPTION] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Run a task set against OpenAI-compatible endpoints; score, store and compare (re-run to resume).

    Exit codes: 0 done; 1 a target refused every request (HTTP 401/403/404); 2 bad input; 130 stopped
    with Ctrl-C (finished items are kept: run the same command again to continue).
    """
    task_set = load_tasks(tasks)
    for line in task_set.errors:
        typer.echo(f"skipped {line}", err=True)
    try:
        settings = RunSettings(
            targets=[parse_target(t) for t in target],
            judge=parse_target(judge, what="--judge") if judge else None,
            concurrency=concurrency,
            limit=limit,
            max_tokens=max_tokens,
            temperature=temperature,
            timeout_s=timeout,
            max_retries=retries,
        )
    except ValidationError as ex:
        raise EvalInputError(render_validation_error(ex, source="eval")) from None
    con = connect(db)  # before the run: a locked or unwritable store fails now, not after the calls
    progress = Progress()
    reporter = _Reporter()
    try:
        outcome = run_eval(
            con, task_set=task_set, settings=settings, resume=not fresh, on_progress=reporter, progress=progress
        )
    except KeyboardInterrupt:
        reporter.close()
        con.close()
        typer.echo(
            f"stopped: {progress.stored} item(s) of run #{progress.run_id} kept in {db_path(db)}; "
            "run the same command again to continue",
            err=True,
        )
        raise typer.Exit(130) from None
    reporter.close()
    summary = summarise(con, outcome.run_id)
    con.close()
    if outcome.resumed and outcome.skipped:
        typer.echo(f"resumed run #{outcome.run_id}: {outcome.skipped} item(s) answered before were skipped", err=True)
    if json_out:
        echo_json(
            {
                "run_id": summary.run_id,
                "scoring": summary.metric_label,
                "targets": [t.cli_json() for t in summary.targets],
                "paired_comparison": [p.model_dump() for p in summary.paired_comparison],
            }
        )
    else:
        if summary.scoring == "agreement":
            typer.echo("References are the current model's logged answers: scores are agreement with it.")
        typer.echo(_table(summary))
        typer.echo(f"stored as evaluation run #{summary.run_id} in {db_path(db)}")
    for label, why in outcome.stopped_targets.items():
        typer.echo(f"target {label!r} was stopped: {why}", err=True)
    if outcome.stopped_targets:
        raise typer.Exit(1)


@user_errors
def runs_cmd(
    db: Annotated[Path | None, DB_OPTION] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List stored evaluation runs (newest first)."""
    con = connect(db)
    runs = list_runs(con)
    con.close()
    if json_out:
        echo_json(
            [
                {
                    "run_id": r.run_id,
                    "task_set": r.task_set_name,
                    "scoring": r.scoring,
                    "targets": [t.label for t in r.settings.targets],
                    "tasks": r.task_count,
                    "results": r.results,
                    "status": r.status,
                    "created_at": r.created_at,
                }
                for r in runs
            ]
        )
        return
    if not runs:
        typer.echo("no evaluation run stored")
    for r in runs:
        labels = ", ".join(t.label for t in r.settings.targets)
        typer.echo(
            f"#{r.run_id}  {r.created_at:%Y-%m-%d %H:%M}  {r.task_set_name}  {r.task_count} tasks × [{labels}]  "
            f"{r.results} results  {r.status}"
        )


@user_errors
def delete_cmd(
    run_id: Annotated[int, typer.Argument(help="Run number (`opentco eval-runs`).")],
    db: Annotated[Path | None, DB_OPTION] = None,
) -> None:
    """Delete an evaluation run with its prompts, references and answers (recorded in the audit trail)."""
    store = db_path(db)
    on_existing_store(store, lambda con: delete_run(con, run_id, actor=cli_actor(store)))
    typer.echo(f"deleted evaluation run #{run_id}")


@user_errors
def from_logs_cmd(
    export: Annotated[Path, typer.Argument(help="Langfuse generations or LiteLLM spend-logs export (CSV/JSON).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Task set to write (JSON lines).")],
    per_group: Annotated[int, typer.Option(help="Tasks sampled per model (or project).")] = 20,
    by: Annotated[str, typer.Option(help="Group by `model` or `project`.")] = "model",
    scorer: Annotated[str, typer.Option(help="`judge` (needs --judge when run), `exact` or `contains`.")] = "judge",
    seed: Annotated[int, typer.Option(help="Sampling seed (same file + seed = same tasks).")] = 0,
) -> None:
    """Opt-in: sample logged prompts with today's answers as references (scores then mean agreement)."""
    if by not in ("model", "project"):
        raise EvalInputError("--by is model or project")
    if scorer not in ("judge", "exact", "contains"):
        raise EvalInputError("--scorer is judge, exact or contains")
    try:
        data = export.read_bytes()
    except OSError as ex:
        raise EvalInputError(f"cannot read {export}: {ex.strerror or ex}") from None
    group: Literal["model", "project"] = "model" if by == "model" else "project"
    kinds: dict[str, Literal["exact", "contains", "judge"]] = {"judge": "judge", "exact": "exact"}
    kind = kinds.get(scorer, "contains")
    task_set, jsonl, sample = tasks_from_logs(
        data, name=export.name, per_group=per_group, group_by=group, scorer=kind, seed=seed
    )
    out.write_bytes(jsonl)
    groups = ", ".join(f"{g} ({n})" for g, n in sample.groups.items())
    typer.echo(f"{len(task_set.tasks)} tasks from {sample.rows_usable} usable rows of {sample.rows_read}: {groups}")
    for reason, n in sample.skipped.items():
        typer.echo(f"  left out {n}: {reason}")
    typer.echo(f"wrote {out}; scores on it measure agreement with the current model")


def register(app: typer.Typer) -> None:
    """Add `eval`, `eval-runs`, `eval-delete` and `eval-from-logs` to `app`."""
    app.command("eval")(eval_cmd)
    app.command("eval-runs")(runs_cmd)
    app.command("eval-delete")(delete_cmd)
    app.command("eval-from-logs")(from_logs_cmd)
