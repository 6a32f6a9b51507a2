"""The business case as an Excel workbook whose every figure is a formula over labelled inputs.

Sheets: Summary (verdict, KPIs, charts), Inputs, Options, Monthly, Break-even & NPV (and, with owned
servers, Break-even search), Sensitivity, Usage (when logs are stored) and Sources. Finance can change any
input cell and watch the case recompute; the tests recompute the saved file and hold it to
`costmodel.tco.evaluate` to the cent. Each formula also carries its computed value (`_values`), so readers
that do not calculate (pandas, previewers, mail clients) show the figures, and every sheet is laid out to
print legibly (`_layout`).

Example:
    >>> from costmodel.demo import demo_scenario
    >>> data = to_xlsx(demo_scenario())
    >>> data[:2]
    b'PK'
"""

from __future__ import annotations

from datetime import date
from importlib import metadata

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.series import SeriesLabel, StrRef
from openpyxl.styles import Alignment, Font
from openpyxl.utils import column_index_from_string
from openpyxl.worksheet.worksheet import Worksheet

from costmodel.export._book import Book, Fmt
from costmodel.export._model import MONTHLY_SHEET, NEVER, NO_BREAK_EVEN, Model, build_model
from costmodel.export.sanitize import xlsx_text
from costmodel.export.usage import UsageSummary
from costmodel.prices import GENAI_PRICES_VERSION
from costmodel.scenario import CloudGpuOption, Scenario
from costmodel.sensitivity import tornado
from costmodel.sizing import resolve_gpu_price
from costmodel.tco import ScenarioResult, evaluate

__all__ = ["SHEETS", "to_xlsx"]

SHEETS = ("Summary", "Inputs", "Options", "Monthly", "Break-even & NPV", "Sensitivity", "Usage", "Sources")
"""Sheet order (Break-even search follows Break-even & NPV where owned servers need it; Usage only with logs)."""

_KPI_TOP = 11  # header row of the Summary KPI table


def to_xlsx(scenario: Scenario, *, result: ScenarioResult | None = None, usage: UsageSummary | None = None) -> bytes:
    """The scenario's business case as an .xlsx file with live formulas.

    Args:
        scenario: the scenario to export.
        result: its evaluation, if already computed (must be `evaluate(scenario)` with break-even volumes).
        usage: stored usage to add as a Usage sheet (see `costmodel.export.usage.usage_summary`).

    Returns:
        The workbook's bytes.
    """
    result = result or evaluate(scenario)
    book = Book()
    summary = book.sheet("Summary")
    model = build_model(book, scenario, result)
    _summary(book, summary, scenario, result, model)
    _sensitivity(book, scenario, result)
    if usage is not None:
        _usage(book, usage)
    _sources(book, scenario, result, usage)
    props = book.wb.properties
    props.title = xlsx_text(f"Business case: {scenario.name}")
    props.subject = "LLM total cost of ownership"
    props.description = xlsx_text(result.verdict)
    props.keywords = "OpenTCO; TCO; LLM"
    props.creator = None  # the author field is left for the user
    props.lastModifiedBy = None
    book.wb.calculation.fullCalcOnLoad = True
    return book.to_bytes()


def _version() -> str:
    try:
        return metadata.version("opentco")
    except metadata.PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------------------------------------- Summary


