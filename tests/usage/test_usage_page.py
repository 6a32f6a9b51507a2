"""The Usage logs page: history, figures straight from the engine, flagged rows and "Use as workload"."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from costmodel.fmt import tokens
from costmodel.importers import IMPORTERS
from costmodel.prices import GENAI_PRICES_VERSION
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
    assert len(at.get("plotly_chart")) == 5  # daily tokens, heatmap, cost check, history re-priced, replay
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


def _chart(at: AppTest, key: str) -> dict:
    import json

    return json.loads(next(c for c in at.get("plotly_chart") if c.key == key).proto.spec)


def test_format_override_lists_every_importer_and_failures_show_as_errors() -> None:
    at = _page()
    select = at.selectbox(key="usage_format")
    assert select.options[0] == "Detect from the content" and len(select.options) == len(IMPORTERS) + 1
    assert any("(openrouter-daily-csv)" in o for o in select.options)
    at.session_state["usage_outcomes"] = [
        ("ok.csv: 4 rows imported (generic-csv)", None, "ok.csv", False),
        ("bad.json: not a usage log format OpenTCO knows", None, "bad.json", True),
    ]
    at.run()
    assert [e.value for e in at.success] == ["ok.csv: 4 rows imported (generic-csv)"]
    assert [e.value for e in at.error] == ["bad.json: not a usage log format OpenTCO knows"]
    at.button(key="FormSubmitter:usage_upload-Import").click().run()  # a new upload clears the last results
    assert not at.error and not at.success and not at.exception


def test_charts_use_plain_names_merge_aliases_and_keep_months_as_categories() -> None:
    rows = "".join(
        f"2025-03-0{d}T10:00:00Z,{m},1000,100,openai\n"
        for d, m in [(1, "gpt-4o"), (2, "gpt-4o-2024-08-06"), (3, "openai/gpt-4o"), (3, "gpt-4o-mini")]
    )
    con = connect()
    import_file(con, ("timestamp,model,input_tokens,output_tokens,provider\n" + rows).encode(), file_name="a.csv")
    import_file(con, FIXTURES / "litellm-spend-logs/spend_logs.csv")
    con.close()
    at = _page()
    assert not at.exception
    daily = _chart(at, "usage_daily")
    assert sorted(t["name"] for t in daily["data"]) == ["claude-3-5-sonnet", "gpt-4o", "gpt-4o-mini"]
    cost = _chart(at, "usage_cost")
    assert {t["name"] for t in cost["data"]} == {"reported by the logs", "list price that day (genai-prices)"}
    replay = _chart(at, "usage_replay_chart")
    assert replay["layout"]["xaxis"]["type"] == "category"
    assert {x for t in replay["data"] for x in t["x"]} == {"2025-03 (partial)"}  # the month with data is drawn
    assert "served from the proxy cache: 1 request, 300 tokens" in " ".join(c.value for c in at.caption).lower()


def test_history_is_priced_four_ways_and_names_the_genai_prices_version() -> None:
    _import("litellm-spend-logs/spend_logs.csv")
    at = _page()
    table = next(d for d in at.dataframe if "list price in force then" in d.value.columns).value
    assert table["month"].tolist() == ["2025-03"]
    assert table["reported"].tolist() == ["$0.02"] and table["flag"].tolist() == ["differs by more than 1 %"]
    assert "API" in table.columns  # the scenario's option
    assert any(f"genai-prices {GENAI_PRICES_VERSION}" in c.value for c in at.caption)


def test_use_as_workload_on_a_near_empty_period_warns_with_numbers() -> None:
    _import("litellm-spend-logs/spend_logs.csv")
    at = _page()
    at.button(key="usage_use").click().run()
    assert not at.exception and "now uses your logs' workload" in at.success[0].value
    warnings = [w.value for w in at.warning]
    assert any(
        "Peak ÷ mean needs 7 days of hourly data; the period has 1, so the scenario keeps its own 4.00" in w
        for w in warnings
    ), warnings
    assert at.session_state["scenario"].workload.peak_to_average == 4.0
