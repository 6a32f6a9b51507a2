"""Usage logs page, fleet section: what the self-hosted fleet (imported Prometheus metrics) costs per 1M tokens."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import streamlit as st

from costmodel.errors import CostModelError
from costmodel.export.sanitize import is_formula_like
from costmodel.fleet.report import FleetInputs, FleetReport, fleet_inputs, fleet_report
from costmodel.fmt import money, tokens
from costmodel.scenario import Scenario
from costmodel.store import snapshot
from dashboard.components.text import md
from dashboard.state import store_cursor

__all__ = ["fleet_section"]


@st.cache_data(max_entries=8, show_spinner=False)
def _report(version: tuple[str, int, int], inputs_json: str) -> FleetReport | None:
    inputs = FleetInputs.model_validate_json(inputs_json)
    with snapshot(store_cursor()) as con:
        return fleet_report(con, **inputs.model_dump())


def _safe(v: object) -> object:
    """Label text from the metrics (instance, model) that a spreadsheet would run gets a leading `'` (the table's
    "Download as CSV" writes cells as they are)."""
    return "'" + v if isinstance(v, str) and is_formula_like(v) else v


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def fleet_section(scenario: Scenario, version: tuple[str, int, int]) -> None:
    """Inputs (defaulting to the scenario's self-hosted option), then cost, utilisation and latency; nothing when no
    metrics file was imported."""
    defaults = fleet_inputs(scenario)
    probe = defaults.model_copy(update={"usd_per_gpu_hour": Decimal(1)})
    if _report(version, probe.model_dump_json()) is None:
        return
    st.subheader("Your self-hosted fleet: cost per 1M tokens from its Prometheus metrics")
    c = st.columns(4)
    gpus = c[0].number_input("GPUs per instance", 1, 64, defaults.gpus_per_instance, key="fleet_gpus")
    typed = c[1].number_input(
        "$ per GPU-hour (0: catalog)",
        0.0,
        1000.0,
        float(defaults.usd_per_gpu_hour or 0),
        step=0.1,
        key="fleet_price",
        help=f"0 uses the cheapest {defaults.plan} catalog price of {defaults.gpu_id or 'the scenario GPU'}.",
    )
    people = c[2].number_input(
        "People $ / month", 0.0, 10_000_000.0, float(round(defaults.people_usd_per_month, 2)), key="fleet_people"
    )
    max_running = c[3].number_input("Batch limit (max-num-seqs)", 0, 100_000, 0, key="fleet_max_running")
    inputs = defaults.model_copy(
        update={
            "gpus_per_instance": int(gpus),
            "usd_per_gpu_hour": Decimal(str(typed)) if typed > 0 else None,
            "people_usd_per_month": Decimal(str(people)),
        }
    )
    try:
        r = _report(version, inputs.model_dump_json())
    except CostModelError as ex:
        st.error(md(str(ex)))
        return
    if r is None:
        return
    util = r.running_mean / max_running if r.running_mean is not None and max_running else None
    k = st.columns(4)
    k[0].metric("Fleet $ / 1M tokens", money(r.usd_per_mtok, decimals=2) if r.usd_per_mtok is not None else "n/a")
    k[1].metric("GPU-hours", f"{r.gpu_hours:,.1f}", help=f"{len(r.instances)} instance(s) × hours observed × GPUs")
    k[2].metric(
        "KV-cache use (mean)", _pct(r.kv_cache_usage_mean), help="Running requests vs batch limit: " + _pct(util)
    )
    k[3].metric("Peak ÷ mean hour", f"{r.peak_to_mean:.2f}" if r.peak_to_mean is not None else "n/a")
    per_tok: list[tuple[str, Decimal | None, Decimal | None]] = [
        ("Your fleet (self-hosted)", r.usd_per_mtok, r.total_cost_usd)
    ]
    per_tok += [(f"{a.provider}/{a.model}", a.usd_per_mtok, a.cost_usd) for a in r.api]
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "option": name,
                    "$ / 1M tokens": "not priced" if per is None else money(per, decimals=4),
                    "cost of these tokens": "—" if cost is None else money(cost, decimals=2),
                }
                for name, per, cost in per_tok
            ]
        ),
        hide_index=True,
        key="fleet_compare",
    )
    st.caption(
        md(
            f"{tokens(r.prompt_tokens)} prompt ({tokens(r.prefix_cache_hit_tokens)} prefix-cache hits) and "
            f"{tokens(r.generation_tokens)} generated tokens, {r.first_ts:%Y-%m-%d %H:%M} to {r.last_ts:%Y-%m-%d %H:%M}"
            f" UTC. Cost: {r.gpu_hours:,.1f} GPU-hours × ${r.usd_per_gpu_hour}/GPU-hour "
            f"({r.price_source}) + people {money(r.people_cost_usd, decimals=2)} = "
            f"{money(r.total_cost_usd, decimals=2)}. API rows price the same tokens at list price (genai-prices)."
        )
    )
    with st.expander("Instances and latency"):
        st.dataframe(
            pd.DataFrame(
                [
                    {k: _safe(v) for k, v in i.model_dump(exclude={"models"}).items()}
                    | {"models": _safe(", ".join(i.models))}
                    for i in r.instances
                ]
            ),
            hide_index=True,
            key="fleet_instances",
        )
        if r.latency:
            st.dataframe(pd.DataFrame([lat.model_dump() for lat in r.latency]), hide_index=True, key="fleet_latency")
