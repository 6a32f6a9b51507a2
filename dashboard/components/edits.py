"""Scenario edits the controls make: each returns a new, validated scenario and never touches money.

Pydantic's `model_copy(update=...)` skips validation, so every edit goes through a JSON-shaped dict and
`Scenario.model_validate`, and a rejected value becomes a `ScenarioError` naming the field by its label.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from costmodel.catalog import catalog
from costmodel.errors import ScenarioError
from costmodel.scenario import CloudGpuOption, HybridOption, PricePlan, Scenario
from dashboard.components.labels import human_errors

__all__ = [
    "dependents",
    "duplicated",
    "open_share",
    "price_plan",
    "validated",
    "with_growth",
    "with_open_share",
    "with_option",
    "with_price_plan",
    "with_volume",
    "without_options",
]

Data = dict[str, Any]


def validated(data: Data) -> Scenario:
    """Build a scenario from a JSON-shaped dict; a bad value raises `ScenarioError` as `label: message` lines."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as ex:
        raise ScenarioError(human_errors(ex, data)) from None


def _edit(scenario: Scenario, change: Callable[[Data], None]) -> Scenario:
    data = scenario.model_dump(mode="json")
    change(data)
    return validated(data)


def with_volume(scenario: Scenario, requests_per_month: float) -> Scenario:
    """The scenario with another first-month request volume."""
    return _edit(scenario, lambda d: d["workload"].update(requests_per_month=requests_per_month))


def with_growth(scenario: Scenario, monthly_growth_pct: float) -> Scenario:
    """The scenario with another month-over-month growth."""
    return _edit(scenario, lambda d: d["workload"].update(monthly_growth_pct=monthly_growth_pct))


def open_share(scenario: Scenario) -> float | None:
    """Share of traffic the first hybrid option sends to its open model (None: no hybrid option)."""
    hybrid = next((o for o in scenario.options if isinstance(o, HybridOption)), None)
    return hybrid.open_share if hybrid else None


def _reshared(classes: list[Data], share: float) -> list[Data]:
    """Task classes whose open ones add up to `share`, each side keeping its internal proportions."""
    open_total = sum(c["share"] for c in classes if c["on_open_model"])
    api_total = sum(c["share"] for c in classes if not c["on_open_model"])
    if open_total == 0 or api_total == 0:  # one side missing: split into two plain classes
        return [
            {"name": "on the open model", "share": share, "on_open_model": True},
            {"name": "on the API", "share": round(1 - share, 9), "on_open_model": False},
        ]
    out = []
    for c in classes:
        side_total, side_share = (open_total, share) if c["on_open_model"] else (api_total, 1 - share)
        out.append({**c, "share": round(c["share"] / side_total * side_share, 9)})
    return out


def with_open_share(scenario: Scenario, share: float) -> Scenario:
    """Every hybrid option sends `share` (0–1) of its traffic to its open model."""

    def change(d: Data) -> None:
        for o in d["options"]:
            if o["kind"] == "hybrid":
                o["task_classes"] = _reshared(o["task_classes"], share)

    return _edit(scenario, change)


def price_plan(scenario: Scenario) -> PricePlan | None:
    """How the first cloud-GPU option buys GPU hours (None: no cloud-GPU option)."""
    cloud = next((o for o in scenario.options if isinstance(o, CloudGpuOption)), None)
    return cloud.price_plan if cloud else None


def with_price_plan(scenario: Scenario, plan: PricePlan) -> Scenario:
    """Every cloud-GPU option buys on `plan`; one whose cloud does not list that plan moves to the cheapest that does.

    The catalog is only asked whether a price exists; the price itself is looked up by the engine.
    """
    cat = catalog()

    def change(d: Data) -> None:
        for o in d["options"]:
            if o["kind"] != "cloud_gpu":
                continue
            o["price_plan"] = plan.value
            if o.get("provider") and not cat.gpu_prices(
                cat.gpu(o["gpu"]).gpu_id, plan=plan.value, provider=o["provider"]
            ):
                o["provider"] = None

    return _edit(scenario, change)


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


def with_option(scenario: Scenario, option: Data, *, index: int | None = None) -> Scenario:
    """The scenario with `option` added (index None) or put in place of option `index`.

    Renaming an option also renames the references to it (hybrid options, the baseline).
    """

    option = dict(option)

    def change(d: Data) -> None:
        opts = d["options"]
        if index is None:
            option["name"] = _unique(option["name"], {o["name"] for o in opts})
            opts.append(option)
            return
        old = opts[index]["name"]
        opts[index] = option
        if option["name"] != old:
            for o in opts:
                if o["kind"] == "hybrid":
                    o["open_option"] = option["name"] if o["open_option"] == old else o["open_option"]
                    o["api_option"] = option["name"] if o["api_option"] == old else o["api_option"]
            if d.get("baseline") == old:
                d["baseline"] = option["name"]

    return _edit(scenario, change)


def dependents(scenario: Scenario, name: str) -> list[str]:
    """Hybrid options that route traffic to option `name` (they cannot stay without it)."""
    return [o.name for o in scenario.options if isinstance(o, HybridOption) and name in (o.open_option, o.api_option)]


def without_options(scenario: Scenario, names: list[str], *, baseline: str | None = None) -> Scenario:
    """The scenario without the options named; `baseline` becomes the baseline when given.

    A baseline that pointed at a removed option, with no new one given, falls back to the first API option.
    """

    def change(d: Data) -> None:
        d["options"] = [o for o in d["options"] if o["name"] not in names]
        if baseline is not None:
            d["baseline"] = baseline
        elif d.get("baseline") in names:
            d["baseline"] = None

    return _edit(scenario, change)


def duplicated(scenario: Scenario, index: int) -> Scenario:
    """The scenario with a copy of option `index` added after it, named `… (copy)`."""

    def change(d: Data) -> None:
        copy = dict(d["options"][index])
        copy["name"] = _unique(f"{copy['name']} (copy)", {o["name"] for o in d["options"]})
        d["options"].insert(index + 1, copy)

    return _edit(scenario, change)
