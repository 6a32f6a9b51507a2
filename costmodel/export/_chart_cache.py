"""Each chart series' data stored inside the chart, beside its cell references (the chart's "cache").

A chart part refers to its data by range (`<c:numRef><c:f>'Monthly'!$C$5:$C$40</c:f>`) and may keep a copy
of it (`<c:numCache>`, `<c:strCache>`: ECMA-376 Part 1, §21.2.2.120 `numRef` and §21.2.2.197 `strRef`).
openpyxl writes the reference only. Excel and LibreOffice read the cells on opening, but a previewer that does
not calculate (Quick Look, mail clients, web viewers) draws only the cache, so the charts came out empty. The
cache is filled here from the same values `_values` stores in the cells, so every reader draws the same chart;
the references stay, and a reader that recalculates redraws from the cells.
"""

from __future__ import annotations

from decimal import Decimal

from openpyxl import Workbook
from openpyxl.chart.data_source import NumData, NumRef, NumVal, StrData, StrRef, StrVal
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_to_tuple

from costmodel.export._values import Scalar, XlError

__all__ = ["cache_charts"]


def _cells(wb: Workbook, values: dict[tuple[str, str], Scalar], ref: str) -> list[object]:
    """The values of the cells `ref` names (`'Sheet'!$A$1:$A$9`), row by row: a formula's computed value, a
    constant as written, None for a blank."""
    sheet, (c1, r1, c2, r2) = range_to_tuple(ref)  # openpyxl's `Reference` always names the sheet
    ws = wb[sheet]
    out: list[object] = []
    for r in range(r1, r2 + 1):
        for c in range(c1, c2 + 1):
            coord = f"{get_column_letter(c)}{r}"
            if (sheet, coord) in values:
                out.append(values[(sheet, coord)])
            else:
                cell = ws._cells.get((r, c))  # type: ignore[attr-defined]  # `ws[coord]` would create a blank
                # text a user typed may start with "=" and still be text (`sanitize`): ask the cell's type
                out.append(None if cell is None or cell.data_type == "f" else cell.value)
    return out


def _number(v: object) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
        return None  # a chart leaves a gap for a blank, text, a date or an error, as Excel does
    return float(v)


def _all_numbers(wb: Workbook, values: dict[tuple[str, str], Scalar], ref: str) -> bool:
    return all(_number(v) is not None for v in _cells(wb, values, ref) if v is not None)


def _num_cache(ref: NumRef, wb: Workbook, values: dict[tuple[str, str], Scalar]) -> None:
    cells = _cells(wb, values, ref.f)
    pts = [NumVal(idx=i, v=x) for i, x in enumerate(map(_number, cells)) if x is not None]
    ref.numCache = NumData(formatCode="General", ptCount=len(cells), pt=pts)


def _str_cache(ref: StrRef, wb: Workbook, values: dict[tuple[str, str], Scalar]) -> None:
    cells = _cells(wb, values, ref.f)
    pts = [StrVal(idx=i, v=_label(v)) for i, v in enumerate(cells) if v is not None]
    ref.strCache = StrData(ptCount=len(cells), pt=pts)


def _label(v: object) -> str:
    if isinstance(v, XlError):
        return v.code
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def cache_charts(wb: Workbook, values: dict[tuple[str, str], Scalar]) -> None:
    """Fill the cache of every series of every chart in `wb`: values, categories and series names.

    Args:
        wb: the workbook as written, charts added.
        values: every formula's value (`costmodel.export._values.compute_values` of the same workbook).
    """
    for ws in wb.worksheets:
        for chart in ws._charts:  # type: ignore[attr-defined]  # openpyxl keeps a sheet's charts here
            for series in chart.series:
                for source in (series.cat, series.xVal):  # category labels: numbers or text
                    if source is None:
                        continue
                    if source.numRef is not None and not _all_numbers(wb, values, source.numRef.f):
                        # `set_categories` always writes a number reference; text labels (option names) need a
                        # string one, as Excel writes, or a previewer has no labels to show
                        source.strRef, source.numRef = StrRef(f=source.numRef.f), None
                    if source.numRef is not None:
                        _num_cache(source.numRef, wb, values)
                    if source.strRef is not None:
                        _str_cache(source.strRef, wb, values)
                for source in (series.val, series.yVal):
                    if source is not None and source.numRef is not None:
                        _num_cache(source.numRef, wb, values)
                if series.tx is not None and series.tx.strRef is not None:
                    _str_cache(series.tx.strRef, wb, values)
