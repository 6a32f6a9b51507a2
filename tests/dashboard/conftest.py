"""AppTest helpers for the dashboard pages: the real router, the demo scenario, the engine's own figures."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from costmodel.fmt import money
from costmodel.scenario import Scenario
from costmodel.tco import ScenarioResult, evaluate
from dashboard.components.text import md

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "dashboard" / "streamlit_app.py"


def new_app() -> AppTest:
    # generous timeout: the first run of a process loads the catalog and fits the calibration
    return AppTest.from_file(str(APP), default_timeout=60)


@pytest.fixture
def app() -> AppTest:
    """The dashboard, run once on its landing page (Compare, demo scenario)."""
    at = new_app().run()
    assert not at.exception, at.exception
    return at


def interactive(at: AppTest) -> AppTest:
    """Compare with "Interactive charts" on: its figures drawn by plotly (off, they are static SVGs)."""
    if not at.toggle(key="interactive-charts").value:
        at.toggle(key="interactive-charts").set_value(True).run()
        assert not at.exception, at.exception
    return at


def page(at: AppTest, name: str) -> AppTest:
    at.switch_page(f"app_pages/{name}.py").run()
    assert not at.exception, at.exception
    return at


def scenario_of(at: AppTest) -> Scenario:
    return at.session_state["scenario"]


def _worded(saving, cur, *, per: str = "/mo") -> str:
    """A saving as the cards word it: never a negative saving."""
    if saving > 0:
        return f"saves {money(saving, **cur)}{per}"
    return f"costs {money(-saving, **cur)}{per} more" if saving < 0 else "same cost"


def expected_cards(result: ScenarioResult) -> list[list[str]]:
    """Every figure a KPI card must show, straight from the engine (month-1 cost, saving, months, NPV, fleet)."""
    s = result.scenario
    cur = {"currency": s.currency, "fx": s.usd_fx_rate}
    h = s.horizon_months
    cards = []
    for o in result.options:
        shown = [money(o.month1_usd, **cur)]
        if o.name != result.baseline:
            horizon = result.saving_horizon_usd(o.name)
            shown += [
                _worded(result.saving_month1_usd(o.name), cur),
                f"Saving over {h} months: **{money(horizon, **cur)}**"
                if horizon >= 0
                else f"Extra cost over {h} months: **{money(-horizon, **cur)}**",
                f"month {o.break_even_month}" if o.break_even_month else f"not within {h} months",
                f"month {o.payback_month}" if o.payback_month else f"not within {h} months",
                money(o.npv_saving_usd, **cur),  # type: ignore[arg-type]
            ]
        if o.kind in ("cloud_gpu", "on_prem", "hybrid"):
            first = o.months[0]
            peak = max(m.gpus for m in o.months)
            shown.append(f"{first.replicas} replica" + ("" if first.replicas == 1 else "s"))
            shown.append(f"{first.gpus} GPU" + ("" if first.gpus == 1 else "s") + " in month 1")
            if peak != first.gpus:
                shown.append(f"{peak} GPUs (month")
        cards.append([md(x) for x in shown])
    return cards


def shown_cards(at: AppTest, count: int) -> list[str]:
    """The text of each KPI card: its metric (value and delta) and its KPI lines."""
    out = []
    for i in range(count):
        card = at.main.get_by_key(f"kpi-{i}")
        parts = [f"{m.label} {m.value} {m.delta}" for m in card.metric] + [m.value for m in card.markdown]
        out.append("\n".join(parts))
    return out


def assert_compare_matches(at: AppTest, scenario: Scenario) -> ScenarioResult:
    """The Compare page shows the verdict and every KPI the engine computes for `scenario`."""
    result = evaluate(scenario)
    verdict = at.main.get_by_key("verdict")
    boxes = [*verdict.success, *verdict.info]
    assert [b.value for b in boxes] == [md(result.verdict)]
    for text, figures in zip(shown_cards(at, len(result.options)), expected_cards(result), strict=True):
        for figure in figures:
            assert figure in text, (figure, text)
    return result
