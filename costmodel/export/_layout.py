"""The last pass over a finished workbook before it is saved: make every sheet print legibly.

Spreadsheet applications size rows for wrapped text only when they lay a sheet out themselves: LibreOffice
takes the row heights of an .xlsx as written, so wrapped text overprints the next row and a long source
clipped by the as-of date beside it prints as "resolved at 20262026-11-25". And a sheet fitted to one page
wide prints at a few points when it has sixty columns. So, for every sheet:

- text wider than its cell, with no empty room to its right (or running off the printed columns), wraps;
- every row is made tall enough for its wrapped text (headers included), judged from the text itself or,
  for a formula, from the value it computes to;
- a column too narrow for the numbers it holds is widened (a spreadsheet shows `###` otherwise);
- a sheet too wide to print one page wide at 60 % or more prints over as many pages across as it needs,
  repeating its frozen first columns on each.

Widths are estimated for DejaVu Sans, the widest of the fonts LibreOffice substitutes for Calibri, so
the estimates hold with Calibri (Excel) or Carlito too. Units: a column width is in characters of the
default font's digit (about 7 px at 96 dpi); a row height is in points.
"""

from __future__ import annotations

import math
import re
from copy import copy

from openpyxl.cell.cell import MergedCell
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from costmodel.export._values import Scalar, XlError

__all__ = ["FONT", "MIN_PRINT_SCALE", "finish_sheet", "text_width"]

FONT = "Calibri"
"""Every cell's font family (openpyxl leaves it unnamed for fonts made with only bold or colour set, and
LibreOffice then prints those in a serif)."""

MIN_PRINT_SCALE = 0.6
"""A sheet prints at this scale or larger: below it, it spreads over more pages across."""

_DEFAULT_WIDTH = 8.43  # Excel's default column width, in characters
_LINE_PT = 15.0  # height of one line of 11-pt text, in points (Excel's default row height)
_PRINTABLE_PT = {"landscape": 842 - 2 * 0.4 * 72, "portrait": 595 - 2 * 0.4 * 72}  # A4 less 0.4" margins
_PT_PER_CHAR = 5.25  # 7 px of 96 dpi
_PAD_PT = 3.75  # 5 px of cell padding per column
_CM_PT = 72 / 2.54

_NARROW = set("ijlrtfI.,:;'|!()[] ")
_WIDE = set("mwMW@%—")


def text_width(text: str, *, size: float = 11, bold: bool = False) -> float:
    """The width of one line of text, in column-width characters (DejaVu Sans metrics, rounded up)."""
    units = 0.0
    for ch in text:
        if ch in _NARROW:
            units += 0.55
        elif ch in _WIDE:
            units += 1.45
        elif ch.isupper() or ch.isdigit() or ch in "$#&?_~":
            units += 1.12
        else:
            units += 1.0
    return units * size / 11 * (1.1 if bold else 1.0)


def _lines(text: str, width: float, *, size: float, bold: bool) -> int:
    """How many lines `text` takes when wrapped at word boundaries into a cell `width` characters wide."""
    room = max(1.0, width - 1.0)  # a character's worth of cell padding
    space = text_width(" ", size=size, bold=bold)
    total = 0
    for paragraph in str(text).split("\n"):
        lines, used = 1, 0.0
        for word in paragraph.split(" "):
            w = text_width(word, size=size, bold=bold)
            if used and used + space + w > room:
                lines, used = lines + 1, 0.0
            if w > room:  # a word longer than the line breaks wherever it must
                extra = math.ceil(w / room) - 1
                lines, used = lines + extra, w - extra * room
            else:
                used += (space if used else 0.0) + w
        total += lines
    return total


# ---------------------------------------------------------------------------------------------- numbers

_QUOTED = re.compile(r'"([^"]*)"')
_CONDITION = re.compile(r"^\[([<>=]{1,2})(-?[0-9.]+)\]")


