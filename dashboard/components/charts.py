"""Plotly figures for the pages. They plot the engine's numbers as they are (US dollars) and compute none.

Money axes carry their own ticks, written as money ($0.25, $10k, $1.2M): plotly's own formats write SI
prefixes ("250m" for $0.25, "100G", "100µ"), which read as something else. Every option keeps one style on
every chart (colour from a colour-blind-safe palette, no colour used twice); the baseline is drawn dark, dashed
and thicker, so an option costing about the same cannot hide it. Text is dark enough for 4.5:1 contrast on
the light theme's white. Each figure is built in one call from plain dicts, unvalidated (the tests validate
every chart a page draws).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from costmodel.fmt import money, tokens
from costmodel.sensitivity import TornadoBar
from costmodel.tco import ScenarioResult
from costmodel.throughput import VENDOR_GB_BYTES, ThroughputEstimate
from dashboard.components.engine import BreakEvenCurves
from dashboard.components.labels import path_label

__all__ = [
    "PALETTE",
    "TEXT_COLOURS",
    "break_even_chart",
    "compared_option",
    "cost_per_mtok_chart",
    "count_ticks",
    "cumulative_chart",
    "memory_chart",
    "money_ticks",
    "option_styles",
    "short_count",
    "short_money",
    "throughput_chart",
    "tornado_chart",
]

Trace = dict[str, Any]

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#8A6D00")
"""Okabe & Ito's colour-blind-safe palette (Color Universal Design, 2008) without its yellow, which
vanishes on white, plus a dark ochre; the baseline takes `_BASELINE` instead."""
_BASELINE = "#222222"
_DASHES = ("solid", "dot", "dashdot", "longdashdot")
"""With more options than colours, each further round of the palette takes the next dash: no style twice."""
TEXT_COLOURS = {"title": "#262730", "axis": "#31333F", "tick": "#494C57"}
"""Chart text on white: 15.1:1, 12.6:1 and 8.6:1 contrast (WCAG asks 4.5:1)."""
# Fixed hues for marks that are not options.
_LOW, _HIGH, _TARGET, _NEUTRAL = "#D55E00", "#0072B2", "#AA3377", "rgba(110, 110, 110, 0.55)"


@dataclass(frozen=True)
class Style:
    colour: str
    dash: str
    width: float


def option_styles(names: Sequence[str], baseline: str | None) -> dict[str, Style]:
    """One style per option, in the scenario's order: the baseline dark, dashed and thick, the others distinct."""
    out: dict[str, Style] = {}
    k = 0
    for name in names:
        if name == baseline:
            out[name] = Style(_BASELINE, "dash", 3.5)
            continue
        out[name] = Style(PALETTE[k % len(PALETTE)], _DASHES[(k // len(PALETTE)) % len(_DASHES)], 2.5)
        k += 1
    return out


def _styles(result: ScenarioResult) -> dict[str, Style]:
    return option_styles([o.name for o in result.options], result.baseline)


def _trim(v: float) -> str:
    text = f"{v:.3g}"
    return text if "e" not in text else f"{v:,.0f}"


def short_money(usd: float) -> str:
    """`$0.25`, `$250`, `$10k`, `$1.2M`, `$3B`: axis-tick money, never an SI prefix such as m, µ or G."""
    sign = "-" if usd < 0 else ""
    a = abs(usd)
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if a >= size * 0.9995:
            return f"{sign}${_trim(a / size)}{unit}"
    if a == 0:
        return "$0"
    if a >= 1:
        return f"{sign}${_trim(a)}"
    return f"{sign}${a:.2f}" if a >= 0.01 else f"{sign}${a:.2g}"


def short_count(n: float) -> str:
    """`500`, `10k`, `2.5M`, `1B`: tick labels for token volumes (B for billion, never G)."""
    a = abs(n)
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if a >= size * 0.9995:
            return f"{'-' if n < 0 else ''}{_trim(a / size)}{unit}"
    return _trim(n)


def _nice_step(span: float, target: int) -> float:
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * 0.999)


def _linear_ticks(lo: float, hi: float, target: int = 4) -> list[float]:
    if hi <= lo:
        hi = lo + (abs(lo) or 1)
    step = _nice_step(hi - lo, target)
    first, last = math.floor(lo / step), math.ceil(hi / step)
    return [round(k * step, 12) for k in range(first, last + 1)]


def _log_ticks(lo: float, hi: float) -> list[float]:
    lo, hi = max(lo, 1e-12), max(hi, lo * 1.0001)
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    mults = (1,) if b - a > 2 else (1, 2, 5) if b - a > 1 else (1, 2, 3, 5)
    return [m * 10.0**e for e in range(a, b + 1) for m in mults if lo / 1.5 <= m * 10.0**e <= hi * 1.5]


def money_ticks(lo: float, hi: float, *, log: bool = False) -> dict[str, Any]:
    """Axis settings that write money ticks ourselves: `tickvals` on round amounts, `ticktext` as money."""
    vals = _log_ticks(lo, hi) if log else _linear_ticks(lo, hi)
    return {"tickmode": "array", "tickvals": vals, "ticktext": [short_money(v) for v in vals]}


def count_ticks(lo: float, hi: float, *, log: bool = False) -> dict[str, Any]:
    """Axis settings for token volumes: round values written with k, M, B, T."""
    vals = _log_ticks(lo, hi) if log else _linear_ticks(lo, hi)
    return {"tickmode": "array", "tickvals": vals, "ticktext": [short_count(v) for v in vals]}


def _axis_text(axis: dict[str, Any]) -> dict[str, Any]:
    title = axis.get("title", {})
    return {
        **axis,
        "title": {**title, "font": {"color": TEXT_COLOURS["axis"], **title.get("font", {})}},
        "tickfont": {"color": TEXT_COLOURS["tick"], **axis.get("tickfont", {})},
    }


def _figure(traces: list[Trace], *, title: str, x: str, y: str, height: int = 420, **layout: Any) -> go.Figure:
    base: dict[str, Any] = {
        "title": {"text": title, "font": {"color": TEXT_COLOURS["title"]}},
        "xaxis": {"title": {"text": x}},
        "yaxis": {"title": {"text": y}},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0},
        "height": height,
        "margin": {"t": 60, "b": 10, "l": 10, "r": 10},
        "hovermode": "closest",
        "colorway": list(PALETTE),
    }
    for key, value in layout.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    for key in [k for k in base if k.startswith(("xaxis", "yaxis"))]:
        base[key] = _axis_text(base[key])
    base["legend"] = {**base["legend"], "font": {"color": TEXT_COLOURS["axis"]}}
    # Validation would double the cost of a slider change's redraw; tests/dashboard validate every figure.
    return go.Figure(data=traces, layout=base, _validate=False)


def _line(style: Style) -> dict[str, Any]:
    return {"color": style.colour, "dash": style.dash, "width": style.width}


def cumulative_chart(result: ScenarioResult) -> go.Figure:
    """Cumulative cost of every option, month by month over the horizon."""
    styles = _styles(result)
    traces = []
    top = 0.0
    for o in result.options:
        cum = o.cumulative_usd()
        top = max(top, float(cum[-1]))
        traces.append(
            {
                "type": "scatter",
                "x": [m.month for m in o.months],
                "y": [float(v) for v in cum],
                "customdata": [money(v) for v in cum],
                "name": o.name + (" (baseline)" if o.name == result.baseline else ""),
                "mode": "lines",
                "line": _line(styles[o.name]),
                "hovertemplate": "%{fullData.name}<br>by month %{x}: %{customdata}<extra></extra>",
            }
        )
    h = result.scenario.horizon_months
    return _figure(
        traces,
        title=f"Cumulative cost over {h} months",
        x="Month",
        y="Cumulative cost (USD)",
        yaxis={"rangemode": "tozero", **money_ticks(0, top)},
    )


def cost_per_mtok_chart(result: ScenarioResult) -> go.Figure:
    """Horizon cost ÷ horizon tokens of every option, as the engine reports it (one bar trace per option)."""
    styles = _styles(result)
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "x": [float(o.usd_per_mtok)],
            "y": [_wrap(o.name + (" (baseline)" if o.name == result.baseline else ""), 32)],
            "name": o.name,
            "text": [money(o.usd_per_mtok, decimals=2)],
            "textposition": "auto",
            "marker": {"color": styles[o.name].colour},
            "hovertemplate": o.name.replace("%", "%%") + ": %{text} per 1M tokens<extra></extra>",
            "showlegend": False,
        }
        for o in result.options
    ]
    h = result.scenario.horizon_months
    top = max(float(o.usd_per_mtok) for o in result.options)
    return _figure(
        traces,
        title=f"Cost per 1M tokens ({h}-month average)",
        x="USD per 1M tokens (in + out)",
        y="",
        xaxis={"rangemode": "tozero", **money_ticks(0, top)},
        yaxis={"autorange": "reversed", "automargin": True},
        barmode="overlay",
    )


