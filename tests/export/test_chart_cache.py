"""Every chart in the workbook carries its data, so previewers that do not calculate draw it (not an empty frame).

A chart series refers to cells (`<c:f>`) and may keep a copy of them (`<c:numCache>`, `<c:strCache>`,
ECMA-376 Part 1 §21.2.2.120 and §21.2.2.197); readers such as Quick Look draw only the copy.
"""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree

import openpyxl
import pytest
from openpyxl.chart import LineChart, Reference
from openpyxl.chart.series import SeriesLabel, StrRef
from openpyxl.utils.cell import get_column_letter, range_to_tuple

from costmodel.demo import demo_scenario
from costmodel.export import to_xlsx
from costmodel.export._book import Book

C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"


def _charts(data: bytes) -> list[ElementTree.Element]:
    z = zipfile.ZipFile(io.BytesIO(data))
    names = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart") and n.endswith(".xml"))
    return [ElementTree.fromstring(z.read(n)) for n in names]


def _cache(ref: ElementTree.Element) -> tuple[int, dict[int, str]]:
    """A reference's cache: its point count and its points by index (a gap has no point)."""
    cache = ref.find(f"{C}numCache")
    if cache is None:
        cache = ref.find(f"{C}strCache")
    assert cache is not None, f"no cache for {ref.findtext(f'{C}f')}"
    count = int(cache.find(f"{C}ptCount").get("val"))
    return count, {int(p.get("idx")): p.findtext(f"{C}v") for p in cache.findall(f"{C}pt")}


def _small_book() -> bytes:
    """Months 1–3 with a cost each (one a formula, one blank), and text labels with one that looks like a formula."""
    book = Book()
    ws = book.sheet("Data")
    book.text(ws, 1, 2, "Cost (USD)")
    for row, (month, cost) in enumerate([(1, 10.5), (2, "=B2*2"), (3, None)], start=2):
        book.value(ws, row, 1, month)
        if cost is not None:
            book.value(ws, row, 2, cost)
    for row, label in enumerate(["API", "=1+1", "GPU"], start=2):
        book.text(ws, row, 3, label)  # user text: "=1+1" is text, not a formula
    chart = LineChart()
    chart.add_data(Reference(ws, min_col=2, min_row=2, max_row=4), titles_from_data=False)
    chart.series[0].tx = SeriesLabel(strRef=StrRef("'Data'!$B$1"))
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=4))
    ws.add_chart(chart, "E2")
    labels = LineChart()
    labels.add_data(Reference(ws, min_col=2, min_row=2, max_row=4), titles_from_data=False)
    labels.set_categories(Reference(ws, min_col=3, min_row=2, max_row=4))
    ws.add_chart(labels, "E20")
    return book.to_bytes()


def test_series_values_names_and_categories_are_cached() -> None:
    months, labels = _charts(_small_book())
    ser = months.find(f".//{C}ser")
    # B2 = 10.5, B3 = B2*2 = 21 (computed at export), B4 blank: a gap that still counts as a point
    assert _cache(ser.find(f"{C}val/{C}numRef")) == (3, {0: "10.5", 1: "21"})
    assert _cache(ser.find(f"{C}tx/{C}strRef")) == (1, {0: "Cost (USD)"})
    assert _cache(ser.find(f"{C}cat/{C}numRef")) == (3, {0: "1", 1: "2", 2: "3"})
    # text categories become a string reference (as Excel writes them), the formula-like one kept as text
    cat = labels.find(f".//{C}ser/{C}cat")
    assert cat.find(f"{C}numRef") is None
    assert cat.findtext(f"{C}strRef/{C}f") == "'Data'!$C$2:$C$4"
    assert _cache(cat.find(f"{C}strRef")) == (3, {0: "API", 1: "=1+1", 2: "GPU"})


def test_the_references_stay_live() -> None:
    months, _ = _charts(_small_book())
    refs = [f.text for f in months.iter(f"{C}f")]
    assert refs == ["'Data'!$B$1", "'Data'!$A$2:$A$4", "'Data'!$B$2:$B$4"]


@pytest.fixture(scope="module")
def demo_xlsx() -> bytes:
    return to_xlsx(demo_scenario())


def test_every_chart_reference_in_the_workbook_caches_what_its_cells_hold(demo_xlsx: bytes) -> None:
    stored = openpyxl.load_workbook(io.BytesIO(demo_xlsx), data_only=True)  # the values stored beside formulas
    checked = 0
    for chart in _charts(demo_xlsx):
        for f in chart.iter(f"{C}f"):
            ref = next(r for r in chart.iter() if r.find(f"{C}f") is f)
            sheet, (c1, r1, c2, r2) = range_to_tuple(f.text)
            cells = [
                stored[sheet][f"{get_column_letter(c)}{r}"].value for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
            ]
            count, points = _cache(ref)
            assert count == len(cells), f.text
            want = {i: v for i, v in enumerate(cells) if v is not None}
            assert points.keys() == want.keys(), f.text
            for i, v in want.items():
                if isinstance(v, str):
                    assert points[i] == v, (f.text, i)
                else:
                    assert float(points[i]) == pytest.approx(float(v), rel=1e-12), (f.text, i)
            checked += 1
    assert checked >= 3 * 2  # cumulative lines (value, name, months per option), the bars and the tornado
