"""Every formula of the exported workbook carries its value, so readers that do not calculate see figures.

Readers that do not calculate: pandas, `openpyxl.load_workbook(data_only=True)`, file previewers, mail
clients. The stored value must equal the live formula (recomputed independently by `formulas` from the
inputs alone: `Recalc` drops the stored values first) and, for the KPIs and monthly figures, the engine.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import range_boundaries
from openpyxl.utils.cell import get_column_letter

from costmodel.export import to_xlsx
from costmodel.tco import evaluate
from tests.export.helpers import grouped, scenario_cases
from tests.export.recalc import CENT, Recalc, mismatches

CASES = dict(scenario_cases())


class Stored:
    """The stored values of a workbook, read the way `recalc.Solution` reads recomputed ones."""

    def __init__(self, data: bytes) -> None:
        self.wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
        self.names = {}
        for name, dn in self.wb.defined_names.items():
            ((sheet, ref),) = list(dn.destinations)
            self.names[name] = (sheet, ref.replace("$", ""))

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def get(self, name: str) -> Any:
        sheet, ref = self.names[name]
        ws = self.wb[sheet]
        if ":" not in ref:
            return ws[ref].value
        c1, r1, c2, r2 = range_boundaries(ref)
        return [ws[f"{get_column_letter(c)}{r}"].value for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]


def _formula_cells(data: bytes) -> list[tuple[str, str, str]]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [(ws.title, c.coordinate, c.value) for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]


@pytest.mark.parametrize("case_id", [grouped(c) for c in CASES])
def test_every_stored_value_equals_the_live_formula(case_id: str, books: Callable[[str], Recalc]) -> None:
    book = books(case_id)
    live = book.solve()
    stored = openpyxl.load_workbook(io.BytesIO(book.data), data_only=True)
    cells = _formula_cells(book.data)
    assert len(cells) >= 20
    wrong = []
    for sheet, coord, formula in cells:
        want, got = live.cell(sheet, coord), stored[sheet][coord].value
        if isinstance(want, str) and want == "":
            ok = got is None  # an empty text result: openpyxl reads <v></v> as a blank
        elif isinstance(want, bool | str):
            ok = got == want
        else:
            # to the cent, and as exactly as two double-precision computations agree for per-token prices
            ok = isinstance(got, int | float) and math.isclose(got, want, rel_tol=1e-9, abs_tol=min(CENT, 1e-12))
        if not ok:
            wrong.append(f"{sheet}!{coord} {formula}: stored {got!r}, live {want!r}")
    assert wrong == []


@pytest.mark.parametrize("case_id", list(CASES))
def test_stored_kpis_and_months_equal_the_engine(case_id: str) -> None:
    scenario = CASES[case_id]
    result = evaluate(scenario)
    assert mismatches(Stored(to_xlsx(scenario, result=result)), result) == []  # type: ignore[arg-type]


def test_pandas_reads_the_summary_figures() -> None:
    scenario = CASES["api-bill-10k-50k"]
    result = evaluate(scenario)
    data = to_xlsx(scenario, result=result)
    df = pd.read_excel(io.BytesIO(data), sheet_name="Summary", header=None)
    header = next(i for i in range(len(df)) if df.iloc[i, 0] == "Option")
    table = pd.read_excel(io.BytesIO(data), sheet_name="Summary", header=header, nrows=len(result.options))
    assert list(table["Option"]) == [o.name for o in result.options]
    horizon_col = f"Cost over {scenario.horizon_months} months"
    for o, month1, horizon in zip(result.options, table["Month-1 cost"], table[horizon_col], strict=True):
        assert month1 == pytest.approx(float(o.month1_usd), abs=CENT)
        assert horizon == pytest.approx(float(o.horizon_usd), abs=CENT)
    assert not table[["Month-1 cost", horizon_col, "Cost per 1M tokens"]].isna().any().any()
    cheapest = min(result.options, key=lambda o: o.horizon_usd)
    assert df.iloc[7, 4] == cheapest.name  # "Cheapest over the horizon (live)" holds a text result
    monthly = pd.read_excel(io.BytesIO(data), sheet_name="Monthly", header=3)
    assert monthly["Tokens"].iloc[0] == pytest.approx(
        scenario.workload.requests_per_month * scenario.workload.tokens_per_request
    )


def test_formulas_stay_live_and_the_file_still_recalculates_on_open() -> None:
    data = to_xlsx(CASES["api-bill-10k-50k"])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert 'fullCalcOnLoad="1"' in z.read("xl/workbook.xml").decode()
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    summary = sheets[0]
    assert re.search(r'<c r="E8" t="str"><f>INDEX\([^<]+</f><v>[^<]+</v></c>', summary)  # text result, formula kept
    assert re.search(r'<c r="D12" s="\d+"><f>INDEX\([^<]+</f><v>[0-9.]+</v></c>', summary)  # a number: no type
    for xml in sheets:
        assert "<f>" in xml or xml is not summary
        assert not re.search(r"</f><v\s*/>", xml)  # openpyxl's empty value is gone everywhere


def test_usage_sheet_totals_are_stored(usage_db: Path) -> None:
    import duckdb

    from costmodel.export import usage_summary

    con = duckdb.connect(str(usage_db), read_only=True)
    usage = usage_summary(con, source="test")
    con.close()
    assert usage is not None
    data = to_xlsx(CASES["api-bill-10k-50k"], usage=usage)
    ws = openpyxl.load_workbook(io.BytesIO(data), data_only=True)["Usage"]
    total_row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Total")
    assert ws.cell(total_row, 4).value == sum(m.requests for m in usage.by_model)
    assert ws.cell(total_row, 8).value == sum(m.input_tokens + m.output_tokens for m in usage.by_model)
