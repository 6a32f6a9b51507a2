"""Quality in the decision: per-option quality from a stored run, floors, routing by class, cost per success."""

from __future__ import annotations

from decimal import Decimal

import pytest

from costmodel.evals import (
    ClassQuality,
    EvalInputError,
    EvalRunError,
    OptionQuality,
    QualityFloor,
    RunSettings,
    Target,
    cost_per_successful_task,
    quality_from_run,
    route_by_quality,
    run_eval,
)
from costmodel.evals.decision import token_ratios
from tests.evals.conftest import answers, make_tasks
from tests.evals.fake_openai import is_right


def _q(run_id: int = 1, label: str = "x", **classes: float) -> OptionQuality:
    return OptionQuality(
        run_id=run_id,
        target_label=label,
        by_task_class={
            c: ClassQuality(n=100, accuracy=a, ci_low=max(0, a - 0.08), ci_high=min(1, a + 0.05))
            for c, a in classes.items()
        },
        mean_input_tokens=900.0,
        mean_output_tokens=300.0,
    )


def test_quality_from_a_stored_run(store, fake, fake2):
    ts = make_tasks(60)
    fake.behaviour.answers = fake2.behaviour.answers = answers(ts)
    fake2.behaviour.p_right, fake2.behaviour.seed = 0.8, 4
    targets = [Target(label="api", base_url=fake.url, model="a"), Target(label="open", base_url=fake2.url, model="b")]
    out = run_eval(store, task_set=ts, settings=RunSettings(targets=targets))
    q = quality_from_run(store, out.run_id, "open")
    assert (q.run_id, q.target_label, q.scoring) == (out.run_id, "open", "reference")
    for cls in ("triage", "extraction"):
        tasks = [t for t in ts.tasks if t.task_class == cls]
        right = sum(is_right(t.messages[-1].content, seed=4, p_right=0.8) for t in tasks)
        c = q.by_task_class[cls]
        assert (c.n, c.accuracy) == (len(tasks), right / len(tasks)) and c.ci_low <= c.accuracy <= c.ci_high
    wrong = sum(not is_right(t.messages[-1].content, seed=4, p_right=0.8) for t in ts.tasks)
    # the fake counts 1 output token for "answer-i" and 4 for "I am not sure."
    assert (q.mean_input_tokens, q.mean_output_tokens) == (9.0, pytest.approx((60 - wrong + 4 * wrong) / 60))
    with pytest.raises(EvalRunError, match="has no target 'gpt' \\(it has: api, open\\)"):
        quality_from_run(store, out.run_id, "gpt")
    with pytest.raises(EvalRunError, match="no evaluation run #99"):
        quality_from_run(store, 99, "api")


COSTS = {"API": Decimal("0.0100"), "Open-8B": Decimal("0.0010"), "Open-70B": Decimal("0.0040")}
QUALITY = {
    "API": _q(label="api", triage=0.96, extraction=0.95, drafting=0.90),
    "Open-8B": _q(label="8b", triage=0.94, extraction=0.70, drafting=0.60),
    "Open-70B": _q(label="70b", triage=0.95, extraction=0.93, drafting=0.82),
}


def test_each_class_goes_to_the_cheapest_option_that_meets_its_floor():
    floors = [
        QualityFloor(task_class="triage", min_share_of_baseline=0.95),  # 0.912
        QualityFloor(task_class="extraction", min_accuracy=0.9),
        QualityFloor(task_class="drafting", min_share_of_baseline=0.95),  # 0.855
    ]
    r = route_by_quality(qualities=QUALITY, cost_usd_per_request=COSTS, floors=floors, baseline="API")
    assert {x.task_class: x.option for x in r.routes} == {
        "drafting": "API",
        "extraction": "Open-70B",
        "triage": "Open-8B",
    }
    triage = next(x for x in r.routes if x.task_class == "triage")
    assert triage.required_accuracy == pytest.approx(0.912)
    assert triage.cost_usd_per_successful_task == cost_per_successful_task(Decimal("0.0010"), 0.94)
    assert {(f.option, f.task_class) for f in r.failures} == {
        ("Open-8B", "extraction"),
        ("Open-8B", "drafting"),
        ("Open-70B", "drafting"),
    }
    (f,) = [f for f in r.failures if f.option == "Open-70B"]
    assert f.reason == "Open-70B: 82% on drafting, below the floor (≥ 95% of the baseline's accuracy: 86%)"
    assert r.option_for("extraction") == "Open-70B" and len(r.failures_of("Open-8B")) == 2


def test_no_floor_means_the_cheapest_and_lower_bound_judging_is_stricter():
    r = route_by_quality(qualities=QUALITY, cost_usd_per_request=COSTS)
    assert {x.option for x in r.routes} == {"Open-8B"} and r.failures == []
    floors = [QualityFloor(task_class="triage", min_accuracy=0.9)]
    by_point = route_by_quality(qualities=QUALITY, cost_usd_per_request=COSTS, floors=floors, task_classes=["triage"])
    by_low = route_by_quality(
        qualities=QUALITY, cost_usd_per_request=COSTS, floors=floors, task_classes=["triage"], judge_by="ci_low"
    )
    assert by_point.option_for("triage") == "Open-8B"  # 0.94 ≥ 0.90
    assert by_low.option_for("triage") is None  # lower bounds 0.86, 0.87, 0.88 all < 0.90
    assert len(by_low.failures) == 3


def test_unmeasured_options_fail_floors_but_serve_unfloored_classes():
    qualities = {"API": QUALITY["API"], "Cheap": None}
    costs = {"API": Decimal("0.01"), "Cheap": Decimal("0.001")}
    floors = [QualityFloor(task_class="triage", min_accuracy=0.5)]
    r = route_by_quality(
        qualities=qualities, cost_usd_per_request=costs, floors=floors, task_classes=["triage", "misc"]
    )
    assert r.option_for("triage") == "API" and r.option_for("misc") == "Cheap"
    (f,) = r.failures
    assert (f.option, f.accuracy) == ("Cheap", None) and "not measured on triage" in f.reason


def test_floor_input_errors():
    with pytest.raises(ValueError, match="exactly one"):
        QualityFloor(task_class="t", min_accuracy=0.9, min_share_of_baseline=0.9)
    with pytest.raises(EvalInputError, match="two quality floors"):
        route_by_quality(
            qualities=QUALITY, cost_usd_per_request=COSTS, floors=[QualityFloor(task_class="t", min_accuracy=0.1)] * 2
        )
    with pytest.raises(EvalInputError, match="baseline"):
        route_by_quality(
            qualities=QUALITY,
            cost_usd_per_request=COSTS,
            floors=[QualityFloor(task_class="triage", min_share_of_baseline=0.9)],
        )


def test_cost_per_successful_task_and_token_ratios():
    assert cost_per_successful_task(Decimal("0.002"), 0.8) == Decimal("0.0025000000")
    assert cost_per_successful_task(Decimal("0.002"), 0.0) is None
    a = _q(triage=0.9)
    b = a.model_copy(update={"mean_input_tokens": 1800.0, "mean_output_tokens": None})
    assert token_ratios(b, a) == (2.0, None)
