"""The one sentence an executive reads first, with the numbers and the conditions that back it.

A switch is advised only when the saving is material (at least `decision.min_saving_pct` of the
baseline's horizon cost and `decision.min_saving_usd_per_month` a month), likely (the Monte Carlo
finds it positive in at least `decision.min_probability` of draws) and its cash NPV is not negative.
Otherwise the verdict says which condition failed, with its numbers, and what to do next. The
sentence names the fleet the option needs and says when options run different models while no
measured quality backs the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from costmodel.fmt import money, tokens

if TYPE_CHECKING:
    from costmodel.tco import OptionResult, ScenarioResult

__all__ = ["Decision", "decide", "fleet_phrase", "quality_gaps", "verdict"]


@dataclass(frozen=True)
class Decision:
    kind: str
    """'switch', 'stay', 'no material difference' or 'uncertain'."""
    recommended: str | None
    sentence: str


def fleet_phrase(o: OptionResult) -> str:
    """' on 43× H100-SXM at peak (12 in month 1)' for self-hosted options, '' otherwise."""
    rep = o.replica or _open_replica(o)
    if rep is None:
        return ""
    _, gpus_peak = o.fleet_peak
    _, gpus_1 = o.fleet_month1
    if not gpus_peak:
        return ""
    first = f" ({gpus_1} in month 1)" if gpus_1 != gpus_peak else ""
    return f" on {gpus_peak}× {rep.gpu.gpu_id} at peak{first}"


def _open_replica(o: OptionResult):  # type: ignore[no-untyped-def]
    parts = getattr(o.facts, "detail", None) if o.facts else None
    open_facts = getattr(parts, "open_facts", None)
    return getattr(getattr(open_facts, "detail", None), "replica", None)


def _model(o: OptionResult) -> str | None:
    rep = o.replica or _open_replica(o)
    if rep is not None:
        return rep.model.name
    if o.api is not None:
        return o.api.model_name
    return None


def _class_note(o: OptionResult, base: OptionResult) -> str:
    if o.accuracy is not None and base.accuracy is not None:
        kind = "agreement with today's answers" if o.quality and o.quality.scoring == "agreement" else "accuracy"
        return f" Measured on your tasks: {o.accuracy:.0%} {kind} against {base.accuracy:.0%} on {base.name}."
    a, b = _model(o), _model(base)
    if a and b and a != b:
        return (
            f" Note: it runs {a} where {base.name} runs {b}; their quality on your tasks is not measured "
            "(run `opentco eval` before switching)."
        )
    return ""


def quality_gaps(result: ScenarioResult, o: OptionResult) -> list[str]:
    """Why `o` may not serve the task classes it would take: below a floor, or not measured on a class.

    A plain option serves every class; a hybrid serves its open-model classes on its open option and the
    rest on its API option. The baseline is what runs today and is never gated.
    """
    s = result.scenario
    if not s.quality_floors or o.name == result.baseline:
        return []
    from costmodel.scenario import HybridOption

    opt = s.option(o.name)
    base_q = s.option(result.baseline).quality
    out = []
    for f in s.quality_floors:
        server = opt
        if isinstance(opt, HybridOption):
            on_open = next((t.on_open_model for t in opt.task_classes if t.name == f.task_class), False)
            server = s.option(opt.open_option if on_open else opt.api_option)
            if server.name == result.baseline:
                continue
        measured = server.quality.by_task_class.get(f.task_class) if server.quality else None
        base_c = base_q.by_task_class.get(f.task_class) if base_q else None
        try:
            need = f.required(base_c.accuracy if base_c else None)
        except ValueError as ex:
            out.append(f"{server.name}: {ex}")
            continue
        if measured is None or measured.n == 0:
            out.append(f"{server.name} is not measured on {f.task_class} ({f.describe()})")
        elif measured.accuracy + 1e-12 < need:
            out.append(f"{server.name} gets {measured.accuracy:.0%} on {f.task_class}, below the floor of {need:.0%}")
    return out


def decide(result: ScenarioResult) -> Decision:
    """Pick the option to advise, or say why none is, in one sentence with its figures."""
    s = result.scenario
    rules = s.decision
    cur = {"currency": s.currency, "fx": s.usd_fx_rate}
    base = result.baseline_result
    h = s.horizon_months
    lens = s.cost_lens.value
    vol = tokens(base.months[0].tokens)
    others = sorted((o for o in result.options if o.name != base.name), key=lambda o: o.horizon_usd)
    if not others:
        total = money(base.horizon_usd, **cur)
        return Decision(
            "stay", None, f"{base.name} costs {money(base.month1_usd, **cur)} in month 1 and {total} over {h} months."
        )

    def gaps(o: OptionResult) -> list[str]:
        saving = base.horizon_usd - o.horizon_usd
        out = []
        if saving <= 0:
            return ["dearer"]
        if quality_gaps(result, o):
            out.append("below a quality floor")
        if o.npv_cash_saving_usd is not None and o.npv_cash_saving_usd < 0:
            out.append("negative cash NPV")
        pct = saving / base.horizon_usd * 100 if base.horizon_usd else Decimal(0)
        if pct < Decimal(str(rules.min_saving_pct)) or saving / h < rules.min_saving_usd_per_month:
            out.append("not material")
        if o.uncertainty is not None and o.uncertainty.p_saving_positive < rules.min_probability:
            out.append("not likely")
        return out

    pick = next((o for o in others if not gaps(o)), None)
    if pick is not None:
        return Decision("switch", pick.name, _switch_sentence(result, pick, others[0], gaps(others[0])))
    c = others[0]
    why = gaps(c)
    saving = base.horizon_usd - c.horizon_usd
    if "dearer" in why:
        text = (
            f"Stay on {base.name}: at {vol} tokens/month it costs {money(base.month1_usd, **cur)} in month 1; "
            f"the cheapest alternative, {c.name}{fleet_phrase(c)}, costs {money(c.month1_usd, **cur)} "
            f"and {money(-saving, **cur)} more over {h} months ({lens} view)"
        )
        be = c.break_even_tokens_per_month.get(base.name)
        if be is not None:
            ratio = float(be / base.months[0].tokens)
            text += f"; it would break even at {tokens(be)} tokens/month ({ratio:,.1f}× today's volume)"
        return Decision("stay", None, text + ".")
    if "below a quality floor" in why:
        misses = "; ".join(quality_gaps(result, c))
        text = (
            f"Stay on {base.name}: {c.name}{fleet_phrase(c)} would save {money(saving, **cur)} over {h} months, "
            f"but it misses the quality you set: {misses}."
        )
        return Decision("stay", None, text)
    if "negative cash NPV" in why:
        text = (
            f"Stay on {base.name}: {c.name}{fleet_phrase(c)} saves {money(saving, **cur)} over {h} months in the "
            f"{lens} view, but in cash its NPV at {s.discount_rate_pct_per_year:g}%/yr is "
            f"{money(c.npv_cash_saving_usd or 0, **cur)}: the money paid up front is not earned back in time."
        )
        return Decision("stay", None, text)
    pct = saving / base.horizon_usd * 100 if base.horizon_usd else 0
    if "not material" in why:
        text = (
            f"No material difference: {c.name}{fleet_phrase(c)} would save {money(saving, **cur)} ({pct:.0f}%, "
            f"{money(saving / h, **cur)}/month) over {h} months against {base.name}, below the "
            f"{rules.min_saving_pct:g}% and {money(rules.min_saving_usd_per_month, **cur)}/month a switch needs; "
            f"stay on {base.name} unless other reasons apply."
        )
        return Decision("no material difference", None, text)
    u = c.uncertainty
    assert u is not None
    text = (
        f"Uncertain — measure first: {c.name}{fleet_phrase(c)} would save {money(saving, **cur)} ({pct:.0f}%) "
        f"over {h} months, but only in {u.p_saving_positive:.0%} of simulated outcomes (P10 "
        f"{money(u.saving_p10_usd, **cur)}, P90 {money(u.saving_p90_usd, **cur)}); {_measure_hint(c)}"
    )
    return Decision("uncertain", None, text)


def _measure_hint(o: OptionResult) -> str:
    rep = o.replica or _open_replica(o)
    if rep is not None:
        return (
            f"measure the replica with `opentco measure --endpoint URL --model {rep.model.hf_repo}` "
            "and re-run with the measured throughput before switching."
        )
    return "check its prices and traffic forecast before switching."


def _switch_sentence(
    result: ScenarioResult, best: OptionResult, cheapest: OptionResult, cheapest_gaps: list[str]
) -> str:
    s = result.scenario
    cur = {"currency": s.currency, "fx": s.usd_fx_rate}
    base = result.baseline_result
    h = s.horizon_months
    vol = tokens(base.months[0].tokens)
    save1 = base.month1_usd - best.month1_usd
    save_h = base.horizon_usd - best.horizon_usd
    pct = save_h / base.horizon_usd * 100 if base.horizon_usd else 0
    parts = [
        f"Switch to {best.name}{fleet_phrase(best)}: at {vol} tokens/month it costs {money(best.month1_usd, **cur)} "
        f"in month 1 against {money(base.month1_usd, **cur)} on {base.name}"
    ]
    if save1 < 0:
        parts.append(f" (one-off costs make month 1 {money(-save1, **cur)} dearer)")
    parts.append(f", saving {money(save_h, **cur)} ({pct:.0f}%) over {h} months ({s.cost_lens.value} view")
    u = best.uncertainty
    if u is not None:
        parts.append(
            f"; P10–P90 {money(u.saving_p10_usd, **cur)} to {money(u.saving_p90_usd, **cur)}, "
            f"{u.p_saving_positive:.0%} likely"
        )
    parts.append(")")
    if best.npv_saving_usd is not None:
        parts.append(f", NPV {money(best.npv_saving_usd, **cur)} at {s.discount_rate_pct_per_year:g}%/yr")
    if best.payback_month and best.payback_month > 1:
        parts.append(f", paying back in month {best.payback_month}")
    be = best.break_even_tokens_per_month.get(base.name)
    if be is not None:
        parts.append(f"; it breaks even with {base.name} at {tokens(be)} tokens/month")
        if be > base.months[0].tokens:
            parts.append(" (above today's volume: the saving rests on growth)")
    text = "".join(parts) + "."
    if cheapest.name != best.name:
        why = ", ".join(g for g in cheapest_gaps if g != "dearer")
        if "below a quality floor" in cheapest_gaps:
            why += ": " + "; ".join(quality_gaps(result, cheapest))
        text += f" {cheapest.name} costs less but is not advised ({why})."
    return text + _class_note(best, base)


def verdict(result: ScenarioResult) -> str:
    """Say which option to choose and why, in one sentence with its figures."""
    return decide(result).sentence
