"""Tornado data: how the headline saving moves when each numeric input moves by ±X %.

The headline saving is the baseline's horizon cost minus the best alternative's, in the lens in force
(both options fixed at the base case, with the replica shapes and instance providers the base case
chose, so the bars compare like with like). Every numeric input of the workload, the financial frame,
those two options (and the parts of a hybrid) is perturbed one at a time, Decimal money included;
values are clamped to their allowed range. An input at zero moves by an absolute step instead of a
percentage. Two facts the user did not type are perturbed too: the GPU-hour price (±X %) and replica
throughput (± its stated error band). Bars that move the accounting saving but not the cash saving are
labelled "accounting only".
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from costmodel.breakeven import pinned_scenario
from costmodel.errors import CostModelError
from costmodel.labels import path_label
from costmodel.scenario import CloudGpuOption, CostLens, HybridOption, OnPremOption, Scenario
from costmodel.tco import ScenarioResult, evaluate, option_horizon_usd_both

__all__ = ["TornadoBar", "tornado"]

_SKIP = {
    "horizon_months",
    "sensitivity_pct",
    "usd_fx_rate",
    "gpus_per_replica",
    "min_replicas",
    "gpus_per_server",
    "replicas_per_oncall_block",
    "committed_nodes",
    "term_years",
}
_SKIP_SCENARIO_FIELDS = {"name", "workload", "options", "baseline", "currency", "price_date", "decision", "uncertainty"}
_TOLERANCE_USD = Decimal("0.005")
"""Savings closer than half a cent are the same (float inputs become Decimal through their repr)."""

_ZERO_STEPS: tuple[tuple[str, float], ...] = (
    ("_share", 0.1),
    ("_pct", 2.0),
    ("pct_per_year", 2.0),
    ("_fte", 0.1),
    ("fte_per_block", 0.1),
    ("_usd_per_gb", 0.05),
    ("_per_kwh", 0.05),
    ("_usd_per_month", 1000.0),
    ("_usd_per_replica_month", 100.0),
    ("_usd_per_node_month", 500.0),
    ("_usd_per_gpu_hour", 0.5),
    ("gpu_hours", 100.0),
    ("_days", 5.0),
    ("_usd", 10_000.0),
)
"""Absolute step for an input at zero, by the end of its name (first match wins); else 1."""


@dataclass(frozen=True)
class TornadoBar:
    """The saving with one input lowered and raised."""

    label: str
    path: str
    base_value: float
    low_value: float
    high_value: float
    saving_low_usd: Decimal
    saving_high_usd: Decimal
    note: str = ""
    """How the input moved or what it affects ('±18 % error band', 'from 0 by ±1,000', 'accounting only')."""

    @property
    def swing_usd(self) -> Decimal:
        return abs(self.saving_high_usd - self.saving_low_usd)


Path = tuple[str | int, ...]


def _numeric_leaves(obj: Any, prefix: Path) -> list[tuple[Path, float]]:
    out: list[tuple[Path, float]] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k not in _SKIP:
                out += _numeric_leaves(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _numeric_leaves(v, (*prefix, i))
    elif isinstance(obj, int | float | Decimal) and not isinstance(obj, bool):
        out.append((prefix, float(obj)))
    return out


def _get(data: Any, path: Path) -> Any:
    for p in path:
        data = data[p]
    return data


def _set(data: dict[str, Any], path: Path, value: float) -> None:
    node: Any = data
    for p in path[:-1]:
        node = node[p]
    old = node[path[-1]]
    if isinstance(old, bool):
        return
    if isinstance(old, int):
        node[path[-1]] = round(value)
    elif isinstance(old, Decimal) or old is None:
        node[path[-1]] = Decimal(repr(round(value, 8)))
    else:
        node[path[-1]] = value


def _zero_step(path: Path) -> float:
    name = str(path[-1])
    return next((step for suffix, step in _ZERO_STEPS if name.endswith(suffix)), 1.0)


_DERIVED_LABELS = {
    "measured_output_tokens_per_s": "Replica throughput (output tok/s)",
    "usd_per_gpu_hour": "GPU-hour price (USD)",
}


def _label(scenario: Scenario, path: Path) -> str:
    """The same human label the builder and error messages use (`costmodel.labels.path_label`)."""
    field = str(path[-1])
    if path[0] == "options" and field in _DERIVED_LABELS and len(path) == 3:
        return f"{scenario.options[int(path[1])].name} · {_DERIVED_LABELS[field]}"
    return path_label(scenario, path)


def _involved(scenario: Scenario, names: tuple[str, ...]) -> set[str]:
    out = set(names)
    for n in names:
        o = scenario.option(n)
        if isinstance(o, HybridOption):
            out |= {o.open_option, o.api_option}
    return out


def _validate(trial: dict[str, Any], path: Path, value: float, base_value: float) -> Scenario | None:
    """The trial scenario, with the value pulled back to its field's bound when it leaves the allowed range."""
    _set(trial, path, value)
    for _ in range(3):
        try:
            return Scenario.model_validate(trial)
        except ValidationError as ex:
            bound = _bound(ex, path)
            if bound is None or bound == base_value:
                return None
            _set(trial, path, bound)
    return None


