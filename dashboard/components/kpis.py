"""The verdict and the KPI cards of the Compare page: every figure is the engine's, formatted by `costmodel.fmt`."""

from __future__ import annotations

import streamlit as st

from costmodel.fmt import money
from costmodel.tco import OptionResult, ScenarioResult
from dashboard.components.text import basis_help, md, short_basis

__all__ = ["basis_line", "kpi_cards", "kpi_values", "verdict_box"]

_PER_ROW = 5


def verdict_box(result: ScenarioResult) -> None:
    """The one sentence executives read first."""
    with st.container(key="verdict"):
        if result.best != result.baseline:
            st.success(md(result.verdict), icon=":material/savings:")
        else:
            st.info(md(result.verdict), icon=":material/balance:")


def _month(m: int | None, horizon: int) -> str:
    return f"month {m}" if m is not None else f"not within {horizon} months"


def kpi_values(result: ScenarioResult, option: OptionResult) -> list[tuple[str, str, str | None]]:
    """(label, value, delta) of each KPI of one option, as the card shows them."""
    s = result.scenario
    cur = {"currency": s.currency, "fx": s.usd_fx_rate}
    h = s.horizon_months
    is_base = option.name == result.baseline
    first = (
        f"{option.name} · baseline" if is_base else option.name,
        money(option.month1_usd, **cur),
        None if is_base else f"{money(result.saving_month1_usd(option.name), **cur)}/mo saved",
    )
    if is_base:
        return [first] + [(label, "—", None) for label in _labels(h)]
    npv = option.npv_saving_usd
    values = [
        money(result.saving_horizon_usd(option.name), **cur),
        _month(option.break_even_month, h),
        _month(option.payback_month, h),
        money(npv, **cur) if npv is not None else "—",
    ]
    return [first] + [(label, v, None) for label, v in zip(_labels(h), values, strict=True)]


def _labels(h: int) -> list[str]:
    return [f"Saving over {h} months", "Break-even month", "Payback", "NPV of the saving"]


_KPI_HELP = {
    "Saving over": "Saving: the baseline's cost over the horizon minus this option's (capex amortised).",
    "Break-even month": "Break-even month: the first month whose monthly cost is at or below the baseline's.",
    "Payback": "Payback: the first month whose cumulative cash cost (capex when paid) is at or below the baseline's.",
    "NPV of the saving": "NPV: net present value of the monthly cash saving over the horizon at the discount rate.",
}


def kpi_cards(result: ScenarioResult) -> None:
    """One bordered card per option: month-1 cost and its saving, then saving, break-even, payback and NPV."""
    opts = result.options
    per_row = min(len(opts), _PER_ROW)
    for start in range(0, len(opts), per_row):
        cols = st.columns(per_row)
        for i, (col, option) in enumerate(zip(cols, opts[start : start + per_row], strict=False), start=start):
            with col.container(border=True, key=f"kpi-{i}", height="stretch"):
                tip = basis_help(result, option)
                (name, value, delta), *rest = kpi_values(result, option)
                st.markdown(f"**{md(name)}**", help=tip)
                st.metric("Month-1 cost", md(value), md(delta) if delta else None, help=tip)
                lines = [f"{md(label)}: **{md(v)}**" for label, v, _ in rest]
                st.markdown("  \n".join(lines), help=md("\n".join(_KPI_HELP.values())))
                st.caption(md(f"{option.description} · basis: {short_basis(option)}"))
                for w in option.warnings:
                    st.caption(md(f"⚠ {w}"))


def basis_line(result: ScenarioResult) -> str:
    """One line under the cards: what every figure rests on (the tooltip of each card has the details)."""
    dates = sorted({str(o.api.price_date) for o in result.options if o.api is not None})
    bases = sorted({short_basis(o) for o in result.options if o.api is None and o.kind != "hybrid"})
    parts = []
    if dates:
        parts.append(f"API and endpoint prices: genai-prices list prices as of {', '.join(dates)}")
    if bases:
        parts.append(f"self-hosted throughput: {', '.join(bases)}; GPU prices and specs: data/ with their dates")
    parts.append("the ? icon of each card lists every input and its source")
    return "; ".join(parts) + "."
