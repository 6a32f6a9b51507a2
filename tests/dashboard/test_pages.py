"""Measure and Business case: what a user sees before acting, and an idle page that stays idle."""

from __future__ import annotations

import pytest

from costmodel.demo import demo_scenario
from costmodel.fmt import money
from costmodel.tco import evaluate
from dashboard.components.text import md
from tests.dashboard.conftest import page


def _walk(node):
    """Every element of the page in the order it is drawn (depth first)."""
    for child in getattr(node, "children", {}).values():
        yield child
        yield from _walk(child)


def test_business_case_shows_the_verdict_and_the_kpis_before_the_downloads(app):
    page(app, "business_case")
    result = evaluate(demo_scenario())
    assert [b.value for b in app.main.get_by_key("verdict").success] == [md(result.verdict)]
    table = app.table[0].value.reset_index()
    assert list(table["Option"]) == [
        o.name + (" (baseline)" if o.name == result.baseline else "") for o in result.options
    ]
    assert list(table["Month-1 cost"]) == [money(o.month1_usd) for o in result.options]
    assert list(table["Per 1M tokens"]) == [money(o.usd_per_mtok, decimals=2) for o in result.options]
    best = result.option(result.best)
    row = table[table["Option"] == best.name].iloc[0]
    assert row["Saving over 36 months"] == f"saves {money(result.saving_horizon_usd(best.name))}"
    order = [getattr(e, "type", "") for e in _walk(app.main)]
    first_download = next(i for i, t in enumerate(order) if t == "download_button")
    assert order.index("success") < order.index("table") < first_download


def test_measure_without_a_gpu_says_so_once(app, monkeypatch):
    import costmodel.measure
    from costmodel.errors import MeasurementUnavailable

    def no_gpu():
        raise MeasurementUnavailable("No GPU here; throughput can still be measured without power.")

    monkeypatch.setattr(costmodel.measure, "inventory", no_gpu)
    page(app, "measure")
    infos = [i.value for i in app.info if "No GPU here" in i.value]
    assert infos == ["No GPU here; throughput can still be measured without power."]


@pytest.mark.parametrize("running", [False, True])
def test_measure_polls_only_while_a_run_is_in_flight(app, monkeypatch, running):
    import streamlit

    periods = []
    real = streamlit.fragment

    def recording(func=None, *, run_every=None, **kw):
        periods.append(run_every)
        return real(func, run_every=run_every, **kw) if func else real(run_every=run_every, **kw)

    class Job:  # what the page reads of a run in flight
        done = False

        def progress(self):
            from types import SimpleNamespace

            return SimpleNamespace(sweep=None, timeline=[])

    if running:
        app.session_state["measure_job"] = Job()
    monkeypatch.setattr(streamlit, "fragment", recording)
    page(app, "measure")
    assert periods == ([0.5] if running else [None])