def _summary(book: Book, ws: Worksheet, s: Scenario, r: ScenarioResult, model: Model) -> None:
    b = book
    title = b.text(ws, 1, 1, "Business case")
    title.font = Font(bold=True, size=16, color="1F4E79")
    b.text(ws, 2, 1, s.name, bold=True)
    b.text(
        ws,
        3,
        1,
        f"OpenTCO {_version()} · genai-prices {GENAI_PRICES_VERSION} · exported {date.today().isoformat()} · "
        f"{s.horizon_months}-month horizon · amounts in USD",
        italic=True,
    )
    b.text(ws, 5, 1, "Verdict (computed by the engine at export)", bold=True)
    cell = b.text(ws, 6, 1, r.verdict)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells("A6:L6")
    ws.row_dimensions[6].height = 48

    n = len(model.options)
    first, last = _KPI_TOP + 1, _KPI_TOP + n
    names = f"$A${first}:$A${last}"
    horizon = f"$E${first}:$E${last}"
    base = model.baseline
    b.text(ws, 8, 1, "Cheapest over the horizon (live)", bold=True)
    b.value(ws, 8, 5, f"=INDEX({names},MATCH(MIN({horizon}),{horizon},0))")
    b.text(ws, 9, 1, f"Its saving against the baseline, {base.name}, over the horizon (live)", bold=True)
    b.value(ws, 9, 5, f"=o{base.index}_horizon_usd-MIN({horizon})", Fmt.USD0)

    cur = s.currency != "USD"
    headers = [
        "Option",
        "Kind",
        "Basis",
        "Month-1 cost",
        f"Cost over {s.horizon_months} months",
        "Cost per 1M tokens",
        "Saving, month 1",
        "Saving over the horizon",
        "Break-even month",
        "Payback month",
        "NPV of the saving",
        f"Break-even tokens/month vs {base.name}",
    ]
    if cur:
        headers.append(f"Cost over the horizon ({s.currency})")
    b.header_row(ws, _KPI_TOP, 1, headers)
    ws.row_dimensions[_KPI_TOP].height = 45
    mon = book.wb[MONTHLY_SHEET]
    for k, ref in enumerate(model.options):
        row = first + k
        i = ref.index
        res = r.option(ref.name)
        b.text(ws, row, 1, ref.name)
        b.text(ws, row, 2, ref.kind + (" (baseline)" if ref is base else ""))
        b.text(ws, row, 3, res.basis)
        total = b.ref(mon, f"${ref.cost_col}${model.first_row}:${ref.cost_col}${model.last_row}")
        tokens = b.ref(mon, f"$E${model.first_row}:$E${model.last_row}")
        cells = [
            (4, f"o{i}_month1_usd", f"=INDEX({total},1)", Fmt.USD0),
            (5, f"o{i}_horizon_usd", f"=SUM({total})", Fmt.USD0),
            (6, f"o{i}_usd_per_mtok", f"=E{row}/SUM({tokens})*1000000", Fmt.USD),
            (7, f"o{i}_saving_month1_usd", f"=o{base.index}_month1_usd-D{row}", Fmt.USD0),
            (8, f"o{i}_saving_horizon_usd", f"=o{base.index}_horizon_usd-E{row}", Fmt.USD0),
        ]
        for col, name, formula, fmt in cells:
            b.value(ws, row, col, formula, fmt)
            b.define(name, ws, f"{chr(64 + col)}{row}")
        if ref is base:
            for col in (9, 10, 11):
                b.style_info(b.text(ws, row, col, "baseline"))
        else:
            b.value(ws, row, 9, f"={ref.break_even_month}", Fmt.INT)
            b.value(ws, row, 10, f"={ref.payback}", Fmt.INT)
            b.value(ws, row, 11, f"={ref.npv}", Fmt.USD0)
        be = ref.break_even_volume.get(base.name)
        if be:
            b.value(ws, row, 12, f"={be}", Fmt.TOKENS_MONTH)
        else:
            b.style_info(b.text(ws, row, 12, "n/a"))
        if cur:
            b.value(ws, row, 13, f"=E{row}*fin_usd_fx_rate", f'#,##0 "{s.currency}"')
        # figures and their text stand-ins ('baseline', 'n/a', NEVER) align right, so neighbours never touch
        # (NEVER wraps rather than lose its "not" to a narrow column: see _layout)
        for col in range(9, 13):
            ws.cell(row=row, column=col).alignment = Alignment(horizontal="right")
    b.text(
        ws,
        last + 1,
        1,
        f"Payback and break-even month read '{NEVER}' when the option never catches up; break-even volume "
        f"reads '{NO_BREAK_EVEN} N replica steps' when none of the N steps its search table holds pays off.",
        italic=True,
    )
    b.widths(ws, {1: 44, 2: 18, 3: 28, 4: 14, 5: 16, 6: 13, 7: 14, 8: 16, 9: 12, 10: 12, 11: 15, 12: 21, 13: 18})
    ws.freeze_panes = f"B{_KPI_TOP + 1}"
    _summary_charts(ws, mon, model, first, last, s.horizon_months)
    b.print_setup(ws)


