"""Usage logs: upload exports, see volume, peaks and cost, re-price the history, use them as the scenario's workload."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import plotly.express as px
import streamlit as st

from costmodel.errors import CostModelError
from costmodel.export.sanitize import is_formula_like
from costmodel.fmt import money, tokens
from costmodel.importers import IMPORTERS, ImportLimits
from costmodel.scenario import Scenario
from costmodel.store import snapshot
from costmodel.usage import (
    Dimension,
    Grain,
    ReplayMonth,
    RowsRejected,
    UsageSummary,
    cost_basis,
    daily_cost,
    flagged_rows,
    hour_of_week,
    import_file,
    import_history,
    measure_workload,
    reject_csv,
    replay,
    replay_totals,
    summarize,
    usage_series,
)
from costmodel.usage.reprice import RepricedHistory, reprice
from costmodel.usage.summary import MIN_PEAK_DAYS
from dashboard.components.audited import actor, download_button
from dashboard.components.fleet_section import fleet_section
from dashboard.components.team import store_path
from dashboard.components.text import md
from dashboard.components.usage_charts import cost_figure, daily_tokens_figure, history_figure, in_period, replay_figure
from dashboard.state import get_scenario, set_scenario, store_cursor

_LIMITS = ImportLimits(max_file_bytes=200 * 1024**2)  # the upload limit of .streamlit/config.toml
_OUTCOMES = "usage_outcomes"
_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_AUTO = "auto"
_FORMATS = {_AUTO: "Detect from the content", **{i.name: f"{i.title} ({i.name})" for i in IMPORTERS}}


def _version() -> tuple[str, int, int]:
    """The store and its last import: changes whenever an import commits, so it keys every cached view below.

    The store's path keeps two workspaces' views apart (their import counts and ids may well be equal).
    """
    count, last = store_cursor().execute("SELECT count(*), coalesce(max(id), 0) FROM imports").fetchall()[0]
    return str(store_path()), int(count), int(last)


def _csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with log text that a spreadsheet would run (`=…`, `+…`, `@…`) prefixed by `'`: the table's
    own "Download as CSV" (Streamlit's toolbar) writes cells as they are."""
    frame = frame.copy()
    for col in frame.columns:
        if pd.api.types.is_string_dtype(frame[col]):
            frame[col] = frame[col].map(lambda v: "'" + v if isinstance(v, str) and is_formula_like(v) else v)
    return frame


