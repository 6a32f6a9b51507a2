"""Shared helpers for the evaluation tests: task sets made in memory, fake endpoints, a fresh store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from costmodel.evals import RunSettings, Target, TaskSet, parse_tasks
from costmodel.evals.client import ChatClient
from costmodel.store import connect
from tests.evals.fake_openai import FakeBehaviour, FakeServer


def make_tasks(n: int, *, classes: tuple[str, ...] = ("triage", "extraction"), scorer: str = "exact") -> TaskSet:
    """n tasks `Question i?` → `answer-i`, classes assigned round-robin."""
    lines = [
        json.dumps(
            {
                "id": f"t{i:03d}",
                "task_class": classes[i % len(classes)],
                "prompt": f"Question {i}?",
                "reference": f"answer-{i}",
                "scorer": scorer,
            }
        )
        for i in range(n)
    ]
    return parse_tasks("\n".join(lines).encode(), name="tasks.jsonl")


def answers(task_set: TaskSet) -> dict[str, str]:
    """Prompt → right answer, for a fake that knows the references."""
    return {t.messages[-1].content: str(t.reference) for t in task_set.tasks}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(tmp_path / "evals.duckdb")
    yield con
    con.close()


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(FakeBehaviour()) as server:
        yield server


@pytest.fixture
def fake2() -> Iterator[FakeServer]:
    with FakeServer(FakeBehaviour()) as server:
        yield server


class RecordingFactory:
    """Builds the run's clients with fast, recorded backoff waits (no test sleeps for real)."""

    def __init__(self, **client_kwargs: object) -> None:
        self.waits: list[float] = []
        self.clients: list[ChatClient] = []
        self.kwargs = client_kwargs

    async def _sleep(self, s: float) -> None:
        self.waits.append(s)
        await asyncio.sleep(0)

    def __call__(self, target: Target, settings: RunSettings) -> ChatClient:
        client = ChatClient(
            target,
            concurrency=settings.concurrency,
            timeout_s=settings.timeout_s,
            max_retries=settings.max_retries,
            sleep=self._sleep,
            **self.kwargs,  # type: ignore[arg-type]
        )
        self.clients.append(client)
        return client
