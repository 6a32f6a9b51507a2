"""The workbook where finance opens it: LibreOffice recomputes it equal to the engine and prints it legibly.

LibreOffice (headless, `libreoffice-calc-nogui`; `.ci/run` installs it) opens each exported workbook with
its stored values replaced by a poison value, under a profile that sets "recalculation on file load" for
Excel files to *always* (`org.openoffice.Office.Calc/Formula/Load/OOXMLRecalcMode` = 0; the default, 1,
keeps stored values). So every figure read back, or printed, is one LibreOffice computed itself: the
poison would show otherwise. It saves an .xlsx (its values are held to the engine and to the values the
export stored) and prints a PDF, whose text `pdftotext` (poppler-utils) reads back.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

from costmodel.export import to_xlsx
from costmodel.export._values import store_values
from costmodel.tco import ScenarioResult, evaluate
from tests.export.helpers import scenario_cases
from tests.export.recalc import mismatches
from tests.export.test_stored_values import Stored

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOTEXT = shutil.which("pdftotext")
pytestmark = [
    pytest.mark.skipif(
        SOFFICE is None or PDFTOTEXT is None,
        reason="needs LibreOffice (libreoffice-calc-nogui) and pdftotext (poppler-utils); .ci/run installs them",
    ),
    pytest.mark.xdist_group("libreoffice"),
]

CASES = ("api-bill-10k-50k", "customer-service-triage", "internal-search-rag")
"""The issue's preset (its break-even volume was printed raw), one with options that never pay back (NEVER
in the KPI table), one with owned servers (the break-even search sheet)."""

POISON = 987654.321
"""Stored in place of every formula's value before LibreOffice opens the file."""

_RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
</oor:items>
"""


@dataclass
class Opened:
    result: ScenarioResult
    exported: bytes
    """The workbook as `to_xlsx` wrote it."""
    saved: Path
    """The workbook as LibreOffice saved it after recomputing it."""
    pdf: Path


def _poisoned(data: bytes) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    cells = {(ws.title, c.coordinate): POISON for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"}
    buf = io.BytesIO()
    wb.save(buf)
    return store_values(buf.getvalue(), cells)


def _soffice(profile: Path, fmt: str, out: Path, files: list[Path]) -> None:
    cmd = [
        str(SOFFICE),
        "--headless",
        "--norestore",
        "--nolockcheck",
        f"-env:UserInstallation={profile.as_uri()}",
        "--convert-to",
        fmt,
        "--outdir",
        str(out),
        *map(str, files),
    ]
    # generous: a first start on a busy two-core machine takes tens of seconds
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    missing = [f.name for f in files if not (out / f.with_suffix(f".{fmt}").name).exists()]
    assert done.returncode == 0 and not missing, f"soffice failed ({done.returncode}): {done.stderr[-2000:]}"


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Opened]:
    root = tmp_path_factory.mktemp("libreoffice")
    profile = root / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_RECALC_ALWAYS)
    scenarios = dict(scenario_cases())
    inputs, out = root / "in", root / "out"
    inputs.mkdir()
    out.mkdir()
    books: dict[str, tuple[ScenarioResult, bytes]] = {}
    for case in CASES:
        result = evaluate(scenarios[case])
        data = to_xlsx(scenarios[case], result=result)
        books[case] = (result, data)
        (inputs / f"{case}.xlsx").write_bytes(_poisoned(data))
    files = [inputs / f"{c}.xlsx" for c in CASES]
    _soffice(profile, "xlsx", out, files)
    _soffice(profile, "pdf", out, files)
    return {c: Opened(r, d, out / f"{c}.xlsx", out / f"{c}.pdf") for c, (r, d) in books.items()}


def _text(pdf: Path, *args: str) -> str:
    return subprocess.run([str(PDFTOTEXT), *args, str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _pages(pdf: Path) -> list[str]:
    return _text(pdf, "-layout").split("\f")


@dataclass
class Word:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


def _words(pdf: Path) -> list[list[Word]]:
    xml = _text(pdf, "-bbox")
    pattern = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
    return [
        [Word(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in pattern.findall(page)]
        for page in xml.split("<page ")[1:]
    ]


@pytest.mark.parametrize("case", CASES)
def test_libreoffice_recomputes_every_figure_equal_to_the_engine(case: str, opened: dict[str, Opened]) -> None:
    book = opened[case]
    assert mismatches(Stored(book.saved.read_bytes()), book.result) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("case", CASES)
def test_libreoffice_computes_what_the_export_stored(case: str, opened: dict[str, Opened]) -> None:
    """Every formula cell: LibreOffice's own value (no poison left) equals the value stored at export."""
    book = opened[case]
    ours = openpyxl.load_workbook(io.BytesIO(book.exported), data_only=True)
    theirs = openpyxl.load_workbook(book.saved, data_only=True)
    formulas = openpyxl.load_workbook(io.BytesIO(book.exported))
    wrong, n = [], 0
    for ws in formulas:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type != "f":
                    continue
                n += 1
                want, got = ours[ws.title][c.coordinate].value, theirs[ws.title][c.coordinate].value
                if isinstance(want, int | float) and not isinstance(want, bool):
                    ok = isinstance(got, int | float) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
                else:
                    ok = (got or None) == (want or None)
                if not ok:
                    wrong.append(f"{ws.title}!{c.coordinate} {c.value}: LibreOffice {got!r}, stored {want!r}")
    assert n > 100
    assert wrong == []