def _number_text(x: float, fmt: str) -> str:
    """About what a number format shows for `x` (enough to size the column; not a full formatter)."""
    sections = fmt.split(";")
    section = sections[0]
    if _CONDITION.match(section):
        section = sections[-1]
        for s in sections:
            m = _CONDITION.match(s)
            if m and _holds(x, m.group(1), float(m.group(2))):
                section = s
                break
    elif x < 0 and len(sections) > 1:
        section, x = sections[1], -x
    section = re.sub(r"\[[^\]]*\]", "", section)
    literal = "".join(_QUOTED.findall(section)) + re.sub(r'"[^"]*"|[0#?.,%E+\-\\]', "", section)
    code = _QUOTED.sub("", section)
    if "E+" in code.upper():
        return f"{x:.2E}{literal}"
    if "%" in code:
        x *= 100
    scale = len(re.search(r"(,*)$", code.replace("%", "").rstrip()).group(1))  # type: ignore[union-attr]
    x /= 1000**scale
    decimals = len(code.split(".", 1)[1].rstrip(",%")) if "." in code else 0
    grouped = "," in code.rstrip(",")
    body = f"{x:,.{decimals}f}" if grouped else f"{x:.{decimals}f}"
    return body + literal + ("%" if "%" in code else "")


def _holds(x: float, op: str, bound: float) -> bool:
    return {
        ">": x > bound,
        ">=": x >= bound,
        "<": x < bound,
        "<=": x <= bound,
        "=": x == bound,
        "<>": x != bound,
    }.get(op, False)


# ---------------------------------------------------------------------------------------------- the pass


def _width(ws: Worksheet, col: int) -> float:
    dim = ws.column_dimensions.get(get_column_letter(col))
    return float(dim.width) if dim is not None and dim.customWidth and dim.width else _DEFAULT_WIDTH


def finish_sheet(ws: Worksheet, values: dict[tuple[str, str], Scalar]) -> None:
    """Fonts, wrapping, row heights, column widths for numbers and the print scale of one sheet.

    Args:
        ws: a finished sheet (nothing is written to it afterwards).
        values: every formula's value (`costmodel.export._values.compute_values`), to size its text.
    """
    merged = {}
    covered = set()
    for rng in ws.merged_cells.ranges:
        merged[(rng.min_row, rng.min_col)] = sum(_width(ws, c) for c in range(rng.min_col, rng.max_col + 1))
        covered |= {(r, c) for r in range(rng.min_row, rng.max_row + 1) for c in range(rng.min_col, rng.max_col + 1)}
    last_col = ws.max_column
    for cell in ws._cells.values():  # type: ignore[attr-defined]
        if cell.value == "" and cell.data_type == "s":
            cell.value = None  # an empty string stops text overflowing into it (Excel, LibreOffice); a blank does not
    occupied = {(c.row, c.column) for c in ws._cells.values() if c.value is not None}  # type: ignore[attr-defined]
    heights: dict[int, float] = {}
    widen: dict[int, float] = {}
    fonts = ws.parent._fonts  # the workbook's font table: a cell holds an index into it
    named: dict[int, object] = {}
    widths = {c: _width(ws, c) for c in range(1, last_col + 1)}
    numbers: dict[tuple[int, str, float], tuple[float, float]] = {}
    for cell in list(ws._cells.values()):  # type: ignore[attr-defined]
        if isinstance(cell, MergedCell):  # the covered part of a merged cell
            continue
        font_id = cell._style.fontId if cell._style is not None else 0  # no style of its own: the default font
        font = fonts[font_id]
        if font.name is None:
            if font_id not in named:
                named[font_id] = copy(font)
                named[font_id].name = FONT  # type: ignore[attr-defined]
            cell.font = font = named[font_id]
        v = cell.value
        if v is None:
            continue
        shown: object = values.get((ws.title, cell.coordinate), v) if cell.data_type == "f" else v
        row, col = cell.row, cell.column
        if (row, col) in covered and (row, col) not in merged:
            continue
        size, bold = float(font.sz or 11), bool(font.b)
        if isinstance(shown, XlError):
            shown = shown.code
        if isinstance(shown, int | float) and not isinstance(shown, bool):
            if (row, col) not in merged:  # sized below, once per column and format, by the widest number
                key = (col, cell.number_format or "General", size)
                big, small = numbers.get(key, (shown, shown))
                numbers[key] = (max(big, shown), min(small, shown))
            continue
        text = str(shown)
        if not text:
            continue
        width = merged.get((row, col), widths[col])
        align = cell.alignment
        if not align.wrap_text:
            need = max(text_width(line, size=size, bold=bold) for line in text.split("\n")) + 0.5
            room, c = width, col + 1
            if align.horizontal in (None, "general", "left") and "\n" not in text:
                while room < need and c <= last_col and (row, c) not in occupied and (row, c) not in covered:
                    room += widths[c]
                    c += 1
            if need <= room:
                continue
            if c > col + 1 and (row, col) not in merged:
                # wrap over the empty cells it would have run into, not down a narrow column
                ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=c - 1)
                covered |= {(row, k) for k in range(col, c)}
                merged[(row, col)] = width = room
            wrapped = copy(align)
            wrapped.wrap_text = True
            cell.alignment = wrapped
        n = _lines(text, width, size=size, bold=bold)
        if n > 1 or size > 11:
            heights[row] = max(heights.get(row, 0.0), n * _LINE_PT * size / 11 + 2)
    for (col, fmt, size), extremes in numbers.items():
        need = max(text_width(_number_text(float(x), fmt), size=size) for x in extremes) + 1.5
        if need > widths[col]:
            widen[col] = max(widen.get(col, 0.0), need)
    for row in heights:  # a row of several lines reads from its top, like the wrapped cell in it
        for c in range(1, last_col + 1):
            cell = ws._cells.get((row, c))  # type: ignore[attr-defined]
            if cell is not None and cell.value is not None and cell.alignment.vertical is None:
                top = copy(cell.alignment)
                top.vertical = "top"
                cell.alignment = top
    for col, need in widen.items():
        ws.column_dimensions[get_column_letter(col)].width = math.ceil(need)
    for row, need in heights.items():
        dim = ws.row_dimensions[row]
        if dim.height is None or dim.height < need:
            dim.height = math.ceil(need)
    _print_scale(ws)


