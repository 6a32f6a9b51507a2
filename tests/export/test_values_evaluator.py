"""The export's own formula evaluator (`costmodel.export._values`) follows Excel's rules.

Each formula's expected value is what Excel shows (precedence, blanks, text, errors, rounding); the same
formulas are also recomputed by `formulas`, independently, wherever that package agrees with Excel.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName

from costmodel.export._values import _SPECIAL, FUNCTIONS, StoredValueWarning, XlError, compute_values, store_values
from tests.export.recalc import Recalc

# (formula, the value Excel shows, whether `formulas` agrees with Excel on it)
CASES: list[tuple[str, object, bool]] = [
    ("=1+2*3", 7.0, True),
    ("=(1+2)*3", 9.0, True),
    ("=-2^2", 4.0, True),  # Excel: negation binds tighter than ^
    ("=2^3^2", 64.0, True),  # left-associative
    ("=10-2-3", 5.0, True),
    ("=50%*2", 1.0, True),
    ("=1/0", XlError("#DIV/0!"), True),
    ("=A1*2", 3.0, True),  # A1 holds 1.5
    ("=A2+1", 1.0, True),  # A2 is blank: 0
    ('=A3&"-"&A1', "text-1.5", True),
    ("=A3*1", XlError("#VALUE!"), True),
    ('="7"+1', 8.0, True),  # numeric text is read as a number
    ("=A4+1", 2.0, True),  # TRUE is 1
    ("=SUM(A1:A5)", 1.5, True),  # text, blank and TRUE in a range are skipped
    ("=SUM(A1,TRUE,2)", 4.5, True),  # typed values count
    ("=MIN(B1:B4)", 2.0, True),
    ("=MAX(B1:B4)", 9.0, True),
    ("=MIN(A3:A3)", 0.0, True),  # nothing numeric: 0
    ("=COUNT(A1:A5)", 1.0, True),
    ("=COUNT(B1:B4)", 3.0, True),
    ('=IF(A1>1,"big","small")', "big", True),
    ('=IF(A1>9,"big")', False, True),
    ('=IF(A1>1,"",1)', "", True),
    ("=IF(A4,B1,1/0)", 2.0, True),  # the branch not taken is not evaluated
    ("=IF(A1>9,1/0,B2)", 9.0, True),
    ("=OR(A1>9,B1=2)", True, True),
    ("=AND(A1>1,B1>2)", False, True),
    ('=A3="TEXT"', True, True),  # text compares case-insensitively
    ("=A3>1", True, True),  # text sorts after numbers
    ("=0.1+0.2=0.3", True, False),  # Excel and LibreOffice: equal; `formulas`: not
    ("=ROUND(2.5,0)", 3.0, True),
    ("=ROUND(-2.5,0)", -3.0, True),
    ("=ROUND(2.675,2)", 2.68, True),  # decimal rounding, not the binary 2.67499…
    ("=ROUND(1234.5,-2)", 1200.0, True),
    ("=ROUNDUP(3.2,0)", 4.0, True),
    ("=ROUNDUP(-3.2,0)", -4.0, True),
    ("=ROUNDUP(3,0)", 3.0, True),
    ("=ROUNDUP(3.0000001-0.000000001,0)", 4.0, True),
    ("=INT(-3.2)", -4.0, True),
    ("=ABS(-3)", 3.0, True),
    ("=MOD(-7,3)", 2.0, True),
    ("=INDEX(B1:B4,2)", 9.0, True),
    ("=INDEX(B1:C2,2,2)", 20.0, True),
    ("=INDEX(B5:D5,3)", 33.0, True),  # one row: the index counts columns
    ("=INDEX(B1:B4,9)", XlError("#REF!"), True),
    ("=SUM(INDEX(B1:B4,1),INDEX(B1:B4,4))", 7.0, True),
    ("=SUM(INDEX(B1:B4,3))", 0.0, True),  # INDEX gives a reference: its text is skipped
    ("=MATCH(9,B1:B4,0)", 2.0, True),
    ('=MATCH("TeXt",A1:A5,0)', 3.0, True),
    ("=MATCH(4,B5:D5,1)", 1.0, True),
    ("=MATCH(99,B1:B4,0)", XlError("#N/A"), True),
    ("=ISNUMBER(A1)", True, True),
    ("=ISNUMBER(A3)", False, True),
    ("=ISNUMBER(1/0)", False, True),
    ('=IFERROR(1/0,"none")', "none", True),
    ("=NPV(0.1,B1:B2)", 2 / 1.1 + 9 / 1.21, True),
    ("=NPV(0.1,B1,B2)", 2 / 1.1 + 9 / 1.21, True),
    ("=SUMPRODUCT(B1:B2,C1:C2)", 2.0 * 10 + 9 * 20, True),
    ("=my_rate*100", 7.0, True),  # a defined name
    ("='Other sheet'!A1+other_cell", 300.0, True),  # a quoted sheet, and a name on another sheet
    ("=SUM(Other!B1:B3)", 6.0, True),
    ("=nobody_defined_this+1", XlError("#NAME?"), True),
    ("=1E-9*1000000000", 1.0, True),
    ("=(1+0.05)^(1/12)-1", 1.05 ** (1 / 12) - 1, True),
    ("=C3", 0.0, True),  # a reference to a blank shows 0
    ("=D1+1", 8.0, True),  # a formula over a formula
    ('=IF(COUNT(E1:E3)=0,"never",MIN(E1:E3))', 5.0, True),
    ('=IF(COUNT(E4:E5)=0,"never",MIN(E4:E5))', "never", True),
]


def _workbook() -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Main"
    ws["A1"], ws["A3"], ws["A4"] = 1.5, "text", True
    ws["B1"], ws["B2"], ws["B3"], ws["B4"] = 2, 9, "x", 5
    ws["C1"], ws["C2"] = 10, 20
    ws["B5"], ws["C5"], ws["D5"] = 3, 5, 33
    ws["D1"] = "=B4+2"
    ws["E1"], ws["E2"], ws["E3"] = '=IF(B1>5,1,"")', '=IF(B4>1,B4,"")', '=IF(C1>1,7,"")'
    ws["E4"], ws["E5"] = '=IF(B1>5,1,"")', '=IF(B1>5,1,"")'
    other = wb.create_sheet("Other sheet")
    other["A1"] = 100
    other["B1"] = 200
    plain = wb.create_sheet("Other")
    plain["B1"], plain["B2"], plain["B3"] = 1, 2, 3
    rates = wb.create_sheet("Rates")
    rates["A1"] = 0.07
    wb.defined_names["my_rate"] = DefinedName("my_rate", attr_text="'Rates'!$A$1")
    wb.defined_names["other_cell"] = DefinedName("other_cell", attr_text="'Other sheet'!$B$1")
    for k, (formula, _, _) in enumerate(CASES, start=1):
        ws.cell(row=k, column=10, value=formula)
    return wb


def _same(got: object, want: object) -> bool:
    if isinstance(want, float) and not isinstance(want, bool):
        return isinstance(got, float) and abs(got - want) <= 1e-12 * max(1.0, abs(want))
    return type(got) is type(want) and got == want


@pytest.fixture(scope="module")
def values() -> dict[tuple[str, str], object]:
    return compute_values(_workbook())


@pytest.mark.parametrize(("row", "formula", "want"), [(k, f, w) for k, (f, w, _) in enumerate(CASES, start=1)])
def test_formula_value_as_excel_shows_it(row: int, formula: str, want: object, values: dict) -> None:
    assert _same(values[("Main", f"J{row}")], want), f"{formula}: {values[('Main', f'J{row}')]!r}"


def test_formulas_package_agrees(tmp_path: Path, values: dict) -> None:
    """The same workbook recomputed by `formulas`: the expected values above are not only this module's opinion."""
    buf = io.BytesIO()
    _workbook().save(buf)
    solution = Recalc(buf.getvalue(), tmp_path).solve()
    disagree = []
    for k, (formula, want, agrees) in enumerate(CASES, start=1):
        if not agrees or isinstance(want, XlError):
            continue
        theirs = solution.cell("Main", f"J{k}")
        if isinstance(want, float):
            ok = isinstance(theirs, int | float) and abs(float(theirs) - want) <= 1e-9 * max(1.0, abs(want))
        else:
            ok = theirs == want
        if not ok:
            disagree.append(f"{formula}: formulas {theirs!r}, expected {want!r}")
    assert disagree == [], "\n".join(disagree)


