"""Structure-aware fuzzing of the benchmark result-file import (`opentco measure import`), as
test_fuzz_importers.py does for the usage-log importers: each fixture under tests/fixtures/bench_results stays
valid JSON or CSV while its values turn hostile (formulas, API keys, NaN/Infinity, huge and negative numbers,
control characters, wrong JSON types, dates in 1970 and 2999). Whatever comes in: only a user-facing error
escapes, a refusal leaves the store as it was, and what is stored is finite, non-negative, and holds no secret
and no text that a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from costmodel.errors import CostModelError
from costmodel.importers.records import SECRET_PATTERN
from costmodel.measure import ImportFields, import_benchmark_files, load_benchmark
from costmodel.store import connect
from tests.hardening.test_fuzz_importers import _leaves, _set, hostile_json, hostile_text

BENCH = Path(__file__).resolve().parents[1] / "fixtures" / "bench_results"
SAMPLES = sorted(p for p in BENCH.rglob("*") if p.suffix in {".json", ".csv"})
SECRET = re.compile(SECRET_PATTERN)
NOW = datetime(2026, 12, 4, tzinfo=UTC)
FIELDS = ImportFields(model="m", gpu="h100", runtime="vllm", concurrency=4)
TABLES = ("benchmarks", "benchmark_levels", "benchmark_imports")


def test_every_format_has_a_sample() -> None:
    from costmodel.measure.result_files import TOOLS, sniff_benchmark_file

    seen = {sniff_benchmark_file(p.read_bytes(), p.name) for p in SAMPLES}
    assert seen == set(TOOLS)


@st.composite
def hostile_results(draw: st.DrawFn) -> tuple[str, bytes]:
    sample = draw(st.sampled_from(SAMPLES))
    changes = draw(st.integers(1, 5))
    if sample.suffix == ".csv":
        rows = [r for r in csv.reader(io.StringIO(sample.read_text()))]
        cells = [(i, j) for i, r in enumerate(rows) for j in range(len(r)) if i > 0]
        for _ in range(changes):
            i, j = draw(st.sampled_from(cells))
            rows[i][j] = draw(hostile_text)
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return sample.name, out.getvalue().encode()
    doc = json.loads(sample.read_text())
    for _ in range(changes):
        doc = _set(doc, draw(st.sampled_from(_leaves(doc))), draw(hostile_json))
    return sample.name, json.dumps(doc).encode()


@pytest.fixture(scope="module")
def store():
    with tempfile.TemporaryDirectory() as d:
        con = connect(Path(d) / "fuzz.duckdb")
        good = BENCH / "guidellm" / "benchmarks.json"
        import_benchmark_files(con, [(good.name, good.read_bytes())], fields=FIELDS, now=NOW)  # must stay as it is
        yield con
        con.close()


def _snapshot(con) -> list:
    return [con.execute(f"SELECT count(*), hash(list(t ORDER BY ALL)) FROM {t} AS t").fetchone() for t in TABLES]


@settings(
    max_examples=160, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=hostile_results())
def test_hostile_values_never_crash_leak_or_inject(store, case) -> None:
    name, data = case
    before = _snapshot(store)
    try:
        [run] = import_benchmark_files(store, [(name, data)], fields=FIELDS, now=NOW)
    except CostModelError as ex:
        event(f"refused: {type(ex).__name__}")
        assert str(ex).startswith(f"{name}: ") and not SECRET.search(str(ex))
        assert _snapshot(store) == before
        return
    if run.already_imported:
        event("already imported")
        assert _snapshot(store) == before
        return
    event("stored")
    try:
        result = load_benchmark(store, benchmark_id=run.benchmark_id)
        names = [result.settings.model, result.server or "", result.gpu_name or ""]
        text = " ".join([*names, result.settings.endpoint, *result.warnings])
        assert not SECRET.search(text), text[:300]
        for name_ in names:
            assert not name_.startswith(("=", "+", "-", "@", "\t", "\r")), name_
        for lv in result.levels:
            for k, v in lv.model_dump().items():
                if isinstance(v, float):
                    assert math.isfinite(v) and v >= 0, (k, v)
            assert lv.concurrency >= 1 and lv.end_s >= lv.start_s
    finally:
        for table in TABLES:
            key = "id" if table == "benchmarks" else "benchmark_id"
            store.execute(f"DELETE FROM {table} WHERE {key} = ?", [run.benchmark_id])
    assert _snapshot(store) == before


def test_a_key_in_a_number_cell_is_refused_without_being_quoted() -> None:
    """Found by a random run of the fuzz above: the message quoted the cell, key and all."""
    key = "sk-proj-FUZZfuzzFUZZfuzzFUZZfuzz00"
    sample = BENCH / "aiperf" / "profile_export_aiperf.csv"
    data = sample.read_text().replace("Inter Token Latency (ms),6.25,", f"Inter Token Latency (ms),{key},")
    with pytest.raises(CostModelError) as ex:
        import_benchmark_files(connect(), [(sample.name, data.encode())], fields=FIELDS, now=NOW)
    assert "row 2 (inter_token_latency), column avg: expected a number" in str(ex.value)
    assert key not in str(ex.value) and "looks like an API key" in str(ex.value)
