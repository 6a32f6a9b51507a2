"""Stored runs: create or resume one, save finished items in batches, read them back, delete a run.

Items are written as they finish, in batches (an Arrow table inserted at once: row-by-row inserts cost
~2.6 ms each in DuckDB, more than the whole client overhead per item). A killed run keeps every batch
written before the kill; a run stopped with Ctrl-C writes what is pending first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from typing import Any

import duckdb
import pyarrow as pa

import costmodel.evals.schema  # noqa: F401  - registers the tables
from costmodel._base import StrictModel
from costmodel.audit import Actor, AuditAction, record_in_transaction
from costmodel.evals.errors import EvalRunError
from costmodel.evals.targets import RunSettings
from costmodel.evals.tasks import Task, TaskSet
from costmodel.store import writing

__all__ = [
    "ItemResult",
    "RunInfo",
    "RunStart",
    "delete_run",
    "finish_run",
    "list_runs",
    "load_results",
    "load_run",
    "load_run_tasks",
    "result_table",
    "save_results",
    "start_run",
]


@dataclasses.dataclass(slots=True)
class ItemResult:
    """One task answered (or failed) by one target."""

    task_id: str
    target_label: str
    passed: bool | None
    score: float | None
    field_scores: dict[str, bool] | None
    answer: str | None
    detail: str | None
    ttft_ms: float | None
    latency_ms: float | None
    input_tokens: int | None
    output_tokens: int | None
    reasoning_tokens: int | None
    attempts: int
    error: str | None
    task_class: str = ""
    """Filled when read back (joined from the run's tasks); not stored twice."""


_SCHEMA = pa.schema(
    [
        ("run_id", pa.int64()),
        ("task_id", pa.string()),
        ("target_label", pa.string()),
        ("passed", pa.bool_()),
        ("score", pa.float64()),
        ("field_scores_json", pa.string()),
        ("answer", pa.string()),
        ("detail", pa.string()),
        ("ttft_ms", pa.float64()),
        ("latency_ms", pa.float64()),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("reasoning_tokens", pa.int64()),
        ("attempts", pa.int32()),
        ("error", pa.string()),
        ("finished_at", pa.timestamp("us")),
    ]
)


class RunInfo(StrictModel):
    """A stored run, without its items."""

    run_id: int
    task_set_name: str
    task_set_sha256: str
    scoring: str
    """`reference` (accuracy) or `agreement` (references are a current model's logged answers)."""
    settings: RunSettings
    task_count: int
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    results: int = 0
    """Items stored (answered or failed), all targets together."""


class RunStart(StrictModel):
    """Where a run starts: its id, whether it resumes, and the items already answered."""

    run_id: int
    resumed: bool
    done: set[tuple[str, str]]
    """(task id, target label) pairs answered before (failed items are not in it: they run again)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def start_run(
    con: duckdb.DuckDBPyConnection, *, task_set: TaskSet, tasks: list[Task], settings: RunSettings, resume: bool = True
) -> RunStart:
    """Create a run, or resume the latest one of the same task set and answer-changing settings.

    `tasks` are the ones this run will ask (the first `limit`); a resumed run adds the tasks it did not have.
    """
    key = settings.run_key(task_set.sha256)
    scoring = "agreement" if task_set.agreement else "reference"
    with writing():
        con.execute("BEGIN TRANSACTION")
        try:
            row = (
                con.execute("SELECT id FROM eval_runs WHERE run_key = ? ORDER BY id DESC LIMIT 1", [key]).fetchone()
                if resume
                else None
            )
            now = _now()
            if row is None:
                (run_id,) = con.execute(
                    "INSERT INTO eval_runs (run_key, task_set_name, task_set_sha256, scoring, settings_json, "
                    "task_count, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, 'running', ?, ?) "
                    "RETURNING id",
                    [key, task_set.name, task_set.sha256, scoring, settings.model_dump_json(), now, now],
                ).fetchone()  # type: ignore[misc]
            else:
                run_id = row[0]
                # speed and limits may differ from the first attempt; keep the latest
                con.execute(
                    "UPDATE eval_runs SET settings_json = ?, status = 'running', updated_at = ? WHERE id = ?",
                    [settings.model_dump_json(), now, run_id],
                )
            have = {r[0] for r in con.execute("SELECT task_id FROM eval_tasks WHERE run_id = ?", [run_id]).fetchall()}
            position = {t.id: i for i, t in enumerate(task_set.tasks)}
            new = [t for t in tasks if t.id not in have]
            if new:
                batch = pa.table(
                    {
                        "run_id": [run_id] * len(new),
                        "task_id": [t.id for t in new],
                        "position": [position[t.id] for t in new],
                        "task_class": [t.task_class for t in new],
                        "scorer": [t.scorer for t in new],
                        "task_json": [t.model_dump_json() for t in new],
                    }
                )
                con.register("_eval_new_tasks", batch)
                con.execute("INSERT INTO eval_tasks SELECT * FROM _eval_new_tasks")
                con.unregister("_eval_new_tasks")
            con.execute(
                "UPDATE eval_runs SET task_count = (SELECT count(*) FROM eval_tasks WHERE run_id = ?) WHERE id = ?",
                [run_id, run_id],
            )
            done = {
                (r[0], r[1])
                for r in con.execute(
                    "SELECT task_id, target_label FROM eval_results WHERE run_id = ? AND error IS NULL", [run_id]
                ).fetchall()
            }
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return RunStart(run_id=run_id, resumed=row is not None, done=done)


def save_results(con: duckdb.DuckDBPyConnection, *, run_id: int, items: list[ItemResult]) -> None:
    """Store finished items in one insert (an item answered again replaces its failed row)."""
    if not items:
        return
    now = _now()
    cols: dict[str, list[Any]] = {name: [] for name in _SCHEMA.names}
    for it in items:
        cols["run_id"].append(run_id)
        cols["task_id"].append(it.task_id)
        cols["target_label"].append(it.target_label)
        cols["passed"].append(it.passed)
        cols["score"].append(it.score)
        cols["field_scores_json"].append(json.dumps(it.field_scores) if it.field_scores is not None else None)
        cols["answer"].append(it.answer)
        cols["detail"].append(it.detail)
        cols["ttft_ms"].append(it.ttft_ms)
        cols["latency_ms"].append(it.latency_ms)
        cols["input_tokens"].append(it.input_tokens)
        cols["output_tokens"].append(it.output_tokens)
        cols["reasoning_tokens"].append(it.reasoning_tokens)
        cols["attempts"].append(it.attempts)
        cols["error"].append(it.error)
        cols["finished_at"].append(now)
    batch = pa.table(cols, schema=_SCHEMA)
    with writing():
        con.register("_eval_batch", batch)
        try:
            con.execute("INSERT OR REPLACE INTO eval_results SELECT * FROM _eval_batch")
        finally:
            con.unregister("_eval_batch")


def finish_run(con: duckdb.DuckDBPyConnection, *, run_id: int, status: str) -> None:
    """Mark the run `finished` or `stopped` (Ctrl-C, Stop button, a target that refused every request)."""
    with writing():
        con.execute("UPDATE eval_runs SET status = ?, updated_at = ? WHERE id = ?", [status, _now(), run_id])


_RUN_COLUMNS = (
    "r.id, r.task_set_name, r.task_set_sha256, r.scoring, r.settings_json, r.task_count, r.status, r.created_at, "
    "r.updated_at, (SELECT count(*) FROM eval_results x WHERE x.run_id = r.id)"
)


def _run_info(row: tuple[Any, ...]) -> RunInfo:
    return RunInfo(
        run_id=row[0],
        task_set_name=row[1],
        task_set_sha256=row[2],
        scoring=row[3],
        settings=RunSettings.model_validate_json(row[4]),
        task_count=row[5],
        status=row[6],
        created_at=row[7],
        updated_at=row[8],
        results=row[9],
    )


def list_runs(con: duckdb.DuckDBPyConnection) -> list[RunInfo]:
    """Every stored run, newest first."""
    rows = con.execute(f"SELECT {_RUN_COLUMNS} FROM eval_runs r ORDER BY r.id DESC").fetchall()
    return [_run_info(r) for r in rows]


def load_run(con: duckdb.DuckDBPyConnection, run_id: int) -> RunInfo:
    """One stored run.

    Raises:
        EvalRunError: there is no such run.
    """
    row = con.execute(f"SELECT {_RUN_COLUMNS} FROM eval_runs r WHERE r.id = ?", [run_id]).fetchone()
    if row is None:
        raise EvalRunError(f"there is no evaluation run #{run_id} (`opentco eval-runs` lists them)")
    return _run_info(row)


def load_results(con: duckdb.DuckDBPyConnection, run_id: int) -> list[ItemResult]:
    """Every item of a run, in task order then target order; answers included (they stay on this machine)."""
    rows = con.execute(
        "SELECT x.task_id, x.target_label, x.passed, x.score, x.field_scores_json, x.answer, x.detail, x.ttft_ms, "
        "x.latency_ms, x.input_tokens, x.output_tokens, x.reasoning_tokens, x.attempts, x.error, t.task_class "
        "FROM eval_results x JOIN eval_tasks t ON t.run_id = x.run_id AND t.task_id = x.task_id "
        "WHERE x.run_id = ? ORDER BY t.position, x.target_label",
        [run_id],
    ).fetchall()
    return [
        ItemResult(
            task_id=r[0],
            target_label=r[1],
            passed=r[2],
            score=r[3],
            field_scores=json.loads(r[4]) if r[4] else None,
            answer=r[5],
            detail=r[6],
            ttft_ms=r[7],
            latency_ms=r[8],
            input_tokens=r[9],
            output_tokens=r[10],
            reasoning_tokens=r[11],
            attempts=r[12],
            error=r[13],
            task_class=r[14],
        )
        for r in rows
    ]


def load_run_tasks(con: duckdb.DuckDBPyConnection, run_id: int) -> list[Task]:
    """The tasks a run asked, in file order (prompts and references: show them only to their owner)."""
    rows = con.execute("SELECT task_json FROM eval_tasks WHERE run_id = ? ORDER BY position", [run_id]).fetchall()
    return [Task.model_validate_json(r[0]) for r in rows]


def result_table(con: duckdb.DuckDBPyConnection, run_id: int) -> list[dict[str, Any]]:
    """One row per task and target with the prompt, reference and answer, for the Quality page's table."""
    tasks = {t.id: t for t in load_run_tasks(con, run_id)}
    out = []
    for it in load_results(con, run_id):
        task = tasks[it.task_id]
        ref = task.reference
        out.append(
            {
                "task_id": it.task_id,
                "task_class": it.task_class,
                "target": it.target_label,
                "passed": it.passed,
                "score": it.score,
                "prompt": task.prompt_text(include_system=False),
                "reference": ref if isinstance(ref, str) else json.dumps(ref),
                "answer": it.answer,
                "detail": it.error or it.detail,
                "latency_ms": it.latency_ms,
                "output_tokens": it.output_tokens,
            }
        )
    return out


def delete_run(con: duckdb.DuckDBPyConnection, run_id: int, *, actor: Actor | None = None) -> None:
    """Delete a run with its tasks, prompts, references and answers.

    Args:
        con: a cursor of this thread on the store.
        run_id: the run's number.
        actor: who deletes, for the audit trail: the line is written in the deletion's own transaction, so
            the trail never names a deletion that rolled back nor misses one that happened.

    Raises:
        EvalRunError: there is no such run.
    """
    with writing():
        con.execute("BEGIN TRANSACTION")
        try:
            found = con.execute(
                "SELECT r.task_set_name, (SELECT count(*) FROM eval_results WHERE run_id = r.id) "
                "FROM eval_runs r WHERE r.id = ?",
                [run_id],
            ).fetchone()
            if found is None:
                raise EvalRunError(f"there is no evaluation run #{run_id} to delete")
            con.execute("DELETE FROM eval_results WHERE run_id = ?", [run_id])
            con.execute("DELETE FROM eval_tasks WHERE run_id = ?", [run_id])
            con.execute("DELETE FROM eval_runs WHERE id = ?", [run_id])
            if actor is not None:
                record_in_transaction(
                    con, actor, action=AuditAction.DELETE, subject=f"evaluation run #{run_id} {found[0]}",
                    rows=int(found[1]),
                )  # fmt: skip
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    # the freed blocks are reused; CHECKPOINT makes the file itself drop the deleted text sooner
    with contextlib.suppress(duckdb.Error):  # another session's open transaction makes it wait for later
        con.execute("CHECKPOINT")