def test_stored_in_the_file_with_excel_cell_types(values: dict) -> None:
    buf = io.BytesIO()
    wb = _workbook()
    wb.save(buf)
    data = store_values(buf.getvalue(), compute_values(wb))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    row = {f: k for k, (f, _, _) in enumerate(CASES, start=1)}
    assert f'<c r="J{row["=1/0"]}" t="e"><f>1/0</f><v>#DIV/0!</v></c>' in xml
    assert f'<c r="J{row["=ISNUMBER(A1)"]}" t="b"><f>ISNUMBER(A1)</f><v>1</v></c>' in xml
    assert f'<c r="J{row["=1+2*3"]}"><f>1+2*3</f><v>7</v></c>' in xml
    assert f'<c r="J{row[chr(61) + "A3&" + chr(34) + "-" + chr(34) + "&A1"]}" t="str">' in xml
    back = openpyxl.load_workbook(io.BytesIO(data), data_only=True)["Main"]
    assert back[f"J{row['=ROUND(2.675,2)']}"].value == 2.68
    assert back[f"J{row['=A3&' + chr(34) + '-' + chr(34) + '&A1']}"].value == "text-1.5"
    assert back[f"J{row['=OR(A1>9,B1=2)']}"].value is True
    assert back[f"J{row['=MATCH(99,B1:B4,0)']}"].value == "#N/A"
    live = openpyxl.load_workbook(io.BytesIO(data))["Main"]
    assert live[f"J{row['=1+2*3']}"].value == "=1+2*3"  # the formula stays


