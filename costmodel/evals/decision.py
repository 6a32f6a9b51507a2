"""Quality in the decision: measured accuracy per task class for a scenario option, quality floors, routing
each class to the cheapest option that meets its floor, and cost per successful task.

These are pure functions for the economics engine: it attaches an `OptionQuality` to an option (from a
stored run with `quality_from_run`), asks `route_by_quality` which option may serve which class, excludes
options below a floor from "best" and the verdict (saying which floors they miss), and shows
`cost_per_successful_task` beside cost per million tokens.

A floor compares the point estimate of accuracy by default; `judge_by="ci_low"` compares the lower end of
the Wilson interval instead, for users who want the floor met with 95 % confidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Literal

import duckdb

from costmodel._base import StrictModel
from costmodel.evals.errors import EvalInputError, EvalRunError
from costmodel.evals.summary import summarise
from costmodel.quality import ClassQuality, OptionQuality, QualityFloor

__all__ = [
    "ClassQuality",
    "ClassRoute",
    "FloorFailure",
    "OptionQuality",
    "QualityFloor",
    "QualityRouting",
    "cost_per_successful_task",
    "quality_from_run",
    "route_by_quality",
    "token_ratios",
]

_CENT_FRACTION = Decimal("0.0000000001")


class FloorFailure(StrictModel):
    """An option that may not serve a class: below its floor, or never measured on it."""

    option: str
    task_class: str
    accuracy: float | None
    """Measured (point estimate or lower bound, as judged); None when not measured on the class."""
    required_accuracy: float
    reason: str
    """A sentence for the verdict: `… 81 % on triage, floor ≥ 90 % accuracy`."""


class ClassRoute(StrictModel):
    """Which option serves a task class."""

    task_class: str
    option: str | None
    """The cheapest option meeting the floor; None when none does."""
    required_accuracy: float
    """0 when the class has no floor."""
    accuracy: float | None
    """The chosen option's accuracy on the class (None: not measured, allowed because there is no floor)."""
    cost_usd_per_request: Decimal | None
    cost_usd_per_successful_task: Decimal | None
    """Cost per request ÷ accuracy (None when not measured or 0 % right)."""


class QualityRouting(StrictModel):
    """The routing of every task class, and every floor any option misses."""

    routes: list[ClassRoute]
    failures: list[FloorFailure]

    def option_for(self, task_class: str) -> str | None:
        return next((r.option for r in self.routes if r.task_class == task_class), None)

    def failures_of(self, option: str) -> list[FloorFailure]:
        return [f for f in self.failures if f.option == option]


def quality_from_run(con: duckdb.DuckDBPyConnection, run_id: int, target_label: str) -> OptionQuality:
    """The measured quality of one target of a stored run, ready to attach to a scenario option.

    Raises:
        EvalRunError: no such run, or no such target in it (the message lists the run's targets).
    """
    summary = summarise(con, run_id)
    found = next((t for t in summary.targets if t.label == target_label), None)
    if found is None:
        labels = ", ".join(t.label for t in summary.targets)
        raise EvalRunError(f"run #{run_id} has no target {target_label!r} (it has: {labels})")
    return OptionQuality(
        run_id=run_id,
        target_label=target_label,
        by_task_class={
            name: ClassQuality(n=c.n, accuracy=c.accuracy, ci_low=c.ci_low, ci_high=c.ci_high)
            for name, c in found.by_task_class.items()
        },
        mean_input_tokens=found.mean_input_tokens,
        mean_output_tokens=found.mean_output_tokens,
        scoring="agreement" if summary.scoring == "agreement" else "reference",
    )


def cost_per_successful_task(cost_usd_per_request: Decimal, accuracy: float) -> Decimal | None:
    """Cost per request ÷ accuracy: what one *right* answer costs (None when nothing was right).

    A model half as expensive but right half as often costs the same per task done.
    """
    if accuracy <= 0:
        return None
    return (cost_usd_per_request / Decimal(repr(float(accuracy)))).quantize(_CENT_FRACTION)


