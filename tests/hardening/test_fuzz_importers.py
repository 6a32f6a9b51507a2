"""Structure-aware fuzzing of every importer: well-formed files whose cells are hostile.

tests/usage/test_fuzz.py mangles bytes (truncations, junk); here the files stay valid CSV or JSON and the values
are what an attacker or a broken exporter puts in them: formulas, API keys, huge and negative numbers,
NaN/Infinity, control characters, right-to-left marks, 10,000-character strings, dates in 1970 and 2999, wrong
JSON types. Whatever comes in: only a user-facing error escapes, a refusal leaves the store as it was, nothing
stored looks like a secret, the hourly roll-up matches the rows, and the reject file holds no formula.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from costmodel.errors import CostModelError
from costmodel.export.sanitize import FORMULA_TRIGGERS
from costmodel.importers import IMPORTERS
from costmodel.importers.records import SECRET_PATTERN
from costmodel.store import connect
from costmodel.usage import RowsRejected, import_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLES = [
    p for imp in IMPORTERS for p in sorted((FIXTURES / imp.name).iterdir()) if p.suffix in {".csv", ".json", ".jsonl"}
]
SECRET = re.compile(SECRET_PATTERN)
EXAMPLES = 160

hostile_text = st.sampled_from(
    [
        '=HYPERLINK("http://evil.example","x")',
        "+1+cmd|' /C calc'!A0",
        "-1-1",
        "@SUM(A1:A9)",
        "\t=1",
        "sk-proj-FUZZfuzzFUZZfuzzFUZZfuzz00",
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJmdXp6IjoxfQ.c2lnbmF0dXJlMDA",
        "AKIAFUZZFUZZFUZZFUZZ",
        "NaN",
        "Infinity",
        "-0",
        "1e308",
        "9" * 400,
        "-5",
        "0x10",
        "",
        "   ",
        "\x00\x01\x1b[31m",
        "\u202egpt-4o\u202c",
        "\u200b",
        "🦜" * 50,
        "x" * 10_000,
        "1970-01-01T00:00:00Z",
        "2999-12-31T23:59:59Z",
        "2025-02-30T25:61:61Z",
        "null",
        "true",
        '{"nested": [1, 2, {"deeper": "sk-proj-NESTEDnestedNESTED0000"}]}',
    ]
) | st.text(max_size=40)
hostile_json = (
    hostile_text
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.none()
    | st.lists(st.integers(), max_size=3)
    | st.dictionaries(st.text(max_size=5), st.integers(), max_size=2)
)


def _leaves(doc: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in _leaves(v, (*path, k))] or [path]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in _leaves(v, (*path, i))] or [path]
    return [path]


def _set(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    if isinstance(doc, dict):
        return {**doc, head: _set(doc[head], tuple(rest), value)}
    out = list(doc)
    out[head] = _set(doc[head], tuple(rest), value)
    return out


@st.composite
def hostile_files(draw: st.DrawFn) -> tuple[str, bytes]:
    sample = draw(st.sampled_from(SAMPLES))
    changes = draw(st.integers(1, 6))
    if sample.suffix == ".csv":
        rows = list(csv.reader(io.StringIO(sample.read_text(encoding="utf-8-sig"))))
        for _ in range(changes):
            r = draw(st.integers(1, len(rows) - 1))
            c = draw(st.integers(0, len(rows[r]) - 1))
            rows[r][c] = draw(hostile_text)
        out = io.StringIO()
        csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
        return sample.name, out.getvalue().encode()
    if sample.suffix == ".jsonl":
        docs = [json.loads(line) for line in sample.read_text().splitlines() if line.strip()]
    else:
        docs = [json.loads(sample.read_text())]
    for _ in range(changes):
        i = draw(st.integers(0, len(docs) - 1))
        docs[i] = _set(docs[i], draw(st.sampled_from(_leaves(docs[i]))), draw(hostile_json))
    text = "\n".join(json.dumps(d) for d in docs) if sample.suffix == ".jsonl" else json.dumps(docs[0])
    return sample.name, text.encode()


def _snapshot(con) -> list:
    return [con.execute(f"SELECT count(*), hash(list(t ORDER BY ALL)) FROM {t} AS t").fetchone() for t in _TABLES]


_TABLES = ("imports", "usage_events", "usage_hourly", "import_rejects")


@pytest.fixture(scope="module")
def store():
    with tempfile.TemporaryDirectory() as d:
        con = connect(Path(d) / "fuzz.duckdb")
        import_file(con, FIXTURES / "generic-csv" / "usage.csv")  # an earlier import every refusal must leave alone
        yield con
        con.close()


def _no_formula(data: bytes) -> None:
    for row in csv.reader(io.StringIO(data.decode())):
        for cell in row:
            assert not cell.startswith(FORMULA_TRIGGERS) or re.fullmatch(
                r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", cell
            ), (
                cell,
                row,
            )


# derandomize: the same examples on every run, so the suite's verdict does not depend on luck. Random runs (drop
# it, raise EXAMPLES) found the numeric-provider and infinite-quantity defects now pinned in test_hostile_input.py.
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=hostile_files())
def test_hostile_cells_never_crash_leak_or_inject(store, case) -> None:
    name, data = case
    before = _snapshot(store)
    try:
        result = import_file(store, data, file_name=name)
    except RowsRejected as ex:
        event("every row rejected")
        _no_formula(ex.result.reject_csv())
        assert _snapshot(store) == before
        return
    except CostModelError as ex:
        event(f"refused: {type(ex).__name__}")
        assert str(ex)
        assert _snapshot(store) == before
        return
    _no_formula(result.reject_csv())
    event(
        "imported, some rows rejected"
        if result.rows_rejected
        else "imported"
        if result.rows_imported
        else "nothing new"
    )
    if result.already_imported:
        assert _snapshot(store) == before
        return
    iid = result.import_id
    try:
        _check_stored(store, result)
    finally:
        # forget this import, so that the next example's rows are new again rather than duplicates of these
        for table in ("usage_events", "usage_hourly", "import_rejects"):
            store.execute(f"DELETE FROM {table} WHERE import_id = ?", [iid])
        store.execute("DELETE FROM imports WHERE id = ?", [iid])
    assert _snapshot(store) == before


def _check_stored(store, result) -> None:
    iid = result.import_id
    text = store.execute(
        "SELECT string_agg(concat_ws('|', provider, model, project, user, request_id), '|') FROM usage_events "
        "WHERE import_id = ?",
        [iid],
    ).fetchone()[0]
    rejected = store.execute(
        "SELECT string_agg(concat_ws('|', column_name, reason, value), '|') FROM import_rejects WHERE import_id = ?",
        [iid],
    ).fetchone()[0]
    for stored in (text or "", rejected or ""):
        assert not SECRET.search(stored), stored[:500]
    rows = store.execute(
        "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM usage_events WHERE import_id = ?", [iid]
    ).fetchone()
    hourly = store.execute(
        "SELECT coalesce(sum(rows), 0), sum(input_tokens), sum(output_tokens) FROM usage_hourly WHERE import_id = ?",
        [iid],
    ).fetchone()
    assert rows == hourly and rows[0] == result.rows_imported
