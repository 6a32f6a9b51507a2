"""Fixtures for the measurement tests: a real local streaming server and NVML faked at the pynvml boundary."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.measure.fake_pynvml import FakeGpu, FakePynvml
from tests.measure.stub_openai import StubBehaviour, StubServer


@pytest.fixture
def stub() -> Iterator[StubServer]:
    """A streaming OpenAI-compatible server on a free local port."""
    with StubServer(StubBehaviour()) as server:
        yield server


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch) -> FakePynvml:
    """One fake H100 at a constant 300 W, installed as `pynvml` for the code under test."""
    fake = FakePynvml([FakeGpu()])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    return fake


@pytest.fixture
def no_pynvml(monkeypatch: pytest.MonkeyPatch) -> None:
    """`import pynvml` fails, as on a machine without nvidia-ml-py."""
    monkeypatch.setitem(sys.modules, "pynvml", None)


@pytest.fixture
def ctrl_c_delivered() -> Iterator[None]:
    """Make SIGINT raise KeyboardInterrupt, as in an interactive terminal.

    A process started in the background by a non-interactive shell (as CI may start the suite) inherits
    SIGINT as ignored, and Python then never installs its Ctrl-C handler; the tests that press Ctrl-C
    restore the interactive behaviour for their duration.
    """
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
