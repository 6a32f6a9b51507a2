"""Forms of the Scenario builder: workload, financial frame, and one editor per option.

Every form writes into a JSON-shaped copy of the scenario and hands it to `controls.apply`, which lets the
engine evaluate it before it becomes current; a rejected value leaves the scenario as it was and shows the
engine's message. Widget keys carry the scenario revision, so after any change every widget shows the new
scenario's values. Help texts are the fields' own docstrings in `costmodel.scenario`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st
from pydantic import BaseModel

from costmodel.catalog import catalog
from costmodel.demo import DEMO, preset
from costmodel.errors import CostModelError, ScenarioError
from costmodel.fmt import money
from costmodel.prices import ApiPrice
from costmodel.scenario import (
    ApiOption,
    CloudGpuOption,
    DecisionRules,
    HybridOption,
    LatencyTargets,
    ManagedEndpointOption,
    OnPremOption,
    PricePlan,
    Scenario,
    SelfHostCosts,
    TaskClass,
    Workload,
)
from costmodel.throughput import SERVING_ENGINES
from dashboard.components.controls import PLAN_LABELS, apply
from dashboard.components.edits import dependents, duplicated, validated, with_option, without_options
from dashboard.components.engine import api_choices
from dashboard.components.feedback import apply_in_form, has_notice, show_notice
from dashboard.components.labels import field_help, field_label, quant_label
from dashboard.components.text import md
from dashboard.state import flash, get_scenario, scenario_revision

__all__ = [
    "KIND_LABELS",
    "add_option_row",
    "frame_form",
    "new_option",
    "option_editor",
    "self_hosted_defaults",
    "workload_form",
]

Data = dict[str, Any]

KIND_LABELS = {
    "api": "Proprietary API (per token)",
    "managed": "Managed open-model endpoint (per token)",
    "cloud_gpu": "Rented GPUs (per hour)",
    "on_prem": "Own servers (on-premises)",
    "hybrid": "Hybrid: some traffic on an open model",
}


@dataclass(frozen=True)
class _Num:
    """A number input for one model field."""

    name: str
    step: float = 1.0
    fmt: str | None = None
    """printf format; a Decimal field is sent to pydantic as text written with it (no float artefacts)."""
    empty: str | None = None
    """What an empty box means (the field is then None), shown as the placeholder; None: a value is required."""
    integer: bool = False


_help = field_help


def _number_inputs(model: type[BaseModel], data: Data, fields: list[_Num], prefix: str, *, cols: int = 3) -> None:
    columns = st.columns(cols)
    for n, f in enumerate(fields):
        value = data.get(f.name)
        if value is not None:
            value = int(value) if f.integer else float(value)
        columns[n % cols].number_input(
            field_label(model, f.name),
            value=value,
            step=int(f.step) if f.integer else float(f.step),
            format=f.fmt or ("%d" if f.integer else None),
            key=prefix + f.name,
            help=_help(model, f.name),
            placeholder=f.empty,
        )


def _read_numbers(data: Data, fields: list[_Num], prefix: str) -> None:
    for f in fields:
        v = st.session_state.get(prefix + f.name)
        if v is None:
            data[f.name] = None
        elif f.fmt and f.fmt.endswith("f") and not f.integer:
            data[f.name] = f.fmt % v  # Decimal fields: the digits the user saw
        else:
            data[f.name] = v


_WORKLOAD = [
    _Num("requests_per_month", 10_000, "%.0f"),
    _Num("input_tokens_per_request", 100, integer=True),
    _Num("output_tokens_per_request", 50, integer=True),
    _Num("cached_input_share", 0.05, "%.2f"),
    _Num("batch_share", 0.05, "%.2f"),
    _Num("monthly_growth_pct", 0.5, "%.1f"),
    _Num("peak_to_average", 0.1, "%.2f"),
    _Num("hours_per_day", 1, "%.1f"),
    _Num("days_per_week", 1, "%.1f"),
]
_LATENCY = [
    _Num("ttft_ms", 100, "%.0f"),
    _Num("output_tokens_per_s_per_user", 1, "%.1f"),
]


def _apply_workload(prefix: str) -> None:
    data = get_scenario().model_dump(mode="json")
    _read_numbers(data["workload"], _WORKLOAD, prefix)
    _read_numbers(data["workload"]["latency"], _LATENCY, prefix)
    apply_in_form("workload", lambda: validated(data))


def workload_form(scenario: Scenario) -> None:
    """The traffic: volume, request shape, growth, peak, hours and latency targets."""
    prefix = f"wl-{scenario_revision()}-"
    with st.form(f"workload-form-{scenario_revision()}", border=False):
        w = scenario.workload.model_dump(mode="json")
        _number_inputs(Workload, w, _WORKLOAD, prefix)
        _number_inputs(LatencyTargets, w["latency"], _LATENCY, prefix, cols=3)
        show_notice("workload")
        st.form_submit_button("Apply workload", on_click=_apply_workload, args=(prefix,), type="primary")


_FRAME = [
    _Num("horizon_months", 6, integer=True),
    _Num("discount_rate_pct_per_year", 0.5, "%.1f"),
    _Num("api_price_change_pct_per_year", 5, "%.1f"),
    _Num("gpu_price_change_pct_per_year", 5, "%.1f"),
    _Num("sensitivity_pct", 5, "%.0f"),
    _Num("usd_fx_rate", 0.01, "%.4f"),
    _Num("tax_rate_pct", 1, "%.1f"),
]
_DECISION = [
    _Num("min_saving_pct", 1, "%.1f"),
    _Num("min_saving_usd_per_month", 100, "%.2f"),
    _Num("min_probability", 0.05, "%.2f"),
]
LENS_LABELS = {"cash": "Cash", "accounting": "Accounting (amortised)"}
_CURRENCIES = ["USD", "EUR", "GBP", "CHF", "JPY", "INR", "CAD", "AUD"]


def _apply_frame(prefix: str) -> None:
    data = get_scenario().model_dump(mode="json")
    _read_numbers(data, _FRAME, prefix)
    data["name"] = st.session_state[prefix + "name"]
    data["currency"] = (st.session_state[prefix + "currency"] or "").strip().upper()
    data["baseline"] = st.session_state[prefix + "baseline"] or None
    day = st.session_state[prefix + "price_date"]
    data["price_date"] = day.isoformat() if isinstance(day, date) else None
    data["cost_lens"] = st.session_state[prefix + "cost_lens"]
    _read_numbers(data["decision"], _DECISION, prefix + "dec-")
    apply_in_form("frame", lambda: validated(data))


def frame_form(scenario: Scenario) -> None:
    """Name, baseline, horizon, discounting, price trends, currency and FX rate, price date."""
    prefix = f"fr-{scenario_revision()}-"
    with st.form(f"frame-form-{scenario_revision()}", border=False):
        c = st.columns(3)
        c[0].text_input(field_label(Scenario, "name"), scenario.name, key=prefix + "name")
        choices = ["", *(o.name for o in scenario.options)]  # "": the first API option
        c[1].selectbox(
            field_label(Scenario, "baseline"),
            choices,
            index=choices.index(scenario.baseline or ""),
            format_func=lambda n: n or "the first API option",
            key=prefix + "baseline",
            help=_help(Scenario, "baseline"),
        )
        c[2].date_input(
            field_label(Scenario, "price_date"),
            scenario.price_date,
            key=prefix + "price_date",
            help=_help(Scenario, "price_date"),
        )
        c = st.columns(3)
        c[0].selectbox(
            field_label(Scenario, "currency"),
            sorted({*_CURRENCIES, scenario.currency}),
            index=sorted({*_CURRENCIES, scenario.currency}).index(scenario.currency),
            accept_new_options=True,
            key=prefix + "currency",
            help=_help(Scenario, "currency"),
        )
        c[1].selectbox(
            field_label(Scenario, "cost_lens"),
            list(LENS_LABELS),
            index=list(LENS_LABELS).index(scenario.cost_lens.value),
            format_func=LENS_LABELS.__getitem__,
            key=prefix + "cost_lens",
            help=_help(Scenario, "cost_lens"),
        )
        _number_inputs(Scenario, scenario.model_dump(mode="json"), _FRAME, prefix)
        _number_inputs(DecisionRules, scenario.decision.model_dump(mode="json"), _DECISION, prefix + "dec-")
        show_notice("frame")
        st.form_submit_button("Apply", on_click=_apply_frame, args=(prefix,), type="primary")


# ---------------------------------------------------------------- options


def _price_label(p: ApiPrice) -> str:
    batch = " · batch rate" if p.has_batch_rate else ""
    tiers = " · tiered" if p.tiered else ""
    return (
        f"{p.provider_name} · {p.model_name} — in {money(p.input_usd_per_mtok, decimals=2)} / "
        f"out {money(p.output_usd_per_mtok, decimals=2)} per 1M{batch}{tiers} · as of {p.price_date}"
    )


def _api_picker(data: Data, scenario: Scenario, prefix: str) -> None:
    choices = api_choices(data["kind"], scenario.price_date)
    labels = {f"{p.provider_id}/{p.model_id}": _price_label(p) for p in choices}
    current = f"{data['provider']}/{data['model']}"
    if current not in labels:  # aliases and ids the picker lists under another name
        labels = {current: f"{data['provider']} · {data['model']} (as typed in the scenario)", **labels}
    st.selectbox(
        "Model (type to search; price per 1M tokens and its date)",
        list(labels),
        index=list(labels).index(current),
        format_func=labels.__getitem__,
        key=prefix + "pick",
        help="Prices from genai-prices; managed endpoints list open-weight models sold per token.",
    )
    listed = next((p for p in choices if f"{p.provider_id}/{p.model_id}" == current), None)
    st.markdown(
        "**Your negotiated prices** (empty: the list price"
        + (f" as of {listed.price_date}" if listed else "")
        + "; the discount applies on top)"
    )
    fields = [_Num("discount_pct", 1, "%.1f")]
    for name in _API_PRICES:
        shown = f"list {money(getattr(listed, name), decimals=2)}" if listed else "list price"
        fields.append(_Num(name, 0.01, "%.4f", empty=shown))
    _number_inputs(ApiOption, data, fields, prefix, cols=4)
    _number_inputs(ApiOption, data, [f for f in _API_FIELDS if f.name not in ("discount_pct", *_API_PRICES)], prefix)


_API_PRICES = ("input_usd_per_mtok", "cached_input_usd_per_mtok", "output_usd_per_mtok")
"""Negotiated per-token prices an API option may carry instead of the list price."""
_API_FIELDS = [
    _Num("discount_pct", fmt="%.1f"),
    *(_Num(n, fmt="%.4f", empty="list") for n in _API_PRICES),
    _Num("input_token_multiplier", 0.05, "%.2f"),
    _Num("output_token_multiplier", 0.05, "%.2f"),
    _Num("switch_usd", 1000, "%.2f"),
]


_SELF = [
    _Num("gpus_per_replica", 1, empty="the cheapest shape", integer=True),
    _Num("min_replicas", 1, integer=True),
    _Num("target_utilisation", 0.05, "%.2f"),
    _Num("input_token_multiplier", 0.05, "%.2f"),
    _Num("output_token_multiplier", 0.05, "%.2f"),
    _Num("switch_usd", 1000, "%.2f"),
    _Num("measured_output_tokens_per_s", 100, "%.1f", empty="the estimate"),
    _Num("measured_watts_per_gpu", 10, "%.0f", empty="TDP"),
]
_CLOUD = [_Num("usd_per_gpu_hour", 0.1, "%.4f", empty="catalog price")]
_ON_PREM = [
    _Num("gpus_per_server", 1, integer=True),
    _Num("server_capex_usd", 10_000, "%.2f"),
    _Num("amortisation_years", 1, "%.1f"),
    _Num("server_overhead_watts", 100, "%.0f"),
    _Num("gpu_idle_power_share", 0.05, "%.2f"),
    _Num("pue", 0.05, "%.2f"),
    _Num("usd_per_kwh", 0.01, "%.4f"),
    _Num("rack_usd_per_server_month", 50, "%.2f"),
    _Num("maintenance_pct_per_year", 1, "%.1f"),
    _Num("resale_pct_at_horizon", 5, "%.1f", empty="book value"),
]
_COSTS = [
    _Num("engineering_fte", 0.05, "%.2f"),
    _Num("loaded_salary_usd_per_year", 10_000, "%.2f"),
    _Num("support_usd_per_month", 100, "%.2f"),
    _Num("monitoring_usd_per_month", 100, "%.2f"),
    _Num("setup_usd", 1000, "%.2f"),
    _Num("fine_tuning_gpu_hours", 10, "%.1f"),
    _Num("fine_tuning_usd_per_gpu_hour", 0.1, "%.4f"),
    _Num("data_prep_days", 1, "%.1f"),
    _Num("data_prep_usd_per_day", 50, "%.2f"),
    _Num("oncall_fte_per_block", 0.05, "%.2f"),
    _Num("replicas_per_oncall_block", 1, integer=True),
    _Num("cpu_host_usd_per_replica_month", 10, "%.2f"),
    _Num("storage_usd_per_month", 10, "%.2f"),
    _Num("network_usd_per_month", 10, "%.2f"),
    _Num("egress_usd_per_gb", 0.01, "%.4f"),
    _Num("egress_bytes_per_output_token", 1, "%.1f"),
    _Num("staging_share", 0.05, "%.2f"),
    _Num("interconnect_usd_per_node_month", 50, "%.2f"),
]
_FLAGS = ("n_plus_1", "batch_off_peak")
"""Yes/no capacity choices every self-hosted option has."""


def _catalog_select(label: str, ids: list[str], current: str, key: str, names: dict[str, str]) -> None:
    options = ids if current in ids else [current, *ids]
    st.selectbox(label, options, index=options.index(current), format_func=lambda i: names.get(i, i), key=key)


def _optional_select(where: Any, data: Data, field: str, choices: Iterable[str], prefix: str, empty: str) -> None:
    """A choice a self-hosted option may leave empty ("" stands for None, which does not survive a selectbox); a
    value typed in the scenario file that the list lacks stays selectable as typed."""
    options = ["", *choices]
    current = data.get(field) or ""
    if current not in options:
        options.append(current)
    where.selectbox(
        field_label(CloudGpuOption, field),
        options,
        index=options.index(current),
        format_func=lambda v: v or empty,
        key=prefix + field,
        help=_help(CloudGpuOption, field),
    )


def _self_hosted_fields(data: Data, prefix: str) -> None:
    cat = catalog()
    model_id = _resolved(cat.model, data["model"], "model_id")
    gpu_id = _resolved(cat.gpu, data["gpu"], "gpu_id")
    quant_id = _resolved(cat.quant, data["quant"], "quant_id")
    c = st.columns(3)
    with c[0]:
        models = [m for m in cat.models if m.has_architecture]
        _catalog_select(
            field_label(CloudGpuOption, "model"),
            [m.model_id for m in models],
            model_id,
            prefix + "model",
            {m.model_id: f"{m.name} ({m.total_params_b:g}B)" for m in models},
        )
    with c[1]:
        _catalog_select(
            field_label(CloudGpuOption, "quant"),
            [q.quant_id for q in cat.quants],
            quant_id,
            prefix + "quant",
            {q.quant_id: quant_label(q.name, q.bits_per_weight) for q in cat.quants},
        )
    with c[2]:
        _catalog_select(
            field_label(CloudGpuOption, "gpu"),
            [g.gpu_id for g in cat.gpus],
            gpu_id,
            prefix + "gpu",
            {g.gpu_id: f"{g.name} ({g.memory_gb:g} GB)" for g in cat.gpus},
        )
    # a release typed in the scenario file (`sglang 0.5.6`) stays as typed
    _optional_select(
        st, data, "runtime", SERVING_ENGINES, prefix, "not named: vLLM-like server (llama.cpp / MLX for their formats)"
    )
    if data["kind"] == "cloud_gpu":
        c = st.columns(3)
        _optional_select(c[0], data, "provider", cat.providers(), prefix, "cheapest listed")
        c[1].selectbox(
            field_label(CloudGpuOption, "price_plan"),
            [p.value for p in PricePlan],
            index=[p.value for p in PricePlan].index(data["price_plan"]),
            format_func=lambda p: PLAN_LABELS[PricePlan(p)],
            key=prefix + "price_plan",
        )
        c[2].checkbox(field_label(CloudGpuOption, "scale_to_zero"), data["scale_to_zero"], key=prefix + "scale_to_zero")
        _number_inputs(CloudGpuOption, data, _SELF + _CLOUD, prefix)
    else:
        _number_inputs(OnPremOption, data, _SELF + _ON_PREM, prefix)
    c = st.columns(3)
    for k, flag in enumerate(_FLAGS):
        c[k].checkbox(field_label(CloudGpuOption, flag), bool(data.get(flag)), key=prefix + flag,
                      help=_help(CloudGpuOption, flag))  # fmt: skip
    if data["kind"] == "cloud_gpu":
        c[2].checkbox(
            field_label(CloudGpuOption, "include_flagged_prices"),
            bool(data.get("include_flagged_prices")),
            key=prefix + "include_flagged_prices",
            help=_help(CloudGpuOption, "include_flagged_prices"),
        )
    st.markdown(f"**{field_label(CloudGpuOption, 'costs')}**")
    _number_inputs(SelfHostCosts, data["costs"], _COSTS, prefix + "costs-")


def _resolved(lookup: Callable[[str], Any], name: str, attr: str) -> str:
    """The catalog id of a name as typed (alias, repo id); the name itself when the catalog does not know it."""
    try:
        return getattr(lookup(name), attr)
    except CostModelError:
        return name


def _hybrid_parts(scenario: Scenario) -> tuple[list[str], list[str]]:
    """Names of the options a hybrid can route to: open-model ones, and proprietary APIs."""
    opens = [o.name for o in scenario.options if isinstance(o, ManagedEndpointOption | CloudGpuOption | OnPremOption)]
    return opens, [o.name for o in scenario.options if type(o) is ApiOption]


def _hybrid_fields(data: Data, scenario: Scenario, prefix: str) -> None:
    opens, apis = _hybrid_parts(scenario)
    c = st.columns(2)
    for col, field, candidates, label in (
        (c[0], "open_option", opens, field_label(HybridOption, "open_option")),
        (c[1], "api_option", apis, field_label(HybridOption, "api_option")),
    ):
        names = candidates if data[field] in candidates else [data[field], *candidates]
        col.selectbox(label, names, index=names.index(data[field]), key=prefix + field, help=_help(HybridOption, field))
    st.data_editor(
        pd.DataFrame(data["task_classes"], columns=["name", "share", "on_open_model"]),
        num_rows="dynamic",
        key=prefix + "task_classes",
        column_config={
            "name": st.column_config.TextColumn(field_label(TaskClass, "name"), required=True),
            "share": st.column_config.NumberColumn(
                field_label(TaskClass, "share"), min_value=0.0, max_value=1.0, step=0.05, required=True
            ),
            "on_open_model": st.column_config.CheckboxColumn(field_label(TaskClass, "on_open_model"), default=True),
        },
        hide_index=True,
        width="stretch",
    )


def _read_option(data: Data, scenario: Scenario, prefix: str, table: pd.DataFrame | None) -> Data:
    s = st.session_state
    data["name"] = s[prefix + "name"]
    kind = data["kind"]
    if kind in ("api", "managed"):
        data["provider"], data["model"] = s[prefix + "pick"].split("/", 1)
        _read_numbers(data, [f for f in _API_FIELDS if f.name in ApiOption.model_fields], prefix)
    elif kind in ("cloud_gpu", "on_prem"):
        for f in ("model", "quant", "gpu"):
            data[f] = s[prefix + f]
        data["runtime"] = s[prefix + "runtime"] or None
        if kind == "cloud_gpu":
            data["provider"] = s[prefix + "provider"] or None
            data["price_plan"] = s[prefix + "price_plan"]
            data["scale_to_zero"] = s[prefix + "scale_to_zero"]
            data["include_flagged_prices"] = s[prefix + "include_flagged_prices"]
            _read_numbers(data, _SELF + _CLOUD, prefix)
        else:
            _read_numbers(data, _SELF + _ON_PREM, prefix)
        for flag in _FLAGS:
            data[flag] = s[prefix + flag]
        _read_numbers(data["costs"], _COSTS, prefix + "costs-")
    else:
        data["open_option"] = s[prefix + "open_option"]
        data["api_option"] = s[prefix + "api_option"]
        if table is not None:
            data["task_classes"] = [
                {"name": r["name"], "share": r["share"], "on_open_model": bool(r["on_open_model"])}
                for r in table.to_dict("records")
                if r.get("name") is not None
            ]
    return data


def _edited_table(original: list[Data], prefix: str) -> pd.DataFrame:
    """The task-class table with the user's edits (the data editor's state holds only the changes)."""
    df = pd.DataFrame(original, columns=["name", "share", "on_open_model"])
    edits = st.session_state.get(prefix + "task_classes") or {}
    for row, changes in edits.get("edited_rows", {}).items():
        for col, value in changes.items():
            df.loc[int(row), col] = value
    df = pd.concat([df, pd.DataFrame(edits.get("added_rows", []), columns=df.columns)], ignore_index=True)
    return df.drop(index=[int(r) for r in edits.get("deleted_rows", [])]).reset_index(drop=True)


def _apply_option(index: int, prefix: str) -> None:
    scenario = get_scenario()
    data = scenario.options[index].model_dump(mode="json")
    table = _edited_table(data["task_classes"], prefix) if data["kind"] == "hybrid" else None
    edited = _read_option(data, scenario, prefix, table)
    apply_in_form(f"option-{index}", lambda: with_option(get_scenario(), edited, index=index))


_REMOVING = "builder_removing"
"""Name of the option whose removal waits for the user's answer (it is the baseline, or a hybrid needs it)."""


