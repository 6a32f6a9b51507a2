"""The Compare page shows the engine's figures, and its inputs change them exactly as the engine says."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from costmodel.catalog import catalog
from costmodel.demo import PRESETS, demo_scenario, preset
from costmodel.fmt import money, tokens
from costmodel.scenario import CloudGpuOption, HybridOption, PricePlan, Scenario
from costmodel.tco import evaluate
from dashboard.components.text import md
from tests.dashboard.conftest import assert_compare_matches, interactive, new_app, scenario_of


def _with(scenario: Scenario, **workload) -> Scenario:
    data = scenario.model_dump(mode="json")
    data["workload"].update(workload)
    return Scenario.model_validate(data)


def test_landing_page_shows_the_engines_verdict_and_kpis(app):
    assert scenario_of(app) == demo_scenario()
    assert_compare_matches(app, demo_scenario())
    assert not app.error


def _sources_text(at) -> str:
    """The text of the page with its Sources panel opened (it is drawn only once opened)."""
    at.session_state["sources-panel"] = True
    at.run()
    assert not at.exception
    return "\n".join(m.value for m in at.main.markdown) + "\n".join(c.value for c in at.main.caption)


def test_every_card_states_its_basis_in_a_short_tooltip_and_the_sources_panel_has_the_rest(app):
    result = evaluate(demo_scenario())
    panel = _sources_text(app)
    for i, o in enumerate(result.options):
        tip = app.main.get_by_key(f"kpi-{i}").metric[0].help
        if o.api is not None:
            assert str(o.api.price_date) in tip and md(o.api.source) in panel
        else:
            assert o.basis in tip  # calibrated / estimated / measured / mixed
        for s in o.sources:
            assert md(f"{s.label}: {s.value}") in tip  # the value, in a short line
            assert md(s.source).replace("|", "\\|") in panel  # the source, hashes and all, in the panel
        assert not re.search(r"@[0-9a-f]{12,}", tip), tip  # no commit hash in a tooltip
        assert max(len(line) for line in tip.split("\n")) < 160


@pytest.mark.parametrize("requests", [500_000.0, 10_000_000.0, 50_000_000.0])
def test_volume_slider_changes_kpis_as_the_engine_says(app, requests):
    app.select_slider(key="volume").set_value(requests).run()
    assert not app.exception and not app.error
    expected = _with(demo_scenario(), requests_per_month=requests)
    assert scenario_of(app) == expected
    assert_compare_matches(app, expected)
    assert app.query_params["requests"] == f"{requests:.15g}"  # the address bar is a link to what is shown


def test_growth_slider_changes_kpis_as_the_engine_says(app):
    app.slider(key="growth").set_value(10.0).run()
    expected = _with(demo_scenario(), monthly_growth_pct=10.0)
    assert scenario_of(app) == expected
    assert_compare_matches(app, expected)


def test_share_slider_moves_the_hybrid_traffic(app):
    app.slider(key="open_share").set_value(40).run()
    data = demo_scenario().model_dump(mode="json")
    hybrid = next(o for o in data["options"] if o["kind"] == "hybrid")
    hybrid["task_classes"] = [
        {"name": "routine", "share": 0.4, "on_open_model": True},
        {"name": "hard", "share": 0.6, "on_open_model": False},
    ]
    expected = Scenario.model_validate(data)
    got = next(o for o in scenario_of(app).options if isinstance(o, HybridOption))
    assert got.open_share == pytest.approx(0.4)
    assert_compare_matches(app, expected)


def test_price_plan_moves_clouds_without_that_plan_to_the_cheapest_that_has_it(app):
    app.selectbox(key="price_plan").set_value(PricePlan.SPOT).run()
    assert not app.error
    data = demo_scenario().model_dump(mode="json")
    for o in data["options"]:
        if o["kind"] == "cloud_gpu":
            o["price_plan"] = "spot"
            has_spot = catalog().gpu_prices(catalog().gpu(o["gpu"]).gpu_id, plan="spot", provider=o["provider"])
            o["provider"] = o["provider"] if has_spot else None
    expected = Scenario.model_validate(data)
    assert scenario_of(app) == expected
    assert all(o.price_plan == PricePlan.SPOT for o in expected.options if isinstance(o, CloudGpuOption))
    result = assert_compare_matches(app, expected)
    assert "spot" in result.options[2].sources[-1].source
    assert md(result.options[2].sources[-1].source) in _sources_text(app)


@pytest.mark.parametrize("label", list(PRESETS))
def test_presets_replace_the_scenario(app, label):
    app.selectbox(key="preset_pick").set_value(label).run()
    assert not app.exception
    wanted = preset(PRESETS[label])
    assert not app.error
    assert scenario_of(app) == wanted
    assert_compare_matches(app, wanted)
    has_hybrid = any(isinstance(o, HybridOption) for o in wanted.options)
    assert app.slider(key="open_share").disabled is not has_hybrid


def test_a_rejected_change_shows_the_engines_message_and_keeps_the_scenario(app, monkeypatch):
    """The engine refuses a model that fits on no GPU; the page says so and keeps what it showed."""
    import dashboard.components.controls as controls

    data = demo_scenario().model_dump(mode="json")
    data["options"][2].update(model="llama-3.1-405b", gpu="T4", gpus_per_replica=1)
    impossible = Scenario.model_validate(data)
    monkeypatch.setitem(controls.PRESETS, "Impossible", "impossible")
    monkeypatch.setattr(controls, "preset", lambda stem: impossible if stem == "impossible" else preset(stem))
    app.run()  # the picker now offers it
    app.selectbox(key="preset_pick").set_value("Impossible").run()
    with pytest.raises(Exception) as ex:
        evaluate(impossible)
    assert [e.value for e in app.error] == [md(str(ex.value))]
    assert scenario_of(app) == demo_scenario()
    assert app.selectbox(key="preset_pick").value == "$10k–$50k/month API bill"
    assert_compare_matches(app, demo_scenario())


def test_shared_link_restores_the_key_inputs():
    at = new_app()
    at.query_params.update(preset="internal-search-rag", requests="900000", growth="1.5", plan="spot")
    at.run()
    assert not at.exception and not at.error
    wanted = preset("internal-search-rag").model_dump(mode="json")
    wanted["workload"].update(requests_per_month=900000.0, monthly_growth_pct=1.5)
    for o in wanted["options"]:
        if o["kind"] == "cloud_gpu":
            o["price_plan"] = "spot"
            if not catalog().gpu_prices(catalog().gpu(o["gpu"]).gpu_id, plan="spot", provider=o.get("provider")):
                o["provider"] = None
    expected = Scenario.model_validate(wanted)
    assert scenario_of(at) == expected
    assert_compare_matches(at, expected)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"preset": "nope"}, "link: unknown preset 'nope'"),
        ({"preset": "api-bill-10k-50k", "requests": "lots"}, "link: requests='lots' is not a number"),
        ({"preset": "api-bill-10k-50k", "requests": "-5"}, "Requests per month (month 1): must be greater than 0"),
        ({"preset": "api-bill-10k-50k", "plan": "forever"}, "link: plan='forever' is not a price plan"),
    ],
)
def test_a_bad_link_falls_back_to_the_demo_and_says_why(params, message):
    at = new_app()
    at.query_params.update(params)
    at.run()
    assert not at.exception
    assert len(at.warning) == 1 and md(message) in at.warning[0].value
    assert scenario_of(at) == demo_scenario()
    assert_compare_matches(at, demo_scenario())


def _charts(at) -> dict[str, dict]:
    """The plotly figures of the page (Compare's with "Interactive charts" on)."""
    if at.get("toggle") and any(t.key == "interactive-charts" for t in at.toggle):
        interactive(at)
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def test_charts_have_titles_units_and_the_engines_numbers(app):
    result = evaluate(demo_scenario())
    charts = _charts(app)
    assert set(charts) == {"chart-cumulative", "chart-per-mtok", "chart-break-even", "chart-tornado"}
    for spec in charts.values():
        layout = spec["layout"]
        assert layout["title"]["text"]
        assert layout["xaxis"]["title"]["text"] or layout["yaxis"]["title"]["text"]
        assert "template" not in layout or layout["template"]["layout"].get("colorway") != ["#000001"]
    cum = charts["chart-cumulative"]
    assert cum["layout"]["yaxis"]["title"]["text"] == "Cumulative cost (USD)"
    assert [t["name"] for t in cum["data"]] == [
        o.name + (" (baseline)" if o.name == result.baseline else "") for o in result.options
    ]
    for trace, o in zip(cum["data"], result.options, strict=True):
        assert trace["y"][-1] == pytest.approx(float(o.horizon_usd))
    bars = charts["chart-per-mtok"]["data"]
    assert [b["x"][0] for b in bars] == pytest.approx([float(o.usd_per_mtok) for o in result.options])
    be = charts["chart-break-even"]
    assert be["layout"]["xaxis"]["type"] == "log"
    marks = next(t for t in be["data"] if t.get("name") == "Break-even point")
    expected = sorted(float(v) for o in result.options for v in o.break_even_tokens_per_month.values() if v)
    assert sorted(marks["x"]) == pytest.approx(expected)
    today = next(t for t in be["data"] if t.get("name", "").startswith("Today"))
    assert today["x"][0] == pytest.approx(float(result.baseline_result.months[0].tokens))
    assert tokens(result.baseline_result.months[0].tokens) in today["name"]


def test_tornado_shows_the_engines_bars_with_human_labels(app):
    from costmodel.sensitivity import tornado

    result = evaluate(demo_scenario())
    bars = tornado(demo_scenario(), result)[:10]
    spec = _charts(app)["chart-tornado"]
    low = next(t for t in spec["data"] if t.get("name", "").startswith("input −"))
    assert low["x"] == pytest.approx([float(b.saving_low_usd) for b in bars][::-1])
    names = [c[0] for c in low["customdata"]]
    for name in names:
        assert "_" not in name and "costs." not in name and "latency." not in name, name
    assert names[::-1][0] == "Requests per month (month 1)"
    assert {"Output tokens per request", "Monthly growth, %"} <= set(names)
    assert all(len(line) <= 30 for label in low["y"] for line in label.split("<br>"))


def test_currency_is_shown_as_the_scenario_says(app):
    data = demo_scenario().model_dump(mode="json")
    data.update(currency="EUR", usd_fx_rate="0.9")
    eur = Scenario.model_validate(data)
    app.session_state["scenario"] = eur
    app.run()
    result = assert_compare_matches(app, eur)
    assert money(result.options[0].month1_usd, currency="EUR", fx=Decimal("0.9")).startswith("€")
    assert any("charts in USD" in c.value for c in app.caption)


def test_no_option_to_compare_still_renders():
    at = new_app()
    at.session_state["scenario"] = Scenario(
        options=[{"kind": "api", "name": "Only", "provider": "openai", "model": "gpt-4o"}], price_date="2026-11-25"
    )
    at.run()
    assert not at.exception and not at.error
    assert at.slider(key="open_share").disabled and at.selectbox(key="price_plan").disabled
    assert not interactive(at).get("plotly_chart")[3:]  # no tornado without a second option
    assert any("Add a second option" in i.value for i in at.info)


def test_every_chart_is_a_valid_plotly_figure(app):
    """The pages build figures unvalidated for speed; plotly's own validation must accept every one."""
    import plotly.graph_objects as go

    from tests.dashboard.conftest import page

    specs = list(_charts(app).values())
    specs += list(_charts(page(app, "hardware_fit")).values())
    assert len(specs) == 6
    for spec in specs:
        go.Figure(spec)  # raises ValueError on any unknown property or bad value


def test_a_scenario_the_engine_cannot_evaluate_shows_why_and_offers_the_presets():
    at = new_app()
    data = demo_scenario().model_dump(mode="json")
    data["options"][2].update(model="llama-3.1-405b", gpu="T4", gpus_per_replica=1)
    broken = Scenario.model_validate(data)  # valid shape; the engine refuses it (set by another page, say)
    at.session_state["scenario"] = broken
    at.run()
    assert not at.exception
    with pytest.raises(Exception) as ex:
        evaluate(broken)
    assert [e.value for e in at.error] == [md(str(ex.value))]
    at.selectbox(key="preset_pick").set_value("Internal search (RAG)").run()
    assert not at.error
    assert_compare_matches(at, preset("internal-search-rag"))


def test_the_address_bar_follows_the_preset_and_forgets_an_uploaded_scenario(app):
    assert app.query_params == {
        "preset": "api-bill-10k-50k",
        "requests": "3000000",
        "growth": "3",
        "share": "0.7",
        "plan": "on_demand",
    }
    app.session_state["scenario_preset"] = None  # what an upload does
    app.run()
    assert "preset" not in app.query_params and "s" in app.query_params  # the whole scenario, then