def break_even_chart(curves: BreakEvenCurves, result: ScenarioResult) -> go.Figure:
    """Steady monthly cost of every option against monthly volume, both on log axes, crossings marked."""
    styles = _styles(result)
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
                "name": name + (" (baseline)" if name == result.baseline else ""),
                "mode": "lines",
                "line": {**_line(styles[name]), "shape": "hv" if stepped else "linear"},
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
        xaxis={"type": "log", **count_ticks(xs[0], xs[-1], log=True)},
        yaxis={"type": "log", **money_ticks(min(lows), max(highs), log=True)},
    )


def compared_option(result: ScenarioResult) -> str | None:
    """The option the tornado compares with the baseline: the best one, else the cheapest other one."""
    if result.best != result.baseline:
        return result.best
    others = [o for o in result.options if o.name != result.baseline]
    return min(others, key=lambda o: o.horizon_usd).name if others else None


def _wrap(text: str, width: int) -> str:
    return "<br>".join(textwrap.wrap(text, width, break_long_words=True)) or text


def tornado_label(result: ScenarioResult, bar: TornadoBar) -> str:
    """The bar's input in words (`Llama 3.1 8B on 1× H100 · Engineers (FTE)`), never its field path."""
    path = [int(p) if p.isdigit() else p for p in bar.path.split(".")]
    return path_label(result.scenario, path)


