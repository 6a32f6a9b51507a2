"""Quality page inputs: the task set (example, upload, or sampled from a log export) and the targets."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from costmodel.catalog import data_dir
from costmodel.errors import CostModelError
from costmodel.evals import RunSettings, Target, TaskSet, load_tasks, parse_tasks, tasks_from_logs

__all__ = ["SettingsInput", "build_settings", "pick_task_set", "settings_input"]

_TARGETS = "quality_targets"
_DEFAULT_TARGETS = pd.DataFrame(
    [{"label": "local", "base_url": "http://localhost:8000/v1", "model": "", "api_key_env": "", "stream": True}]
)


@st.cache_data(max_entries=16, show_spinner=False)
def _parse(data: bytes, name: str) -> TaskSet:
    return parse_tasks(data, name=name)


@st.cache_data(max_entries=8, show_spinner=False)
def _from_logs(data: bytes, name: str, per_group: int, group_by: str, scorer: str) -> tuple[TaskSet, bytes, str]:
    ts, jsonl, sample = tasks_from_logs(
        data,
        name=name,
        per_group=per_group,
        group_by="project" if group_by == "project" else "model",
        scorer="exact" if scorer == "exact" else "contains" if scorer == "contains" else "judge",
    )
    groups = ", ".join(f"{g} ({n})" for g, n in sample.groups.items())
    left = "; ".join(f"{n} {why}" for why, n in sample.skipped.items())
    note = f"{sample.rows_usable} of {sample.rows_read} rows usable; sampled {groups}." + (
        f" Left out: {left}." if left else ""
    )
    return ts, jsonl, note


def pick_task_set() -> TaskSet | None:
    """Choose a task set; bad lines are listed, the rest is used. None until one is chosen."""
    source = st.radio(
        "Task set",
        ["Example", "Upload", "From logs (opt-in)"],
        horizontal=True,
        key="q_source",
        label_visibility="visible",
    )
    task_set: TaskSet | None = None
    try:
        if source == "Example":
            files = sorted((data_dir() / "eval").glob("*.jsonl")) + sorted((data_dir() / "eval").glob("*.csv"))
            if not files:
                st.info("No example task sets under data/eval/.")
                return None
            chosen = st.selectbox("Example", [f.name for f in files], key="q_example")
            task_set = load_tasks(data_dir() / "eval" / str(chosen))
        elif source == "Upload":
            up = st.file_uploader("Task set (JSON lines or CSV)", type=["jsonl", "json", "csv"], key="q_upload")
            if up is None:
                st.caption("Format: one task per line with id, task_class, prompt or messages, reference, scorer.")
                return None
            task_set = _parse(up.getvalue(), up.name)
        else:
            task_set = _logs_task_set()
    except CostModelError as ex:
        st.error(str(ex))
        return None
    if task_set is None:
        return None
    classes = ", ".join(task_set.task_classes)
    st.caption(f"{len(task_set.tasks)} tasks in {task_set.name} · classes: {classes}")
    if task_set.errors:
        with st.expander(f"{len(task_set.errors)} line(s) left out", icon=":material/warning:"):
            st.code("\n".join(task_set.errors), language=None)
    return task_set


def _logs_task_set() -> TaskSet | None:
    st.caption(
        "Sample logged requests (Langfuse generations or LiteLLM spend logs with prompts kept) and use today's "
        "answers as references. Scores then measure **agreement with the current model**, not accuracy."
    )
    if not st.checkbox(
        "Use the prompts and completions in my export (they stay in this machine's store)", key="q_optin"
    ):
        return None
    up = st.file_uploader("Langfuse or LiteLLM export (CSV or JSON)", type=["csv", "json", "jsonl"], key="q_logs")
    c1, c2, c3 = st.columns(3)
    per_group = int(c1.number_input("Tasks per group", 1, 1000, 20, key="q_per_group"))
    group_by = str(c2.selectbox("Group by", ["model", "project"], key="q_group_by"))
    scorer = str(c3.selectbox("Scorer", ["judge", "exact", "contains"], key="q_log_scorer"))
    if up is None:
        return None
    ts, jsonl, note = _from_logs(up.getvalue(), up.name, per_group, group_by, scorer)
    st.caption(note)
    st.download_button("Download the sampled task set", jsonl, file_name=ts.name, mime="application/x-ndjson")
    return ts


def _target_rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    rows = []
    for row in frame.to_dict("records"):
        if not any(str(row.get(k) or "").strip() for k in ("label", "base_url", "model")):
            continue
        rows.append({k: (None if pd.isna(v) else v) for k, v in row.items()})
    return rows


@dataclasses.dataclass
class SettingsInput:
    """What the targets table and the settings widgets hold, before validation."""

    targets: pd.DataFrame
    judge_url: str
    judge_model: str
    judge_key_env: str
    concurrency: int
    limit: int
    max_tokens: int


def settings_input() -> SettingsInput:
    """The targets table, the judge and the run's knobs (validated by `build_settings` when Start is pressed)."""
    st.caption(
        "Any OpenAI-compatible endpoint: OpenAI, Anthropic's compatible endpoint, Together, Fireworks, OpenRouter, "
        "vLLM, Ollama (`http://localhost:11434/v1`), llama.cpp, TGI. The first target is the baseline. API keys "
        "are read from the environment variable you name; the key itself is never asked for or stored."
    )
    st.session_state.setdefault(_TARGETS, _DEFAULT_TARGETS.copy())
    frame = st.data_editor(
        st.session_state[_TARGETS],
        num_rows="dynamic",
        key="q_targets_editor",
        column_config={
            "label": st.column_config.TextColumn("Label", required=True),
            "base_url": st.column_config.TextColumn("Base URL", width="large"),
            "model": st.column_config.TextColumn("Model"),
            "api_key_env": st.column_config.TextColumn("API key variable", help="e.g. OPENAI_API_KEY; empty: none"),
            "stream": st.column_config.CheckboxColumn("Stream", default=True),
        },
        hide_index=True,
    )
    with st.expander("Judge (for judge-scored tasks) and run settings"):
        c1, c2, c3 = st.columns(3)
        judge_url = c1.text_input("Judge base URL", "", key="q_judge_url")
        judge_model = c2.text_input("Judge model", "", key="q_judge_model")
        judge_key = c3.text_input("Judge API key variable", "", key="q_judge_key")
        c1, c2, c3 = st.columns(3)
        concurrency = int(c1.number_input("Concurrency per target", 1, 256, 8, key="q_concurrency"))
        limit = int(c2.number_input("Only the first N tasks (0: all)", 0, 1_000_000, 0, key="q_limit"))
        max_tokens = int(c3.number_input("Max answer tokens", 1, 200_000, 1024, key="q_max_tokens"))
    return SettingsInput(frame, judge_url, judge_model, judge_key, concurrency, limit, max_tokens)


def build_settings(raw: SettingsInput) -> RunSettings | None:
    """Validate the inputs; show what is wrong (never the typed values: a pasted key must not echo)."""
    try:
        targets = [Target.model_validate(row) for row in _target_rows(raw.targets)]
        judge = (
            Target(
                label="judge",
                base_url=raw.judge_url,
                model=raw.judge_model or "judge",
                api_key_env=raw.judge_key_env or None,
                stream=False,
            )
            if raw.judge_url.strip()
            else None
        )
        settings = RunSettings(
            targets=targets,
            judge=judge,
            concurrency=raw.concurrency,
            limit=raw.limit or None,
            max_tokens=raw.max_tokens,
        )
        for t in [*settings.targets, *([settings.judge] if settings.judge else [])]:
            t.api_key()  # a named variable that is not set: say so now, not after the run starts
    except ValidationError as ex:
        st.error("\n\n".join(f"targets: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in ex.errors()))
        return None
    except CostModelError as ex:
        st.error(str(ex))
        return None
    return settings
