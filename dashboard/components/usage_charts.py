"""Charts of the Usage logs page: plain legend names, enough distinct colours, months on a category axis.

Plotly's default palette repeats after ten series and its legends show column names (`reported_cost_usd`); a month
label such as "2025-03" on a date axis becomes "00:00:00 Mar 1, 2025", and a single month's bar can vanish. Every
figure here names its series in words, keeps the top models and folds the rest into "other", and puts months on a
category axis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from costmodel.usage import ReplayMonth
from costmodel.usage.reprice import RepricedHistory

__all__ = [
    "OTHER",
    "PALETTE",
    "TOP_MODELS",
    "cost_figure",
    "daily_tokens_figure",
    "history_figure",
    "in_period",
    "replay_figure",
    "top_models",
]

TOP_MODELS = 10
"""Models drawn one by one; the rest are summed as "other"."""
OTHER = "other models"
PALETTE = [*px.colors.qualitative.D3, *px.colors.qualitative.Pastel[:6]]
"""16 distinct colours: more than the top models plus "other", so no two series share one."""
_OTHER_COLOUR = "#9e9e9e"


def in_period(frame: pd.DataFrame, column: str, start: date, end: date) -> pd.DataFrame:
    """Rows whose `column` (a timestamp) falls on the days [start, end]."""
    days = pd.to_datetime(frame[column]).dt.date
    return frame[(days >= start) & (days <= end)]


def top_models(
    daily: pd.DataFrame, groups: Mapping[str, str], *, top: int = TOP_MODELS
) -> tuple[pd.DataFrame, list[str]]:
    """Daily tokens per model, aliases merged into one model and all but the `top` biggest folded into "other".

    Args:
        daily: `usage_series(grain=DAY, by=MODEL)`: `period`, `model`, `total_tokens`.
        groups: logged model name → the model it is (`gpt-4o-2024-08-06` → `gpt-4o`).
        top: models shown on their own.

    Returns:
        The frame (`period`, `model`, `total_tokens`) and the model names in legend order (biggest first).
    """
    frame = daily.assign(model=daily["model"].map(lambda m: groups.get(m, m)))
    totals = frame.groupby("model")["total_tokens"].sum().sort_values(ascending=False)
    keep = list(totals.index[:top])
    frame = frame.assign(model=frame["model"].where(frame["model"].isin(keep), OTHER))
    frame = frame.groupby(["period", "model"], as_index=False)["total_tokens"].sum()
    order = keep + ([OTHER] if (frame["model"] == OTHER).any() else [])
    return frame, order


def daily_tokens_figure(daily: pd.DataFrame, groups: Mapping[str, str], *, top: int = TOP_MODELS) -> go.Figure:
    """Stacked daily tokens by model."""
    frame, order = top_models(daily, groups, top=top)
    colours = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(o for o in order if o != OTHER)}
    colours[OTHER] = _OTHER_COLOUR
    return px.bar(
        frame,
        x="period",
        y="total_tokens",
        color="model",
        category_orders={"model": order},
        color_discrete_map=colours,
        title="Daily tokens (input + output) by model",
        labels={"period": "day (UTC)", "total_tokens": "tokens", "model": "model"},
    )


_COST_NAMES = {
    "reported_cost_usd": "reported by the logs",
    "recomputed_cost_usd": "list price that day (genai-prices)",
}


def cost_figure(cost: pd.DataFrame) -> go.Figure:
    """Reported against recomputed cost per day."""
    long = cost.melt(id_vars="day", var_name="series", value_name="usd")
    long["series"] = long["series"].map(lambda s: _COST_NAMES.get(s, s))
    return px.line(
        long,
        x="day",
        y="usd",
        color="series",
        markers=True,
        color_discrete_sequence=PALETTE,
        title="Reported vs list-price cost per day (USD)",
        labels={"day": "day (UTC)", "usd": "USD per day", "series": ""},
    )


def _month_label(m: date, full: bool = True) -> str:
    return f"{m:%Y-%m}" + ("" if full else " (partial)")


def _grouped(long: pd.DataFrame, *, title: str, y: str) -> go.Figure:
    fig = px.bar(
        long,
        x="month",
        y="usd",
        color="series",
        barmode="group",
        color_discrete_sequence=PALETTE,
        title=title,
        labels={"month": "month (UTC)", "usd": y, "series": ""},
    )
    # months as categories: one month keeps its bar, and "2025-03" is not read as a date at midnight
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=list(dict.fromkeys(long["month"])))
    return fig


def history_figure(history: RepricedHistory) -> go.Figure:
    """Each month as reported, at the price in force, at today's price and under each option."""
    rows = []
    for m in history.months:
        label = _month_label(m.month)
        if m.reported_cost_usd is not None:
            rows.append({"month": label, "series": "reported", "usd": float(m.reported_cost_usd)})
        rows.append({"month": label, "series": "list price in force then", "usd": float(m.in_force_cost_usd)})
        rows.append({"month": label, "series": f"list price today ({history.today})", "usd": float(m.today_cost_usd)})
        rows += [{"month": label, "series": n, "usd": float(v)} for n, v in m.options_cost_usd.items()]
    return _grouped(pd.DataFrame(rows), title="Each logged month priced four ways (USD)", y="USD per month")


def replay_figure(months: Sequence[ReplayMonth]) -> go.Figure:
    """What each logged month would have cost under each option."""
    rows = [
        {"month": _month_label(m.month, m.full), "series": n, "usd": float(v)}
        for m in months
        for n, v in m.cost_usd.items()
    ]
    return _grouped(pd.DataFrame(rows), title="What each logged month would have cost (USD)", y="USD per month")