def test_a_long_chain_of_cells_needs_no_deep_recursion() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = 1
    for r in range(2, 5001):
        ws[f"A{r}"] = f"=A{r - 1}+1"
    ws["B1"] = "=A5000*2"
    assert compute_values(wb)[(ws.title, "B1")] == 10000.0


def test_what_it_cannot_evaluate_keeps_the_formula_and_warns() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "=WEIRDFUNC(1)+1"
    ws["A2"] = "=A3+1"
    ws["A3"] = "=A2+1"  # circular
    ws["A4"] = "=2*3"
    with pytest.warns(StoredValueWarning, match=r"WEIRDFUNC.*circular|circular.*WEIRDFUNC"):
        got = compute_values(wb)
    assert ("Sheet", "A1") not in got
    assert got[("Sheet", "A4")] == 6.0
    buf = io.BytesIO()
    wb.save(buf)
    data = store_values(buf.getvalue(), got)
    back = openpyxl.load_workbook(io.BytesIO(data))["Sheet"]
    assert back["A1"].value == "=WEIRDFUNC(1)+1"


def test_every_function_the_workbook_uses_is_implemented() -> None:
    """The functions of the real export (read from a real workbook) all have an implementation here."""
    import re

    from costmodel.demo import preset
    from costmodel.export import to_xlsx

    names = set()
    for stem in ("internal-search-rag", "api-bill-10k-50k"):
        wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(preset(stem))))
        for ws in wb:
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type == "f":
                        names |= set(re.findall(r"([A-Z][A-Z0-9.]*)\(", c.value))
    assert names and names <= set(FUNCTIONS) | set(_SPECIAL)
