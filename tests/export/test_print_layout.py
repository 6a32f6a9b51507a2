"""The print layout written into the workbook (checked without LibreOffice; test_libreoffice_print prints it)."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from costmodel.demo import preset
from costmodel.export import to_xlsx
from costmodel.export._layout import _PAD_PT, _PRINTABLE_PT, _PT_PER_CHAR, MIN_PRINT_SCALE, _lines, _width, text_width
from costmodel.export._model import NEVER
from costmodel.tco import evaluate


@pytest.fixture(scope="module")
def data() -> bytes:
    return to_xlsx(preset("customer-service-triage"))


@pytest.fixture(scope="module")
def wb(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


@pytest.fixture(scope="module")
def values(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data), data_only=True)


def _scale(ws: openpyxl.worksheet.worksheet.Worksheet) -> float:
    total = sum(_width(ws, c) * _PT_PER_CHAR + _PAD_PT for c in range(1, ws.max_column + 1))
    return _PRINTABLE_PT[ws.page_setup.orientation] * ws.page_setup.fitToWidth / total


def test_every_sheet_prints_at_a_readable_scale(wb: openpyxl.Workbook) -> None:
    for ws in wb:
        assert _scale(ws) >= MIN_PRINT_SCALE, ws.title
    assert _scale(wb["Summary"]) < 1 and wb["Summary"].page_setup.fitToWidth == 1  # the KPI table on one page


def test_monthly_spreads_across_pages_repeating_headers_and_the_month(wb: openpyxl.Workbook) -> None:
    ws = wb["Monthly"]
    assert ws.page_setup.fitToWidth > 1 and ws.page_setup.fitToHeight == 0
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.pageOrder == "overThenDown"
    assert ws.print_title_rows == "$3:$4" and ws.print_title_cols == "$A:$A"
    # the group header over the volume columns starts after the repeated month column
    assert all(not (r.min_col == 1 < r.max_col) for r in ws.merged_cells.ranges)
    assert ws["B3"].value == "Volume and price trends"


def test_cash_flow_table_starts_a_page_and_repeats_its_headers(wb: openpyxl.Workbook) -> None:
    ws = wb["Break-even & NPV"]
    (brk,) = ws.row_breaks.brk
    top = brk.id + 1
    assert ws.cell(top, 1).value.startswith("Monthly cash saving")
    assert ws.print_title_rows == f"${top + 1}:${top + 2}"
    assert ws.cell(top + 2, 1).value == "Month" and ws.cell(top + 2, 2).value == "Cash saving"


def test_never_wraps_instead_of_losing_its_first_word(wb: openpyxl.Workbook, values: openpyxl.Workbook) -> None:
    ws, shown = wb["Summary"], values["Summary"]
    cells = [c for row in shown.iter_rows(min_row=12, max_row=20) for c in row if c.value == NEVER]
    assert cells
    for c in cells:
        cell = ws[c.coordinate]
        assert cell.alignment.wrap_text and cell.alignment.horizontal == "right"
        needed = _lines(NEVER, _width(ws, cell.column), size=11, bold=False)
        assert needed >= 2 and ws.row_dimensions[cell.row].height >= needed * 15


def test_wrapped_text_rows_are_tall_enough(wb: openpyxl.Workbook) -> None:
    checked = 0
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.data_type == "s" and c.alignment.wrap_text:
                    size, bold = float(c.font.sz or 11), bool(c.font.b)
                    merged = next((r for r in ws.merged_cells.ranges if c.coordinate in r), None)
                    cols = range(merged.min_col, merged.max_col + 1) if merged else [c.column]
                    n = _lines(c.value, sum(_width(ws, k) for k in cols), size=size, bold=bold)
                    if n > 1:
                        checked += 1
                        height = ws.row_dimensions[c.row].height
                        assert height and height >= n * 15 * size / 11, f"{ws.title}!{c.coordinate}"
    assert checked > 10


def test_text_never_runs_into_a_filled_neighbour(wb: openpyxl.Workbook) -> None:
    """A source too long for its column wraps instead of printing over the as-of date ("20262026-11-25")."""
    ws = wb["Inputs"]
    for row in ws.iter_rows(min_row=4):
        source, as_of = row[3], row[4]
        if isinstance(source.value, str) and as_of.value:
            fits = text_width(source.value) + 0.5 <= _width(ws, 4)
            assert fits or source.alignment.wrap_text, source.coordinate


def test_break_even_volumes_keep_the_number_and_read_in_billions(wb: openpyxl.Workbook) -> None:
    r = evaluate(preset("customer-service-triage"))
    assert any(r.option(o.name).break_even_tokens_per_month for o in r.options)
    ((sheet, ref),) = list(wb.defined_names["o4_be_tokens_vs_o1"].destinations)
    cell = wb[sheet][ref.replace("$", "")]
    assert cell.data_type == "f" and '"B tokens/month"' in cell.number_format
    for row in range(12, 16):
        c = wb["Summary"].cell(row, 12)
        if c.data_type == "f":
            assert c.number_format == cell.number_format


def test_tornado_labels_sit_at_the_plot_edge(data: bytes) -> None:
    z = zipfile.ZipFile(io.BytesIO(data))
    charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    tornado = next(c for c in charts if 'barDir val="bar"' in c)
    assert '<tickLblPos val="low"' in tornado


def test_every_font_is_named(wb: openpyxl.Workbook) -> None:
    """An unnamed font prints in LibreOffice's default serif."""
    assert {c.font.name for ws in wb for row in ws.iter_rows() for c in row if c.value is not None} == {"Calibri"}
