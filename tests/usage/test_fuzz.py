"""Mangled files fed to every importer: no unhandled exception, and the store unchanged by every refusal."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costmodel.errors import CostModelError
from costmodel.importers import IMPORTERS
from costmodel.store import connect
from costmodel.usage import import_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLES = sorted(p for p in FIXTURES.glob("*/*") if p.is_file() and p.name != "README.md")
FORMATS = [None, *(i.name for i in IMPORTERS)]


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    """A fixture with some bytes cut, flipped, repeated or replaced: truncations, junk and near-misses."""
    data = bytearray(draw(st.sampled_from(SAMPLES)).read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "duplicate", "swap-digit"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "truncate":
            del data[at:]
        elif op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            junk = draw(st.sampled_from([b",", b"\n", b'"', b"-", b"NaN", b"\xff\xfe", b"{", b"]", b"1e308", b"\x00"]))
            data[at:at] = junk
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 50))]
        elif op == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(1, 200))]
        elif op == "swap-digit":
            digits = [i for i, b in enumerate(data) if 48 <= b <= 57]
            if digits:
                data[draw(st.sampled_from(digits))] = draw(st.sampled_from(b"-.e9"))
    if draw(st.booleans()) and draw(st.integers(0, 9)) == 0:
        return gzip.compress(bytes(data))
    return bytes(data)


def _snapshot(con) -> list:
    return [
        con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in ("imports", "usage_events", "import_rejects")
    ]


@pytest.fixture(scope="module")
def store():
    with tempfile.TemporaryDirectory() as d:
        con = connect(Path(d) / "fuzz.duckdb")
        import_file(con, FIXTURES / "generic-csv/usage.csv")  # earlier imports must survive every refusal
        yield con
        con.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=mangled(), format_name=st.sampled_from(FORMATS))
def test_mangled_files_never_crash_and_refusals_change_nothing(store, data: bytes, format_name: str | None) -> None:
    before = _snapshot(store)
    try:
        result = import_file(store, data, file_name="mangled.bin", format_name=format_name)
    except CostModelError:
        assert _snapshot(store) == before
        return
    after = _snapshot(store)
    if result.already_imported:
        assert after == before
    else:
        # what was stored is exactly what the result says, and nothing stored before moved
        n = store.execute("SELECT count(*) FROM usage_events WHERE import_id = ?", [result.import_id]).fetchone()
        assert n == (result.rows_imported,)
        assert set(before[1]) <= set(after[1])
        assert result.rows_imported + result.rows_duplicate > 0
