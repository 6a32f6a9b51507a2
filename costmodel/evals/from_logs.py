"""Tasks from logs (opt-in): sample logged requests, with today's answer as the reference.

The usage store never keeps prompts (the importers read token counts only), so the task set is built from
the uploaded export itself:

- Langfuse generations export (CSV or JSON, <https://langfuse.com/docs/api-and-data-platform/features/export-from-ui>):
  `input` (a chat message list, `{"messages": [...]}` or a string) and `output` (a message, or text);
  only `GENERATION` observations;
- LiteLLM `LiteLLM_SpendLogs` rows (CSV or JSON, <https://docs.litellm.ai/docs/proxy/cost_tracking>):
  `messages` and `response` (an OpenAI chat response), which the proxy keeps when
  `store_prompts_in_spend_logs` is on; failed calls and cache hits are left out.

Up to `per_group` rows per model (or project) are sampled with a seeded reservoir, so the same file and seed
give the same task set. Every task carries `reference_from` (the model that answered): a run of this set
measures *agreement with the current model*, not accuracy, and says so.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from typing import Any, Literal

from costmodel._base import StrictModel
from costmodel.evals.errors import EvalInputError
from costmodel.evals.tasks import TaskSet, parse_tasks
from costmodel.importers._base import items, iter_json_documents, json_field

__all__ = ["LogSample", "tasks_from_logs"]

_AGREEMENT_RUBRIC = (
    "The answer agrees with the reference answer, which the model in use today gave: same decision, same facts "
    "and figures; wording may differ."
)


class LogSample(StrictModel):
    """What the sampling found in the export."""

    format: str
    """`langfuse` or `litellm`."""
    rows_read: int
    rows_usable: int
    """Rows with both a prompt and an answer."""
    groups: dict[str, int]
    """Group (model or project) → tasks sampled from it."""
    skipped: dict[str, int]
    """Reason → rows left out."""


def _sniff(head: str) -> Literal["langfuse", "litellm"] | None:
    def has(*names: str) -> bool:
        return all(re.search(rf'(^|[",\s]){re.escape(n)}("|,|\s*:|$)', head, re.MULTILINE) for n in names)

    if has("traceId", "startTime", "model"):
        return "langfuse"
    if has("request_id", "call_type", "startTime"):
        return "litellm"
    return None


def _rows(text: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    if text.lstrip()[:1] in ("{", "["):
        out = []
        fp = io.BytesIO(text.encode())
        for line, doc in iter_json_documents(fp, file=name, limit_bytes=512 * 1024**2):
            out += [(n, obj) for n, obj in items(doc, line) if isinstance(obj, dict)]
        return out
    reader = csv.DictReader(io.StringIO(text))
    return [(i + 2, row) for i, row in enumerate(reader)]


def _messages(value: Any) -> list[dict[str, str]] | None:
    value = json_field(value) if isinstance(value, str) and value.strip()[:1] in ("[", "{") else value
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        value = value["messages"]
    if isinstance(value, str):
        return [{"role": "user", "content": value}] if value.strip() else None
    if not isinstance(value, list) or not value:
        return None
    out = []
    for m in value:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            return None
        content = m.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            return None
        out.append({"role": m["role"], "content": content})
    return out if any(m["role"] == "user" for m in out) else None


def _answer(value: Any) -> str | None:
    value = json_field(value) if isinstance(value, str) and value.strip()[:1] in ("[", "{") else value
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, dict):
        choices = value.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            value = choices[0].get("message") or {}
        content = value.get("content") if isinstance(value, dict) else None
        return content if isinstance(content, str) and content.strip() else None
    return None


def tasks_from_logs(
    data: bytes,
    *,
    name: str,
    per_group: int = 20,
    group_by: Literal["model", "project"] = "model",
    scorer: Literal["exact", "contains", "judge"] = "judge",
    seed: int = 0,
) -> tuple[TaskSet, bytes, LogSample]:
    """Sample a task set from a Langfuse or LiteLLM export that holds prompts and completions.

    Returns:
        The task set, its JSON-lines text (to download and reuse) and what was found.

    Raises:
        EvalInputError: not one of the two formats, or no row with both a prompt and an answer.
    """
    if per_group < 1:
        raise EvalInputError("sample at least one task per group")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise EvalInputError(f"{name}: not UTF-8 text") from None
    kind = _sniff(text[:65536])
    if kind is None:
        raise EvalInputError(
            f"{name}: not a Langfuse generations export nor LiteLLM spend logs; tasks from logs need one of those "
            "(with prompts and completions)"
        )
    rng = random.Random(seed)
    seen: dict[str, int] = {}
    chosen: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    skipped: dict[str, int] = {}
    rows = _rows(text, name)
    usable = 0
    for line, row in rows:
        lower = {str(k).lower(): v for k, v in row.items()}
        if kind == "langfuse":
            if str(lower.get("type") or "GENERATION").strip().upper() != "GENERATION":
                skipped["not a generation"] = skipped.get("not a generation", 0) + 1
                continue
            msgs, answer = _messages(lower.get("input")), _answer(lower.get("output"))
            rid, project = lower.get("id"), lower.get("projectid")
        else:
            status = str(lower.get("status") or "success").strip().lower()
            if status not in ("success", "") or str(lower.get("cache_hit")).strip().lower() in ("true", "1"):
                skipped["failed call or cache hit"] = skipped.get("failed call or cache hit", 0) + 1
                continue
            msgs, answer = _messages(lower.get("messages")), _answer(lower.get("response"))
            rid, project = lower.get("request_id"), lower.get("team_id")
        model = str(lower.get("model") or "").strip() or "(unknown model)"
        if msgs is None or answer is None:
            skipped["no prompt or no completion kept"] = skipped.get("no prompt or no completion kept", 0) + 1
            continue
        usable += 1
        group = model if group_by == "model" else (str(project).strip() if project else "(no project)")
        record = {"line": line, "id": str(rid or f"line-{line}"), "model": model, "messages": msgs, "answer": answer}
        seen[group] = seen.get(group, 0) + 1
        bucket = chosen.setdefault(group, [])
        if len(bucket) < per_group:
            bucket.append((line, record))
        else:  # reservoir sampling: every row of the group equally likely to stay
            j = rng.randrange(seen[group])
            if j < per_group:
                bucket[j] = (line, record)
    if not usable:
        raise EvalInputError(
            f"{name}: no row holds both a prompt and a completion (LiteLLM keeps them only with "
            "store_prompts_in_spend_logs on; Langfuse exports hold them in input and output)"
        )
    lines = []
    for group in sorted(chosen):
        for _, rec in sorted(chosen[group], key=lambda x: x[0]):
            task: dict[str, Any] = {
                "id": f"{group}:{rec['id']}",
                "task_class": group,
                "messages": rec["messages"],
                "reference": rec["answer"],
                "scorer": scorer,
                "reference_from": rec["model"],
            }
            if scorer == "judge":
                task["rubric"] = _AGREEMENT_RUBRIC
            lines.append(json.dumps(task, ensure_ascii=False))
    jsonl = ("\n".join(lines) + "\n").encode()
    stem = name.rsplit(".", 1)[0]
    task_set = parse_tasks(jsonl, name=f"{stem}.sample.jsonl")
    sample = LogSample(
        format=kind,
        rows_read=len(rows),
        rows_usable=usable,
        groups={g: len(v) for g, v in sorted(chosen.items())},
        skipped=skipped,
    )
    return task_set, jsonl, sample
