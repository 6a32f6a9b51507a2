"""Draw a page's plotly figure as a static SVG the browser shows at once, with plotly.js nowhere in the page.

Why: on Compare, plotly.js is most of what the browser does. Measured with `bench/bench_pages.py --only drawn`
on the 2-core build box, the four plotly charts cost the browser about 1.3 CPU-seconds per load, which put
"fully drawn" at 1.95 s on a quiet machine (issue 13 asks for 1.5 s); without them the same page is drawn in
about 1.2 s. The figures stay the one definition of each chart (`charts.py`): this module reads their traces
and layout and writes the same lines, bars, markers, money ticks, legend and hover texts (as SVG `<title>`
tooltips) for the subset of plotly those figures use: scatter lines (linear or stepped `hv`) and markers, bars
(horizontal, with a base), linear, log and category axes with `tickvals`/`ticktext`, and line shapes. The page
offers plotly itself for zooming ("Interactive charts").

Text is measured by an estimate (average glyph widths of a sans-serif face), so labels get their room without
a browser. Every string from a figure is escaped: option names come from users.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from dashboard.components.charts import PALETTE, TEXT_COLOURS, _linear_ticks

__all__ = ["figure_svg"]

WIDTH = 480
"""The drawing's own width: about a Compare column's at 1280–1440 px, so text keeps about its size there. The SVG
scales to its column (`width: 100%`, at most 1.5× this), keeping its aspect ratio."""
_FONT = "'Source Sans Pro', 'Source Sans 3', system-ui, sans-serif"
_TICK_PX, _AXIS_PX, _TITLE_PX, _LEGEND_PX = 12, 13, 15, 12
_GRID, _ZERO, _PLOT_BG = "#E6E6E6", "#BDBDBD", "#FFFFFF"
_DASH = {"solid": "", "dot": "2,3", "dash": "8,5", "dashdot": "8,4,2,4", "longdash": "14,5", "longdashdot": "14,4,2,4"}


def _text_width(text: str, px: float) -> float:
    """Width of `text` at `px` in an average sans-serif face (narrow glyphs ~0.3 em, wide ~0.9 em)."""
    em = 0.0
    for ch in text:
        em += 0.32 if ch in "ilj.,:;'|!() " else 0.92 if ch in "MWmw@%" else 0.7 if ch.isupper() or ch == "$" else 0.58
    return em * px * 1.05  # rather too wide than cut


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _lines(text: object) -> list[str]:
    """Plotly's `<br>` line breaks as lines (other tags are dropped, entities kept as written)."""
    return [re.sub(r"<[^>]+>", "", part) for part in re.split(r"<br\s*/?>", str(text or ""))]


@dataclass(frozen=True)
class _Axis:
    """One axis: where data values go on the drawing, and its ticks."""

    kind: str  # "linear", "log" or "category"
    lo: float
    hi: float
    start: float  # drawing coordinate of lo
    end: float  # drawing coordinate of hi
    ticks: tuple[tuple[float, str], ...]
    categories: tuple[str, ...] = ()

    def at(self, v: Any) -> float:
        if self.kind == "category":
            v = self.categories.index(v) if v in self.categories else 0
        x = float(v)
        if self.kind == "log":
            x = math.log10(max(x, 1e-300))
        span = self.hi - self.lo or 1.0
        return self.start + (x - self.lo) / span * (self.end - self.start)


def _plain(v: float) -> str:
    text = f"{v:,.3g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return text


def _value_axis(spec: dict[str, Any], values: Sequence[float], start: float, end: float) -> _Axis:
    """A numeric axis over `values`: the figure's own ticks when it gives them, else round ones."""
    log = spec.get("type") == "log"
    vals = [v for v in values if math.isfinite(v) and (v > 0 or not log)]
    if spec.get("rangemode") == "tozero" and not log:
        vals.append(0.0)
    if "range" in spec and not log:
        lo, hi = (float(r) for r in spec["range"])
    elif log:
        lo = math.log10(min(vals, default=1.0))
        hi = math.log10(max(vals, default=10.0))
        pad = max(hi - lo, 0.3) * 0.04
        lo, hi = lo - pad, hi + pad
    else:
        lo, hi = min(vals, default=0.0), max(vals, default=1.0)
        if hi == lo:
            hi = lo + (abs(lo) or 1.0)
        pad = (hi - lo) * 0.05
        lo = lo if lo == 0 and spec.get("rangemode") == "tozero" else lo - pad
        hi += pad
    if spec.get("tickvals") is not None:
        pairs = list(zip(spec["tickvals"], spec.get("ticktext") or [_plain(v) for v in spec["tickvals"]], strict=False))
    else:
        pairs = [(v, _plain(v)) for v in _linear_ticks(lo, hi, target=5)]
    inside = []
    for v, label in pairs:
        pos = math.log10(v) if log and v > 0 else float(v)
        if lo - 1e-9 <= pos <= hi + 1e-9 and not (log and v <= 0):
            inside.append((float(v), str(label)))
    return _Axis("log" if log else "linear", lo, hi, start, end, tuple(inside))


