"""One import, one transaction: what is stored, what is refused, and that a refusal changes nothing."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import duckdb
import pytest

from costmodel.errors import BadLogRow, ImportRejected, UnknownLogFormat
from costmodel.importers import ImportLimits
from costmodel.store import connect
from costmodel.usage import RowsRejected, import_file, import_history, reject_csv

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HEADER = (
    "timestamp,model,input_tokens,output_tokens,cached_input_tokens,requests,cost_usd,provider,project,user,"
    "request_id\n"
)


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    c = connect()  # OPENTCO_DB points into tmp_path (tests/conftest.py)
    yield c
    c.close()


def snapshot(con: duckdb.DuckDBPyConnection) -> list:
    return [
        con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in ("imports", "usage_events", "import_rejects")
    ]


def generic(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


GOOD_ROWS = (
    "2025-03-01T09:00:00Z,gpt-4o,1000,200,0,1,0.0045,openai,p,alice,r-1",
    "2025-03-01T10:00:00Z,gpt-4o,2000,400,500,1,0.008375,openai,p,bob,r-2",
)


def test_same_content_twice_is_imported_once(con) -> None:
    first = import_file(con, generic(*GOOD_ROWS), file_name="a.csv")
    again = import_file(con, generic(*GOOD_ROWS), file_name="renamed.csv")
    assert (first.rows_imported, first.already_imported) == (2, False)
    assert (again.already_imported, again.import_id, again.rows_imported) == (True, first.import_id, 0)
    assert "already imported" in again.summary()
    assert [h.file_name for h in import_history(con)] == ["a.csv"]


def test_request_ids_are_never_counted_twice_across_files(con) -> None:
    import_file(con, generic(*GOOD_ROWS), file_name="day1.csv")
    overlap = generic(GOOD_ROWS[1], "2025-03-01T11:00:00Z,gpt-4o,10,5,0,1,,openai,p,bob,r-3")
    res = import_file(con, overlap, file_name="day1-and-more.csv")
    assert (res.rows_imported, res.rows_duplicate) == (1, 1)
    assert con.execute("SELECT count(*), count(DISTINCT request_id) FROM usage_events").fetchone() == (3, 3)
    # rows without a request id are all kept
    res = import_file(con, generic("2025-03-02T11:00:00Z,m,1,1,,,,,,,", "2025-03-02T11:00:00Z,m,1,1,,,,,,,"))
    assert (res.rows_imported, res.rows_duplicate) == (2, 0)


def test_duplicates_within_one_file_keep_the_first(con) -> None:
    res = import_file(con, generic(GOOD_ROWS[0], GOOD_ROWS[0].replace(",1000,", ",7,"), GOOD_ROWS[1]))
    assert (res.rows_imported, res.rows_duplicate) == (2, 1)
    assert con.execute("SELECT input_tokens FROM usage_events WHERE request_id = 'r-1'").fetchall() == [(1000,)]


def test_bad_rows_are_counted_offered_and_the_rest_imported(con) -> None:
    data = generic(
        GOOD_ROWS[0],
        "2025-03-01T09:05:00Z,gpt-4o,-5,200,,,,,,,r-3",
        "2025-03-01T09:06:00Z,gpt-4o,NaN,200,,,,,,,r-4",
        "2019-06-01T00:00:00Z,gpt-4o,1,1,,,,,,,r-5",
        "2099-01-01T00:00:00Z,gpt-4o,1,1,,,,,,,r-6",
        "2025-03-01T09:07:00Z,,1,1,,,,,,,r-7",
        "2025-03-01T09:08:00Z,gpt-4o,10,1,20,,,,,,r-8",
        "2025-03-01T09:09:00Z,gpt-4o,10,1,,,-1,,,,r-9",
        "not a time,gpt-4o,10,1,,,,,,,r-10",
        "2025-03-01T09:10:00Z,gpt-4o,1.5,1,,,,,,,r-11",
        "2025-03-01T09:11:00Z,gpt-4o,10",
    )
    res = import_file(con, data, file_name="mixed.csv")
    assert (res.rows_imported, res.rows_rejected) == (1, 10)
    got = [(r.line, r.column, r.reason) for r in res.rejects]
    assert got == [
        (3, "input_tokens", "negative token count"),
        (4, "input_tokens", "NaN is not a token count"),
        (5, "timestamp", "before 2020: check the unit or time zone"),
        (6, "timestamp", "in the future"),
        (7, "model", "missing"),
        (8, "cached_input_tokens", "more cached tokens than input tokens"),
        (9, "cost_usd", "negative cost"),
        (10, "timestamp", "not an ISO 8601 timestamp"),
        (11, "input_tokens", "not a whole number"),
        (12, "output_tokens", "missing"),
    ]
    rows = list(csv.reader(io.StringIO(res.reject_csv().decode())))
    assert rows[0] == ["file", "line", "column", "reason", "value"]
    assert rows[1] == ["mixed.csv", "3", "input_tokens", "negative token count", "-5"]
    # the history keeps the counts and the reject file
    (h,) = import_history(con)
    assert (h.row_count, h.rejected_count) == (1, 10)
    assert reject_csv(con, h.id) == res.reject_csv()


def test_every_row_bad_is_refused_whole_with_its_reject_file(con) -> None:
    import_file(con, generic(*GOOD_ROWS), file_name="earlier.csv")
    before = snapshot(con)
    with pytest.raises(RowsRejected) as ex:
        import_file(con, generic("2025-03-01T09:05:00Z,gpt-4o,-5,200,,,,,,,x"), file_name="all-bad.csv")
    assert "all-bad.csv: all 1 rows rejected" in str(ex.value)
    assert "row 2, column 'input_tokens': negative token count" in str(ex.value)
    assert b"negative token count" in ex.value.result.reject_csv()
    assert snapshot(con) == before


@pytest.mark.parametrize(
    ("data", "name", "error", "message"),
    [
        (b"", "empty.csv", ImportRejected, "empty.csv: the file is empty"),
        (b"\n \n", "blank.csv", ImportRejected, "the file is empty"),
        (HEADER.encode(), "header-only.csv", ImportRejected, "no usage rows"),
        (b"timestamp,model,input_tokens\n2025-03-01,m,1\n", "cols.csv", BadLogRow, "missing required column"),
        (
            generic("2025-03-01T09:00:00Z,gpt-\xff,1,1,,,,,,,").replace(b"\xc3\xbf", b"\xff"),
            "latin1.csv",
            ImportRejected,
            "not UTF-8",
        ),
        (
            b'{"object": "page", "data": [{"object": "bucket", "start_time": 1740787200, "res',
            "cut.json",
            BadLogRow,
            "invalid JSON",
        ),
        (b"just some text\n", "notes.txt", UnknownLogFormat, "not a usage log format"),
    ],
)
def test_whole_file_problems_are_specific_and_change_nothing(con, data, name, error, message) -> None:
    import_file(con, generic(*GOOD_ROWS), file_name="earlier.csv")
    before = snapshot(con)
    with pytest.raises(error) as ex:
        import_file(con, data, file_name=name)
    assert message in str(ex.value) and name in str(ex.value)
    assert snapshot(con) == before


def test_missing_column_names_file_row_and_column(con) -> None:
    with pytest.raises(BadLogRow) as ex:
        import_file(con, b"generation_id,created_at,cost_total,model_permaslug\ng,2025-03-01,0,m\n", file_name="or.csv")
    assert (ex.value.file, ex.value.line, ex.value.column) == ("or.csv", 1, "tokens_prompt")


def test_gzip_is_expanded_and_capped(con, tmp_path: Path) -> None:
    raw = (FIXTURES / "bedrock-invocation-logs/model_invocations.jsonl").read_bytes()
    gz = tmp_path / "logs.json.gz"
    gz.write_bytes(gzip.compress(raw))
    res = import_file(con, gz)
    assert (res.format, res.rows_imported, res.file_name) == ("bedrock-invocation-logs", 2, "logs.json.gz")

    bomb = gzip.compress(b"timestamp,model,input_tokens,output_tokens\n" + b"2025-03-01,m,1,1\n" * 200_000)
    before = snapshot(con)
    with pytest.raises(ImportRejected, match=r"bomb\.csv\.gz: expands past the 1 MiB limit"):
        import_file(con, bomb, file_name="bomb.csv.gz", limits=ImportLimits(max_expanded_bytes=1024**2))
    with pytest.raises(ImportRejected, match=r"damaged \.gz"):
        import_file(con, gzip.compress(raw)[:-20], file_name="cut.json.gz")
    assert snapshot(con) == before


def test_a_file_past_the_size_limit_is_refused_before_reading(con, tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_bytes(generic(*GOOD_ROWS * 50))
    with pytest.raises(
        ImportRejected, match=r"big.csv: [\d,]+ bytes is past the 1,000 bytes limit for one file; split"
    ):
        import_file(con, big, limits=ImportLimits(max_file_bytes=1000))
    assert import_history(con) == []


def test_format_can_be_forced_and_a_wrong_one_is_explained(con) -> None:
    path = FIXTURES / "generic-csv/usage.csv"
    assert import_file(con, path, format_name="generic-csv").rows_imported == 4
    with pytest.raises(BadLogRow, match=r"missing column.*required by the OpenRouter"):
        import_file(con, (FIXTURES / "focus/focus_1_2_genai.csv"), format_name="openrouter-activity")


def test_a_failure_inside_the_transaction_rolls_everything_back(con, monkeypatch) -> None:
    import_file(con, generic(*GOOD_ROWS), file_name="earlier.csv")
    before = snapshot(con)
    import costmodel.usage.ingest as ingest

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest, "_dedup", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(con, FIXTURES / "litellm-spend-logs/spend_logs.csv")
    assert snapshot(con) == before


def test_fast_and_careful_sql_paths_store_the_same_rows(con, tmp_path: Path) -> None:
    """A bad row sends the generic CSV down the careful path; the good rows must come out identical."""
    clean = tmp_path / "clean.csv"
    clean.write_bytes(generic(*GOOD_ROWS, "2025-03-02T10:00:00+05:30,claude-3-5-sonnet-20241022,7,3,,2,,,,,"))
    dirty = tmp_path / "dirty.csv"
    dirty.write_bytes(clean.read_bytes() + b"2025-03-01T00:00:00Z,gpt-4o,-1,1,,,,,,,bad\n")
    import_file(con, clean)
    fast = con.execute("SELECT * EXCLUDE (import_id) FROM usage_events ORDER BY ALL").fetchall()
    con.execute("DELETE FROM usage_events")
    con.execute("DELETE FROM imports")
    assert import_file(con, dirty).rows_rejected == 1
    careful = con.execute("SELECT * EXCLUDE (import_id) FROM usage_events ORDER BY ALL").fetchall()
    assert fast == careful
    assert len(fast) == 3
