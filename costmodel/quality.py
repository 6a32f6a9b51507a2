"""Measured quality of an option on the user's own tasks, and the floors an option must meet to serve them.

Light on purpose: the scenario carries these models, so this module imports nothing beyond pydantic.
They are filled from stored evaluation runs by `costmodel.evals.decision.quality_from_run`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from costmodel._base import Fraction, NonNegInt, StrictModel
from costmodel.errors import ScenarioError

__all__ = ["ClassQuality", "OptionQuality", "QualityFloor"]


class ClassQuality(StrictModel):
    """Measured accuracy of one option on one task class."""

    n: NonNegInt
    """Items answered (errors excluded)."""
    accuracy: Fraction
    """Share right, 0–1."""
    ci_low: Fraction
    """Wilson 95 % interval, lower end."""
    ci_high: Fraction
    """Wilson 95 % interval, upper end."""


class OptionQuality(StrictModel):
    """What a stored evaluation run measured for the model behind one scenario option."""

    run_id: Annotated[int, Field(ge=1)]
    """The stored run (`opentco eval-runs`)."""
    target_label: Annotated[str, Field(min_length=1)]
    """The run's target that stands for this option."""
    by_task_class: dict[str, ClassQuality]
    """Accuracy per task class."""
    mean_input_tokens: Annotated[float, Field(ge=0)] | None = None
    """Measured input tokens per request (None when the endpoint reported no usage)."""
    mean_output_tokens: Annotated[float, Field(ge=0)] | None = None
    """Measured output tokens per request, reasoning included as the endpoint counts it."""
    scoring: Literal["reference", "agreement"] = "reference"
    """`agreement`: the references were the current model's logged answers, so accuracy means agreement."""


class QualityFloor(StrictModel):
    """The least accuracy an option must reach on a task class to serve it."""

    task_class: Annotated[str, Field(min_length=1)]
    """The class the floor applies to."""
    min_accuracy: Fraction | None = None
    """Absolute floor, 0–1 (0.9 = 90 % right)."""
    min_share_of_baseline: Annotated[float, Field(gt=0, le=2)] | None = None
    """Relative floor: this share of the baseline option's accuracy on the class (0.95 = 95 % of it)."""

    @model_validator(mode="after")
    def _one_kind(self) -> QualityFloor:
        if (self.min_accuracy is None) == (self.min_share_of_baseline is None):
            raise ValueError("set exactly one of min_accuracy and min_share_of_baseline")
        return self

    def required(self, baseline_accuracy: float | None) -> float:
        """The accuracy needed, given the baseline's on this class (for a relative floor)."""
        if self.min_accuracy is not None:
            return self.min_accuracy
        if baseline_accuracy is None:
            raise ScenarioError(
                f"the floor for {self.task_class!r} is relative to the baseline, which was not measured on that class"
            )
        assert self.min_share_of_baseline is not None
        return min(1.0, self.min_share_of_baseline * baseline_accuracy)

    def describe(self) -> str:
        if self.min_accuracy is not None:
            return f"≥ {self.min_accuracy:.0%} accuracy"
        return f"≥ {self.min_share_of_baseline:.0%} of the baseline's accuracy"