def _hover(template: str | None, trace: dict[str, Any], i: int, x: Any, y: Any) -> str:
    """The point's hover text from its `hovertemplate` (the fields the figures use), as plain lines."""
    name = str(trace.get("name") or "")
    if not template:
        return f"{name}: {_plain(float(x))}" if trace.get("orientation") == "h" else f"{name}: {y}"
    extra = re.search(r"<extra>(.*?)</extra>", template)
    text = re.sub(r"<extra>.*?</extra>", "", template)
    custom = trace.get("customdata")
    row = custom[i] if custom is not None and i < len(custom) else None

    def field(m: re.Match[str]) -> str:
        key, fmt = m.group(1), m.group(2)
        if key == "fullData.name":
            return name
        if key in ("x", "y"):
            v = x if key == "x" else y
            if fmt and isinstance(v, int | float):
                decimals = re.search(r"\.(\d+)f", fmt)
                return f"{float(v):,.{decimals.group(1) if decimals else 0}f}"
            return str(v)
        if key == "text":
            t = trace.get("text")
            return str(t[i] if isinstance(t, list | tuple) and i < len(t) else t or "")
        if key == "customdata":
            return str(row)
        k = re.fullmatch(r"customdata\[(\d+)\]", key)
        if k and isinstance(row, list | tuple) and int(k.group(1)) < len(row):
            return str(row[int(k.group(1))])
        return ""

    text = re.sub(r"%\{([^}:]+)(?::([^}]*))?\}", field, text)
    lines = _lines(text)
    if extra and extra.group(1):
        lines.append(extra.group(1))
    return "\n".join(line for line in lines if line)


def _marker(symbol: str, x: float, y: float, size: float, colour: str, width: float) -> str:
    r = size / 2
    if symbol.startswith("x"):
        d = f"M{x - r:.1f},{y - r:.1f}L{x + r:.1f},{y + r:.1f}M{x - r:.1f},{y + r:.1f}L{x + r:.1f},{y - r:.1f}"
        return f'<path d="{d}" stroke="{colour}" stroke-width="{width}" fill="none"/>'
    if symbol.startswith("triangle-left"):
        pts = f"{x - r:.1f},{y:.1f} {x + r:.1f},{y - r:.1f} {x + r:.1f},{y + r:.1f}"
    elif symbol.startswith("triangle-right"):
        pts = f"{x + r:.1f},{y:.1f} {x - r:.1f},{y - r:.1f} {x - r:.1f},{y + r:.1f}"
    elif symbol.startswith("star"):
        pts = " ".join(
            f"{x + (r if k % 2 == 0 else r * 0.45) * math.sin(k * math.pi / 5):.1f},"
            f"{y - (r if k % 2 == 0 else r * 0.45) * math.cos(k * math.pi / 5):.1f}"
            for k in range(10)
        )
    else:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r * 0.6:.1f}" fill="{colour}"/>'
    return f'<polygon points="{pts}" fill="{colour}"/>'


def _dash(dash: str | None, width: float) -> str:
    pattern = _DASH.get(dash or "solid", "")
    if not pattern:
        return ""
    scaled = ",".join(f"{float(p) * max(1.0, width / 2):g}" for p in pattern.split(","))
    return f' stroke-dasharray="{scaled}"'


def _path(points: list[tuple[float, float]], shape: str | None) -> str:
    out = []
    for k, (x, y) in enumerate(points):
        if k == 0:
            out.append(f"M{x:.1f},{y:.1f}")
        elif shape == "hv":
            out.append(f"H{x:.1f}V{y:.1f}")
        else:
            out.append(f"L{x:.1f},{y:.1f}")
    return "".join(out)


