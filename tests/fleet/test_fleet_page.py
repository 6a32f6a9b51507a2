"""The fleet section of the Usage logs page: absent without metrics, the engine's numbers with them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from costmodel.fleet.report import fleet_report
from costmodel.fmt import money
from costmodel.scenario import ApiOption, Scenario, Workload
from costmodel.store import connect
from costmodel.usage import import_file

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "dashboard" / "app_pages" / "usage_logs.py"
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


def _page() -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["scenario"] = Scenario(
        workload=Workload(hours_per_day=10),
        options=[ApiOption(name="API", provider="openai", model="gpt-4o-mini")],
    )
    return at.run()


def _import(*names: str) -> None:
    con = connect()
    for n in names:
        import_file(con, FIXTURES / n)
    con.close()


def test_no_fleet_section_without_metrics() -> None:
    _import("generic-csv/usage.csv")
    at = _page()
    assert not at.exception
    assert not [s for s in at.subheader if "fleet" in s.value]


def test_fleet_section_shows_the_engine_figures_next_to_the_api() -> None:
    _import("prometheus-metrics/query_range.json")
    at = _page()
    assert not at.exception
    assert [s for s in at.subheader if "self-hosted fleet" in s.value]
    at.number_input(key="fleet_price").set_value(2.0).run()
    at.number_input(key="fleet_people").set_value(0.0).run()
    at.number_input(key="fleet_gpus").set_value(2).run()
    assert not at.exception
    con = connect()
    r = fleet_report(con, gpus_per_instance=2, usd_per_gpu_hour=Decimal("2"), api_models=[("openai", "gpt-4o-mini")])
    con.close()
    assert r is not None and r.usd_per_mtok == Decimal("2739.7260")  # $10 / 3,650 tokens × 1M
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Fleet $ / 1M tokens"] == money(r.usd_per_mtok, decimals=2)
    assert metrics["GPU-hours"] == "5.0"
    table = next(d.value for d in at.dataframe if "$ / 1M tokens" in d.value.columns)
    assert table["option"].tolist() == ["Your fleet (self-hosted)", "openai/gpt-4o-mini"]
    assert table["$ / 1M tokens"].tolist()[1] == money(r.api[0].usd_per_mtok, decimals=4)
