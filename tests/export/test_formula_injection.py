"""Text from users and logs can never become a formula: it is stored as a string and shown as typed."""

from __future__ import annotations

import io
import re

import duckdb
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.export import to_html, to_xlsx, usage_summary
from costmodel.export.sanitize import FORMULA_TRIGGERS, html_text, is_formula_like, write_text, xlsx_text
from costmodel.scenario import Scenario
from tests.export.helpers import HOSTILE, make_usage_db, usage_rows


def _decode(text: str) -> str:
    """What Excel shows for an OOXML string: `_xHHHH_` escapes decoded."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def hostile_scenario() -> Scenario:
    """Every user-typed name hostile: scenario, options, hybrid task classes (names are 120 chars at most)."""
    api, cloud = HOSTILE[0][:120], HOSTILE[1]
    return Scenario.model_validate(
        {
            "name": HOSTILE[2],
            "options": [
                {"kind": "api", "name": api, "provider": "openai", "model": "gpt-4o-mini"},
                {"kind": "cloud_gpu", "name": cloud, "model": "llama-3.1-8b", "gpu": "L40S", "quant": "fp8"},
                {"kind": "on_prem", "name": HOSTILE[3], "model": "llama-3.1-8b", "gpu": "L40S", "quant": "fp8"},
                {
                    "kind": "hybrid",
                    "name": HOSTILE[4],
                    "open_option": cloud,
                    "api_option": api,
                    "task_classes": [
                        {"name": HOSTILE[5], "share": 0.6, "on_open_model": True},
                        {"name": HOSTILE[6], "share": 0.4, "on_open_model": False},
                    ],
                },
                {
                    "kind": "managed",
                    "name": HOSTILE[7],
                    "provider": "together",
                    "model": "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
                },
            ],
            "horizon_months": 6,
            "price_date": "2026-11-25",
        }
    )


@pytest.fixture(scope="module")
def hostile_workbook(tmp_path_factory: pytest.TempPathFactory) -> openpyxl.Workbook:
    db = make_usage_db(tmp_path_factory.mktemp("usage") / "u.duckdb", usage_rows())
    con = duckdb.connect(str(db), read_only=True)
    usage = usage_summary(con)
    con.close()
    assert usage is not None
    return openpyxl.load_workbook(io.BytesIO(to_xlsx(hostile_scenario(), usage=usage)))


def _cells(wb: openpyxl.Workbook):
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None:
                    yield ws, c


@pytest.mark.parametrize("text", HOSTILE)
def test_every_hostile_string_is_stored_as_text_and_shown_literally(
    hostile_workbook: openpyxl.Workbook, text: str
) -> None:
    stored = xlsx_text(text)
    hits = [c for _, c in _cells(hostile_workbook) if isinstance(c.value, str) and stored in c.value]
    exact = [c for c in hits if c.value == stored]
    assert exact, f"{text!r} is not in the workbook"  # the names (and log fields) are really there
    for c in hits:
        assert c.data_type == "s", (c.coordinate, c.value)
    for c in exact:
        assert _decode(c.value) == text  # Excel decodes the escape back to exactly what was typed
        assert c.quotePrefix == is_formula_like(text)  # and keeps it text even when the cell is edited


def test_no_formula_carries_user_text(hostile_workbook: openpyxl.Workbook) -> None:
    """Formulas are ours only: none contains a name, a log field or anything else a user typed."""
    fragments = ["HYPERLINK", "cmd|", "calc", "notepad", "bell", "attacker"]
    for ws, c in _cells(hostile_workbook):
        if c.data_type == "f":
            assert not any(f in str(c.value) for f in fragments), (ws.title, c.coordinate, c.value)


def test_user_text_reaches_the_usage_sheet_only_as_text(hostile_workbook: openpyxl.Workbook) -> None:
    ws = hostile_workbook["Usage"]
    models = {ws.cell(r, 3).value for r in range(6, ws.max_row + 1)}
    projects = {ws.cell(r, 2).value for r in range(6, ws.max_row + 1)}
    assert {xlsx_text(h) for h in HOSTILE[:3]} <= models | projects
    assert all(ws.cell(r, c).data_type != "f" for r in range(6, ws.max_row + 1) for c in (2, 3))


def test_document_properties_and_sheet_names_are_safe(hostile_workbook: openpyxl.Workbook) -> None:
    assert hostile_workbook.properties.title == xlsx_text(f"Business case: {HOSTILE[2]}")
    assert hostile_workbook.sheetnames[:3] == ["Summary", "Inputs", "Options"]


def test_the_summary_page_escapes_hostile_names() -> None:
    page = to_html(hostile_scenario())
    assert "<script" not in page.lower()
    assert 'HYPERLINK("http' not in page  # quotes escaped
    assert html_text(HOSTILE[0]) in page
    assert "\x07" not in page


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_any_text_round_trips_through_a_cell(text: str) -> None:
    wb = openpyxl.Workbook()
    write_text(wb.active["A1"], text)
    buf = io.BytesIO()
    wb.save(buf)
    cell = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active["A1"]
    if text == "":
        assert cell.value is None
        return
    assert cell.data_type == "s"
    assert cell.value == xlsx_text(text)
    assert _decode(cell.value) == text
    assert cell.quotePrefix == text.startswith(FORMULA_TRIGGERS)
