"""The one sentence an executive reads first, with the numbers that back it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from costmodel.fmt import money, tokens

if TYPE_CHECKING:
    from costmodel.tco import ScenarioResult

__all__ = ["verdict"]


def verdict(result: ScenarioResult) -> str:
    """Say which option to choose and why, in one sentence with its figures."""
    s = result.scenario
    cur = {"currency": s.currency, "fx": s.usd_fx_rate}
    base = result.baseline_result
    vol = tokens(base.months[0].tokens)
    h = s.horizon_months
    if result.best != result.baseline:
        best = result.option(result.best)
        save1 = base.month1_usd - best.month1_usd
        save_h = base.horizon_usd - best.horizon_usd
        pct = save_h / base.horizon_usd * 100 if base.horizon_usd else 0
        parts = [
            f"Switch to {best.name}: at {vol} tokens/month it costs {money(best.month1_usd, **cur)} in month 1 "
            f"against {money(base.month1_usd, **cur)} on {base.name}"
        ]
        if save1 < 0:
            parts.append(f" (one-off costs make month 1 {money(-save1, **cur)} dearer)")
        parts.append(f", saving {money(save_h, **cur)} ({pct:.0f}%) over {h} months")
        if best.npv_saving_usd is not None:
            parts.append(f" (NPV {money(best.npv_saving_usd, **cur)} at {s.discount_rate_pct_per_year:g}%/yr)")
        if best.payback_month and best.payback_month > 1:
            parts.append(f", paying back in month {best.payback_month}")
        be = best.break_even_tokens_per_month.get(base.name)
        if be is not None:
            parts.append(f"; it breaks even with {base.name} at {tokens(be)} tokens/month")
        return "".join(parts) + "."
    others = [o for o in result.options if o.name != base.name]
    if not others:
        total = money(base.horizon_usd, **cur)
        return f"{base.name} costs {money(base.month1_usd, **cur)} in month 1 and {total} over {h} months."
    alt = min(others, key=lambda o: o.horizon_usd)
    extra = alt.horizon_usd - base.horizon_usd
    text = (
        f"Stay on {base.name}: at {vol} tokens/month it costs {money(base.month1_usd, **cur)} in month 1; "
        f"the cheapest alternative, {alt.name}, costs {money(alt.month1_usd, **cur)} "
        f"and {money(extra, **cur)} more over {h} months"
    )
    be = alt.break_even_tokens_per_month.get(base.name)
    if be is not None:
        ratio = float(be / base.months[0].tokens)
        text += f"; it would break even at {tokens(be)} tokens/month ({ratio:,.1f}× today's volume)"
    return text + "."
