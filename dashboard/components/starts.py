"""Where a new scenario starts in the builder: blank, or from the usage logs imported on the Usage logs page."""

from __future__ import annotations

import duckdb

from costmodel.prices import OPEN_MODEL_PROVIDERS
from costmodel.scenario import Scenario, Workload
from costmodel.usage.costs import cost_check
from costmodel.usage.workload import NoUsageData, workload_from_usage

__all__ = ["blank_scenario", "usage_scenario"]


def blank_scenario() -> Scenario:
    """One API option (the baseline) and the engine's default workload: add what you want to compare."""
    return Scenario(
        name="My scenario",
        workload=Workload(),
        options=[{"kind": "api", "name": "Current API", "provider": "openai", "model": "gpt-4o-mini"}],
    )


def usage_scenario(con: duckdb.DuckDBPyConnection) -> Scenario:
    """The logged workload, and the most used model of the logs (by tokens) as the baseline option.

    Raises:
        NoUsageData: nothing imported yet, or no logged model that genai-prices can price.
    """
    workload = workload_from_usage(con)
    known = [m for m in cost_check(con).by_model if m.provider and m.recomputed_cost_usd is not None]
    if not known:
        raise NoUsageData(
            "the imported logs name no provider and model that genai-prices prices; start blank and pick the "
            "API you pay for"
        )
    top = max(known, key=lambda m: (m.input_tokens + m.output_tokens, m.model))
    kind = "managed" if top.provider in OPEN_MODEL_PROVIDERS else "api"
    return Scenario(
        name="From my usage logs",
        workload=workload,
        options=[
            {"kind": kind, "name": f"{top.model} (today, from the logs)", "provider": top.provider, "model": top.model}
        ],
    )