@st.cache_data(max_entries=4)
def _views(
    version: tuple[str, int, int],
) -> tuple[UsageSummary, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    # One snapshot for every view: another session's import committing midway would make them disagree.
    with snapshot(store_cursor()) as con:
        basis = cost_basis(con)  # genai-prices resolved once for the three cost views
        daily = usage_series(con, grain=Grain.DAY, by=Dimension.MODEL)
        return (
            summarize(con, basis=basis),
            daily,
            hour_of_week(con),
            daily_cost(con, basis=basis),
            flagged_rows(con, basis=basis),
        )


@st.cache_data(max_entries=8, show_spinner=False)
def _replay(version: tuple[str, int, int], scenario_json: str) -> list[ReplayMonth]:
    with snapshot(store_cursor()) as con:
        return replay(con, Scenario.model_validate_json(scenario_json))


@st.cache_data(max_entries=8, show_spinner=False)
def _history(version: tuple[str, int, int], scenario_json: str, today: date) -> RepricedHistory:
    try:
        months = _replay(version, scenario_json)
    except CostModelError:
        months = []  # the replay section says why; the history is still priced three ways
    with snapshot(store_cursor()) as con:
        return reprice(con, today=today, replayed=months)


def _import(files: list, format_name: str) -> list[tuple[str, bytes | None, str, bool]]:
    """Import each file; (message, reject file, name, failed) per file, the progress bar removed at the end."""
    bar, outcomes = st.progress(0.0, text="Importing …"), []
    for n, f in enumerate(files):
        bar.progress(n / len(files), text=f"Importing {f.name} ({n + 1} of {len(files)})")
        fmt = None if format_name == _AUTO else format_name
        try:
            res = import_file(  # with sign-in on, its audit line commits with its rows
                store_cursor(), f.getvalue(), file_name=f.name, format_name=fmt, limits=_LIMITS, actor=actor()
            )
            outcomes.append((res.summary(), res.reject_csv() if res.rows_rejected else None, f.name, False))
        except RowsRejected as ex:
            outcomes.append((str(ex), ex.result.reject_csv(), f.name, True))
        except CostModelError as ex:
            outcomes.append((str(ex), None, f.name, True))
    bar.empty()  # no green bar over a failure: each file says how it went below
    return outcomes


def _history_section(scenario: Scenario, version: tuple[str, int, int]) -> None:
    st.subheader("History re-priced")
    h = _history(version, scenario.model_dump_json(), date.today())
    names = list(h.months[0].options_cost_usd) if h.months else []

    def usd(v: Decimal | None) -> str:
        return "—" if v is None else money(v, decimals=2)

    rows = [
        {
            "month": f"{m.month:%Y-%m}",
            "reported": usd(m.reported_cost_usd),
            "list price in force then": usd(m.in_force_cost_usd),
            f"list price today ({h.today})": usd(m.today_cost_usd),
            **{n: usd(m.options_cost_usd.get(n)) for n in names},
            "reported vs in force": "—" if m.difference_pct is None else f"{m.difference_pct:+.1f} %",
            "flag": "differs by more than 1 %" if m.flagged else "",
        }
        for m in h.months
    ]
    st.dataframe(_csv_safe(pd.DataFrame(rows)), hide_index=True, width="stretch", key="usage_history")
    st.plotly_chart(history_figure(h), key="usage_history_chart")
    unknown = f" Not in the list-price columns (genai-prices does not price them): {', '.join(h.unknown_models)}."
    st.caption(
        md(
            f"List prices from genai-prices {h.genai_prices_version}, at the price in force on each row's day and at "
            f"today's ({h.today}); options are the replay below, in USD.{unknown if h.unknown_models else ''}"
        )
    )


def _workload_section(scenario: Scenario, first: date, last: date) -> None:
    st.subheader("Use as workload")
    choice = st.radio(
        "Period",
        ["Default: the last full month, or the mean of the full months if it is nearly empty", "A range I choose"],
        key="usage_period_kind",
    )
    start = end = None
    if choice == "A range I choose":
        picked = st.date_input("Days", (first, last), min_value=first, max_value=last, key="usage_period")
        if isinstance(picked, tuple) and len(picked) == 2:
            start, end = picked
    st.caption(
        "Replace the scenario's workload by the one measured here (volume, token mix, cached share, peak ratio, "
        "growth); latency targets and hours of operation stay as they are."
    )
    if st.button("Use as workload", type="primary", key="usage_use"):
        try:
            m = measure_workload(store_cursor(), base=scenario.workload, start=start, end=end)
        except CostModelError as ex:
            st.error(md(str(ex)))
            return
        set_scenario(scenario.model_copy(update={"workload": m.workload}))
        st.success(
            f"The scenario now uses your logs' workload ({m.period_label}: {m.workload.requests_per_month:,.0f} "
            "requests a month); the Compare page shows your numbers."
        )
        for w in m.warnings:
            st.warning(md(w))


def _replay_section(scenario: Scenario, version: tuple[str, int, int]) -> None:
    """Each logged month priced under each option of the current scenario, and the period's totals."""
    st.subheader("Replay: your logged months under this scenario's options")
    try:
        months = _replay(version, scenario.model_dump_json())
    except CostModelError as ex:
        st.error(md(f"The logged months cannot be replayed under this scenario: {ex}"))
        return
    totals = replay_totals(months)

    def cur(usd: Decimal | None) -> str:
        return "—" if usd is None else money(usd, currency=scenario.currency, fx=scenario.usd_fx_rate, decimals=2)

    labels = [f"{m.month:%Y-%m}" + ("" if m.full else " (partial)") for m in months]

    def row(option: str, per_month: list[Decimal | None], total: Decimal | None) -> dict[str, str]:
        return {"option": option, **dict(zip(labels, map(cur, per_month), strict=True)), "total": cur(total)}

    rows = [row(n, [m.cost_usd[n] for m in months], usd) for n, usd in totals.cost_usd.items()]
    rows.append(row("Reported by the logs", [m.reported_cost_usd for m in months], totals.reported_cost_usd))
    st.plotly_chart(replay_figure(months), key="usage_replay_chart")
    st.dataframe(_csv_safe(pd.DataFrame(rows)), hide_index=True, width="stretch", key="usage_replay")
    partial = totals.months - totals.full_months
    st.caption(
        md(
            f"Over the {totals.months} logged month(s) the cheapest option would have been **{totals.cheapest}** "
            f"({cur(totals.cost_usd[totals.cheapest])}). Each month is the logs' own volume, token mix and peak, "
            "priced by the engine as a one-month scenario; one-off costs (setup, fine-tuning, data preparation) "
            "fall in the first month."
            + (
                f"\n{partial} month(s) are only partly covered by the logs: a self-hosted option's fixed monthly "
                "cost is charged in full against part of a month's traffic."
                if partial
                else ""
            )
        )
    )


st.title("Usage logs")
st.caption(
    "Import your own usage exports; OpenTCO normalises them into its local DuckDB file, recomputes their cost "
    "with genai-prices and measures the workload they describe. Formats: "
    + ", ".join(f"[{i.title}]({i.doc_url})" if i.doc_url.startswith("https://") else i.title for i in IMPORTERS)
    + " (plain or .gz). Prompts, responses and API keys in the files are never stored."
)

with st.form("usage_upload", clear_on_submit=True):
    files = st.file_uploader("Usage-log files", accept_multiple_files=True, key="usage_files")
    fmt = st.selectbox("Format", list(_FORMATS), format_func=_FORMATS.__getitem__, key="usage_format")
    submitted = st.form_submit_button("Import", type="primary")
if submitted:
    st.session_state[_OUTCOMES] = _import(files, fmt) if files else []  # a new upload clears the last results
for i, (text, rejects, name, failed) in enumerate(st.session_state.get(_OUTCOMES, [])):
    (st.error if failed else st.success)(md(text))
    if rejects:
        download_button(f"Reject file of {name}", rejects, f"{name}.rejects.csv", "text/csv", key=f"rej-{i}")

history = import_history(store_cursor())
with st.expander(f"Import history ({len(history)})", expanded=not history):
    if history:
        st.dataframe(_csv_safe(pd.DataFrame([h.model_dump(exclude={"sha256"}) for h in history])), hide_index=True)
        with_rejects = {
            f"#{h.id} {h.file_name} ({h.rejected_count:,} rejected)": h.id for h in history if h.rejected_count
        }
        if with_rejects:
            pick = st.selectbox("Rows an import refused", list(with_rejects), key="usage_reject_pick")
            download_button(
                "Download its reject file",
                reject_csv(store_cursor(), with_rejects[pick]),
                f"import-{with_rejects[pick]}.rejects.csv",
                "text/csv",
                key="usage_reject_dl",
            )
    else:
        st.caption("Nothing imported yet.")

version = _version()
summary, daily, heat, cost, flagged = _views(version)
if not summary.rows:
    st.info("No usage imported yet: upload an export above.")
    st.stop()

first, last = summary.first_ts.date(), summary.last_ts.date()  # type: ignore[union-attr]
c = st.columns(3)
c[0].metric("Requests", f"{summary.requests:,}" if summary.requests is not None else "not counted")
c[1].metric("Tokens in / out", f"{tokens(summary.input_tokens)} / {tokens(summary.output_tokens)}")
c[2].metric(
    "Peak ÷ mean hour",
    f"{summary.peak_to_average:.2f}" if summary.peak_to_average else "n/a",
    help=f"p95 hour ÷ mean hour; needs {MIN_PEAK_DAYS} days of hourly data (the logs have {summary.hourly_days}).",
)
c = st.columns(3)
c[0].metric(
    "Growth / month", f"{summary.monthly_growth_pct:+.1f} %" if summary.monthly_growth_pct is not None else "n/a"
)
reported = money(summary.reported_cost_usd, decimals=2) if summary.reported_cost_usd is not None else "—"
c[1].metric("Reported / recomputed cost", f"{reported} / {money(summary.recomputed_cost_usd, decimals=2)}")
hits = f"{summary.proxy_cache_requests:,} request{'' if summary.proxy_cache_requests == 1 else 's'}"
c[2].metric("Served from the proxy cache", hits)
if summary.proxy_cache_requests:
    st.caption(
        f"Served from the proxy cache: {hits}, {tokens(summary.proxy_cache_tokens)} tokens. No provider was "
        "called, so they are in none of the figures above."
    )

shown = st.date_input("Days shown", (first, last), min_value=first, max_value=last, key="usage_days")
lo, hi = shown if isinstance(shown, tuple) and len(shown) == 2 else (first, last)
groups = {m.model: m.model_group or m.model for m in summary.by_model}
st.plotly_chart(daily_tokens_figure(in_period(daily, "period", lo, hi), groups), key="usage_daily")
grid = heat.pivot(index="weekday", columns="hour", values="tokens_per_hour")
st.plotly_chart(
    px.imshow(
        grid,
        y=_DAYS,
        labels={"x": "hour (UTC)", "y": "", "color": "tokens / hour"},
        title="Busiest hours: mean tokens per hour of the week",
        aspect="auto",
    ),
    key="usage_heatmap",
)
st.plotly_chart(cost_figure(in_period(cost, "day", lo, hi)), key="usage_cost")

if summary.unknown_models:
    st.warning("genai-prices cannot price these models (their tokens are kept): " + ", ".join(summary.unknown_models))
st.subheader(f"Rows whose reported cost is more than 1 % off ({summary.flagged_rows:,})")
if len(flagged):
    st.dataframe(_csv_safe(flagged), hide_index=True, width="stretch", key="usage_flagged")
else:
    st.caption("None.")

fleet_section(get_scenario(), version)
_history_section(get_scenario(), version)
_workload_section(get_scenario(), first, last)
_replay_section(get_scenario(), version)