def _summary_charts(ws: Worksheet, mon: Worksheet, model: Model, first: int, last: int, horizon: int) -> None:
    top = last + 3
    line = LineChart()
    line.title = "Cumulative cost per option (USD)"
    line.y_axis.title = "USD"
    line.x_axis.title = "Month"
    line.y_axis.number_format = '"$"#,##0'
    line.height, line.width = 9, 17
    months = Reference(mon, min_col=1, min_row=model.first_row, max_row=model.last_row)
    for k, ref in enumerate(model.options):
        col = column_index_from_string(ref.cum_col)
        data = Reference(mon, min_col=col, min_row=model.first_row, max_row=model.last_row)
        line.add_data(data, titles_from_data=False)
        line.series[-1].tx = SeriesLabel(strRef=StrRef(f"'Summary'!$A${first + k}"))
        line.series[-1].smooth = False
    line.set_categories(months)
    line.x_axis.tickLblSkip = max(1, horizon // 12)
    line.x_axis.delete = False
    line.y_axis.delete = False
    ws.add_chart(line, f"A{top}")

    bar = BarChart()
    bar.type = "col"
    bar.title = "Cost per 1M tokens over the horizon (USD)"
    bar.y_axis.number_format = '"$"#,##0.00'
    bar.height, bar.width = 9, 15
    bar.add_data(Reference(ws, min_col=6, min_row=first, max_row=last), titles_from_data=False)
    bar.series[0].tx = SeriesLabel(v="USD per 1M tokens")
    bar.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    bar.legend = None
    bar.x_axis.delete = False
    bar.y_axis.delete = False
    ws.add_chart(bar, f"F{top}")


# ---------------------------------------------------------------------------------------------- Sensitivity


def _sensitivity(book: Book, s: Scenario, r: ScenarioResult) -> None:
    b = book
    ws = b.sheet("Sensitivity")
    b.title(
        ws,
        "Sensitivity: what moves the saving",
        subtitle=f"Each input lowered and raised by {s.sensitivity_pct:g}% and the whole model re-run by the engine "
        "at export (these figures are the engine's, not live formulas).",
    )
    bars = tornado(s, r)
    best = r.best if r.best != r.baseline else None
    others = [o for o in r.options if o.name != r.baseline]
    if best is None and others:
        best = min(others, key=lambda o: o.horizon_usd).name
    if not bars or best is None:
        b.text(ws, 4, 1, "No input moves the saving (or there is nothing to compare with).", italic=True)
        b.print_setup(ws)
        return
    saving = r.baseline_result.horizon_usd - r.option(best).horizon_usd
    b.text(ws, 4, 1, f"Saving over the horizon: {r.baseline} minus {best} (base case)")
    b.value(ws, 4, 5, saving, Fmt.USD0)
    b.header_row(
        ws,
        6,
        1,
        [
            "Input",
            "Base value",
            "Low value",
            "High value",
            "Saving at low",
            "Saving at high",
            "Swing",
            "Change at low",
            "Change at high",
        ],
    )
    for k, bar in enumerate(bars):
        row = 7 + k
        b.text(ws, row, 1, bar.label)
        b.value(ws, row, 2, bar.base_value, "#,##0.####")
        b.value(ws, row, 3, bar.low_value, "#,##0.####")
        b.value(ws, row, 4, bar.high_value, "#,##0.####")
        b.value(ws, row, 5, bar.saving_low_usd, Fmt.USD0)
        b.value(ws, row, 6, bar.saving_high_usd, Fmt.USD0)
        b.value(ws, row, 7, f"=ABS(F{row}-E{row})", Fmt.USD0)
        b.value(ws, row, 8, f"=E{row}-$E$4", Fmt.USD0)
        b.value(ws, row, 9, f"=F{row}-$E$4", Fmt.USD0)
    last = 6 + len(bars)
    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "clustered"
    chart.overlap = 100
    chart.gapWidth = 40
    chart.title = f"Change of the saving, inputs ±{s.sensitivity_pct:g}%"
    chart.x_axis.scaling.orientation = "maxMin"  # widest swing on top
    chart.y_axis.number_format = '"$"#,##0'
    chart.add_data(Reference(ws, min_col=8, max_col=9, min_row=6, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=7, max_row=last))
    chart.height, chart.width = max(7, 0.6 * len(bars) + 3), 24
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.x_axis.tickLblPos = "low"  # input names at the plot's edge, not on the bars around zero
    chart.x_axis.crosses = "max"  # and the money axis below the bars (the categories run top to bottom)
    ws.add_chart(chart, f"A{last + 3}")  # below the table: the sheet prints one page wide
    b.widths(ws, {1: 48, 2: 14, 3: 14, 4: 14, 5: 16, 6: 16, 7: 14, 8: 15, 9: 15})
    ws.freeze_panes = "B7"
    b.print_setup(ws, title_rows="6:6")


# ---------------------------------------------------------------------------------------------- Usage


def _usage(book: Book, usage: UsageSummary) -> None:
    b = book
    ws = b.sheet("Usage")
    b.title(ws, "Usage from stored logs", subtitle=f"Monthly totals from {usage.source}. List cost: genai-prices.")
    row = 4
    b.section(ws, row, "By month and model", width=10)
    row += 1
    b.header_row(
        ws,
        row,
        1,
        [
            "Month",
            "Provider",
            "Model",
            "Requests",
            "Input tokens",
            "Cached input tokens",
            "Output tokens",
            "Tokens",
            "Reported cost",
            "List cost",
        ],
    )
    top = row + 1
    for k, m in enumerate(usage.by_model):
        r = top + k
        b.value(ws, r, 1, m.month, "yyyy-mm")
        b.text(ws, r, 2, m.provider or "")
        b.text(ws, r, 3, m.model)
        b.value(ws, r, 4, m.requests, Fmt.INT)
        b.value(ws, r, 5, m.input_tokens, Fmt.INT)
        b.value(ws, r, 6, m.cached_input_tokens, Fmt.INT)
        b.value(ws, r, 7, m.output_tokens, Fmt.INT)
        b.value(ws, r, 8, f"=E{r}+G{r}", Fmt.INT)
        b.value(ws, r, 9, m.reported_cost_usd, Fmt.USD)
        b.value(ws, r, 10, m.list_cost_usd, Fmt.USD)
    end = top + len(usage.by_model) - 1
    b.text(ws, end + 1, 1, "Total", bold=True)
    for col in range(4, 11):
        letter = chr(64 + col)
        fmt = Fmt.USD if col >= 9 else Fmt.INT
        b.value(ws, end + 1, col, f"=SUM({letter}{top}:{letter}{end})", fmt).font = Font(bold=True)
    row = end + 3
    b.section(ws, row, "By month and project", width=10)
    row += 1
    b.header_row(ws, row, 1, ["Month", "Project", "Requests", "Tokens", "Reported cost"])
    for k, p in enumerate(usage.by_project):
        r = row + 1 + k
        b.value(ws, r, 1, p.month, "yyyy-mm")
        b.text(ws, r, 2, p.project or "(none)")
        b.value(ws, r, 3, p.requests, Fmt.INT)
        b.value(ws, r, 4, p.tokens, Fmt.INT)
        b.value(ws, r, 5, p.reported_cost_usd, Fmt.USD)
    b.widths(ws, {1: 10, 2: 28, 3: 34, 4: 12, 5: 15, 6: 15, 7: 15, 8: 15, 9: 14, 10: 14})
    ws.freeze_panes = "A6"
    b.print_setup(ws, title_rows="5:5")


# ---------------------------------------------------------------------------------------------- Sources


def _sources(book: Book, s: Scenario, r: ScenarioResult, usage: UsageSummary | None) -> None:
    b = book
    ws = b.sheet("Sources")
    b.title(ws, "Sources: every price and spec the case rests on")
    b.header_row(ws, 3, 1, ["Item", "Value", "Source", "As of"])
    rows: list[tuple[str, str, str, str]] = [
        ("OpenTCO", _version(), "the generator of this workbook", date.today().isoformat()),
        ("genai-prices", GENAI_PRICES_VERSION, "API token prices: pydantic/genai-prices", str(s.price_date or "today")),
        ("Hours per month", "730", "8760 h ÷ 12 (cloud calculators' convention)", ""),
    ]
    if usage is not None:
        rows.append(("Usage logs", f"{len(usage.by_model)} model-months", usage.source, ""))
    for k, o in enumerate(r.options, start=1):
        rows.append((f"Option {k}: {o.name}", o.description, f"basis: {o.basis}", ""))
        as_of = _as_of(s, o.name, r)
        for line in o.sources:
            rows.append((f"  {line.label}", line.value, line.source, as_of.get(line.label, "")))
        rows.extend((f"  Warning: {o.name}", w, "engine", "") for w in o.warnings)
    for k, (item, value, source, when) in enumerate(rows):
        row = 4 + k
        b.text(ws, row, 1, item, bold=not item.startswith(" "))
        b.text(ws, row, 2, value)
        b.text(ws, row, 3, source)
        b.text(ws, row, 4, when)
        for col in (2, 3):
            ws.cell(row=row, column=col).alignment = Alignment(wrap_text=True, vertical="top")
    b.widths(ws, {1: 44, 2: 60, 3: 80, 4: 14})
    ws.freeze_panes = "A4"
    b.print_setup(ws, title_rows="3:3")


def _as_of(s: Scenario, name: str, r: ScenarioResult) -> dict[str, str]:
    """As-of dates of an option's source lines, by label."""
    o = r.option(name)
    if o.api is not None:
        return {f"{o.api.label} prices": o.api.price_date.isoformat()}
    rep = o.replica
    if rep is None:
        return {}
    out = {
        "Model": rep.model.as_of.isoformat(),
        "GPU": rep.gpu.as_of.isoformat(),
        "Quantization": rep.quant.as_of.isoformat(),
    }
    opt = s.option(name)
    if isinstance(opt, CloudGpuOption):
        _, _, row = resolve_gpu_price(opt, rep.gpu)
        out["GPU-hour price"] = row.as_of.isoformat() if row else ""
    elif rep.gpu.tdp_w and opt.measured_watts_per_gpu is None:  # type: ignore[union-attr]
        out["GPU power at load"] = rep.gpu.as_of.isoformat()
    return out
