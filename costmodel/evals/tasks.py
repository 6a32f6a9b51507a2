"""Task sets: the user's own evaluation items, read from JSON lines or CSV.

One task per line (JSONL) or row (CSV, same column names). Fields:

- `id` (unique in the file), `task_class` (`triage`, `extraction` …: accuracy is reported per class);
- `messages` (OpenAI chat format: a list of `{"role", "content"}`) or `prompt` (one user message), with an
  optional `system` message in front of a `prompt`;
- `reference`: the expected answer (text; a JSON object for `json_fields`; a number for `number`);
- `scorer`: `exact`, `contains`, `regex`, `json_fields`, `number`, `choice` or `judge`;
- scorer settings: `tolerance` (`number`, and numeric fields of `json_fields`: absolute), `labels`
  (`choice`: the allowed labels), `fields` (`json_fields`: which fields count; default every field of the
  reference), `rubric` (`judge`: what the judge checks);
- optional `max_tokens` (answer length cap for this task) and `reference_from` (set by tasks built from
  logs: whose answer the reference is, so results read "agreement with the current model").

In CSV, `messages`, `labels`, `fields` and an object `reference` are JSON text; `labels` and `fields` may
also be written `a|b|c`. A line that cannot be used becomes a `BadTaskLine` (`file:line:field: reason`)
and the rest of the file still loads.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from costmodel._base import StrictModel
from costmodel.evals.errors import BadTaskLine, EvalInputError

__all__ = ["SCORERS", "ChatMessage", "ScorerName", "Task", "TaskSet", "load_tasks", "parse_tasks"]

ScorerName = Literal["exact", "contains", "regex", "json_fields", "number", "choice", "judge"]
SCORERS: tuple[str, ...] = ("exact", "contains", "regex", "json_fields", "number", "choice", "judge")
"""Every scorer a task may name."""

MAX_FILE_BYTES = 64 * 1024**2
_TEXT_COLUMNS = ("id", "task_class", "prompt", "system", "scorer", "rubric", "reference_from")
_NUMBER_TEXT = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?")


class ChatMessage(StrictModel):
    """One message of an OpenAI chat request."""

    role: Literal["system", "user", "assistant"]
    """Who speaks: `system`, `user` or `assistant` (a few-shot example answer)."""
    content: str
    """The text of the message."""


class Task(StrictModel):
    """One evaluation item: what to ask, what a right answer is and how to tell."""

    id: Annotated[str, Field(min_length=1, max_length=200)]
    """Unique within the task set; results are keyed by it (a re-run skips ids already answered)."""
    task_class: Annotated[str, Field(min_length=1, max_length=100)]
    """Kind of work (`triage`, `extraction`, `drafting` …); accuracy and routing are per class."""
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    """The chat sent to the model (a `prompt` becomes one user message)."""
    reference: str | float | dict[str, Any]
    """The expected answer: text, a number (`number`) or an object of fields (`json_fields`)."""
    scorer: ScorerName
    """How the answer is compared with the reference."""
    tolerance: Annotated[float, Field(ge=0)] = 0.0
    """Absolute tolerance for numbers (`number`, and numeric fields of `json_fields`)."""
    labels: list[str] | None = None
    """The allowed labels of a `choice` task (the reference must be one of them)."""
    fields: list[str] | None = None
    """Fields of a `json_fields` reference that count (default: all of them)."""
    rubric: str | None = None
    """What the judge checks (`judge` tasks); a default rubric asks for agreement with the reference."""
    max_tokens: Annotated[int, Field(ge=1, le=200_000)] | None = None
    """Answer length cap for this task (default: the run's setting)."""
    reference_from: str | None = None
    """Whose answer the reference is, when it was taken from logs (then scores measure agreement)."""

    @field_validator("id", "task_class")
    @classmethod
    def _stripped(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("must not be empty")
        return v

    @model_validator(mode="after")
    def _scorer_settings(self) -> Task:
        ref = self.reference
        if self.scorer == "json_fields":
            if not isinstance(ref, dict) or not ref:
                raise ValueError("reference: a json_fields task needs a JSON object of the expected fields")
            missing = [f for f in self.fields or [] if f not in ref]
            if missing:
                raise ValueError(f"fields: {', '.join(missing)} not in the reference object")
        elif self.scorer == "number":
            if isinstance(ref, str):
                parsed = parse_number(ref)
                if parsed is None:
                    raise ValueError(f"reference: {ref!r} is not a number (a number task needs one)")
            elif not isinstance(ref, float | int) or not math.isfinite(ref):
                raise ValueError("reference: a number task needs a finite number")
        elif not isinstance(ref, str):
            # a number written without quotes is still a fine text reference for exact/contains/choice
            if isinstance(ref, float | int) and not isinstance(ref, bool):
                object.__setattr__(self, "reference", _number_text(ref))
            else:
                raise ValueError(f"reference: a {self.scorer} task needs a text reference")
        if self.scorer == "regex":
            try:
                re.compile(str(self.reference))
            except re.error as ex:
                raise ValueError(f"reference: not a valid regular expression ({ex})") from None
        if self.scorer == "choice":
            labels = [label.strip() for label in self.labels or [] if label.strip()]
            if len(labels) < 2:
                raise ValueError("labels: a choice task needs at least two labels")
            if _label_key(str(self.reference)) not in {_label_key(lb) for lb in labels}:
                raise ValueError(f"reference: {self.reference!r} is not one of the labels {labels}")
        return self

    def prompt_text(self, *, include_system: bool = True) -> str:
        """The messages as one text: a lone message as is, several prefixed with their role.

        Tables leave the system message out (it is usually the same instructions on every task); the judge
        gets it, since it may hold the context the answer must follow.
        """
        msgs = [m for m in self.messages if include_system or m.role != "system"] or self.messages
        if len(msgs) == 1:
            return msgs[0].content
        return "\n\n".join(f"[{m.role}] {m.content}" for m in msgs)


class TaskSet(StrictModel):
    """A loaded task set: the usable tasks and the lines that were not."""

    name: str
    """File name the tasks came from."""
    sha256: str
    """Hash of the file's bytes: a re-run of the same file resumes the same run."""
    tasks: list[Task]
    """Usable tasks, in file order."""
    errors: list[str] = Field(default_factory=list)
    """One `file:line:field: reason` per line that was left out."""

    @property
    def task_classes(self) -> list[str]:
        return sorted({t.task_class for t in self.tasks})

    @property
    def agreement(self) -> bool:
        """True when the references are a current model's logged answers (scores measure agreement)."""
        return any(t.reference_from for t in self.tasks)


def parse_number(text: str) -> float | None:
    """A number written by a person or a model: `1,234.50`, `$ 12`, `-3e2`, `42 %` (None if there is none).

    The whole text is tried first; otherwise the last number in it counts, since models tend to restate
    the question before giving the answer ("Of the 3 invoices, the total is 1,250.00").
    """
    t = text.strip().replace("\u00a0", " ")
    bare = re.sub(r"^[^\d+\-.]+|[^\d.]+$", "", t).replace(",", "").replace(" ", "")
    try:
        v = float(bare)
        if math.isfinite(v):
            return v
    except ValueError:
        pass
    found = [m.group(0) for m in _NUMBER_TEXT.finditer(t) if re.search(r"\d", m.group(0))]
    if not found:
        return None
    try:
        v = float(found[-1].replace(",", ""))
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _number_text(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _label_key(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.casefold()).strip()


def load_tasks(path: str | Path, *, name: str | None = None) -> TaskSet:
    """Read a task set file (JSON lines, or CSV by extension or content).

    Raises:
        EvalInputError: the file is missing, too big, not UTF-8, or holds no usable task at all.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise EvalInputError(f"{p.name}: {size / 1024**2:.0f} MiB is more than a task set may be (64 MiB)")
        data = p.read_bytes()
    except OSError as ex:
        raise EvalInputError(f"cannot read the task set {p}: {ex.strerror or ex}") from None
    return parse_tasks(data, name=name or p.name)


def parse_tasks(data: bytes, *, name: str) -> TaskSet:
    """Parse task-set bytes; `name` is the file name shown in messages (its extension picks CSV or JSONL).

    Raises:
        EvalInputError: not UTF-8, empty, or no usable task (the message lists the first bad lines).
    """
    if len(data) > MAX_FILE_BYTES:
        raise EvalInputError(f"{name}: more than 64 MiB; split the task set")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as ex:
        line = data[: ex.start].count(b"\n") + 1
        raise EvalInputError(f"{name}:{line}: not UTF-8 text; save the file as UTF-8") from None
    stripped = text.lstrip()
    if not stripped:
        raise EvalInputError(f"{name}: the file is empty")
    is_csv = name.lower().endswith(".csv") or (
        not name.lower().endswith((".jsonl", ".json", ".ndjson")) and not stripped.startswith("{")
    )
    rows = _csv_rows(text, name) if is_csv else _jsonl_rows(text, name)
    tasks: list[Task] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        if isinstance(row, BadTaskLine):
            errors.append(str(row))
            continue
        try:
            task = _task(row)
        except BadTaskLine as ex:
            errors.append(str(BadTaskLine(file=name, line=line, field=ex.field, reason=ex.reason)))
            continue
        if task.id in seen:
            errors.append(
                str(BadTaskLine(file=name, line=line, field="id", reason=f"{task.id!r} repeats line {seen[task.id]}"))
            )
            continue
        seen[task.id] = line
        tasks.append(task)
    if not tasks:
        shown = "\n".join(errors[:10]) or "(no task lines)"
        raise EvalInputError(f"{name}: no usable task.\n{shown}")
    return TaskSet(name=name, sha256=hashlib.sha256(data).hexdigest(), tasks=tasks, errors=errors)


def _jsonl_rows(text: str, name: str) -> list[tuple[int, dict[str, Any] | BadTaskLine]]:
    out: list[tuple[int, dict[str, Any] | BadTaskLine]] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as ex:
            out.append((n, BadTaskLine(file=name, line=n, field=None, reason=f"invalid JSON: {ex.msg}")))
            continue
        if not isinstance(obj, dict):
            out.append((n, BadTaskLine(file=name, line=n, field=None, reason="expected one JSON object per line")))
            continue
        out.append((n, obj))
    return out


def _csv_rows(text: str, name: str) -> list[tuple[int, dict[str, Any] | BadTaskLine]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error) as ex:
        raise EvalInputError(f"{name}:1: unreadable CSV header ({ex})") from None
    missing = [c for c in ("id", "task_class", "reference", "scorer") if c not in header]
    if "prompt" not in header and "messages" not in header:
        missing.append("prompt or messages")
    if missing:
        raise EvalInputError(f"{name}:1: missing column(s) {', '.join(missing)} (header has: {', '.join(header)})")
    out: list[tuple[int, dict[str, Any] | BadTaskLine]] = []
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as ex:
            out.append((reader.line_num, BadTaskLine(file=name, line=reader.line_num, field=None, reason=str(ex))))
            break
        line = reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            reason = f"expected {len(header)} columns, found {len(cells)} (an unquoted comma?)"
            out.append((line, BadTaskLine(file=name, line=line, field=None, reason=reason)))
            continue
        row: dict[str, Any] = {}
        try:
            for col, cell in zip(header, cells, strict=True):
                if cell == "" and col not in ("reference",):
                    continue
                row[col] = _csv_cell(col, cell)
        except BadTaskLine as ex:
            out.append((line, BadTaskLine(file=name, line=line, field=ex.field, reason=ex.reason)))
            continue
        out.append((line, row))
    return out


def _csv_cell(col: str, cell: str) -> Any:
    if col in ("messages",):
        return _json_cell(col, cell)
    if col in ("labels", "fields"):
        t = cell.strip()
        return _json_cell(col, t) if t.startswith("[") else [p.strip() for p in t.split("|") if p.strip()]
    if col == "reference":
        t = cell.strip()
        return _json_cell(col, t) if t.startswith("{") else cell
    if col in ("tolerance", "max_tokens"):
        try:
            return float(cell) if col == "tolerance" else int(cell)
        except ValueError:
            raise BadTaskLine(file="", line=0, field=col, reason=f"{cell!r} is not a number") from None
    return cell


def _json_cell(col: str, cell: str) -> Any:
    try:
        return json.loads(cell)
    except json.JSONDecodeError as ex:
        raise BadTaskLine(file="", line=0, field=col, reason=f"invalid JSON: {ex.msg}") from None


def _task(row: dict[str, Any]) -> Task:
    row = dict(row)
    prompt, system = row.pop("prompt", None), row.pop("system", None)
    if "messages" in row and prompt is not None:
        raise BadTaskLine(file="", line=0, field="prompt", reason="give messages or prompt, not both")
    if "messages" not in row:
        if not isinstance(prompt, str) or not prompt.strip():
            raise BadTaskLine(file="", line=0, field="prompt", reason="missing: give a prompt or messages")
        msgs = [{"role": "system", "content": system}] if isinstance(system, str) and system.strip() else []
        row["messages"] = [*msgs, {"role": "user", "content": prompt}]
    elif system is not None:
        raise BadTaskLine(file="", line=0, field="system", reason="system goes with prompt; put it in messages")
    if "scorer" in row and isinstance(row["scorer"], str):
        row["scorer"] = row["scorer"].strip().lower()
    if "reference" not in row:
        raise BadTaskLine(file="", line=0, field="reference", reason="missing: the expected answer")
    try:
        return Task.model_validate(row)
    except ValidationError as ex:
        err = ex.errors()[0]
        loc = [str(p) for p in err["loc"] if not str(p).startswith(("str", "float", "dict", "function"))]
        field = ".".join(loc) if loc else None
        msg = err["msg"].removeprefix("Value error, ")
        if ":" in msg and field is None:
            field, _, msg = msg.partition(": ")
        if err["type"] == "missing":
            msg = "missing"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field (see the task-set format in the README)"
        elif err["type"] == "literal_error" and field == "scorer":
            msg = f"{row.get('scorer')!r} is not a scorer; use one of {', '.join(SCORERS)}"
        raise BadTaskLine(file="", line=0, field=field, reason=msg) from None
