"""Compare's static charts: the SVG says what the plotly figure says (ticks, legend, bar lengths, hover texts).

Each check reads the SVG back as XML, so a drawing that a browser would refuse fails here too.
"""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

import pytest

from costmodel.demo import demo_scenario
from costmodel.tco import evaluate
from dashboard.components import charts
from dashboard.components.engine import break_even_curves, tornado_for
from dashboard.components.svg_chart import WIDTH, figure_svg

NS = {"s": "http://www.w3.org/2000/svg"}
SI_TICK = re.compile(r"\d[mµunGP]$")


@pytest.fixture(scope="module")
def figures():
    scenario = demo_scenario()
    result = evaluate(scenario)
    return result, {
        "cumulative": charts.cumulative_chart(result),
        "per_mtok": charts.cost_per_mtok_chart(result),
        "break_even": charts.break_even_chart(break_even_curves(scenario), result),
        "tornado": charts.tornado_chart(tornado_for(scenario), result),
    }


def _svg(fig) -> ET.Element:
    return ET.fromstring(figure_svg(fig))


def _ticks(root: ET.Element, axis: str) -> list[str]:
    return ["".join(t.itertext()) for t in root.iterfind(f".//s:g[@class='{axis}']/s:text", NS)]


def test_every_chart_is_valid_svg_with_its_title_ticks_and_legend(figures):
    result, figs = figures
    for name, fig in figs.items():
        root = _svg(fig)
        layout = fig.to_dict()["layout"]
        assert root.get("class") == "opentco-chart" and root.get("viewBox").startswith(f"0 0 {WIDTH} ")
        assert root.get("aria-label") == layout["title"]["text"], name
        for axis, key in (("xtick", "xaxis"), ("ytick", "yaxis")):
            shown = _ticks(root, axis)
            given = layout.get(key, {}).get("ticktext")
            if given:  # the figure's own money/count ticks, those inside the drawn range
                assert shown and set(shown) <= set(given), (name, axis, shown)
            for t in shown:
                assert not SI_TICK.search(t), (name, t)
        legend = ["".join(t.itertext()) for t in root.iterfind(".//s:g[@class='legend']/s:text", NS)]
        named = [t["name"] for t in fig.to_dict()["data"] if t.get("showlegend") is not False and t.get("name")]
        assert legend == named, name
    # the cumulative chart names every option, the baseline marked
    cum = ["".join(t.itertext()) for t in _svg(figs["cumulative"]).iterfind(".//s:g[@class='legend']/s:text", NS)]
    assert f"{result.baseline} (baseline)" in cum and len(cum) == len(result.options)


def test_bar_lengths_are_proportional_to_cost_per_million_tokens(figures):
    result, figs = figures
    root = _svg(figs["per_mtok"])
    bars = [r for r in root.iterfind(".//s:g[@class='traces']/s:rect", NS)]
    assert len(bars) == len(result.options)
    widths = [float(r.get("width")) for r in bars]
    costs = [float(o.usd_per_mtok) for o in result.options]
    for w, c in zip(widths, costs, strict=True):
        assert w / widths[0] == pytest.approx(c / costs[0], abs=0.01)
    # each bar answers hover with the engine's figure
    tips = ["".join(r.find("s:title", NS).itertext()) for r in bars]
    assert tips[0].startswith(result.options[0].name) and "per 1M tokens" in tips[0]


def test_log_axes_space_decades_evenly(figures):
    _, figs = figures
    root = _svg(figs["break_even"])
    xs = {
        "".join(g.itertext()): float(g.find("s:text", NS).get("x")) for g in root.iterfind(".//s:g[@class='xtick']", NS)
    }
    decades = [xs[k] for k in ("1B", "10B", "100B") if k in xs]
    assert len(decades) >= 2
    steps = [b - a for a, b in itertools.pairwise(decades)]
    assert all(math.isclose(s, steps[0], abs_tol=0.25) for s in steps) and steps[0] > 0, steps  # 0.1 px rounding


def test_tornado_markers_answer_hover_with_the_input_and_the_saving(figures):
    _, figs = figures
    root = _svg(figs["tornado"])
    tips = ["".join(t.itertext()) for t in root.iterfind(".//s:g[@class='traces']//s:title", NS)]
    assert tips and all("saving $" in t for t in tips)
    assert any(t.endswith("input −20 %") for t in tips) and any(t.endswith("input +20 %") for t in tips)


def test_names_from_users_are_text_never_markup():
    hostile = '<script>alert(1)</script> & "quoted" <br> =SUM(A1)'
    fig = charts._figure(
        [{"type": "scatter", "x": [1, 2], "y": [3, 4], "name": hostile, "mode": "lines", "hovertemplate": "%{x}"}],
        title=hostile,
        x="x",
        y="y",
    )
    text = figure_svg(fig)
    root = ET.fromstring(text)
    assert "<script" not in text and root.find(".//s:script", NS) is None
    legend = ["".join(t.itertext()) for t in root.iterfind(".//s:g[@class='legend']/s:text", NS)]
    assert legend == [hostile]
    assert "".join(root.find(".//s:text[@class='gtitle']", NS).itertext()) == hostile
