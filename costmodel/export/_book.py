"""Workbook plumbing shared by every sheet: styles, number formats, defined names and safe writes."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import absolute_coordinate, get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from costmodel.export._chart_cache import cache_charts
from costmodel.export._layout import finish_sheet
from costmodel.export._values import compute_values, store_values
from costmodel.export.sanitize import write_text

__all__ = ["Book", "Fmt"]


class Fmt:
    """Number formats (Excel codes)."""

    USD = '"$"#,##0.00;[Red]-"$"#,##0.00'
    USD0 = '"$"#,##0;[Red]-"$"#,##0'
    USD_RATE = '"$"#,##0.00####'
    USD_TINY = '"$"0.000000##'
    PCT = "0.0%"
    PCT2 = "0.00%"
    INT = "#,##0"
    DEC = "#,##0.00"
    DEC4 = "#,##0.0000"
    GENERAL = "General"
    MULT = '0.0"×"'
    TOKENS_MONTH = '[>=1000000000]0.00,,,"B tokens/month";[>=1000000]0.0,,"M tokens/month";#,##0" tokens/month"'
    """A token volume read at a glance ("1.85B tokens/month"): the cell keeps the exact number."""


_BLUE = "1F4E79"
_INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
_HEADER_FILL = PatternFill("solid", fgColor=_BLUE)
_SECTION_FILL = PatternFill("solid", fgColor="DDEBF7")
_THIN = Side(style="thin", color="BFBFBF")


class Book:
    """An openpyxl workbook plus the bookkeeping the sheets share (names, styles)."""

    def __init__(self) -> None:
        self.wb = Workbook()
        self.names: dict[str, str] = {}
        """Defined name → `'Sheet'!$C$5` (or a range)."""
        self.wb.remove(self.wb.active)  # type: ignore[arg-type]

    def sheet(self, title: str) -> Worksheet:
        ws = self.wb.create_sheet(title)
        ws.sheet_view.showGridLines = False
        return ws

    # ------------------------------------------------------------------ names

    def define(self, name: str, ws: Worksheet, ref: str) -> str:
        """Give a cell or range (`C5`, `C5:C40`) a workbook-level name; returns the name."""
        if name in self.names:
            raise ValueError(f"defined name {name!r} used twice")
        target = f"{quote_sheetname(ws.title)}!{absolute_coordinate(ref)}"
        self.wb.defined_names[name] = DefinedName(name, attr_text=target)
        self.names[name] = target
        return name

    # ------------------------------------------------------------------ writes

    @staticmethod
    def ref(ws: Worksheet, ref: str, *, here: Worksheet | None = None) -> str:
        """A reference usable in a formula on sheet `here` (sheet-qualified unless it is the same sheet)."""
        return ref if here is ws else f"{quote_sheetname(ws.title)}!{ref}"

    @staticmethod
    def value(ws: Worksheet, row: int, col: int, value: object, fmt: str | None = None) -> Cell:
        """A number, boolean or formula of ours (never user text: use `text`)."""
        if isinstance(value, Decimal):
            value = float(value)
        cell = ws.cell(row=row, column=col, value=value)  # type: ignore[arg-type]
        if fmt:
            cell.number_format = fmt
        return cell

    @staticmethod
    def text(ws: Worksheet, row: int, col: int, text: str, *, bold: bool = False, italic: bool = False) -> Cell:
        """Any text, user-supplied or not, stored as a string and never as a formula."""
        cell = write_text(ws.cell(row=row, column=col), text)
        if bold or italic:
            cell.font = Font(bold=bold, italic=italic)
        return cell

    @staticmethod
    def style_input(cell: Cell) -> None:
        """Financial-model convention: inputs are blue on light yellow, everything else is a formula."""
        cell.fill = _INPUT_FILL
        cell.font = Font(color="0000FF")
        cell.border = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)

    @staticmethod
    def style_info(cell: Cell) -> None:
        cell.font = Font(italic=True, color="595959")

    def header_row(self, ws: Worksheet, row: int, col: int, labels: Iterable[str]) -> None:
        for i, label in enumerate(labels):
            cell = self.text(ws, row, col + i, label)
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = _HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")

    def title(self, ws: Worksheet, text: str, *, subtitle: str | None = None) -> None:
        cell = self.text(ws, 1, 1, text)
        cell.font = Font(bold=True, size=14, color=_BLUE)
        if subtitle:
            self.text(ws, 2, 1, subtitle, italic=True)

    def section(self, ws: Worksheet, row: int, text: str, *, width: int = 6) -> None:
        cell = self.text(ws, row, 1, text)
        cell.font = Font(bold=True, size=12, color=_BLUE)
        for c in range(1, width + 1):
            ws.cell(row=row, column=c).fill = _SECTION_FILL

    @staticmethod
    def widths(ws: Worksheet, widths: dict[int, float]) -> None:
        for col, w in widths.items():
            ws.column_dimensions[get_column_letter(col)].width = w

    @staticmethod
    def print_setup(
        ws: Worksheet, *, title_rows: str | None = None, landscape: bool = True, break_before: int | None = None
    ) -> None:
        """Fit one page wide (as many pages tall as needed), repeat the header rows on every page.

        Header rows below the top repeat from the page they first print on (Excel and LibreOffice alike), so
        a second table lower down gets its own repeated header with `break_before` (its first row) and
        `title_rows` (its header rows). A sheet too wide for one page is spread across more at save time
        (`_layout.finish_sheet`).
        """
        ws.page_setup.orientation = "landscape" if landscape else "portrait"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.print_options.gridLines = False
        ws.page_margins.left = ws.page_margins.right = 0.4
        if title_rows:
            ws.print_title_rows = title_rows
        if break_before is not None and break_before > 1:
            ws.row_breaks.append(Break(id=break_before - 1))

    def to_bytes(self) -> bytes:
        """The saved workbook: every formula with its computed value stored beside it (see `_values`), every
        chart with its data (see `_chart_cache`), every sheet laid out to print legibly (see `_layout`)."""
        import io

        values = compute_values(self.wb)
        for ws in self.wb.worksheets:
            finish_sheet(ws, values)
        cache_charts(self.wb, values)
        buf = io.BytesIO()
        self.wb.save(buf)
        return store_values(buf.getvalue(), values)