def _print_scale(ws: Worksheet) -> None:
    """Fit one page wide when that prints at `MIN_PRINT_SCALE` or more; else as few pages across as keep it."""
    setup = ws.page_setup
    if not (ws.sheet_properties.pageSetUpPr and ws.sheet_properties.pageSetUpPr.fitToPage) or setup.fitToWidth != 1:
        return
    widths = [_width(ws, c) for c in range(1, ws.max_column + 1)]
    right = sum(w * _PT_PER_CHAR + _PAD_PT for w in widths)
    for chart in ws._charts:  # type: ignore[attr-defined]
        anchor = chart.anchor  # "K6" as added, an anchor object once laid out
        col0 = (
            column_index_from_string(coordinate_from_string(anchor)[0]) - 1
            if isinstance(anchor, str)
            else anchor._from.col
        )
        left = sum(w * _PT_PER_CHAR + _PAD_PT for w in widths[:col0])
        right = max(right, left + chart.width * _CM_PT)
    printable = _PRINTABLE_PT.get(setup.orientation or "portrait", _PRINTABLE_PT["portrait"])
    pages = max(1, math.ceil(right * MIN_PRINT_SCALE / printable))
    if pages == 1:
        return
    setup.fitToWidth = pages
    setup.fitToHeight = 0
    setup.pageOrder = "overThenDown"
    pane = ws.freeze_panes
    if pane and ws.print_title_cols is None:
        first_unfrozen = ws[pane].column
        if first_unfrozen > 1:
            ws.print_title_cols = f"A:{get_column_letter(first_unfrozen - 1)}"
            _unmerge_from_title_columns(ws, first_unfrozen)


def _unmerge_from_title_columns(ws: Worksheet, first: int) -> None:
    """A merged cell that starts in a repeated column and runs past it would print its text over the
    neighbouring headers on every later page: it starts at the first unrepeated column instead."""
    for rng in list(ws.merged_cells.ranges):
        if rng.min_col < first <= rng.max_col:
            top_left = ws.cell(rng.min_row, rng.min_col)
            value, kind, style = top_left.value, top_left.data_type, copy(top_left._style)  # type: ignore[attr-defined]
            ws.unmerge_cells(str(rng))
            top_left.value = None
            moved = ws.cell(rng.min_row, first)
            moved.value, moved._style = value, style  # type: ignore[attr-defined]
            moved.data_type = kind  # user text stays text, whatever it starts with (see sanitize.write_text)
            if rng.max_col > first or rng.max_row > rng.min_row:
                ws.merge_cells(start_row=rng.min_row, start_column=first, end_row=rng.max_row, end_column=rng.max_col)
