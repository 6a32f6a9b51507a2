"""Plotly figures for the pages. They plot the engine's numbers as they are (US dollars) and compute none.

Figures set no template, so `st.plotly_chart(theme="streamlit")` styles them for the light and the dark
theme alike; series take their colours from one colourway, one trace per option in the scenario's order, so
an option has the same colour on every chart. Each figure is built in one call
from plain dicts, unvalidated (the tests validate every chart a page draws).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from costmodel.fmt import money, tokens
from costmodel.sensitivity import TornadoBar
from costmodel.tco import ScenarioResult
from costmodel.throughput import ThroughputEstimate
from dashboard.components.engine import BreakEvenCurves

__all__ = [
    "break_even_chart",
    "compared_option",
    "cost_per_mtok_chart",
    "cumulative_chart",
    "memory_chart",
    "throughput_chart",
    "tornado_chart",
]

Trace = dict[str, Any]

# Mid-lightness hues, readable on white and on Streamlit's dark background alike (the theme's own colourway
# pairs dark and pale shades, and the pale ones vanish on white).
_OPTION_COLOURS = ["#3B82F6", "#F59E0B", "#10B981", "#EF4444", "#8B5CF6", "#EC4899", "#14B8A6", "#84CC16"]
# Fixed hues for marks that are not options.
_LOW, _HIGH, _TARGET, _NEUTRAL = "#E8710A", "#12A4B4", "#D6336C", "rgba(128, 128, 128, 0.45)"


def _figure(traces: list[Trace], *, title: str, x: str, y: str, height: int = 420, **layout: Any) -> go.Figure:
    base: dict[str, Any] = {
        "title": {"text": title},
        "xaxis": {"title": {"text": x}},
        "yaxis": {"title": {"text": y}},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0},
        "height": height,
        "margin": {"t": 60, "b": 10, "l": 10, "r": 10},
        "hovermode": "closest",
        "colorway": _OPTION_COLOURS,
    }
    for key, value in layout.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    # Validation would double the cost of a slider change's redraw; tests/dashboard validate every figure.
    return go.Figure(data=traces, layout=base, _validate=False)


def cumulative_chart(result: ScenarioResult) -> go.Figure:
    """Cumulative cost of every option, month by month over the horizon."""
    traces = []
    for o in result.options:
        cum = o.cumulative_usd()
        traces.append(
            {
                "type": "scatter",
                "x": [m.month for m in o.months],
                "y": [float(v) for v in cum],
                "customdata": [money(v) for v in cum],
                "name": o.name,
                "mode": "lines",
                "line": {"width": 3.5 if o.name == result.baseline else 2},
                "hovertemplate": "%{fullData.name}<br>by month %{x}: %{customdata}<extra></extra>",
            }
        )
    h = result.scenario.horizon_months
    return _figure(
        traces,
        title=f"Cumulative cost over {h} months",
        x="Month",
        y="Cumulative cost (USD)",
        yaxis={"tickprefix": "$", "tickformat": "~s", "rangemode": "tozero"},
    )


def cost_per_mtok_chart(result: ScenarioResult) -> go.Figure:
    """Horizon cost ÷ horizon tokens of every option, as the engine reports it (one bar trace per option)."""
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "x": [float(o.usd_per_mtok)],
            "y": [o.name],
            "name": o.name,
            "text": [money(o.usd_per_mtok, decimals=2)],
            "textposition": "auto",
            "hovertemplate": "%{y}: %{text} per 1M tokens<extra></extra>",
            "showlegend": False,
        }
        for o in result.options
    ]
    h = result.scenario.horizon_months
    return _figure(
        traces,
        title=f"Cost per 1M tokens ({h}-month average)",
        x="USD per 1M tokens (input + output)",
        y="",
        xaxis={"tickprefix": "$", "rangemode": "tozero"},
        yaxis={"autorange": "reversed", "automargin": True},
        barmode="overlay",
    )


def break_even_chart(curves: BreakEvenCurves, result: ScenarioResult) -> go.Figure:
    """Steady monthly cost of every option against monthly volume, both on log axes, crossings marked."""
    xs = [float(v) for v in curves.tokens_per_month]
    xlabels = [tokens(v) for v in curves.tokens_per_month]
    traces: list[Trace] = []
    lows, highs = [], []
    for name, ys in curves.usd_per_month.items():
        values = [float(v) for v in ys]
        lows.append(min(values))
        highs.append(max(values))
        stepped = result.option(name).kind not in ("api", "managed")
        traces.append(
            {
                "type": "scatter",
                "x": xs,
                "y": values,
                "customdata": [[label, money(c)] for label, c in zip(xlabels, ys, strict=True)],
                "name": name,
                "mode": "lines",
                "line": {"shape": "hv" if stepped else "linear"},
                "hovertemplate": "%{fullData.name}<br>%{customdata[0]} tokens/month: %{customdata[1]}<extra></extra>",
            }
        )
    if curves.crossings:
        traces.append(
            {
                "type": "scatter",
                "x": [float(c.tokens_per_month) for c in curves.crossings],
                "y": [float(c.usd_per_month) for c in curves.crossings],
                "customdata": [
                    [c.option, c.api, tokens(c.tokens_per_month), money(c.usd_per_month)] for c in curves.crossings
                ],
                "name": "Break-even point",
                "mode": "markers",
                "marker": {"symbol": "x-thin-open", "size": 14, "line": {"width": 3}, "color": _TARGET},
                "hovertemplate": "%{customdata[0]} costs the same as %{customdata[1]}<br>"
                "at %{customdata[2]} tokens/month (%{customdata[3]}/month)<extra></extra>",
            }
        )
    now = float(curves.current_tokens_per_month)
    traces.append(
        {
            "type": "scatter",
            "x": [now, now],
            "y": [min(lows), max(highs)],
            "name": f"Today: {tokens(curves.current_tokens_per_month)} tokens/month",
            "mode": "lines",
            "line": {"dash": "dot", "width": 1.5, "color": _NEUTRAL},
            "hoverinfo": "skip",
        }
    )
    return _figure(
        traces,
        title="Monthly cost vs monthly volume (steady state)",
        x="Tokens per month (input + output, log scale)",
        y="Cost per month (USD, log scale)",
        height=480,
        legend={"y": -0.25},
        xaxis={"type": "log"},
        yaxis={"type": "log", "tickprefix": "$", "tickformat": "~s"},
    )


def compared_option(result: ScenarioResult) -> str | None:
    """The option the tornado compares with the baseline: the best one, else the cheapest other one."""
    if result.best != result.baseline:
        return result.best
    others = [o for o in result.options if o.name != result.baseline]
    return min(others, key=lambda o: o.horizon_usd).name if others else None


def tornado_chart(bars: Sequence[TornadoBar], result: ScenarioResult, *, top: int = 10) -> go.Figure:
    """Floating bars from the saving with each input lowered to the saving with it raised."""
    shown = list(bars[:top])[::-1]  # plotly draws the first category at the bottom: widest on top
    labels = [b.label for b in shown]
    pct = f"{result.scenario.sensitivity_pct:g} %"
    traces: list[Trace] = [
        {
            "type": "bar",
            "orientation": "h",
            "y": labels,
            "x": [float(b.swing_usd) for b in shown],
            "base": [float(min(b.saving_low_usd, b.saving_high_usd)) for b in shown],
            "marker": {"color": _NEUTRAL},
            "showlegend": False,
            "hoverinfo": "skip",
        }
    ]
    for name, saving, value, symbol, colour in (
        (f"input −{pct}", "saving_low_usd", "low_value", "triangle-left", _LOW),
        (f"input +{pct}", "saving_high_usd", "high_value", "triangle-right", _HIGH),
    ):
        traces.append(
            {
                "type": "scatter",
                "y": labels,
                "x": [float(getattr(b, saving)) for b in shown],
                "customdata": [[f"{getattr(b, value):,.4g}", money(getattr(b, saving))] for b in shown],
                "name": name,
                "mode": "markers",
                "marker": {"symbol": symbol, "size": 13, "color": colour},
                "hovertemplate": "%{y} = %{customdata[0]}<br>saving %{customdata[1]}<extra>" + name + "</extra>",
            }
        )
    other = compared_option(result)
    shapes = []
    if other is not None:
        base = float(result.saving_horizon_usd(other))
        line = {"dash": "dot", "width": 1.5, "color": _NEUTRAL}
        shapes.append(
            {"type": "line", "xref": "x", "yref": "paper", "x0": base, "x1": base, "y0": 0, "y1": 1, "line": line}
        )
    h = result.scenario.horizon_months
    return _figure(
        traces,
        title=f"What moves the {h}-month saving",
        x=f"Saving over {h} months (USD)",
        y="",
        height=460,
        xaxis={"tickprefix": "$", "tickformat": "~s"},
        yaxis={"automargin": True},
        shapes=shapes,
    )


def throughput_chart(
    points: Sequence[ThroughputEstimate], *, target_per_user: float, chosen: ThroughputEstimate | None, title: str
) -> go.Figure:
    """Replica output tokens/s and per-stream tokens/s against concurrent streams, with the latency target."""
    conc = [p.concurrency for p in points]
    traces: list[Trace] = [
        {
            "type": "scatter",
            "x": conc,
            "y": [p.output_tokens_per_s for p in points],
            "name": "Replica output tok/s (left axis)",
            "mode": "lines+markers",
            "customdata": [f"{p.ttft_ms:,.0f}" for p in points],
            "hovertemplate": "%{x} streams: %{y:,.0f} tok/s, time to first token %{customdata} ms<extra></extra>",
        },
        {
            "type": "scatter",
            "x": conc,
            "y": [p.output_tokens_per_s_per_stream for p in points],
            "name": "Per-stream tok/s (right axis)",
            "mode": "lines+markers",
            "yaxis": "y2",
            "hovertemplate": "%{x} streams: %{y:,.1f} tok/s per user<extra></extra>",
        },
        {
            "type": "scatter",
            "x": [conc[0], conc[-1]],
            "y": [target_per_user, target_per_user],
            "name": f"Target: {target_per_user:g} tok/s per user",
            "mode": "lines",
            "yaxis": "y2",
            "line": {"dash": "dash", "color": _TARGET},
            "hoverinfo": "skip",
        },
    ]
    if chosen is not None:
        traces.append(
            {
                "type": "scatter",
                "x": [chosen.concurrency],
                "y": [chosen.output_tokens_per_s],
                "name": f"Sized at {chosen.concurrency} streams",
                "mode": "markers",
                "marker": {"symbol": "star", "size": 16, "color": _TARGET},
                "hovertemplate": "%{x} streams meet the targets: %{y:,.0f} tok/s<extra></extra>",
            }
        )
    return _figure(
        traces,
        title=title,
        x="Concurrent streams (log scale)",
        y="Replica output tok/s",
        height=440,
        xaxis={"type": "log"},
        yaxis={"rangemode": "tozero"},
        yaxis2={
            "title": {"text": "Per-stream output tok/s"},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
            "tickformat": ",.0f",
        },
    )


def memory_chart(est: ThroughputEstimate, *, title: str) -> go.Figure:
    """Where a replica's GPU memory goes: weights, KV cache, and what the runtime keeps back."""
    reserved = max(0.0, est.memory_gb - est.weights_gb - est.kv_capacity_gb)
    parts = [
        ("Weights", est.weights_gb),
        (f"KV cache (room for {est.max_concurrency} streams at mean length)", est.kv_capacity_gb),
        ("Runtime reserve and headroom", reserved),
    ]
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "x": [gb],
            "y": ["GPU memory"],
            "name": f"{name}: {gb:,.1f} GB",
            "hovertemplate": f"{name}: {gb:,.1f} GB<extra></extra>",
            **({"marker": {"color": _NEUTRAL}} if i == 2 else {}),
        }
        for i, (name, gb) in enumerate(parts)
    ]
    return _figure(
        traces,
        title=title,
        x=f"GB ({est.memory_gb:,.0f} GB of GPU memory in all)",
        y="",
        height=330,
        barmode="stack",
        xaxis={"range": [0, est.memory_gb]},
        yaxis={"showticklabels": False},
        legend={"y": -0.5, "traceorder": "normal"},
    )