def _remove(index: int) -> None:
    scenario = get_scenario()
    name = scenario.options[index].name
    if name == scenario.baseline_option.name or dependents(scenario, name):
        st.session_state[_REMOVING] = name  # ask first: see `_removal_panel`
        return
    apply(lambda: without_options(get_scenario(), [name]))


def _confirm_remove(name: str, prefix: str) -> None:
    scenario = get_scenario()
    gone = [name, *dependents(scenario, name)]
    baseline = st.session_state.get(prefix + "new-baseline") if name == scenario.baseline_option.name else None
    if apply(lambda: without_options(get_scenario(), gone, baseline=baseline)):
        flash("success", md(f"Removed {', '.join(gone)}." + (f" The baseline is now {baseline}." if baseline else "")))
    st.session_state.pop(_REMOVING, None)


def _cancel_remove() -> None:
    st.session_state.pop(_REMOVING, None)


def _removal_panel(scenario: Scenario, index: int, prefix: str) -> None:
    """Removing the baseline, or an option a hybrid routes to, says what it means before it happens."""
    name = scenario.options[index].name
    needs = dependents(scenario, name)
    gone = [name, *needs]
    is_base = name == scenario.baseline_option.name
    with st.container(border=True, key=f"removing-{index}"):
        text = []
        if is_base:
            text.append(f"**{name}** is the baseline: every saving is measured against it.")
        if needs:
            text.append(f"{' and '.join(needs)} route{'s' if len(needs) == 1 else ''} traffic to it and would go too.")
        st.warning(md(" ".join(text)))
        left = [o.name for o in scenario.options if o.name not in gone]
        if not left:
            st.info("Nothing would be left to compare: add another option first.")
        elif is_base:
            st.selectbox("New baseline (what you pay today)", left, key=prefix + "new-baseline")
        c = st.columns([2, 1, 3])
        c[0].button(
            f"Remove {len(gone)} option{'s' if len(gone) > 1 else ''}" + (" and set the baseline" if is_base else ""),
            key=prefix + "confirm-remove",
            on_click=_confirm_remove,
            args=(name, prefix),
            type="primary",
            disabled=not left,
        )
        c[1].button("Cancel", key=prefix + "cancel-remove", on_click=_cancel_remove)


