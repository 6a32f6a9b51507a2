"""The dashboard's Business case page: two download buttons that hand out a valid workbook and summary."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).parents[2] / "dashboard" / "app_pages" / "business_case.py")


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[MemoryMediaFileStorage]:
    """The in-memory stores AppTest creates for a run, so the test can read what a download would serve."""
    stores: list[MemoryMediaFileStorage] = []
    original = MemoryMediaFileStorage.__init__

    def init(self: MemoryMediaFileStorage, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        stores.append(self)

    monkeypatch.setattr(MemoryMediaFileStorage, "__init__", init)
    return stores


def test_download_buttons_serve_a_workbook_and_a_summary(served: list[MemoryMediaFileStorage]) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception
    buttons = at.get("download_button")
    labels = [b.proto.label for b in buttons]
    assert labels == ["Download the Excel business case (.xlsx)", "Download the one-page summary (.html)"]
    files = {f.filename: f for store in served for f in store._files_by_id.values()}
    xlsx = next(f for name, f in files.items() if name and name.endswith(".xlsx"))
    html = next(f for name, f in files.items() if name and name.endswith(".html"))
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames[:4] == ["Summary", "Inputs", "Options", "Monthly"]
    assert xlsx.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert html.content.decode("utf-8").startswith("<!doctype html>")
    assert any("No usage logs stored yet" in c.value for c in at.caption)


def test_via_the_router() -> None:
    at = AppTest.from_file(str(Path(PAGE).parents[1] / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/business_case.py").run()
    assert not at.exception
    assert len(at.get("download_button")) == 2


def test_stored_usage_becomes_a_usage_sheet(
    served: list[MemoryMediaFileStorage], monkeypatch: pytest.MonkeyPatch, usage_db: Path
) -> None:
    import duckdb

    import costmodel.export

    con = duckdb.connect(str(usage_db), read_only=True)
    usage = costmodel.export.usage_summary(con)
    con.close()
    monkeypatch.setattr(costmodel.export, "usage_summary", lambda cursor, source: usage)
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception
    assert any("Usage sheet: 9 model-months" in c.value for c in at.caption)
    xlsx = next(f for s in served for f in s._files_by_id.values() if (f.filename or "").endswith(".xlsx"))
    assert "Usage" in openpyxl.load_workbook(io.BytesIO(xlsx.content)).sheetnames
