"""Twenty sessions on one process-wide DuckDB connection, as the dashboard runs them: one thread per session,
each with its own `cursor()`, uploading and querying at once.

They upload files of their own, the very same file, and files that share request ids with other sessions'
files, in both the DuckDB-read (generic CSV) and the Python-parsed (LiteLLM JSON lines) paths. Every upload
must be stored exactly once, every request once, no error may reach a user, and every summary a session
reads must agree with itself and, at the end, with the totals worked out independently (tests/hardening/logs.py).
Without the store's writer lock, concurrent imports each miss the other's request ids and both store them.
"""

from __future__ import annotations

import threading
import traceback
from collections import Counter

import pytest

from costmodel.store import connect, snapshot
from costmodel.usage import ImportResult, import_file, summarize
from tests.hardening.logs import generic_csv, litellm_jsonl, totals

SESSIONS = 20


def _plan() -> dict[int, list[tuple[str, bytes, list[int]]]]:
    """Per session, the uploads it makes: (file name, content, request ids in it)."""
    common = list(range(50_000, 50_400))
    plan: dict[int, list[tuple[str, bytes, list[int]]]] = {}
    for k in range(SESSIONS):
        own = list(range(1_000 * k, 1_000 * k + 300))
        overlap = list(range(60_000 + 40 * k, 60_000 + 40 * k + 200))  # shares ids with the neighbours' files
        own_file = (f"own-{k}.csv", generic_csv(own), own)
        if k % 2:
            own_file = (f"own-{k}.jsonl", litellm_jsonl(own), own)
        shared = (f"overlap-{k}.csv", generic_csv(overlap), overlap)
        if k % 3 == 0:
            shared = (f"overlap-{k}.jsonl", litellm_jsonl(overlap), overlap)
        same = ("common.csv", generic_csv(common), common)  # byte-identical in every session
        plan[k] = [same, own_file, shared] if k % 2 else [shared, same, own_file]
    return plan


def _consistent(s) -> None:
    """One summary agrees with itself: headline, per-model and per-month totals."""
    assert s.input_tokens == sum(m.input_tokens for m in s.by_model) == sum(m.input_tokens for m in s.by_month)
    assert s.output_tokens == sum(m.output_tokens for m in s.by_model) == sum(m.output_tokens for m in s.by_month)
    assert (s.requests or 0) == s.rows  # one request per row in these logs (None: nothing stored yet)


@pytest.mark.parametrize("rounds", [2])
def test_twenty_sessions_upload_and_query_one_connection_at_once(tmp_path, rounds) -> None:
    con = connect(tmp_path / "shared.duckdb")
    plan = _plan()
    expected = totals(n for uploads in plan.values() for _, _, ids in uploads for n in ids)
    distinct_files = {data for uploads in plan.values() for _, data, _ in uploads}
    results: list[tuple[int, str, ImportResult]] = []
    errors: list[str] = []
    seen: dict[int, list[int]] = {k: [] for k in plan}
    start = threading.Barrier(SESSIONS)

    def session(k: int) -> None:
        cur = con.cursor()  # what dashboard.state.store_cursor() hands each session
        try:
            start.wait()
            for _ in range(rounds):  # the second round re-uploads everything: all repeats
                for name, data, _ in plan[k]:
                    results.append((k, name, import_file(cur, data, file_name=name)))
                    with snapshot(cur):
                        s = summarize(cur)
                    _consistent(s)
                    seen[k].append(s.input_tokens)
        except BaseException:  # every failure, typed or not, would have reached a user
            errors.append(f"session {k}: {traceback.format_exc()}")
        finally:
            cur.close()

    threads = [threading.Thread(target=session, args=(k,), name=f"session-{k}") for k in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a session hung"
    assert errors == []

    # every upload stored exactly once: one line in `imports` per distinct content, the rest told "already imported"
    assert len(results) == SESSIONS * 3 * rounds
    stored = Counter(r.sha256 for _, _, r in results if not r.already_imported)
    assert len(stored) == len(distinct_files) and set(stored.values()) == {1}
    assert con.execute("SELECT count(*), count(DISTINCT sha256) FROM imports").fetchone() == (len(distinct_files),) * 2
    # every request once, none lost: what the results say was stored is what is there, and what must be there
    assert sum(r.rows_imported for _, _, r in results) == expected.rows
    assert con.execute(
        "SELECT count(*), count(DISTINCT request_id), sum(input_tokens), sum(output_tokens) FROM usage_events"
    ).fetchone() == (expected.rows, expected.rows, expected.input_tokens, expected.output_tokens)
    hourly = con.execute("SELECT sum(rows), sum(input_tokens), sum(output_tokens) FROM usage_hourly").fetchone()
    assert hourly == (expected.rows, expected.input_tokens, expected.output_tokens)
    # each session saw the totals only grow, and every one of them now reads the same, right, totals
    for k, totals_seen in seen.items():
        assert totals_seen == sorted(totals_seen), k
    finals = []
    for _ in range(SESSIONS):
        cur = con.cursor()
        with snapshot(cur):
            finals.append(summarize(cur))
        cur.close()
    for s in finals:
        _consistent(s)
        assert (s.rows, s.input_tokens, s.output_tokens) == (
            expected.rows,
            expected.input_tokens,
            expected.output_tokens,
        )
    con.close()


def test_summaries_read_during_imports_agree_with_themselves(tmp_path) -> None:
    """Readers racing the writers: without `snapshot`, a commit between two queries of one summary splits it."""
    con = connect(tmp_path / "race.duckdb")
    done = threading.Event()
    errors: list[str] = []
    reads = Counter[int]()

    def writer(k: int) -> None:
        cur = con.cursor()
        try:
            for i in range(6):
                ids = range(100_000 * k + 1_000 * i, 100_000 * k + 1_000 * i + 1_000)
                import_file(cur, generic_csv(ids), file_name=f"w{k}-{i}.csv")
        except BaseException:
            errors.append(traceback.format_exc())

    def reader(k: int) -> None:
        cur = con.cursor()
        try:
            while not done.is_set():
                with snapshot(cur):
                    s = summarize(cur)
                _consistent(s)
                reads[k] += 1
        except BaseException:
            errors.append(traceback.format_exc())

    writers = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    readers = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join(timeout=120)
    done.set()
    for t in readers:
        t.join(timeout=60)
    assert errors == []
    assert sum(reads.values()) >= 4
    expected = totals(n for k in range(3) for n in range(100_000 * k, 100_000 * k + 6_000))
    assert con.execute("SELECT count(*), sum(input_tokens) FROM usage_events").fetchone() == (
        expected.rows,
        expected.input_tokens,
    )
    con.close()
