"""The one-page executive summary: verdict, KPIs and the two main charts, as self-contained printable HTML.

No script and no external resource: the charts are static inline SVG drawn here and the styles are
inline, so the page opens offline, prints on one A4 page and makes no network request. All user text
(scenario, option names) is HTML-escaped.

Example:
    >>> from costmodel.demo import demo_scenario
    >>> page = to_html(demo_scenario())
    >>> page.startswith("<!doctype html>")
    True
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from costmodel.export.sanitize import html_text
from costmodel.fmt import money, tokens
from costmodel.prices import GENAI_PRICES_VERSION
from costmodel.scenario import Scenario
from costmodel.tco import OptionResult, ScenarioResult, evaluate

__all__ = ["to_html"]

_PALETTE = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#a50021", "#00827f", "#7f6000")

_CSS = """
@page { size: A4 portrait; margin: 12mm; }
* { box-sizing: border-box; }
body { font: 11px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #222;
       max-width: 190mm; margin: 0 auto; padding: 8px; }
h1 { font-size: 20px; margin: 0; color: #1f4e79; }
h2 { font-size: 13px; margin: 12px 0 4px; color: #1f4e79; }
.meta { color: #666; margin: 2px 0 8px; }
.verdict { background: #eef4fb; border-left: 4px solid #1f4e79; padding: 8px 10px; font-size: 13px; }
.cards { display: flex; gap: 8px; margin: 10px 0; }
.card { flex: 1; border: 1px solid #d0d7de; border-radius: 4px; padding: 6px 8px; }
.card .v { font-size: 16px; font-weight: 600; }
.card .l { color: #666; font-size: 10px; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 3px 5px; border-bottom: 1px solid #e1e4e8; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; white-space: normal; }
th { background: #1f4e79; color: #fff; font-weight: 600; }
tr.best td { font-weight: 600; }
.charts { display: flex; gap: 10px; }
.charts figure { flex: 1; margin: 0; }
figcaption { font-weight: 600; color: #1f4e79; margin-bottom: 2px; }
svg text { font: 9px system-ui, Arial, sans-serif; fill: #333; }
.foot { color: #777; font-size: 9px; margin-top: 10px; }
@media print { body { padding: 0; } .charts, table, .cards { break-inside: avoid; } }
"""


def to_html(scenario: Scenario, *, result: ScenarioResult | None = None) -> str:
    """The executive summary of a scenario as one self-contained HTML page.

    Args:
        scenario: the scenario to summarise.
        result: its evaluation, if already computed.

    Returns:
        The page's HTML (UTF-8 text, no scripts, no external resources).
    """
    r = result or evaluate(scenario)
    s = scenario
    cur = {"currency": s.currency, "fx": s.usd_fx_rate}
    base = r.baseline_result
    best = r.option(r.best)
    e = html_text
    head = (
        f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Business case: {e(s.name)}</title><style>{_CSS}</style></head><body>"
    )
    meta = (
        f"{s.horizon_months}-month horizon · discount rate {s.discount_rate_pct_per_year:g}%/yr · "
        f"API prices as of {s.price_date or date.today()} (genai-prices {GENAI_PRICES_VERSION}) · "
        f"generated {date.today().isoformat()} by OpenTCO"
    )
    parts = [
        head,
        "<h1>Business case</h1>",
        f"<div class='meta'><strong>{e(s.name)}</strong><br>{e(meta)}</div>",
        f"<div class='verdict'>{e(r.verdict)}</div>",
        _cards(r, base, best, cur),
        "<h2>Options compared</h2>",
        _table(r, cur),
        "<div class='charts'>",
        f"<figure><figcaption>Cumulative cost ({e(s.currency)})</figcaption>{_line_svg(r, cur)}</figure>",
        f"<figure><figcaption>Cost per 1M tokens ({e(s.currency)})</figcaption>{_bar_svg(r, cur)}</figure>",
        "</div>",
        "<div class='foot'>Every figure comes from the OpenTCO engine; the Excel business case holds the same model "
        "as live formulas over labelled inputs, with every price and spec sourced and dated.</div>",
        "</body></html>\n",
    ]
    return "".join(parts)


def _cards(r: ScenarioResult, base: OptionResult, best: OptionResult, cur: dict[str, Any]) -> str:
    h = r.scenario.horizon_months
    if best.name == base.name:
        alt = min((o for o in r.options if o.name != base.name), key=lambda o: o.horizon_usd, default=None)
        cards = [
            (money(base.month1_usd, **cur), f"month 1 on {base.name}"),
            (money(base.horizon_usd, **cur), f"over {h} months on {base.name}"),
        ]
        if alt is not None:
            cards.append((money(alt.horizon_usd - base.horizon_usd, **cur), f"extra over {h} months on {alt.name}"))
    else:
        cards = [
            (money(base.month1_usd, **cur), f"month 1 today ({base.name})"),
            (money(best.month1_usd, **cur), f"month 1 on {best.name}"),
            (money(base.horizon_usd - best.horizon_usd, **cur), f"saving over {h} months"),
            (money(best.npv_saving_usd or 0, **cur), f"NPV at {r.scenario.discount_rate_pct_per_year:g}%/yr"),
            (f"month {best.payback_month}" if best.payback_month else "never", "payback"),
        ]
    return (
        "<div class='cards'>"
        + "".join(
            f"<div class='card'><div class='v'>{html_text(v)}</div><div class='l'>{html_text(label)}</div></div>"
            for v, label in cards
        )
        + "</div>"
    )


def _table(r: ScenarioResult, cur: dict[str, Any]) -> str:
    h = r.scenario.horizon_months
    head = (
        "<table><thead><tr><th>Option</th><th>Month 1</th>"
        f"<th>{h} months</th><th>Per 1M tokens</th><th>Saving</th><th>Payback</th><th>NPV</th>"
        "<th>Break-even volume</th></tr></thead><tbody>"
    )
    rows = []
    for o in r.options:
        is_base = o.name == r.baseline
        be = o.break_even_tokens_per_month.get(r.baseline)
        cells = [
            html_text(o.name) + (" <em>(baseline)</em>" if is_base else ""),
            money(o.month1_usd, **cur),
            money(o.horizon_usd, **cur),
            money(o.usd_per_mtok, decimals=2, **cur),
            "—" if is_base else money(r.saving_horizon_usd(o.name), **cur),
            "—" if is_base else (f"month {o.payback_month}" if o.payback_month else "never"),
            "—" if is_base else money(o.npv_saving_usd or Decimal(0), **cur),
            f"{tokens(be)} tok/mo" if be is not None else "—",
        ]
        cls = " class='best'" if o.name == r.best else ""
        rows.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return head + "".join(rows) + "</tbody></table>"


def _short(x: float) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= size:
            return f"{x / size:,.1f}{unit}".replace(".0" + unit, unit)
    return f"{x:,.0f}"


def _line_svg(r: ScenarioResult, cur: dict[str, Any]) -> str:
    """Cumulative cost per option, one polyline each, with axes and a legend."""
    fx = float(cur["fx"])
    w, h, left, right, top, bottom = 340, 230, 48, 8, 8, 22
    series = [[float(v) * fx for v in o.cumulative_usd()] for o in r.options]
    n = r.scenario.horizon_months
    ymax = max((max(s) for s in series), default=1.0) or 1.0
    ymax = _nice(ymax)
    pw, ph = w - left - right, h - top - bottom

    def x(m: int) -> float:
        return left + (pw * (m - 1) / (n - 1) if n > 1 else pw / 2)

    def y(v: float) -> float:
        return top + ph - ph * v / ymax

    out = [f"<svg viewBox='0 0 {w} {h + 14 * len(series)}' role='img'>"]
    for k in range(5):
        v = ymax * k / 4
        out.append(f"<line x1='{left}' x2='{w - right}' y1='{y(v):.1f}' y2='{y(v):.1f}' stroke='#e1e4e8'/>")
        out.append(f"<text x='{left - 4}' y='{y(v) + 3:.1f}' text-anchor='end'>{_short(v)}</text>")
    step = 12 if n > 24 else 6 if n > 12 else 1
    for m in [1, *range(step, n + 1, step)]:
        out.append(f"<text x='{x(m):.1f}' y='{h - 8}' text-anchor='middle'>{m}</text>")
    out.append(f"<text x='{left + pw / 2:.1f}' y='{h}' text-anchor='middle'>month</text>")
    for k, vals in enumerate(series):
        color = _PALETTE[k % len(_PALETTE)]
        pts = " ".join(f"{x(m):.1f},{y(v):.1f}" for m, v in enumerate(vals, start=1))
        out.append(f"<polyline fill='none' stroke='{color}' stroke-width='1.8' points='{pts}'/>")
    for k, o in enumerate(r.options):
        ly = h + 10 + 14 * k
        color = _PALETTE[k % len(_PALETTE)]
        out.append(f"<rect x='{left}' y='{ly - 7}' width='10' height='8' fill='{color}'/>")
        out.append(f"<text x='{left + 14}' y='{ly}'>{html_text(o.name)}</text>")
    out.append("</svg>")
    return "".join(out)


def _bar_svg(r: ScenarioResult, cur: dict[str, Any]) -> str:
    """Cost per million tokens per option, horizontal bars under their names, cheapest first."""
    fx = float(cur["fx"])
    rows = sorted(((o.name, float(o.usd_per_mtok) * fx, k) for k, o in enumerate(r.options)), key=lambda t: t[1])
    w, bar_h, pitch, left = 340, 14, 34, 4
    h = len(rows) * pitch + 4
    vmax = max((v for _, v, _ in rows), default=1.0) or 1.0
    pw = w - left - 70
    out = [f"<svg viewBox='0 0 {w} {h}' role='img'>"]
    for row, (name, v, k) in enumerate(rows):
        y = 4 + row * pitch
        bw = max(1.0, pw * v / vmax)
        label = name if len(name) <= 70 else name[:69] + "…"
        out.append(f"<text x='{left}' y='{y + 9}'>{html_text(label)}</text>")
        out.append(
            f"<rect x='{left}' y='{y + 13}' width='{bw:.1f}' height='{bar_h}' fill='{_PALETTE[k % len(_PALETTE)]}'/>"
        )
        amount = money(Decimal(str(v)), currency=r.scenario.currency, decimals=2)
        out.append(f"<text x='{left + bw + 4:.1f}' y='{y + 24}'>{html_text(amount)}</text>")
    out.append("</svg>")
    return "".join(out)


def _nice(v: float) -> float:
    """The next 'round' number at or above v (1, 2, 2.5, 5 × 10^k), for the axis top."""
    import math

    if v <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(v))
    for f in (1, 2, 2.5, 5, 10):
        if v <= f * mag:
            return f * mag
    return 10 * mag