def _duplicate(index: int) -> None:
    apply(lambda: duplicated(get_scenario(), index))


def option_editor(scenario: Scenario, index: int) -> None:
    """One option: its fields in a form (applied together), plus duplicate and remove buttons."""
    option = scenario.options[index]
    rev = scenario_revision()
    prefix = f"opt-{rev}-{index}-"
    data = option.model_dump(mode="json")
    base = " · baseline" if option.name == scenario.baseline_option.name else ""
    removing = st.session_state.get(_REMOVING) == option.name
    open_it = removing or has_notice(f"option-{index}")
    with st.expander(md(f"**{option.name}** — {KIND_LABELS[option.kind]}{base}"), expanded=open_it):
        with st.form(f"option-{index}-form-{rev}", border=False):
            st.text_input(
                field_label(ApiOption, "name"), option.name, key=prefix + "name", help=_help(ApiOption, "name")
            )
            if option.kind in ("api", "managed"):
                _api_picker(data, scenario, prefix)
            elif option.kind in ("cloud_gpu", "on_prem"):
                _self_hosted_fields(data, prefix)
            else:
                _hybrid_fields(data, scenario, prefix)
            show_notice(f"option-{index}")
            st.form_submit_button("Apply", on_click=_apply_option, args=(index, prefix), type="primary")
        if removing:
            _removal_panel(scenario, index, prefix)
        c = st.columns([1, 1, 4])
        c[0].button(
            "Duplicate", key=f"dup-{rev}-{index}", on_click=_duplicate, args=(index,), icon=":material/content_copy:"
        )
        only = len(scenario.options) == 1
        c[1].button(
            "Remove",
            key=f"del-{rev}-{index}",
            on_click=_remove,
            args=(index,),
            icon=":material/delete:",
            disabled=only,
            help="A scenario needs at least one option." if only else None,
        )


