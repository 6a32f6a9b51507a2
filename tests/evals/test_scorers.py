"""Each scorer on the answers models actually give: case, whitespace, punctuation, fences, restated numbers."""

from __future__ import annotations

import json

import pytest

from costmodel.evals import parse_tasks, score_answer
from costmodel.evals.scorers import judge_messages, parse_judge_verdict


def _task(**fields: object):
    base: dict[str, object] = {"id": "x", "task_class": "c", "prompt": "p"}
    base.update(fields)
    return parse_tasks(json.dumps(base).encode(), name="t.jsonl").tasks[0]


CASES = [
    ({"scorer": "exact", "reference": "Billing"}, "  billing \n", True, 1.0),
    ({"scorer": "exact", "reference": "Billing"}, "Billing.", False, 0.0),
    ({"scorer": "contains", "reference": "14 days"}, "The trial lasts 14 DAYS.", True, 1.0),
    ({"scorer": "contains", "reference": "14 days"}, "Two weeks.", False, 0.0),
    ({"scorer": "regex", "reference": r"(?i)ios\s*16"}, "You need iOS 16 or later.", True, 1.0),
    ({"scorer": "regex", "reference": r"^\d{4}$"}, "12345", False, 0.0),
    ({"scorer": "number", "reference": 1250, "tolerance": 0.01}, "Of the 3 invoices, the total is 1,250.00", True, 1.0),
    ({"scorer": "number", "reference": "12.5"}, "$12.50", True, 1.0),
    ({"scorer": "number", "reference": 10, "tolerance": 0.5}, "10.6", False, 0.0),
    ({"scorer": "number", "reference": 10}, "ten", False, 0.0),
    ({"scorer": "choice", "reference": "billing", "labels": ["billing", "bug"]}, "**Billing.**", True, 1.0),
    ({"scorer": "choice", "reference": "bug", "labels": ["billing", "bug"]}, "Category: bug", True, 1.0),
    ({"scorer": "choice", "reference": "bug", "labels": ["billing", "bug"]}, "billing or bug", False, 0.0),
    (
        {"scorer": "choice", "reference": "account_access", "labels": ["account_access", "bug"]},
        "Account access",
        True,
        1.0,
    ),
    (
        {"scorer": "choice", "reference": "feature", "labels": ["feature", "feature_request"]},
        "feature_request",
        False,
        0.0,
    ),
]


@pytest.mark.parametrize(("task", "answer", "passed", "score"), CASES)
def test_scorers(task, answer, passed, score):
    got = score_answer(_task(**task), answer)
    assert (got.passed, got.score) == (passed, score)


def test_json_fields_scores_each_field():
    task = _task(
        scorer="json_fields",
        reference={"invoice_number": "DE-1", "vendor": "ACME GmbH", "total": 1190.0, "paid": False, "tags": ["a"]},
        tolerance=0.01,
    )
    answer = (
        'Sure:\n```json\n{"Invoice_Number": "de-1", "vendor": "ACME  GmbH", "total": "1,190.004", "paid": false}\n```'
    )
    got = score_answer(task, answer)
    assert got.field_scores == {"invoice_number": True, "vendor": True, "total": True, "paid": True, "tags": False}
    assert (got.passed, got.score, got.detail) == (False, 0.8, "wrong: tags")
    assert score_answer(task, "no json here").field_scores == dict.fromkeys(task.reference, False)
    only = _task(scorer="json_fields", reference={"a": 1, "b": 2}, fields=["a"])
    assert score_answer(only, '{"a": 1, "b": 99}').passed


def test_judge_is_not_scored_locally_and_its_verdict_is_read():
    task = _task(scorer="judge", reference="Yes, CHF works.", rubric="Says yes.")
    with pytest.raises(ValueError, match="judge"):
        score_answer(task, "yes")
    msgs = judge_messages(task, "Yes you can")
    assert msgs[0]["role"] == "system" and "Rubric: Says yes." in msgs[1]["content"]
    assert msgs[1]["content"].endswith("Reference answer:\nYes, CHF works.\n\nAnswer to grade:\nYes you can")
    assert parse_judge_verdict('{"verdict": "pass", "reason": "ok"}').passed
    assert not parse_judge_verdict('```json\n{"verdict": "FAIL"}\n```').passed
    assert parse_judge_verdict("PASS").passed
    assert parse_judge_verdict("I cannot decide between pass and fail") is None
    assert parse_judge_verdict("hmm") is None