@pytest.mark.parametrize("case", CASES)
def test_printed_text_reads_as_meant(case: str, opened: dict[str, Opened]) -> None:
    text = "\n".join(_pages(opened[case].pdf))
    assert str(POISON) not in text and "987,654" not in text
    assert "20262026" not in text  # a source's date no longer runs into the as-of column
    assert not re.search(r"baseline baseline", text)  # neighbouring stand-ins keep their distance
    assert not re.search(r"\$[\d,]+ n/a", text)
    assert not re.search(r"(?<!not )within horizon", text.replace("\n", " "))  # never "within horizon" alone
    assert "###" not in text  # a number too wide for its column


def test_not_within_horizon_is_printed_in_full(opened: dict[str, Opened]) -> None:
    book = opened["customer-service-triage"]
    others = [o for o in book.result.options if o.name != book.result.baseline]
    never = sum((o.payback_month is None) + (o.break_even_month is None) for o in others)
    pages = _pages(book.pdf)
    # on the Summary page (the first), each NEVER cell prints "not within" (its last word may wrap below)
    assert never > 0
    assert len(re.findall(r"not within", pages[0])) >= never + 1  # + the note under the table


def test_break_even_volume_reads_in_billions(opened: dict[str, Opened]) -> None:
    book = opened["api-bill-10k-50k"]
    text = "\n".join(_pages(book.pdf))
    volumes = [
        v
        for o in book.result.options
        for a, v in o.break_even_tokens_per_month.items()
        if a == book.result.baseline and v is not None and v >= 1e9
    ]
    assert volumes
    for v in volumes:
        assert f"{float(v) / 1e9:.2f}B tokens/month" in text
        assert f"{int(v):,}" not in text  # the raw "1,854,150,321" of the issue
    # the cell keeps the live number
    stored = Stored(book.saved.read_bytes())
    names = [n for n in stored.names if re.fullmatch(r"o\d+_be_tokens_vs_o1", n)]
    assert names and all(isinstance(stored.get(n), int | float) for n in names)


@pytest.mark.parametrize("case", CASES)
def test_every_page_is_legible_and_nothing_overprints(case: str, opened: dict[str, Opened]) -> None:
    """Text is at least 5 pt tall (the Monthly sheet printed at about 3 pt), and no two words overlap
    (wrapped text over the next row, a source over its date)."""
    small, overlaps = [], []
    for k, words in enumerate(_words(opened[case].pdf), start=1):
        assert words, f"page {k} is empty"
        lowest = min(w.y1 - w.y0 for w in words)
        if lowest < 5.0:
            small.append(f"page {k}: {lowest:.1f} pt")
        words.sort(key=lambda w: w.y0)
        for i, a in enumerate(words):
            for b in words[i + 1 :]:
                if b.y0 >= a.y1:
                    break
                dx, dy = min(a.x1, b.x1) - max(a.x0, b.x0), min(a.y1, b.y1) - max(a.y0, b.y0)
                area = min((a.x1 - a.x0) * (a.y1 - a.y0), (b.x1 - b.x0) * (b.y1 - b.y0))
                if dx > 0 and dy > 0 and dx * dy > 0.25 * area:
                    overlaps.append(f"page {k}: {a.text!r} over {b.text!r}")
    assert small == []
    assert overlaps == []


def test_wide_tables_repeat_their_headers_and_first_column(opened: dict[str, Opened]) -> None:
    """Monthly and the cash-flow table of Break-even & NPV print over several pages across, each page with
    the column headers on top and the month in the first column."""
    book = opened["api-bill-10k-50k"]
    horizon = len(book.result.options[0].months)
    table_pages = 0
    for page in _pages(book.pdf):
        lines = page.splitlines()
        header = next((i for i, line in enumerate(lines) if re.match(r"\s*Month\s{2,}\S", line)), None)
        if header is None:
            continue
        months = [int(m.group(1)) for line in lines[header + 1 :] if (m := re.match(r"\s*(\d+)\s{2,}\S", line))]
        if not months:
            continue  # a chart's axis title, not a table
        table_pages += 1
        assert months == list(range(1, horizon + 1)), page[:300]
    assert table_pages >= 5  # Monthly: 3 pages across; cash flow: 2
