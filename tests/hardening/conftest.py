"""Fixtures the hardening tests share: the measurement tests' local streaming server and fake NVML."""

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
    """One fake H100 at a constant 300 W, installed as `pynvml`."""
    fake = FakePynvml([FakeGpu()])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    return fake
