"""What a run says per target: accuracy with its interval (overall and per task class), tokens, latency,
errors, and each target against the first.

Accuracy counts the items a target answered: an item that failed after every retry (timeout, 5xx, refused)
is an *error*, reported beside accuracy and retried by the next run, rather than a wrong answer that would
blame the model for the network.
"""

from __future__ import annotations

import duckdb

from costmodel._base import StrictModel
from costmodel.evals.results import ItemResult, RunInfo, load_results, load_run
from costmodel.evals.stats import PairedComparison, paired_comparison, percentile, wilson_interval

__all__ = ["ClassSummary", "RunSummary", "TargetSummary", "summarise", "summarise_items"]


class ClassSummary(StrictModel):
    """Accuracy on one task class."""

    n: int
    """Items answered (errors excluded)."""
    accuracy: float
    """Share passed, 0–1."""
    ci_low: float
    """Wilson 95 % interval, lower end."""
    ci_high: float


class TargetSummary(StrictModel):
    """One target over the whole run."""

    label: str
    model: str
    n: int
    """Items answered (errors excluded)."""
    accuracy: float
    ci_low: float
    ci_high: float
    by_task_class: dict[str, ClassSummary]
    mean_score: float
    """Mean partial credit (json_fields count the share of fields right)."""
    mean_input_tokens: float | None
    """Per request, over the items whose usage the endpoint reported."""
    mean_output_tokens: float | None
    mean_reasoning_tokens: float | None
    usage_reported: int
    """Items with reported token usage."""
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    p50_ttft_ms: float | None
    errors: int
    """Items that failed after every retry."""

    def cli_json(self) -> dict[str, object]:
        """The fields `opentco eval --json` prints for a target, exactly."""
        return self.model_dump(
            include={
                "label",
                "n",
                "accuracy",
                "ci_low",
                "ci_high",
                "by_task_class",
                "mean_input_tokens",
                "mean_output_tokens",
                "p50_latency_ms",
                "p95_latency_ms",
                "errors",
            }
        )


class RunSummary(StrictModel):
    """A run's figures."""

    run_id: int
    scoring: str
    """`reference`: accuracy against the references; `agreement`: agreement with the current model."""
    metric_label: str
    """How to name the score in a table or chart."""
    targets: list[TargetSummary]
    paired_comparison: list[PairedComparison]
    """Every target after the first, against the first (exact McNemar test, Newcombe interval)."""


def _mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def _target(label: str, model: str, items: list[ItemResult]) -> TargetSummary:
    answered = [i for i in items if i.error is None and i.passed is not None]
    right = sum(1 for i in answered if i.passed)
    low, high = wilson_interval(right, len(answered))
    classes: dict[str, list[bool]] = {}
    for i in answered:
        classes.setdefault(i.task_class, []).append(bool(i.passed))
    by_class = {}
    for name in sorted(classes):
        outcomes = classes[name]
        k = sum(outcomes)
        c_low, c_high = wilson_interval(k, len(outcomes))
        by_class[name] = ClassSummary(n=len(outcomes), accuracy=k / len(outcomes), ci_low=c_low, ci_high=c_high)
    usage = [i for i in answered if i.input_tokens is not None or i.output_tokens is not None]
    latencies = [i.latency_ms for i in answered if i.latency_ms is not None]
    ttfts = [i.ttft_ms for i in answered if i.ttft_ms is not None]
    return TargetSummary(
        label=label,
        model=model,
        n=len(answered),
        accuracy=right / len(answered) if answered else 0.0,
        ci_low=low,
        ci_high=high,
        by_task_class=by_class,
        mean_score=sum(i.score or 0.0 for i in answered) / len(answered) if answered else 0.0,
        mean_input_tokens=_mean([i.input_tokens for i in usage if i.input_tokens is not None]),
        mean_output_tokens=_mean([i.output_tokens for i in usage if i.output_tokens is not None]),
        mean_reasoning_tokens=_mean([i.reasoning_tokens for i in usage if i.reasoning_tokens is not None]),
        usage_reported=len(usage),
        p50_latency_ms=percentile(latencies, 50),
        p95_latency_ms=percentile(latencies, 95),
        p50_ttft_ms=percentile(ttfts, 50),
        errors=sum(1 for i in items if i.error is not None),
    )


def summarise_items(run: RunInfo, items: list[ItemResult]) -> RunSummary:
    """Summarise already-loaded items of `run` (targets in the run's order)."""
    by_target: dict[str, list[ItemResult]] = {t.label: [] for t in run.settings.targets}
    for it in items:
        by_target.setdefault(it.target_label, []).append(it)
    models = {t.label: t.model for t in run.settings.targets}
    targets = [_target(label, models.get(label, ""), rows) for label, rows in by_target.items()]
    pairs_out = []
    if targets:
        base = targets[0].label
        base_right = {i.task_id: bool(i.passed) for i in by_target[base] if i.error is None and i.passed is not None}
        for t in targets[1:]:
            pairs = [
                (bool(i.passed), base_right[i.task_id])
                for i in by_target[t.label]
                if i.error is None and i.passed is not None and i.task_id in base_right
            ]
            pairs_out.append(paired_comparison(label=t.label, baseline=base, pairs=pairs))
    agreement = run.scoring == "agreement"
    return RunSummary(
        run_id=run.run_id,
        scoring=run.scoring,
        metric_label="agreement with the current model" if agreement else "accuracy",
        targets=targets,
        paired_comparison=pairs_out,
    )


def summarise(con: duckdb.DuckDBPyConnection, run_id: int) -> RunSummary:
    """Read a stored run and summarise it.

    Raises:
        EvalRunError: there is no such run.
    """
    return summarise_items(load_run(con, run_id), load_results(con, run_id))