def _legend_items(data: list[dict[str, Any]], colours: Sequence[str]) -> list[tuple[str, dict[str, Any], str]]:
    items = []
    for k, t in enumerate(data):
        if t.get("showlegend") is False or not t.get("name"):
            continue
        colour = (t.get("line") or {}).get("color") or (t.get("marker") or {}).get("color") or colours[k % len(colours)]
        items.append((str(t["name"]), t, colour))
    return items


def figure_svg(fig: go.Figure) -> str:
    """The figure as one `<svg>` element (a string), sized by the figure's own height."""
    spec = fig.to_dict()
    data: list[dict[str, Any]] = spec.get("data", [])
    layout: dict[str, Any] = {k: v for k, v in spec.get("layout", {}).items() if k != "template"}
    colours = layout.get("colorway") or list(PALETTE)
    tc = TEXT_COLOURS
    height = float(layout.get("height") or 420)
    xspec, yspec = layout.get("xaxis", {}), layout.get("yaxis", {})
    title = (layout.get("title") or {}).get("text", "")
    xtitle = ((xspec.get("title") or {}).get("text")) or ""
    ytitle = ((yspec.get("title") or {}).get("text")) or ""

    # categories (horizontal bars and the markers on them): plotly puts the first at the bottom
    cats: list[str] = []
    for t in data:
        if t.get("orientation") == "h" or (t.get("y") and isinstance((t.get("y") or [None])[0], str)):
            for c in t.get("y") or []:
                if c not in cats:
                    cats.append(c)
    category_y = bool(cats)

    legend = _legend_items(data, colours)
    legend_rows: list[list[tuple[str, dict[str, Any], str, float]]] = [[]]
    row_w = 0.0
    for name, t, colour in legend:
        w = 34 + _text_width(name, _LEGEND_PX) + 18
        if legend_rows[-1] and row_w + w > WIDTH - 20:
            legend_rows.append([])
            row_w = 0.0
        legend_rows[-1].append((name, t, colour, w))
        row_w += w
    legend_h = 20 * len(legend_rows) + 8 if legend else 0

    # left margin: the widest y tick label, plus the axis title
    x_values = [float(v) for t in data for v in (t.get("x") or []) if isinstance(v, int | float)]
    for t in data:  # bars drawn from a base reach base + length
        if t.get("type") == "bar" and t.get("base") is not None:
            x_values += [float(b) + float(v) for b, v in zip(t["base"], t.get("x") or [], strict=False)]
            x_values += [float(b) for b in t["base"]]
    y_values = [float(v) for t in data for v in (t.get("y") or []) if isinstance(v, int | float)]
    for s in layout.get("shapes") or []:
        if s.get("xref") == "x":
            x_values += [float(s["x0"]), float(s["x1"])]
    top = 34.0 if title else 10.0
    bottom_axis = 22 + (20 if xtitle else 0)
    plot_top, plot_bottom = top + 6, height - bottom_axis - legend_h - 8
    cat_px = float(_TICK_PX)
    if category_y:
        label_lines = [_lines(c) for c in cats]
        widest = max((_text_width(line, _TICK_PX) for lines in label_lines for line in lines), default=0)
        room = WIDTH * 0.4 - 14  # long labels shrink rather than squeeze the plot (plotly's automargin does not)
        cat_px = _TICK_PX * min(1.0, room / widest) if widest else cat_px
        left = 14 + min(widest, room)
    else:
        probe = _value_axis(yspec, y_values, plot_bottom, plot_top)
        left = 14 + max((_text_width(label, _TICK_PX) for _, label in probe.ticks), default=20)
    left += 22 if ytitle else 0
    right = WIDTH - 16
    xaxis = _value_axis(xspec, x_values, left, right)
    if category_y:
        order = cats if yspec.get("autorange") == "reversed" else cats[::-1]
        band = (plot_bottom - plot_top) / max(len(order), 1)
        yaxis = _Axis(
            "category", -0.5, len(order) - 0.5, plot_top, plot_bottom, tuple((i, c) for i, c in enumerate(order)),
            tuple(order),
        )  # fmt: skip
    else:
        band = 0.0
        yaxis = _value_axis(yspec, y_values, plot_bottom, plot_top)

    out: list[str] = [
        f'<svg class="opentco-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="100%" role="img" aria-label="{_esc(title)}" '
        f'style="max-width:{WIDTH * 1.5:.0f}px;height:auto;font-family:{_FONT}">',
        f'<rect width="{WIDTH}" height="{height:.0f}" fill="#FFFFFF"/>',
    ]
    if title:
        title_x = min(left, max(10.0, WIDTH - 10 - _text_width(title, _TITLE_PX)))  # cut neither end
        out.append(
            f'<text class="gtitle" x="{title_x:.1f}" y="22" font-size="{_TITLE_PX}" fill="{tc["title"]}">'
            f"{_esc(title)}</text>"
        )
    out.append(
        f'<rect x="{left:.1f}" y="{plot_top:.1f}" width="{right - left:.1f}" height="{plot_bottom - plot_top:.1f}" '
        f'fill="{_PLOT_BG}"/>'
    )
    # grid and ticks
    out.append('<g class="xaxislayer">')
    for v, label in xaxis.ticks:
        x = xaxis.at(v)
        out.append(
            f'<line x1="{x:.1f}" y1="{plot_top:.1f}" x2="{x:.1f}" y2="{plot_bottom:.1f}" '
            f'stroke="{_ZERO if v == 0 and xaxis.kind == "linear" else _GRID}"/>'
        )
        out.append(
            f'<g class="xtick"><text x="{x:.1f}" y="{plot_bottom + 16:.1f}" font-size="{_TICK_PX}" '
            f'text-anchor="middle" fill="{tc["tick"]}">{_esc(label)}</text></g>'
        )
    out.append("</g>")
    out.append('<g class="yaxislayer">')
    for v, label in yaxis.ticks:
        y = yaxis.at(label if yaxis.kind == "category" else v)
        if yaxis.kind != "category":
            colour = _ZERO if v == 0 and yaxis.kind == "linear" else _GRID
            out.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" stroke="{colour}"/>')
        lines = _lines(label)
        first = y + 4 - (len(lines) - 1) * 7
        spans = "".join(
            f'<tspan x="{left - 6:.1f}" y="{first + 14 * k:.1f}">{_esc(line)}</tspan>' for k, line in enumerate(lines)
        )
        px = cat_px if yaxis.kind == "category" else _TICK_PX
        out.append(
            f'<g class="ytick"><text font-size="{px:.1f}" text-anchor="end" fill="{tc["tick"]}">{spans}</text></g>'
        )
    out.append("</g>")
    if xtitle:
        out.append(
            f'<text class="xtitle" x="{(left + right) / 2:.1f}" y="{plot_bottom + 36:.1f}" font-size="{_AXIS_PX}" '
            f'text-anchor="middle" fill="{tc["axis"]}">{_esc(xtitle)}</text>'
        )
    if ytitle:
        cy = (plot_top + plot_bottom) / 2
        out.append(
            f'<text class="ytitle" transform="translate(14,{cy:.1f}) rotate(-90)" font-size="{_AXIS_PX}" '
            f'text-anchor="middle" fill="{tc["axis"]}">{_esc(ytitle)}</text>'
        )

    # traces
    out.append('<g class="traces">')
    for k, t in enumerate(data):
        colour = (t.get("line") or {}).get("color") or colours[k % len(colours)]
        xs, ys = list(t.get("x") or []), list(t.get("y") or [])
        if t.get("type") == "bar":
            fill = (t.get("marker") or {}).get("color") or colours[k % len(colours)]
            bases = list(t.get("base") or [0.0] * len(xs))
            texts = t.get("text") or []
            for i, (length, cat) in enumerate(zip(xs, ys, strict=False)):
                x0, x1 = xaxis.at(bases[i]), xaxis.at(float(bases[i]) + float(length))
                yc = yaxis.at(cat)
                h = band * 0.7
                tip = (
                    ""
                    if t.get("hoverinfo") == "skip"
                    else f"<title>{_esc(_hover(t.get('hovertemplate'), t, i, length, cat))}</title>"
                )
                out.append(
                    f'<rect x="{min(x0, x1):.1f}" y="{yc - h / 2:.1f}" width="{abs(x1 - x0):.1f}" height="{h:.1f}" '
                    f'fill="{fill}">{tip}</rect>'
                )
                if i < len(texts) and texts[i]:
                    label = str(texts[i])
                    w = _text_width(label, _TICK_PX)
                    inside = abs(x1 - x0) > w + 12
                    tx = max(x0, x1) - 6 if inside else max(x0, x1) + 6
                    anchor, ink = ("end", "#FFFFFF") if inside else ("start", tc["tick"])
                    out.append(
                        f'<text x="{tx:.1f}" y="{yc + 4:.1f}" font-size="{_TICK_PX}" text-anchor="{anchor}" '
                        f'fill="{ink}">{_esc(label)}</text>'
                    )
            continue
        points = [
            (xaxis.at(x), yaxis.at(y))
            for x, y in zip(xs, ys, strict=False)
            if (isinstance(y, str) or math.isfinite(float(y))) and math.isfinite(float(x))
        ]
        mode = t.get("mode") or "lines"
        line = t.get("line") or {}
        skip = t.get("hoverinfo") == "skip"
        if "lines" in mode and len(points) > 1:
            width = float(line.get("width") or 2)
            d = _path(points, line.get("shape"))
            out.append(
                f'<path d="{d}" fill="none" stroke="{colour}" '
                f'stroke-width="{width:g}"{_dash(line.get("dash"), width)} stroke-linejoin="round"/>'
            )
            if not skip and "markers" not in mode:
                # one wide, invisible twin of the line answers hover with the line's last point: a title per
                # point would multiply what the browser has to read (the break-even chart has hundreds)
                tip = _esc(_hover(t.get("hovertemplate"), t, len(xs) - 1, xs[-1], ys[-1]))
                out.append(
                    f'<path d="{d}" fill="none" stroke="transparent" stroke-width="12"><title>{tip}</title></path>'
                )
        if "markers" in mode:
            m = t.get("marker") or {}
            mc = m.get("color") or colour
            size = float(m.get("size") or 8)
            mw = float((m.get("line") or {}).get("width") or 2)
            for i, (x, y) in enumerate(points):
                tip = "" if skip else f"<title>{_esc(_hover(t.get('hovertemplate'), t, i, xs[i], ys[i]))}</title>"
                out.append(f"<g>{_marker(str(m.get('symbol') or 'circle'), x, y, size, mc, mw)}{tip}</g>")
    for s in layout.get("shapes") or []:
        if s.get("type") == "line" and s.get("xref") == "x" and s.get("yref") == "paper":
            x = xaxis.at(s["x0"])
            ln = s.get("line") or {}
            width = float(ln.get("width") or 1)
            out.append(
                f'<line x1="{x:.1f}" y1="{plot_top:.1f}" x2="{x:.1f}" y2="{plot_bottom:.1f}" '
                f'stroke="{ln.get("color") or "#555555"}" stroke-width="{width:g}"{_dash(ln.get("dash"), width)}/>'
            )
    out.append("</g>")

    # legend, below the plot
    y0 = plot_bottom + bottom_axis + 14
    out.append('<g class="legend">')
    for r, row in enumerate(legend_rows):
        x = 10.0
        y = y0 + 20 * r
        for name, t, colour, w in row:
            mode = t.get("mode") or "lines"
            line = t.get("line") or {}
            if t.get("type") == "bar":
                out.append(f'<rect x="{x:.1f}" y="{y - 6:.1f}" width="24" height="10" fill="{colour}"/>')
            elif "lines" in mode:
                width = float(line.get("width") or 2)
                out.append(
                    f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + 26:.1f}" y2="{y:.1f}" stroke="{colour}" '
                    f'stroke-width="{width:g}"{_dash(line.get("dash"), 2)}/>'
                )
            else:
                m = t.get("marker") or {}
                out.append(
                    _marker(str(m.get("symbol") or "circle"), x + 13, y, min(float(m.get("size") or 8), 12),
                            m.get("color") or colour, 2)
                )  # fmt: skip
            out.append(
                f'<text x="{x + 32:.1f}" y="{y + 4:.1f}" font-size="{_LEGEND_PX}" fill="{tc["axis"]}">'
                f"{_esc(name)}</text>"
            )
            x += w
    out.append("</g></svg>")
    return "".join(out)
