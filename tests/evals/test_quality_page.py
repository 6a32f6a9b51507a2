"""The Quality page driven like a user would: pick a task set, run it against a fake endpoint with live
progress, read the results, filter the disagreements, use the run in the scenario, delete it."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from costmodel.evals import load_tasks
from costmodel.tco import evaluate
from tests.evals.fake_openai import FakeServer, is_right

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "dashboard" / "app_pages" / "quality.py"
TRIAGE = ROOT / "data" / "eval" / "support_triage.jsonl"


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()  # the store connection follows OPENTCO_DB, which each test points elsewhere


def _page(url: str | None = None) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    if url:
        at.session_state["quality_targets"] = pd.DataFrame(
            [{"label": "fake", "base_url": url, "model": "m", "api_key_env": "", "stream": True}]
        )
    return at.run()


def _frame(at: AppTest, column: str) -> pd.DataFrame:
    """The table that has `column` (AppTest does not expose a dataframe's key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def test_without_runs_the_page_explains(tmp_path):
    at = _page()
    assert not at.exception
    assert any(c.value == "No run stored yet." for c in at.caption)
    assert at.get("progress") == []  # nothing polls while no run is going


def test_bad_targets_are_shown_not_raised(fake: FakeServer):
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["quality_targets"] = pd.DataFrame(
        [{"label": "x", "base_url": "localhost:8000", "model": "m", "api_key_env": "sk-abc123", "stream": True}]
    )
    at.run()
    _button(at, "q_start").click().run()
    assert not at.exception and "quality_job" not in at.session_state
    text = at.error[0].value
    assert "not an http(s) URL" in text and "NAME of an environment variable" in text
    assert "sk-abc123" not in text


def test_run_read_use_and_delete(fake: FakeServer):
    tasks = load_tasks(TRIAGE).tasks
    fake.behaviour.answers = {t.messages[-1].content: str(t.reference) for t in tasks}
    fake.behaviour.p_right, fake.behaviour.seed, fake.behaviour.variants = 0.6, 3, True
    right = {t.id for t in tasks if is_right(t.messages[-1].content, seed=3, p_right=0.6)}

    at = _page(fake.url)
    at.selectbox(key="q_example").set_value(TRIAGE.name).run()
    _button(at, "q_start").click().run()
    assert not at.exception and "quality_job" in at.session_state
    deadline = time.monotonic() + 120
    while "quality_job" in at.session_state and time.monotonic() < deadline:
        time.sleep(0.1)
        at.run()
    assert not at.exception and "quality_job" not in at.session_state
    assert at.success[0].value == "Run #1 finished."

    table = _frame(at, "p95 ms")
    assert table["n"][0] == 30 and table["accuracy %"][0] == round(len(right) / 30 * 100, 1)
    assert table["errors"][0] == 0
    shown = _frame(at, "prompt")
    assert sorted(shown["task_id"]) == sorted(t.id for t in tasks if t.id not in right)
    assert set(shown["answer"]) == {"I am not sure."}
    assert "Reply with exactly one label" not in shown["prompt"].iloc[0]  # the ticket text, system prompt aside
    at.toggle(key="q_dis_wrong").set_value(False).run()
    assert len(_frame(at, "prompt")) == 30

    scenario = at.session_state["scenario"]
    option = scenario.options[-1].name
    at.selectbox(key="q_use_option").set_value(option)
    next(b for b in at.button if b.label == "Use in scenario").click().run()
    assert not at.exception
    costs = _frame(at, "$/successful task").set_index("option")
    result = evaluate(scenario).option(option)
    per_request = result.month1_usd / Decimal(str(scenario.workload.requests_per_month))
    accuracy = len(right) / 30
    assert costs.loc[option, "accuracy %"] == round(accuracy * 100, 1)
    assert costs.loc[option, "$/successful task"] == pytest.approx(float(per_request) / accuracy, rel=1e-6)

    _button(at, "q_delete").click().run()
    assert not at.exception
    assert any(c.value == "No run stored yet." for c in at.caption)
