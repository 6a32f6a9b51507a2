"""Quality page results: accuracy per class with intervals, tokens and latency, the paired comparison, and
the filterable table of disagreements (the only place prompts and answers are shown)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from costmodel.evals import RunSummary

__all__ = ["accuracy_chart", "disagreements", "paired_lines", "target_table"]


def accuracy_chart(summary: RunSummary) -> go.Figure:
    """Grouped bars: accuracy per task class and target, with the Wilson 95 % interval as error bars."""
    fig = go.Figure()
    classes = sorted({c for t in summary.targets for c in t.by_task_class})
    for t in summary.targets:
        ys, lo, hi, ns = [], [], [], []
        for c in classes:
            cs = t.by_task_class.get(c)
            ys.append(cs.accuracy * 100 if cs else None)
            lo.append((cs.accuracy - cs.ci_low) * 100 if cs else 0)
            hi.append((cs.ci_high - cs.accuracy) * 100 if cs else 0)
            ns.append(cs.n if cs else 0)
        fig.add_bar(
            name=t.label,
            x=classes,
            y=ys,
            error_y={"type": "data", "symmetric": False, "array": hi, "arrayminus": lo},
            customdata=ns,
            hovertemplate="%{x}: %{y:.1f}% (n=%{customdata})<extra>" + t.label + "</extra>",
        )
    fig.update_layout(
        barmode="group",
        yaxis={"title": f"{summary.metric_label} (%)", "range": [0, 105]},
        xaxis={"title": "task class"},
        legend={"orientation": "h", "y": 1.1},
        margin={"t": 40, "b": 40, "l": 50, "r": 10},
        height=380,
    )
    return fig


def target_table(summary: RunSummary) -> pd.DataFrame:
    """One row per target: accuracy with interval, tokens per request, latency, errors."""
    metric = summary.metric_label
    rows = []
    for t in summary.targets:
        rows.append(
            {
                "target": t.label,
                "model": t.model,
                "n": t.n,
                f"{metric} %": round(t.accuracy * 100, 1),
                "95% interval": f"{t.ci_low * 100:.1f} – {t.ci_high * 100:.1f}",
                "input tok/req": t.mean_input_tokens,
                "output tok/req": t.mean_output_tokens,
                "reasoning tok/req": t.mean_reasoning_tokens,
                "p50 ms": t.p50_latency_ms,
                "p95 ms": t.p95_latency_ms,
                "p50 TTFT ms": t.p50_ttft_ms,
                "errors": t.errors,
            }
        )
    return pd.DataFrame(rows)


def paired_lines(summary: RunSummary) -> list[str]:
    """One sentence per target against the baseline (exact McNemar test, Newcombe interval)."""
    out = []
    for p in summary.paired_comparison:
        verdict = "a significant difference" if p.significant else "no significant difference"
        out.append(
            f"**{p.label}** vs **{p.baseline}**: {p.difference * 100:+.1f} points (95 % interval "
            f"{p.ci_low * 100:+.1f} to {p.ci_high * 100:+.1f}) on {p.n_pairs} tasks both answered; "
            f"{p.target_only_right} right only for {p.label}, {p.baseline_only_right} only for {p.baseline}; "
            f"exact McNemar p = {p.p_value:.3g}: {verdict}."
        )
    return out


def disagreements(rows: list[dict[str, object]], *, key: str) -> None:
    """Filterable table of answers against references (prompts and answers shown only here)."""
    if not rows:
        st.caption("No item stored yet.")
        return
    frame = pd.DataFrame(rows)
    c1, c2, c3 = st.columns([2, 2, 1])
    targets = c1.multiselect("Targets", sorted(frame["target"].unique()), key=f"{key}_targets")
    classes = c2.multiselect("Task classes", sorted(frame["task_class"].unique()), key=f"{key}_classes")
    only_wrong = c3.toggle("Only wrong or failed", value=True, key=f"{key}_wrong")
    text = st.text_input("Search prompts, references and answers", "", key=f"{key}_search")
    shown = frame
    if targets:
        shown = shown[shown["target"].isin(targets)]
    if classes:
        shown = shown[shown["task_class"].isin(classes)]
    if only_wrong:
        shown = shown[shown["passed"] != True]  # noqa: E712 - None (failed) must stay
    if text.strip():
        needle = text.strip().casefold()
        hay = shown[["prompt", "reference", "answer"]].fillna("").astype(str).agg(" ".join, axis=1).str.casefold()
        shown = shown[hay.str.contains(needle, regex=False)]
    st.caption(
        f"{len(shown)} of {len(frame)} answers. Prompts and answers are shown only here and stay in the local store."
    )
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            "passed": st.column_config.CheckboxColumn("right"),
            "prompt": st.column_config.TextColumn("prompt", width="large"),
            "answer": st.column_config.TextColumn("answer", width="medium"),
        },
        key=f"{key}_table",
    )
