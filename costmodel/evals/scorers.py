"""Scorers: is a model's answer right? Each returns a `Score` with a pass/fail and a 0–1 score.

Accuracy counts passes (a binary outcome, so Wilson intervals and McNemar apply); `score` keeps partial
credit where a scorer has it (`json_fields`: the share of fields right). `judge` needs a model call: this
module builds the judge's messages and reads its verdict, the runner makes the call.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any

from pydantic import Field

from costmodel._base import StrictModel
from costmodel.evals.tasks import Task, _label_key, parse_number

__all__ = ["DEFAULT_RUBRIC", "Score", "judge_messages", "parse_judge_verdict", "score_answer"]

DEFAULT_RUBRIC = "The answer says the same thing as the reference answer; wording may differ, facts may not."
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


class Score(StrictModel):
    """The verdict on one answer."""

    passed: bool
    """Right (counts towards accuracy)."""
    score: Annotated[float, Field(ge=0, le=1)]
    """Partial credit between 0 and 1 (1 when passed)."""
    field_scores: dict[str, bool] | None = None
    """`json_fields`: which fields were right."""
    detail: str | None = None
    """Why it failed, or what the judge said."""


def _norm(text: str) -> str:
    return text.strip().casefold()


def score_answer(task: Task, answer: str) -> Score:
    """Score `answer` against the task's reference with its scorer (not `judge`: see `judge_messages`)."""
    ref = task.reference
    match task.scorer:
        case "exact":
            ok = _norm(answer) == _norm(str(ref))
            return Score(passed=ok, score=float(ok), detail=None if ok else "differs from the reference")
        case "contains":
            ok = _norm(str(ref)) in _norm(answer)
            return Score(passed=ok, score=float(ok), detail=None if ok else "the reference text is not in the answer")
        case "regex":
            ok = re.search(str(ref), answer) is not None
            return Score(passed=ok, score=float(ok), detail=None if ok else "the pattern does not match")
        case "number":
            return _score_number(ref, answer, task.tolerance)
        case "choice":
            return _score_choice(str(ref), answer, task.labels or [])
        case "json_fields":
            assert isinstance(ref, dict)  # the task validator guarantees it
            return _score_fields(ref, answer, task.fields or list(ref), task.tolerance)
        case "judge":
            raise ValueError("judge tasks are scored by the judge endpoint (judge_messages / parse_judge_verdict)")
    raise ValueError(f"unknown scorer {task.scorer!r}")  # pragma: no cover - the Literal rules it out


def _score_number(ref: Any, answer: str, tolerance: float) -> Score:
    want = float(ref) if not isinstance(ref, str) else parse_number(ref)
    got = parse_number(answer)
    if got is None or want is None:
        return Score(passed=False, score=0.0, detail="no number in the answer")
    ok = abs(got - want) <= tolerance + 1e-9 * max(1.0, abs(want))
    return Score(passed=ok, score=float(ok), detail=None if ok else f"{got:g} vs {want:g} (± {tolerance:g})")


def _score_choice(ref: str, answer: str, labels: list[str]) -> Score:
    keys = {_label_key(lb): lb for lb in labels}
    said = _label_key(answer)
    chosen = keys.get(said)
    if chosen is None:
        # "Category: Billing." or "I would say **billing**": exactly one label as whole words
        hits = [k for k in keys if k and re.search(rf"(?<!\w){re.escape(k)}(?!\w)", said)]
        longest = [k for k in hits if not any(k != o and k in o for o in hits)]
        chosen = keys[longest[0]] if len(longest) == 1 else None
    if chosen is None:
        return Score(passed=False, score=0.0, detail="not one of the labels")
    ok = _label_key(chosen) == _label_key(ref)
    return Score(passed=ok, score=float(ok), detail=None if ok else f"chose {chosen!r}")


def extract_json_object(answer: str) -> dict[str, Any] | None:
    """The JSON object in an answer: bare, inside a ```json fence, or between the first `{` and last `}`."""
    candidates = [answer.strip(), *(m.group(1).strip() for m in _FENCE.finditer(answer))]
    start, end = answer.find("{"), answer.rfind("}")
    if 0 <= start < end:
        candidates.append(answer[start : end + 1])
    for c in candidates:
        try:
            obj = json.loads(c)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            return obj
    return None


def _same(want: Any, got: Any, tolerance: float) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return want is got or (isinstance(got, str) and _norm(got) == str(want).lower())
    if isinstance(want, int | float):
        g = got if isinstance(got, int | float) else parse_number(got) if isinstance(got, str) else None
        return g is not None and math.isfinite(g) and abs(g - want) <= tolerance + 1e-9 * max(1.0, abs(want))
    if isinstance(want, str):
        if isinstance(got, int | float) and parse_number(want) is not None:
            return _same(parse_number(want), got, tolerance)
        return isinstance(got, str) and " ".join(_norm(got).split()) == " ".join(_norm(want).split())
    if want is None:
        return got is None or (isinstance(got, str) and _norm(got) in ("", "null", "none"))
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return False
        return all(_same(w, g, tolerance) for w, g in zip(want, got, strict=True))
    if isinstance(want, dict):
        return isinstance(got, dict) and set(got) >= set(want) and all(_same(want[k], got[k], tolerance) for k in want)
    return want == got


def _score_fields(ref: dict[str, Any], answer: str, fields: list[str], tolerance: float) -> Score:
    obj = extract_json_object(answer)
    if obj is None:
        return Score(passed=False, score=0.0, field_scores=dict.fromkeys(fields, False), detail="no JSON object")
    lower = {k.casefold(): k for k in obj}
    per = {}
    for f in fields:
        key = f if f in obj else lower.get(f.casefold())
        per[f] = key is not None and _same(ref[f], obj[key], tolerance)
    right = sum(per.values())
    wrong = [f for f, ok in per.items() if not ok]
    return Score(
        passed=not wrong,
        score=right / len(fields),
        field_scores=per,
        detail=None if not wrong else "wrong: " + ", ".join(wrong),
    )


def judge_messages(task: Task, answer: str) -> list[dict[str, str]]:
    """The chat sent to the judge: rubric, task, reference and answer, asking for a one-word verdict."""
    rubric = task.rubric or DEFAULT_RUBRIC
    system = (
        "You grade answers to tasks. Apply the rubric strictly. Reply with one JSON object and nothing else: "
        '{"verdict": "pass" or "fail", "reason": "<one short sentence>"}.'
    )
    user = (
        f"Rubric: {rubric}\n\n"
        f"Task:\n{task.prompt_text()}\n\n"
        f"Reference answer:\n{task.reference if isinstance(task.reference, str) else json.dumps(task.reference)}\n\n"
        f"Answer to grade:\n{answer}"
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_judge_verdict(text: str) -> Score | None:
    """Read the judge's reply: the JSON verdict, else a lone PASS/FAIL word; None when it says neither."""
    obj = extract_json_object(text)
    reason = None
    verdict = None
    if obj is not None:
        v = obj.get("verdict", obj.get("pass"))
        reason = str(obj.get("reason") or "") or None
        if isinstance(v, bool):
            verdict = v
        elif isinstance(v, str) and _norm(v) in ("pass", "fail", "yes", "no", "true", "false", "correct", "incorrect"):
            verdict = _norm(v) in ("pass", "yes", "true", "correct")
    if verdict is None:
        words = set(re.findall(r"\b(pass|fail)\b", text.casefold()))
        if len(words) != 1:
            return None
        verdict = words == {"pass"}
    return Score(passed=verdict, score=float(verdict), detail=f"judge: {reason}" if reason else "judge")
