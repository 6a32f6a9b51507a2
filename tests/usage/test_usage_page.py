"""The Usage logs page: history, figures straight from the engine, flagged rows and "Use as workload"."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from costmodel.fmt import tokens
from costmodel.scenario import ApiOption, Scenario, Workload
from costmodel.store import connect
from costmodel.usage import import_file, summarize, workload_from_usage

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "dashboard" / "app_pages" / "usage_logs.py"
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()  # the store connection follows OPENTCO_DB, which each test points elsewhere


def _scenario() -> Scenario:
    return Scenario(
        workload=Workload(hours_per_day=10, peak_to_average=4.0),
        options=[ApiOption(name="API", provider="openai", model="gpt-4o")],
    )


def _page() -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["scenario"] = _scenario()
    return at.run()


def _import(*names: str) -> None:
    con = connect()
    for n in names:
        import_file(con, FIXTURES / n)
    con.close()


def test_empty_store_invites_an_upload() -> None:
    at = _page()
    assert not at.exception
    assert [i.value for i in at.info] == ["No usage imported yet: upload an export above."]
    assert at.get("file_uploader") and at.button(key="FormSubmitter:usage_upload-Import")


def test_figures_charts_flags_and_use_as_workload() -> None:
    _import("litellm-spend-logs/spend_logs.csv", "openrouter-activity/openrouter_activity_2025-03-03.csv")
    con = connect()
    expected, expected_wl = summarize(con), workload_from_usage(con, base=_scenario().workload)
    con.close()

    at = _page()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Requests"] == "4"
    assert metrics["Tokens in / out"] == f"{tokens(expected.input_tokens)} / {tokens(expected.output_tokens)}"
    assert metrics["Reported / recomputed cost"] == "$0.03 / $0.02"
    assert len(at.get("plotly_chart")) == 4  # daily tokens, heatmap, cost check, replay
    history = at.dataframe[0].value
    assert sorted(history["file_name"]) == ["openrouter_activity_2025-03-03.csv", "spend_logs.csv"]
    flagged = at.dataframe[1].value
    assert len(flagged) == expected.flagged_rows == 2
    assert set(flagged["model"]) == {"claude-3-5-sonnet-20241022", "anthropic/claude-3.5-haiku"}

    at.button(key="usage_use").click().run()
    assert not at.exception
    assert "now uses your logs' workload" in at.success[0].value
    wl = at.session_state["scenario"].workload
    assert wl == expected_wl
    assert wl.hours_per_day == 10  # the scenario's own settings are kept


def test_rejected_rows_can_be_downloaded_from_the_history(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "timestamp,model,input_tokens,output_tokens\n2025-03-01T00:00:00Z,m,-1,1\n2025-03-01T00:00:00Z,m,1,1\n"
    )
    con = connect()
    import_file(con, bad)
    con.close()
    at = _page()
    assert not at.exception
    assert at.selectbox(key="usage_reject_pick").options == ["#1 bad.csv (1 rejected)"]
    assert at.get("download_button")


def test_replay_shows_each_logged_month_under_each_option_and_the_totals() -> None:
    from costmodel.fmt import money
    from costmodel.scenario import CloudGpuOption
    from costmodel.usage import replay, replay_totals

    _import("generic-csv/usage.csv", "litellm-spend-logs/spend_logs.csv")
    scenario = _scenario().model_copy(
        update={
            "options": [
                *_scenario().options,
                CloudGpuOption(name="=8B on L4", model="llama-3.1-8b", quant="fp8", gpu="L4"),
            ],
            "currency": "EUR",
            "usd_fx_rate": Decimal("0.9"),
        }
    )
    con = connect()
    months, totals = replay(con, scenario), replay_totals(replay(con, scenario))
    con.close()

    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["scenario"] = scenario
    at.run()
    assert not at.exception
    table = at.dataframe[-1].value
    assert list(table["option"]) == ["API", "'=8B on L4", "Reported by the logs"]  # a formula-like name stays text
    eur = lambda usd: money(usd, currency="EUR", fx=scenario.usd_fx_rate, decimals=2)  # noqa: E731
    first = f"{months[0].month:%Y-%m}" + ("" if months[0].full else " (partial)")
    assert table[first].tolist()[:2] == [eur(months[0].cost_usd["API"]), eur(months[0].cost_usd["=8B on L4"])]
    assert table["total"].tolist() == [
        eur(totals.cost_usd["API"]),
        eur(totals.cost_usd["=8B on L4"]),
        eur(totals.reported_cost_usd),
    ]
    assert f"cheapest option would have been **{totals.cheapest}**" in at.caption[-1].value
    assert at.get("plotly_chart")[-1].proto.spec  # the grouped bar chart of the months
