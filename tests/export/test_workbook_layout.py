"""The workbook is presentable and auditable: sheets, named inputs, formats, frozen headers, print setup, charts."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest

from costmodel.demo import demo_scenario, preset
from costmodel.export import to_xlsx
from costmodel.export.excel import SHEETS
from costmodel.tco import evaluate


@pytest.fixture(scope="module")
def data() -> bytes:
    return to_xlsx(preset("internal-search-rag"))


@pytest.fixture(scope="module")
def wb(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def test_sheets_in_reading_order(wb: openpyxl.Workbook) -> None:
    assert wb.sheetnames == [
        "Summary",
        "Inputs",
        "Options",
        "Monthly",
        "Break-even & NPV",
        "Break-even search",
        "Sensitivity",
        "Sources",
    ]
    assert set(wb.sheetnames) - {"Break-even search"} <= set(SHEETS)


def test_every_input_cell_is_named_labelled_and_styled(wb: openpyxl.Workbook) -> None:
    ws = wb["Inputs"]
    named = {
        ref.replace("$", "") for dn in wb.defined_names.values() for sheet, ref in dn.destinations if sheet == "Inputs"
    }
    styled = {c.coordinate for row in ws.iter_rows() for c in row if c.fill.fgColor.rgb == "00FFF2CC"}
    assert styled and styled == named
    for coord in named:
        row = ws[coord].row
        assert ws.cell(row, 1).value and ws.cell(row, 3).value and ws.cell(row, 4).value  # label, unit, source
        assert ws[coord].data_type in ("n", "b")


def test_money_and_percent_formats(wb: openpyxl.Workbook) -> None:
    def cell(name: str):
        ((sheet, ref),) = list(wb.defined_names[name].destinations)
        return wb[sheet][ref.replace("$", "")]

    assert cell("o1_month1_usd").number_format.startswith('"$"')
    assert cell("o2_npv_saving_usd").number_format.startswith('"$"')
    assert cell("wl_cached_input_share").number_format.endswith("%")
    assert cell("fin_discount_rate").number_format.endswith("%")
    assert cell("o2_usd_per_gpu_hour").number_format.startswith('"$"')


def test_frozen_headers_widths_and_fitted_to_pages_across(wb: openpyxl.Workbook) -> None:
    """Fitted to a number of pages wide (one, unless that prints too small: see test_print_layout)."""
    for ws in wb.worksheets:
        assert ws.freeze_panes, ws.title
        assert ws.page_setup.fitToWidth >= 1 and ws.page_setup.fitToHeight == 0, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.column_dimensions["A"].customWidth, ws.title
    assert wb["Monthly"].freeze_panes == "B5"
    assert wb["Monthly"].print_title_rows == "$3:$4"


def test_document_properties_leave_the_author_to_the_user(data: bytes, wb: openpyxl.Workbook) -> None:
    assert wb.properties.title == "Business case: Internal search (RAG)"
    core = zipfile.ZipFile(io.BytesIO(data)).read("docProps/core.xml").decode()
    assert "<dc:creator" not in core and "lastModifiedBy" not in core


def test_native_charts(data: bytes) -> None:
    z = zipfile.ZipFile(io.BytesIO(data))
    charts = sorted(n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n))
    kinds = [re.findall(r"<(?:c:)?(lineChart|barChart)>", z.read(n).decode()) for n in charts]
    assert kinds == [["lineChart"], ["barChart"], ["barChart"]]  # cumulative cost, $/1M tokens, tornado


def test_summary_holds_the_verdict_and_one_kpi_row_per_option(wb: openpyxl.Workbook) -> None:
    s = preset("internal-search-rag")
    ws = wb["Summary"]
    assert ws["A6"].value == evaluate(s).verdict
    assert [ws.cell(12 + k, 1).value for k in range(len(s.options))] == [o.name for o in s.options]
    assert wb.calculation.fullCalcOnLoad


def test_monthly_has_one_row_per_month() -> None:
    s = demo_scenario()
    s.horizon_months = 60
    ws = openpyxl.load_workbook(io.BytesIO(to_xlsx(s)))["Monthly"]
    assert [ws.cell(5 + k, 1).value for k in range(60)] == list(range(1, 61))
    assert ws.cell(65, 1).value is None


def _engine_sources(scenario) -> list[str]:
    ws = openpyxl.load_workbook(io.BytesIO(to_xlsx(scenario)))["Inputs"]
    return [row[3].value for row in ws.iter_rows() if row[0].value == "Serving engine"]


def test_the_engine_row_says_whose_fixed_costs_the_estimate_carries() -> None:
    """An engine's release is an input of the throughput estimate (`throughput.CURRENT_RELEASES`), so the workbook
    says which release generation's fixed costs per step sized each self-hosted option."""
    sc = preset("internal-search-rag")
    assert _engine_sources(sc) == [
        f"scenario: options[{i}].runtime; estimated with the server family's calibrated factors and a current "
        "engine release's fixed costs per step"
        for i in (1, 2)
    ]
    older = sc.model_copy(
        update={
            "options": [o.model_copy(update={"runtime": "sglang 0.4.1"}) if o.kind != "api" else o for o in sc.options]
        }
    )
    assert all(s.endswith("and an older engine release's fixed costs per step") for s in _engine_sources(older))
    assert len(_engine_sources(older)) == 2
