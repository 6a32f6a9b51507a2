"""Quality page, "use in scenario": attach a run's measured quality to a scenario option, and show cost per
successful task beside cost per million tokens."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import streamlit as st

from costmodel.errors import CostModelError
from costmodel.evals import OptionQuality, RunSummary, cost_per_successful_task, quality_from_run, token_ratios
from dashboard.components.engine import result_for
from dashboard.state import get_scenario, set_scenario, store_cursor

__all__ = ["attached_qualities", "use_in_scenario"]

_ATTACHED = "quality_by_option"


def attached_qualities() -> dict[str, OptionQuality]:
    """Option name → quality attached on this page (also on the option itself once the scenario has the field)."""
    found: dict[str, OptionQuality] = dict(st.session_state.get(_ATTACHED, {}))
    for o in get_scenario().options:
        q = getattr(o, "quality", None)
        if isinstance(q, OptionQuality):
            found[o.name] = q
    return found


def _overall(q: OptionQuality) -> float | None:
    n = sum(c.n for c in q.by_task_class.values())
    return sum(c.accuracy * c.n for c in q.by_task_class.values()) / n if n else None


def use_in_scenario(summary: RunSummary) -> None:
    """Pick a target of the run and the option it stands for; attach its per-class quality."""
    scenario = get_scenario()
    names = [o.name for o in scenario.options]
    with st.form("q_use_form"):
        c1, c2 = st.columns(2)
        target = c1.selectbox("Target of this run", [t.label for t in summary.targets], key="q_use_target")
        option = c2.selectbox("Scenario option it stands for", names, key="q_use_option")
        if st.form_submit_button("Use in scenario"):
            try:
                quality = quality_from_run(store_cursor(), summary.run_id, str(target))
            except CostModelError as ex:
                st.error(str(ex))
            else:
                current = next(o for o in scenario.options if o.name == option)
                if "quality" in type(current).model_fields:
                    update: dict[str, object] = {"quality": quality}
                    base_q = getattr(scenario.baseline_option, "quality", None)
                    if base_q is not None and option != scenario.baseline_option.name:
                        # measured tokens per request, relative to the baseline's, become the token multipliers
                        ratio_in, ratio_out = token_ratios(quality, base_q)
                        if ratio_in:
                            update["input_token_multiplier"] = min(20.0, round(ratio_in, 4))
                        if ratio_out:
                            update["output_token_multiplier"] = min(50.0, round(ratio_out, 4))
                    updated = current.model_copy(update=update)
                    set_scenario(
                        scenario.model_copy(
                            update={"options": [updated if o.name == option else o for o in scenario.options]}
                        )
                    )
                st.session_state.setdefault(_ATTACHED, {})[str(option)] = quality
                st.success(f"{option} now carries the quality measured for {target} in run #{summary.run_id}.")
    _cost_table()


def _cost_table() -> None:
    attached = attached_qualities()
    if not attached:
        return
    scenario = get_scenario()
    try:
        result = result_for(scenario)
    except CostModelError as ex:
        st.error(str(ex))
        return
    requests = Decimal(str(scenario.workload.requests_per_month))
    rows = []
    for o in result.options:
        q = attached.get(o.name)
        acc = _overall(q) if q else None
        per_request = o.month1_usd / requests
        per_task = cost_per_successful_task(per_request, acc) if acc is not None else None
        rows.append(
            {
                "option": o.name,
                "$/1M tokens": float(o.usd_per_mtok),
                "$/request (month 1)": float(per_request),
                "accuracy %": round(acc * 100, 1) if acc is not None else None,
                "$/successful task": float(per_task) if per_task is not None else None,
                "measured in": f"run #{q.run_id} · {q.target_label}" if q else "",
            }
        )
    st.caption("Cost per successful task = cost per request ÷ accuracy (over all measured task classes).")
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="q_cost_table")
