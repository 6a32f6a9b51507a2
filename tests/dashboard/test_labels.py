"""Users read labels, never field paths: every scenario field has one, and errors and tornado bars use them."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from costmodel.demo import demo_scenario
from costmodel.scenario import (
    ApiOption,
    CloudGpuOption,
    Commitment,
    DecisionRules,
    HybridOption,
    LatencyTargets,
    ManagedEndpointOption,
    OnPremOption,
    Scenario,
    SelfHostCosts,
    TaskClass,
    Uncertainty,
    Workload,
)
from dashboard.components.labels import LABELS, OPTION_LABELS, field_label, human_errors, path_label

OPTIONS = (ApiOption, ManagedEndpointOption, CloudGpuOption, OnPremOption, HybridOption)
MODELS: list[type[BaseModel]] = [
    ManagedEndpointOption,
    Commitment,
    DecisionRules,
    Uncertainty,
    Workload,
    LatencyTargets,
    Scenario,
    SelfHostCosts,
    ApiOption,
    CloudGpuOption,
    OnPremOption,
    HybridOption,
    TaskClass,
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_has_a_curated_label(model):
    """A new engine field must get a label here (the docstring fallback is a safety net, not the plan)."""
    for name in model.model_fields:
        label = field_label(model, name)
        curated = name in (OPTION_LABELS if model in OPTIONS else LABELS[model])
        assert curated, f"{model.__name__}.{name} has no label in dashboard/components/labels.py"
        assert "_" not in label and label[0].isupper(), (name, label)


@pytest.mark.parametrize(
    ("path", "label"),
    [
        (("options", 2, "costs", "engineering_fte"), "Llama 3.1 8B on 1× H100 · Engineers (FTE)"),
        (("workload", "latency", "output_tokens_per_s_per_user"), "Output tok/s per user target"),
        (("workload", "requests_per_month"), "Requests per month (month 1)"),
        (("options", 3, "usd_per_gpu_hour"), "Llama 3.3 70B FP8 on 2× H100 · GPU-hour price, USD"),
        (("options", 3, "cloud_gpu", "min_replicas"), "Llama 3.3 70B FP8 on 2× H100 · Minimum replicas"),
        (
            ("options", 4, "task_classes", 1, "share"),
            "Hybrid: routine → 8B, hard → GPT-4o · task class 2 share of requests (0–1)",
        ),
        (("discount_rate_pct_per_year",), "Discount rate, %/year"),
        (("decision", "min_probability"), "Smallest chance the saving is real (0–1)"),
        (("options", 2, "commitment", "term_years"), "Llama 3.1 8B on 1× H100 · Commitment term, years"),
        (("options", 0, "discount_pct"), "GPT-4o (today) · Negotiated discount, %"),
    ],
)
def test_paths_read_as_labels(path, label):
    assert path_label(demo_scenario(), path) == label


def test_errors_name_fields_by_label_and_say_what_was_typed():
    data = demo_scenario().model_dump(mode="json")
    data["options"][2]["costs"]["setup_usd"] = "-5"
    data["workload"]["latency"]["ttft_ms"] = 0
    with pytest.raises(ValidationError) as ex:
        Scenario.model_validate(data)
    text = human_errors(ex.value, data)
    assert text.splitlines() == [
        "Time-to-first-token target, ms: must be greater than 0 (you entered 0)",
        "Llama 3.1 8B on 1× H100 · Migration and setup, USD (once): must be greater than or equal to 0"
        " (you entered -5)",
    ]
