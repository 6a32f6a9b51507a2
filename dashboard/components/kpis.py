"""The verdict and the KPI cards of the Compare page: every figure is the engine's, formatted by `costmodel.fmt`.

Savings are written as words, never as a negative saving: "saves $9,772/mo" or "costs $6,049/mo more".
Every self-hosted card names the fleet it needs, in month 1 and at the horizon's peak, so a card titled
"on 1× H100" cannot hide that it grows to 43 of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
import streamlit as st

from costmodel.fmt import money
from costmodel.tco import OptionResult, ScenarioResult
from dashboard.components.text import basis_help, md, short_basis

__all__ = [
    "Delta",
    "basis_line",
    "fleet_line",
    "kpi_cards",
    "kpi_table",
    "kpi_values",
    "saving_delta",
    "verdict_box",
]

_PER_ROW = 3
"""Cards per row: at 1280 px wide a card of a third still shows a seven-figure amount whole."""


def verdict_box(result: ScenarioResult) -> None:
    """The one sentence executives read first."""
    with st.container(key="verdict"):
        if result.best != result.baseline:
            st.success(md(result.verdict), icon=":material/savings:")
        else:
            st.info(md(result.verdict), icon=":material/balance:")


@dataclass(frozen=True)
class Delta:
    """A saving as the card words it, with the arrow and colour `st.metric` shows."""

    text: str
    arrow: str
    colour: str


def saving_delta(saving_usd: Decimal, *, per: str = "/mo", currency: str = "USD", fx: Decimal = Decimal(1)) -> Delta:
    """`saves $9,772/mo` (down, green), `costs $6,049/mo more` (up, red) or `same cost` (grey)."""
    amount = money(abs(saving_usd), currency=currency, fx=fx)
    if amount == money(0, currency=currency, fx=fx):
        return Delta("same cost", "off", "gray")
    if saving_usd > 0:
        return Delta(f"saves {amount}{per}", "down", "green")
    return Delta(f"costs {amount}{per} more", "up", "red")


def _month(m: int | None, horizon: int) -> str:
    return f"month {m}" if m is not None else f"not within {horizon} months"


def _labels(h: int) -> list[str]:
    return [f"Saving over {h} months", "Break-even month", "Payback", "NPV of the saving", "Likely"]


def kpi_values(result: ScenarioResult, option: OptionResult) -> list[tuple[str, str, Delta | None]]:
    """(label, value, delta) of each KPI of one option, as the card shows them."""
    s = result.scenario
    cur = {"currency": s.currency, "fx": s.usd_fx_rate}
    h = s.horizon_months
    is_base = option.name == result.baseline
    first = (
        f"{option.name} · baseline" if is_base else option.name,
        money(option.month1_usd, **cur),
        None if is_base else saving_delta(result.saving_month1_usd(option.name), **cur),
    )
    if is_base:
        return [first] + [(label, "—", None) for label in _labels(h)]
    npv = option.npv_saving_usd
    horizon = result.saving_horizon_usd(option.name)
    saving = (
        (f"Saving over {h} months", money(horizon, **cur))
        if horizon >= 0
        else (f"Extra cost over {h} months", money(-horizon, **cur))
    )
    u = option.uncertainty
    likely = (
        f"{u.p_saving_positive:.0%} · P10–P90 {money(u.saving_p10_usd, **cur)} to {money(u.saving_p90_usd, **cur)}"
        if u is not None
        else "—"
    )
    rest = [
        saving,
        ("Break-even month", _month(option.break_even_month, h)),
        ("Payback", _month(option.payback_month, h)),
        ("NPV of the saving", money(npv, **cur) if npv is not None else "—"),
        ("Likely", likely),
    ]
    return [first] + [(label, v, None) for label, v in rest]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def fleet_line(option: OptionResult) -> str | None:
    """`Fleet: 1 replica · 2 GPUs in month 1, peak 2 replicas · 4 GPUs (month 24)`; None for per-token options."""
    months = option.months
    if not months or option.kind in ("api", "managed") or not any(m.gpus for m in months):
        return None
    first = months[0]
    peak = max(months, key=lambda m: (m.gpus, m.replicas))  # the first month at the top
    start = f"{_plural(first.replicas, 'replica')} · {_plural(first.gpus, 'GPU')} in month 1"
    if (peak.gpus, peak.replicas) == (first.gpus, first.replicas):
        return f"Fleet: {start}, the same to month {len(months)}"
    return (
        f"Fleet: {start}, peak {_plural(peak.replicas, 'replica')} · {_plural(peak.gpus, 'GPU')} (month {peak.month})"
    )


_KPI_HELP = (
    "Every figure is in the money view the scenario chooses (cash by default: purchases when paid, owned "
    "hardware's residual value credited at the end; or accounting: purchases amortised).  \n"
    "**Saving**: the baseline's cost over the horizon minus this option's.  \n"
    "**Break-even month**: the first month whose monthly cost is at or below the baseline's.  \n"
    "**Payback**: the first month whose cumulative cost is at or below the baseline's.  \n"
    "**NPV**: net present value of the monthly saving over the horizon at the discount rate.  \n"
    "**Likely**: share of 1,000 simulated outcomes (throughput error, price trends, growth, utilisation) "
    "in which the option saves, and the 10th–90th percentile of the saving.  \n"
    "**Fleet**: replicas and GPUs the engine sizes for the peak hour, in month 1 and at the largest month."
)


def kpi_cards(result: ScenarioResult) -> None:
    """One bordered card per option: month-1 cost and its saving, then saving, break-even, payback, NPV, fleet."""
    opts = result.options
    per_row = min(len(opts), _PER_ROW)
    for start in range(0, len(opts), per_row):
        cols = st.columns(per_row)
        for i, (col, option) in enumerate(zip(cols, opts[start : start + per_row], strict=False), start=start):
            with col.container(border=True, key=f"kpi-{i}", height="stretch"):
                tip = basis_help(result, option)
                (name, value, delta), *rest = kpi_values(result, option)
                st.markdown(f"**{md(name)}**", help=tip)
                st.metric(
                    "Month-1 cost",
                    md(value),
                    md(delta.text) if delta else None,
                    delta_color=delta.colour if delta else "normal",  # type: ignore[arg-type]
                    delta_arrow=delta.arrow if delta else "auto",  # type: ignore[arg-type]
                    help=tip,
                )
                lines = [f"{md(label)}: **{md(v)}**" for label, v, _ in rest]
                fleet = fleet_line(option)
                if fleet:
                    lines.append(md(fleet))
                st.markdown("  \n".join(lines), help=_KPI_HELP)
                st.caption(md(f"{option.description} · basis: {short_basis(option)}"))
                for w in option.warnings:
                    st.caption(md(f"⚠ {w}"))


def kpi_table(result: ScenarioResult) -> pd.DataFrame:
    """The cards as one table (Business case page): one row per option, the engine's figures as text."""
    s = result.scenario
    cur = {"currency": s.currency, "fx": s.usd_fx_rate}
    h = s.horizon_months
    rows = []
    for o in result.options:
        is_base = o.name == result.baseline
        saving = result.saving_horizon_usd(o.name)
        npv = o.npv_saving_usd
        rows.append(
            {
                "Option": o.name + (" (baseline)" if is_base else ""),
                "Month-1 cost": money(o.month1_usd, **cur),
                f"Cost over {h} months": money(o.horizon_usd, **cur),
                f"Saving over {h} months": "—" if is_base else saving_delta(saving, per="", **cur).text,
                "Per 1M tokens": money(o.usd_per_mtok, decimals=2, **cur),
                "Break-even": "—" if is_base else _month(o.break_even_month, h),
                "Payback": "—" if is_base else _month(o.payback_month, h),
                "NPV of the saving": "—" if is_base or npv is None else money(npv, **cur),
                "Fleet": (fleet_line(o) or "per token").removeprefix("Fleet: "),
            }
        )
    return pd.DataFrame(rows)


def basis_line(result: ScenarioResult, *, sources: str = "“Where every input comes from” below") -> str:
    """One line under the cards: what every figure rests on, and where the details are (`sources`)."""
    dates = sorted({str(o.api.price_date) for o in result.options if o.api is not None})
    bases = sorted({short_basis(o) for o in result.options if o.api is None and o.kind != "hybrid"})
    parts = []
    if dates:
        parts.append(f"API and endpoint prices: genai-prices list prices as of {', '.join(dates)}")
    if bases:
        parts.append(f"self-hosted throughput: {', '.join(bases)}; GPU prices and specs: data/ with their dates")
    parts.append(f"{sources} lists each input and its source")
    return "; ".join(parts) + "."