def token_ratios(option: OptionQuality, baseline: OptionQuality) -> tuple[float | None, float | None]:
    """Measured input and output tokens per request of `option` relative to `baseline` (for the economics
    engine's per-option token multipliers); None where either side reported no usage."""

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    return (
        ratio(option.mean_input_tokens, baseline.mean_input_tokens),
        ratio(option.mean_output_tokens, baseline.mean_output_tokens),
    )


def route_by_quality(
    *,
    qualities: Mapping[str, OptionQuality | None],
    cost_usd_per_request: Mapping[str, Decimal],
    floors: Sequence[QualityFloor] = (),
    baseline: str | None = None,
    task_classes: Sequence[str] | None = None,
    judge_by: Literal["accuracy", "ci_low"] = "accuracy",
) -> QualityRouting:
    """Send each task class to the cheapest option that meets its floor; list every floor each option misses.

    Args:
        qualities: option name → its measured quality (None or absent: not measured).
        cost_usd_per_request: option name → cost per request; only these options are candidates.
        floors: at most one per task class; a class without a floor accepts any option, measured or not.
        baseline: the option a relative floor (`min_share_of_baseline`) refers to.
        task_classes: classes to route (default: those with a floor and those any option was measured on).
        judge_by: compare the floor with the point estimate (`accuracy`) or the Wilson lower bound (`ci_low`).

    Returns:
        One route per class (ties in cost go to the more accurate, then the first named option) and the
        failures of every option on every floored class.

    Raises:
        EvalInputError: two floors for one class, or a relative floor without a measured baseline.
    """
    by_class: dict[str, QualityFloor] = {}
    for f in floors:
        if f.task_class in by_class:
            raise EvalInputError(f"two quality floors for the task class {f.task_class!r}; keep one")
        by_class[f.task_class] = f
    relative = any(f.min_share_of_baseline is not None for f in floors)
    if relative and (baseline is None or qualities.get(baseline) is None):
        raise EvalInputError(
            "a floor relative to the baseline needs the baseline option's own measured quality "
            f"(baseline: {baseline or 'none set'})"
        )
    classes = list(task_classes) if task_classes is not None else _classes(qualities, by_class)
    order = list(cost_usd_per_request)

    def measured(option: str, task_class: str) -> float | None:
        q = qualities.get(option)
        c = q.by_task_class.get(task_class) if q is not None else None
        if c is None or c.n == 0:
            return None
        return c.ci_low if judge_by == "ci_low" else c.accuracy

    routes, failures = [], []
    for cls in classes:
        floor = by_class.get(cls)
        base_q = qualities.get(baseline) if baseline else None
        base_c = base_q.by_task_class.get(cls) if base_q is not None else None
        required = floor.required(base_c.accuracy if base_c is not None else None) if floor else 0.0
        eligible = []
        for option in order:
            acc = measured(option, cls)
            if floor is not None and (acc is None or acc + 1e-12 < required):
                failures.append(
                    FloorFailure(
                        option=option,
                        task_class=cls,
                        accuracy=acc,
                        required_accuracy=required,
                        reason=(
                            f"{option}: not measured on {cls}, which has a floor ({floor.describe()})"
                            if acc is None
                            else f"{option}: {acc:.0%} on {cls}, below the floor ({floor.describe()}: {required:.0%})"
                        ),
                    )
                )
                continue
            eligible.append(option)
        chosen = min(
            eligible,
            key=lambda o: (cost_usd_per_request[o], -(measured(o, cls) or 0.0), order.index(o)),
            default=None,
        )
        acc = measured(chosen, cls) if chosen else None
        cost = cost_usd_per_request[chosen] if chosen else None
        routes.append(
            ClassRoute(
                task_class=cls,
                option=chosen,
                required_accuracy=required,
                accuracy=acc,
                cost_usd_per_request=cost,
                cost_usd_per_successful_task=cost_per_successful_task(cost, acc) if cost is not None and acc else None,
            )
        )
    return QualityRouting(routes=routes, failures=failures)


def _classes(qualities: Mapping[str, OptionQuality | None], floors: Mapping[str, QualityFloor]) -> list[str]:
    seen = set(floors)
    for q in qualities.values():
        if q is not None:
            seen.update(q.by_task_class)
    return sorted(seen)
