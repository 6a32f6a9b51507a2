"""Run a task set against targets: bounded concurrency, resumable, stoppable, stored as it goes.

Each target gets `concurrency` workers pulling its pending tasks; the judge (for `judge` tasks) has its own
`concurrency`. Finished items are written in batches every `flush_interval_s` (and when many are pending);
a Ctrl-C or a stop request cancels the requests in flight, writes every finished item and marks the run
`stopped`. Running the same task set with the same targets again resumes that run: items already answered
are skipped, failed ones are asked again.

A target answering 401, 403 or 404 (wrong key, wrong model) is stopped after its first such answer instead
of failing every task; the outcome says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import duckdb

from costmodel._base import StrictModel
from costmodel.evals.client import CallFailed, ChatClient, Completion
from costmodel.evals.errors import EvalInputError
from costmodel.evals.results import ItemResult, finish_run, save_results, start_run
from costmodel.evals.scorers import judge_messages, parse_judge_verdict, score_answer
from costmodel.evals.targets import RunSettings, Target
from costmodel.evals.tasks import Task, TaskSet

__all__ = ["EvalJob", "Progress", "RunOutcome", "run_eval", "run_eval_async"]


@dataclasses.dataclass
class Progress:
    """Live counts of a run (read by the CLI's bar and the page; written only by the run)."""

    run_id: int = 0
    total: int = 0
    """Items this session has to do (task × target), after skipping those answered before."""
    skipped: int = 0
    """Items answered by an earlier session of the same run."""
    done: int = 0
    """Items finished this session (answered or failed)."""
    errors: int = 0
    stored: int = 0
    """Items written to the store so far this session."""
    stopped_targets: dict[str, str] = dataclasses.field(default_factory=dict)
    """Targets given up on, with the reason (e.g. HTTP 401)."""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


class RunOutcome(StrictModel):
    """How a run session ended."""

    run_id: int
    resumed: bool
    """True when it continued an earlier run of the same task set and targets."""
    status: str
    """`finished`, or `stopped` (Ctrl-C, stop request)."""
    attempted: int
    skipped: int
    errors: int
    stopped_targets: dict[str, str]
    wall_s: float


ClientFactory = Callable[[Target, RunSettings], ChatClient]


def _default_client(target: Target, settings: RunSettings) -> ChatClient:
    return ChatClient(
        target, concurrency=settings.concurrency, timeout_s=settings.timeout_s, max_retries=settings.max_retries
    )


def _check(task_set: TaskSet, tasks: list[Task], settings: RunSettings) -> None:
    judged = sum(1 for t in tasks if t.scorer == "judge")
    if judged and settings.judge is None:
        raise EvalInputError(
            f"{task_set.name}: {judged} task(s) use the judge scorer; name a judge endpoint "
            '(--judge "LABEL=BASE_URL,model=NAME") or change their scorer'
        )


async def run_eval_async(
    con: duckdb.DuckDBPyConnection,
    *,
    task_set: TaskSet,
    settings: RunSettings,
    resume: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    client_factory: ClientFactory = _default_client,
    flush_interval_s: float = 0.5,
    progress: Progress | None = None,
) -> RunOutcome:
    """Run (or resume) `task_set` against `settings.targets`, storing each item as it finishes.

    Raises:
        EvalInputError: a key variable is not set, or judge tasks have no judge; nothing is stored then.
        asyncio.CancelledError: on Ctrl-C, after finished items are stored and the run marked stopped.
    """
    started = time.perf_counter()
    tasks = task_set.tasks[: settings.limit] if settings.limit else list(task_set.tasks)
    _check(task_set, tasks, settings)
    clients = {t.label: client_factory(t, settings) for t in settings.targets}  # reads keys: fails before storing
    judge = client_factory(settings.judge, settings) if settings.judge else None
    begin = start_run(con, task_set=task_set, tasks=tasks, settings=settings, resume=resume)
    prog = progress or Progress()
    prog.run_id = begin.run_id
    pending = {
        label: [t for t in tasks if (t.id, label) not in begin.done] for label in (t.label for t in settings.targets)
    }
    prog.total = sum(len(v) for v in pending.values())
    prog.skipped = len(tasks) * len(settings.targets) - prog.total
    buffer: list[ItemResult] = []
    judge_gate = asyncio.Semaphore(settings.concurrency)
    status = "stopped"

    def flush() -> None:
        if buffer:
            batch = buffer[:]
            buffer.clear()
            save_results(con, run_id=begin.run_id, items=batch)
            prog.stored += len(batch)
            if on_progress:
                on_progress(prog)

    async def one(task: Task, label: str) -> ItemResult:
        client = clients[label]
        messages = [m.model_dump() for m in task.messages]
        try:
            got: Completion = await client.complete(
                messages, max_tokens=task.max_tokens or settings.max_tokens, temperature=settings.temperature
            )
        except CallFailed as ex:
            if ex.fatal:
                prog.stopped_targets.setdefault(label, str(ex))
            return _failed(task, label, str(ex), ex.attempts)
        if task.scorer == "judge":
            assert judge is not None  # _check made sure
            try:
                async with judge_gate:
                    verdict = await judge.complete(judge_messages(task, got.text), max_tokens=512, temperature=0.0)
            except CallFailed as ex:
                return _failed(task, label, f"judge: {ex}", got.attempts, got)
            score = parse_judge_verdict(verdict.text)
            if score is None:
                return _failed(task, label, "judge: no pass/fail verdict in its reply", got.attempts, got)
        else:
            score = score_answer(task, got.text)
        return ItemResult(
            task_id=task.id,
            target_label=label,
            passed=score.passed,
            score=score.score,
            field_scores=score.field_scores,
            answer=got.text,
            detail=score.detail,
            ttft_ms=got.ttft_ms,
            latency_ms=got.latency_ms,
            input_tokens=got.input_tokens,
            output_tokens=got.output_tokens,
            reasoning_tokens=got.reasoning_tokens,
            attempts=got.attempts,
            error=None,
        )

    async def worker(label: str, queue: Iterator[Task]) -> None:
        for task in queue:
            if label in prog.stopped_targets or (stop is not None and stop.is_set()):
                return
            result = await one(task, label)
            buffer.append(result)
            prog.done += 1
            prog.errors += result.error is not None
            if len(buffer) >= 256:
                flush()
            elif on_progress:
                on_progress(prog)

    async def flusher() -> None:
        while True:
            await asyncio.sleep(flush_interval_s)
            flush()

    async def watch_stop(workers: list[asyncio.Task[None]]) -> None:
        assert stop is not None
        while not stop.is_set():
            await asyncio.sleep(0.05)
        for w in workers:
            w.cancel()

    helpers: list[asyncio.Task[Any]] = []
    try:
        workers = []
        for label, todo in pending.items():
            queue = iter(todo)  # shared by the target's workers: each task is taken once
            workers += [asyncio.create_task(worker(label, queue)) for _ in range(min(settings.concurrency, len(todo)))]
        helpers.append(asyncio.create_task(flusher()))
        if stop is not None:
            helpers.append(asyncio.create_task(watch_stop(workers)))
        results = await asyncio.gather(*workers, return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError):
                raise r
        status = "stopped" if (stop is not None and stop.is_set()) else "finished"
    finally:
        for h in helpers:
            h.cancel()
        for h in helpers:
            with contextlib.suppress(asyncio.CancelledError):
                await _quiet(h)
        flush()
        finish_run(con, run_id=begin.run_id, status=status)
        for c in [*clients.values(), *([judge] if judge else [])]:
            with contextlib.suppress(Exception):
                await c.aclose()
    return RunOutcome(
        run_id=begin.run_id,
        resumed=begin.resumed,
        status=status,
        attempted=prog.done,
        skipped=prog.skipped,
        errors=prog.errors,
        stopped_targets=dict(prog.stopped_targets),
        wall_s=time.perf_counter() - started,
    )


async def _quiet(aw: Awaitable[Any]) -> None:
    await aw


def _failed(task: Task, label: str, error: str, attempts: int, got: Completion | None = None) -> ItemResult:
    return ItemResult(
        task_id=task.id,
        target_label=label,
        passed=None,
        score=None,
        field_scores=None,
        answer=got.text if got else None,
        detail=None,
        ttft_ms=got.ttft_ms if got else None,
        latency_ms=got.latency_ms if got else None,
        input_tokens=got.input_tokens if got else None,
        output_tokens=got.output_tokens if got else None,
        reasoning_tokens=got.reasoning_tokens if got else None,
        attempts=attempts,
        error=error,
    )


def run_eval(con: duckdb.DuckDBPyConnection, **kwargs: Any) -> RunOutcome:
    """`run_eval_async` in a fresh event loop (the CLI's entry point; Ctrl-C raises KeyboardInterrupt after
    the finished items are stored)."""
    return asyncio.run(run_eval_async(con, **kwargs))


class EvalJob:
    """A run in a background thread, for the dashboard: start, read `progress`, `stop()`, then `outcome()`.

    The page polls `progress` while `done` is False; the thread uses its own cursor of the store.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        task_set: TaskSet,
        settings: RunSettings,
        client_factory: ClientFactory = _default_client,
    ) -> None:
        self._con, self.task_set, self.settings = con, task_set, settings
        self._factory = client_factory
        self.progress = Progress()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="opentco-eval", daemon=True)
        self._outcome: RunOutcome | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive() and (self._outcome is not None or self._error is not None)

    def join(self, timeout_s: float | None = None) -> None:
        self._thread.join(timeout_s)

    def _run(self) -> None:
        cur = self._con.cursor()
        try:
            self._outcome = run_eval(
                cur,
                task_set=self.task_set,
                settings=self.settings,
                stop=self._stop,
                client_factory=self._factory,
                progress=self.progress,
            )
        except BaseException as ex:  # handed to the page thread by outcome(), which re-raises it there
            self._error = ex
        finally:
            cur.close()

    def outcome(self) -> RunOutcome:
        """The result once `done`; re-raises what the run raised (a `CostModelError` for the page to show)."""
        if self._error is not None:
            raise self._error
        if self._outcome is None:
            raise RuntimeError("the run has not finished")
        return self._outcome
