"""Tornado data: how the headline saving moves when each numeric input moves by ±X %.

The headline saving is the baseline's horizon cost minus the best alternative's (both fixed at the base
case, so the bars compare like with like). Every numeric input of the workload, of the financial frame,
of those two options, and the two facts behind a self-hosted option (GPU-hour price and replica
throughput) is perturbed one at a time; values are clamped to their allowed range.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from costmodel.errors import CostModelError
from costmodel.scenario import CloudGpuOption, OnPremOption, Scenario
from costmodel.tco import ScenarioResult, evaluate, option_horizon_usd

__all__ = ["TornadoBar", "tornado"]

_SKIP = {"horizon_months", "sensitivity_pct", "usd_fx_rate", "gpus_per_replica", "min_replicas", "gpus_per_server"}
_SKIP_SCENARIO_FIELDS = {"name", "workload", "options", "baseline", "currency", "price_date"}


@dataclass(frozen=True)
class TornadoBar:
    """The saving with one input lowered and raised by the scenario's sensitivity percentage."""

    label: str
    path: str
    base_value: float
    low_value: float
    high_value: float
    saving_low_usd: Decimal
    saving_high_usd: Decimal

    @property
    def swing_usd(self) -> Decimal:
        return abs(self.saving_high_usd - self.saving_low_usd)


def _numeric_leaves(obj: Any, prefix: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], float]]:
    out: list[tuple[tuple[str | int, ...], float]] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _numeric_leaves(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _numeric_leaves(v, (*prefix, i))
    elif isinstance(obj, int | float | Decimal) and not isinstance(obj, bool) and prefix[-1] not in _SKIP:
        out.append((prefix, float(obj)))
    return out


def _set(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    node: Any = data
    for p in path[:-1]:
        node = node[p]
    old = node[path[-1]]
    node[path[-1]] = round(value) if isinstance(old, int) else (str(value) if isinstance(old, str) else value)


_DERIVED_LABELS = {
    "measured_output_tokens_per_s": "replica throughput (output tok/s)",
    "usd_per_gpu_hour": "GPU-hour price (USD)",
}


def _label(scenario: Scenario, path: tuple[str | int, ...]) -> str:
    if path[0] == "options":
        opt = scenario.options[int(path[1])]
        field = str(path[-1]) if len(path) == 3 else ""
        rest = _DERIVED_LABELS.get(field) or ".".join(str(p) for p in path[2:]).replace("_", " ")
        return f"{opt.name}: {rest}"
    return ".".join(str(p) for p in path if p != "workload").replace("_", " ")


def _saving(s: Scenario, base: str, best: str) -> Decimal:
    return option_horizon_usd(s.option(base), s) - option_horizon_usd(s.option(best), s)


def tornado(scenario: Scenario, result: ScenarioResult | None = None) -> list[TornadoBar]:
    """One bar per input that moves the saving, widest swing first.

    Args:
        scenario: the base case.
        result: its evaluation, if already computed.

    Returns:
        Bars sorted by swing; inputs that do not move the saving are left out.
    """
    result = result or evaluate(scenario, with_break_even=False)
    base_name = result.baseline
    best_name = result.best if result.best != base_name else _runner_up(result)
    if best_name is None:
        return []
    pct = scenario.sensitivity_pct / 100
    data = scenario.model_dump(mode="json")
    candidates: list[tuple[tuple[str | int, ...], float]] = []
    for key, value in data.items():
        if key in _SKIP_SCENARIO_FIELDS or key in _SKIP:
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            candidates.append(((key,), float(value)))
    candidates += _numeric_leaves(data["workload"], ("workload",))
    for i, opt in enumerate(scenario.options):
        if opt.name in (base_name, best_name):
            candidates += [
                (p, v)
                for p, v in _numeric_leaves(data["options"][i], ("options", i))
                if not str(p[-1]).startswith("measured")
            ]
    derived = _derived_inputs(scenario, result, best_name)

    bars = []
    for path, value in candidates + derived:
        if value == 0:
            continue
        lo_hi = []
        for factor in (1 - pct, 1 + pct):
            trial = scenario.model_dump(mode="json")
            _set(trial, path, value * factor)
            try:
                s = Scenario.model_validate(trial)
            except ValidationError:
                s = _clamped(scenario, trial, path, value * factor)
                if s is None:
                    lo_hi.append(None)
                    continue
            try:
                lo_hi.append((_field_value(s, path), _saving(s, base_name, best_name)))
            except CostModelError:
                lo_hi.append(None)
        if None in lo_hi:
            continue
        (lv, ls), (hv, hs) = lo_hi  # type: ignore[misc]
        if ls == hs:
            continue
        bars.append(TornadoBar(_label(scenario, path), ".".join(map(str, path)), value, lv, hv, ls, hs))
    return sorted(bars, key=lambda b: b.swing_usd, reverse=True)


def _runner_up(result: ScenarioResult) -> str | None:
    others = [o for o in result.options if o.name != result.baseline]
    return min(others, key=lambda o: o.horizon_usd).name if others else None


def _derived_inputs(
    scenario: Scenario, result: ScenarioResult, best_name: str
) -> list[tuple[tuple[str | int, ...], float]]:
    """Facts the user did not type but that drive self-hosted cost: GPU-hour price and replica throughput."""
    out: list[tuple[tuple[str | int, ...], float]] = []
    for i, opt in enumerate(scenario.options):
        if opt.name != best_name or not isinstance(opt, CloudGpuOption | OnPremOption):
            continue
        r = result.option(opt.name)
        if r.replica is not None and opt.measured_output_tokens_per_s is None:
            out.append((("options", i, "measured_output_tokens_per_s"), r.replica.output_tokens_per_s))
        if isinstance(opt, CloudGpuOption) and opt.usd_per_gpu_hour is None and r.months:
            from costmodel.sizing import resolve_gpu_price

            price, _, _ = resolve_gpu_price(opt, r.replica.gpu)  # type: ignore[union-attr]
            out.append((("options", i, "usd_per_gpu_hour"), float(price)))
    return out


def _clamped(scenario: Scenario, trial: dict[str, Any], path: tuple[str | int, ...], value: float) -> Scenario | None:
    """Retry with the value pulled back inside its field's bounds (e.g. a share above 1 becomes 1)."""
    for bound in (1.0, 24.0, 7.0, 100.0):
        if value > bound >= value / (1 + scenario.sensitivity_pct / 100) * 0.999:
            _set(trial, path, bound)
            try:
                return Scenario.model_validate(trial)
            except ValidationError:
                return None
    return None


def _field_value(s: Scenario, path: tuple[str | int, ...]) -> float:
    node: Any = s
    for p in path:
        node = node[p] if isinstance(p, int) else getattr(node, p)
    return float(node)
