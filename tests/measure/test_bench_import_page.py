"""Benchmark result files uploaded on the Measure page, and the Usage logs page pointing such a file there."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from costmodel.measure import list_benchmarks
from costmodel.scenario import ApiOption, CloudGpuOption, Scenario
from costmodel.store import connect

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tests" / "fixtures" / "bench_results"
VLLM = next((BENCH / "vllm_bench_serve").glob("*.json"))
AIPERF_CSV = BENCH / "aiperf" / "profile_export_aiperf.csv"


@pytest.fixture(autouse=True)
def _fresh_caches(no_pynvml: None) -> None:
    st.cache_data.clear()
    st.cache_resource.clear()  # the store connection follows OPENTCO_DB, which each test points elsewhere


def _page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard" / "app_pages" / f"{name}.py"), default_timeout=120)
    at.session_state["scenario"] = Scenario(
        options=[
            ApiOption(name="API", provider="openai", model="gpt-4o"),
            CloudGpuOption(name="Rented", model="llama-3.1-8b", gpu="h100"),
        ]
    )
    return at.run()


def _click(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click().run()


def test_upload_stores_the_run_and_selects_it() -> None:
    at = _page("measure")
    at.file_uploader(key="b_files").upload(VLLM.name, VLLM.read_bytes(), "application/json")
    at.text_input(key="b_gpu").input("h100")
    _click(at, "Import results")
    assert not at.exception and not at.error
    assert at.success[0].value.startswith(VLLM.name + ": vLLM bench serve result stored as benchmark #1")
    (run,) = list_benchmarks(connect())
    assert (run.model, run.gpu_name, run.best_output_tokens_per_s) == ("meta-llama/Llama-3.1-8B-Instruct", "h100", 1024)
    assert at.selectbox(key="measure_selected").value == run.benchmark_id
    assert "imported: vLLM bench serve" in at.selectbox(key="measure_selected").format_func(run.benchmark_id)
    imported, stored = at.dataframe[0].value, at.dataframe[1].value
    assert list(imported["tok/s"]) == [1024.0] and list(stored["tok/s"]) == [1024.0] and list(stored["streams"]) == [8]

    _click(at, "Use in scenario")
    assert not at.exception
    assert at.session_state["scenario"].option("Rented").measured_output_tokens_per_s == 1024.0


def test_missing_fields_are_asked_for_and_nothing_is_stored() -> None:
    at = _page("measure")
    at.file_uploader(key="b_files").upload(AIPERF_CSV.name, AIPERF_CSV.read_bytes(), "text/csv")
    _click(at, "Import results")
    assert not at.exception
    assert "does not say the model, serving engine" in at.error[0].value
    assert list_benchmarks(connect()) == []


def test_usage_logs_page_says_where_a_result_file_belongs() -> None:
    at = _page("usage_logs")
    at.file_uploader(key="usage_files").upload(VLLM.name, VLLM.read_bytes(), "application/json")
    _click(at, "Import")
    assert not at.exception
    text = at.error[0].value
    assert "this is a benchmark result of vLLM bench serve" in text and "Measure page" in text
