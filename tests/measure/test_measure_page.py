"""The Measure page, driven like a user would: inventory, a real run against the local server, use in scenario."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button

from costmodel.measure import list_benchmarks, load_benchmark
from costmodel.scenario import ApiOption, CloudGpuOption, OnPremOption, Scenario
from costmodel.store import connect
from tests.measure.fake_pynvml import FakePynvml, counter_skew_s
from tests.measure.stub_openai import StubServer

PAGE = Path(__file__).resolve().parents[2] / "dashboard" / "app_pages" / "measure.py"


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    st.cache_data.clear()  # the inventory is cached per process; each test fakes its own NVML
    st.cache_resource.clear()  # the store connection follows OPENTCO_DB, which each test points elsewhere


def _scenario(*, hosted: bool = True) -> Scenario:
    options: list = [ApiOption(name="API", provider="openai", model="gpt-4o")]
    if hosted:
        options += [
            CloudGpuOption(name="Rented", model="llama-3.1-8b", gpu="h100"),
            OnPremOption(name="Owned", model="llama-3.1-8b", gpu="h100"),
        ]
    return Scenario(options=options)


def _page(scenario: Scenario) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.session_state["scenario"] = scenario
    return at.run()


def _button(at: AppTest, label: str) -> Button:
    return next(b for b in at.button if b.label == label)


def _until_the_run_ends(at: AppTest) -> None:
    """Rerun the page (standing in for its polling fragment's timer) until the run is over."""
    deadline = time.monotonic() + 120  # a guard against a hang, not a bound on speed
    while "measure_job" in at.session_state:
        assert time.monotonic() < deadline, "the run never ended"
        time.sleep(0.1)
        at.run()


def test_without_gpu_the_page_still_works(no_pynvml: None) -> None:
    at = _page(_scenario())
    assert not at.exception
    assert "nvidia-ml-py" in at.info[0].value and "Throughput and latency can still be measured" in at.info[0].value
    assert any(c.value == "No run stored yet." for c in at.caption)


def test_bad_input_is_shown_not_raised(fake_nvml: FakePynvml) -> None:
    at = _page(_scenario())
    at.text_input(key="m_model").input("m")
    at.text_input(key="m_levels").input("1,lots")
    _button(at, "Start").click().run()
    assert not at.exception
    assert at.error[0].value.startswith("concurrency must be whole numbers")
    assert "measure_job" not in at.session_state


def test_measure_then_use_in_scenario(stub: StubServer, fake_nvml: FakePynvml) -> None:
    at = _page(_scenario())
    assert at.dataframe[0].value["name"][0] == "NVIDIA H100 80GB HBM3"
    assert at.dataframe[0].value["driver"][0] == "580.159.04"

    stub.behaviour.tokens_per_s = 100.0
    at.text_input(key="m_endpoint").input(stub.url)
    at.text_input(key="m_model").input("stub-model")
    at.text_input(key="m_levels").input("1,2")
    at.number_input(key="m_input").set_value(30)
    at.number_input(key="m_output").set_value(10)
    at.number_input(key="m_max").set_value(3)
    # the request count bounds each level, not the clock: a loaded machine must not cut a level at its 30 s default
    at.number_input(key="m_duration").set_value(600.0)
    at.text_input(key="m_gpu_hour").input("2.50")
    _button(at, "Start").click().run()
    assert not at.exception and "measure_job" in at.session_state
    running = at.get("progress")
    assert running, "a progress bar shows while the run goes"

    _until_the_run_ends(at)
    assert not at.exception

    (run,) = list_benchmarks(connect())
    assert at.selectbox(key="measure_selected").value == run.benchmark_id
    table = at.dataframe[1].value
    assert list(table["streams"]) == [1, 2] and list(table["ok"]) == [3, 3], table.to_dict("list")
    stored = load_benchmark(connect(), benchmark_id=run.benchmark_id, with_samples=True)
    # 300 W, to the few µs by which this run's sample stamps missed their reads
    rel = counter_skew_s(stored.samples, watts=300) / min(lv.duration_s for lv in stored.levels) + 1e-9
    assert table["W/GPU"].tolist() == pytest.approx([300, 300], rel=rel)
    assert table["energy from"].tolist() == ["energy_counter"] * 2
    assert table["tok/s"].tolist() == [lv.output_tokens_per_s for lv in stored.levels]

    at.selectbox(key="m_option").select("Owned")
    at.selectbox(key="m_level").select(2)
    _button(at, "Use in scenario").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Owned now uses the measured")
    owned = at.session_state["scenario"].option("Owned")
    assert owned.measured_output_tokens_per_s == stored.levels[1].output_tokens_per_s
    assert owned.measured_watts_per_gpu == pytest.approx(300, rel=rel)
    assert at.session_state["scenario"].option("Rented").measured_output_tokens_per_s is None


def test_stop_button_keeps_partial_results(stub: StubServer, fake_nvml: FakePynvml) -> None:
    stub.behaviour.tokens_per_s = 20.0
    at = _page(_scenario(hosted=False))
    at.text_input(key="m_endpoint").input(stub.url)
    at.text_input(key="m_model").input("stub-model")
    at.text_input(key="m_levels").input("2,4")
    at.number_input(key="m_output").set_value(20)
    _button(at, "Start").click().run()
    job = at.session_state["measure_job"]
    deadline = time.monotonic() + 120  # a guard against a hang, not a bound on speed
    while not job.progress().timeline:  # the first level is under way once the run reports a live point
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.05)
    at.run()
    assert at.get("progress") and len(at.get("vega_lite_chart")) == 2  # live tokens/s and watts
    _button(at, "Stop").click().run()
    _until_the_run_ends(at)
    assert not at.exception
    (run,) = list_benchmarks(connect())
    assert run.stopped_early and run.levels == 1
    assert any(c.value == "Note: stopped by the user" for c in at.caption)
    assert "no cloud-GPU or on-prem option" in at.info[0].value


def test_failed_run_shows_its_error(stub: StubServer, no_pynvml: None) -> None:
    stub.behaviour.status = 401
    at = _page(_scenario())
    at.text_input(key="m_endpoint").input(stub.url)
    at.text_input(key="m_model").input("stub-model")
    _button(at, "Start").click().run()
    _until_the_run_ends(at)
    assert not at.exception
    assert any("refused the request" in e.value and "--api-key-env" in e.value for e in at.error)
    assert list_benchmarks(connect()) == []