def tornado_chart(bars: Sequence[TornadoBar], result: ScenarioResult, *, top: int = 10) -> go.Figure:
    """Floating bars from the saving with each input lowered to the saving with it raised."""
    shown = list(bars[:top])[::-1]  # plotly draws the first category at the bottom: widest on top
    names = [tornado_label(result, b) for b in shown]
    labels = [_wrap(n, 30) for n in names]
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
                "customdata": [
                    [n, f"{getattr(b, value):,.4g}", money(getattr(b, saving))]
                    for n, b in zip(names, shown, strict=True)
                ],
                "name": name,
                "mode": "markers",
                "marker": {"symbol": symbol, "size": 13, "color": colour},
                "hovertemplate": "%{customdata[0]} = %{customdata[1]}<br>saving %{customdata[2]}<extra>"
                + name
                + "</extra>",
            }
        )
    other = compared_option(result)
    shapes = []
    xs = [float(v) for b in shown for v in (b.saving_low_usd, b.saving_high_usd)]
    if other is not None:
        base = float(result.saving_horizon_usd(other))
        xs.append(base)
        line = {"dash": "dot", "width": 1.5, "color": "#555555"}
        shapes.append(
            {"type": "line", "xref": "x", "yref": "paper", "x0": base, "x1": base, "y0": 0, "y1": 1, "line": line}
        )
    h = result.scenario.horizon_months
    return _figure(
        traces,
        title=f"What moves the {h}-month saving",
        x=f"Saving over {h} months (USD)",
        y="",
        height=max(460, 60 + 44 * len(shown) + 90),
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        margin={"t": 80, "b": 10},
        xaxis={**money_ticks(min(xs, default=0), max(xs, default=1)), "automargin": True},
        yaxis={"automargin": True, "tickfont": {"size": 12}},
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
        xaxis={"type": "log", **count_ticks(conc[0], conc[-1], log=True)},
        yaxis={"rangemode": "tozero"},
        yaxis2={
            "title": {"text": "Per-stream output tok/s"},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
            "tickmode": "auto",  # not synced to the left axis's grid, which gives odd values such as 23 and 31
        },
    )


def memory_chart(est: ThroughputEstimate, *, title: str) -> go.Figure:
    """Where a replica's GPU memory goes: weights, KV cache, and what the runtime keeps back."""
    reserved = max(0.0, est.memory_gb - est.weights_gb - est.kv_capacity_gb)
    parts = [
        ("Weights", est.weights_gb),
        (f"KV cache ({est.max_concurrency} streams)", est.kv_capacity_gb),
        ("Reserve", reserved),
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
        x=f"GB ({est.memory_gb:,.1f} GB = {est.memory_gb * 1e9 / VENDOR_GB_BYTES:,.0f} GiB of GPU memory in all)",
        y="",
        height=330,
        barmode="stack",
        xaxis={"range": [0, est.memory_gb]},
        yaxis={"showticklabels": False},
        legend={"y": -0.5, "traceorder": "normal"},
    )