def _bound(ex: ValidationError, path: Path) -> float | None:
    for err in ex.errors():
        if (
            tuple(
                p
                for p in err["loc"]
                if not (isinstance(p, str) and p in ("api", "managed", "cloud_gpu", "on_prem", "hybrid"))
            )
            != path
        ):
            continue
        ctx = err.get("ctx") or {}
        for key, nudge in (("le", 0.0), ("ge", 0.0), ("lt", -1e-9), ("gt", 1e-9)):
            if key in ctx:
                return float(ctx[key]) + nudge
    return None


def tornado(scenario: Scenario, result: ScenarioResult | None = None) -> list[TornadoBar]:
    """One bar per input that moves the saving, widest swing first.

    Args:
        scenario: the base case.
        result: its evaluation, if already computed.

    Returns:
        Bars sorted by swing; inputs that do not move the saving are left out.
    """
    result = result or evaluate(scenario, with_break_even=False, with_uncertainty=False)
    base_name = result.baseline
    best_name = result.best if result.best != base_name else _runner_up(result)
    if best_name is None:
        return []
    fixed = pinned_scenario(scenario, {r.name: r.facts for r in result.options})
    pct = scenario.sensitivity_pct / 100
    data = fixed.model_dump()
    candidates: list[tuple[Path, float, float, float, str]] = []  # path, base, low, high, note

    def add(path: Path, value: float, note: str = "") -> None:
        if value == 0:
            step = _zero_step(path)
            candidates.append((path, value, value - step, value + step, note or f"from 0 by ±{step:g}"))
        else:
            candidates.append((path, value, value * (1 - pct), value * (1 + pct), note))

    for key, value in data.items():
        if key in _SKIP_SCENARIO_FIELDS or key in _SKIP:
            continue
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            add((key,), float(value))
    for path, value in _numeric_leaves(data["workload"], ("workload",)):
        add(path, value)
    involved = _involved(fixed, (base_name, best_name))
    for i, opt in enumerate(fixed.options):
        if opt.name in involved:
            for path, value in _numeric_leaves(data["options"][i], ("options", i)):
                if not str(path[-1]).startswith("measured"):
                    add(path, value)
    candidates += _derived_inputs(fixed, result, involved)

    def savings(s: Scenario) -> tuple[Decimal, Decimal]:
        bc, ba = option_horizon_usd_both(s.option(base_name), s)
        oc, oa = option_horizon_usd_both(s.option(best_name), s)
        return bc - oc, ba - oa

    lens = scenario.cost_lens
    bars = []
    for path, value, low, high, note in candidates:
        ends = []
        for target in (low, high):
            s = _validate(fixed.model_dump(), path, target, value)
            if s is None:
                ends.append((value, None))
                continue
            try:
                ends.append((float(_get(s.model_dump(), path)), savings(s)))
            except CostModelError:
                ends.append((value, None))
        if ends[0][1] is None and ends[1][1] is None:
            continue
        base_sav = savings(fixed)
        (lv, ls), (hv, hs) = ((v, sv if sv is not None else base_sav) for v, sv in ends)
        pick = 0 if lens is CostLens.CASH else 1
        if abs(hs[pick] - ls[pick]) < _TOLERANCE_USD:
            continue
        if abs(hs[0] - ls[0]) < _TOLERANCE_USD:
            note = ", ".join(x for x in (note, "accounting only") if x)
        bars.append(
            TornadoBar(_label(scenario, path), ".".join(map(str, path)), value, lv, hv, ls[pick], hs[pick], note)
        )
    return sorted(bars, key=lambda b: b.swing_usd, reverse=True)


def _runner_up(result: ScenarioResult) -> str | None:
    others = [o for o in result.options if o.name != result.baseline]
    return min(others, key=lambda o: o.horizon_usd).name if others else None


def _derived_inputs(
    scenario: Scenario, result: ScenarioResult, involved: set[str]
) -> list[tuple[Path, float, float, float, str]]:
    """Facts the user did not type but that drive self-hosted cost: GPU-hour price and replica throughput."""
    out: list[tuple[Path, float, float, float, str]] = []
    pct = scenario.sensitivity_pct / 100
    for i, opt in enumerate(scenario.options):
        if opt.name not in involved or not isinstance(opt, CloudGpuOption | OnPremOption):
            continue
        r = result.option(opt.name)
        rep = r.replica
        if rep is not None and opt.measured_output_tokens_per_s is None:
            band = rep.error_band_pct / 100
            tps = rep.output_tokens_per_s
            out.append(
                (
                    ("options", i, "measured_output_tokens_per_s"),
                    tps,
                    tps * (1 - band),
                    tps * (1 + band),
                    f"±{rep.error_band_pct:.0f} % error band",
                )
            )
        offer = getattr(getattr(r.facts, "detail", None), "offer", None)
        if isinstance(opt, CloudGpuOption) and opt.usd_per_gpu_hour is None and offer is not None:
            price = float(offer.usd_per_gpu_hour)
            out.append((("options", i, "usd_per_gpu_hour"), price, price * (1 - pct), price * (1 + pct), ""))
    return out