def self_hosted_defaults() -> tuple[Data, str]:
    """People and one-off costs a new self-hosted option starts with, and where they come from.

    They are the built-in presets' figures (the demo's first rented-GPU option), so an option added here is
    costed like the ones the presets show, and the page can say so.
    """
    demo = preset(DEMO)
    hosted = next(o for o in demo.options if isinstance(o, CloudGpuOption))
    source = f"data/scenarios/{DEMO}.json, option “{hosted.name}”"
    return hosted.costs.model_dump(mode="json", exclude_unset=True), source


def new_option(kind: str, scenario: Scenario) -> Data:
    """A sensible first version of an option of `kind` (raises `CostModelError` when a hybrid has no parts)."""
    if kind == "api":
        return {"kind": "api", "name": "New API option", "provider": "openai", "model": "gpt-4o-mini"}
    if kind == "managed":
        return {
            "kind": "managed",
            "name": "New managed endpoint",
            "provider": "together",
            "model": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        }
    if kind in ("cloud_gpu", "on_prem"):
        name = "New rented GPUs" if kind == "cloud_gpu" else "New own server"
        costs, _ = self_hosted_defaults()
        return {"kind": kind, "name": name, "model": "llama-3.1-8b", "quant": "bf16", "gpu": "H100-SXM", "costs": costs}
    opens, apis = _hybrid_parts(scenario)
    if not opens or not apis:
        raise ScenarioError("A hybrid option needs an API option and an open-model option: add those first.")
    return {"kind": "hybrid", "name": "New hybrid", "open_option": opens[0], "api_option": apis[0]}


def _add() -> None:
    kind = st.session_state["add-kind"]
    try:
        option = new_option(kind, get_scenario())
    except CostModelError as ex:
        flash("error", md(str(ex)))
        return
    if apply(lambda: with_option(get_scenario(), option)):
        flash("success", md(f"Added “{get_scenario().options[-1].name}” at the end of the list: open it to edit it."))


def _describe_costs(costs: Data) -> str:
    parts = []
    for name, value in costs.items():
        label = field_label(SelfHostCosts, name)
        parts.append(f"{label}: {money(Decimal(str(value))) if 'USD' in label else f'{float(value):g}'}")
    return "; ".join(parts)


def add_option_row() -> None:
    c = st.columns([3, 1], vertical_alignment="bottom")
    c[0].selectbox("Add an option", list(KIND_LABELS), format_func=KIND_LABELS.__getitem__, key="add-kind")
    c[1].button("Add option", on_click=_add, icon=":material/add:", type="primary", key="add-option")
    costs, source = self_hosted_defaults()
    st.caption(
        md(
            f"New self-hosted options start with the presets' people and one-off costs — {_describe_costs(costs)} "
            f"(from {source}) — and the engine's defaults for the rest: change them to yours."
        )
    )
