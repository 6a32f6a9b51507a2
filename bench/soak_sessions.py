"""Soak: many sessions hold the Usage page for a minute, uploading and reading at once; no error, no row lost.

Starts `streamlit run dashboard/streamlit_app.py` on a free loopback port with a fresh store (XSRF on, as
shipped) and drives it with browserless websocket sessions (tests/hardening/browserless.py): each session, in a
loop until the time is up, uploads a file of its own, one of a few files every session uploads, or a file that
shares request ids with other sessions' files, or just reads the page again. Every request id carries the same
tokens in every file, so the totals the store must hold are known without the product. At the end every session
reads the page once more; then the store is opened and compared.

    python bench/soak_sessions.py                          # 20 sessions, 60 s
    python bench/soak_sessions.py --sessions 40 --seconds 300
    python bench/soak_sessions.py --mode cursors           # threads on one DuckDB connection, no server

Prints sessions held, uploads, files imported, page reads, errors, rows lost and duplicate rows (both must be 0);
exits 1 when any of errors, rows lost or duplicates is not 0.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from costmodel.fmt import tokens  # noqa: E402
from costmodel.store import connect, snapshot  # noqa: E402
from costmodel.usage import import_file, summarize  # noqa: E402
from tests.hardening.browserless import Session, streamlit_server  # noqa: E402
from tests.hardening.logs import generic_csv, litellm_jsonl, totals  # noqa: E402

_SHARED = 5
"""Files every session may upload (byte-identical)."""


class _Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []
        self.ids: set[int] = set()
        self.contents: set[bytes] = set()
        self.run_ms: list[float] = []

    def add(self, **counts: int) -> None:
        with self.lock:
            self.counts.update(counts)


def _pick(k: int, i: int, rnd: random.Random, rows: int) -> tuple[str, bytes, list[int]] | None:
    """The next thing session `k` does on its `i`-th step: a file to upload, or None (just read)."""
    roll = rnd.random()
    if roll < 0.25:
        return None
    if roll < 0.5:
        n = rnd.randrange(_SHARED)
        ids = list(range(5_000_000 + n * rows, 5_000_000 + (n + 1) * rows))
        return f"shared-{n}.csv", generic_csv(ids), ids
    if roll < 0.75:  # overlapping windows: every id is in several sessions' files
        start = 6_000_000 + rnd.randrange(200) * (rows // 4)
        ids = list(range(start, start + rows))
        return f"window-{start}.csv", generic_csv(ids), ids
    ids = list(range(10_000_000 * (k + 1) + i * rows, 10_000_000 * (k + 1) + (i + 1) * rows))
    if i % 2:
        return f"own-{k}-{i}.jsonl", litellm_jsonl(ids), ids
    return f"own-{k}-{i}.csv", generic_csv(ids), ids


def _soak(step: Callable[[int, int, random.Random], None], *, sessions: int, seconds: float, tally: _Tally) -> None:
    deadline = time.monotonic() + seconds
    start = threading.Barrier(sessions)

    def loop(k: int) -> None:
        rnd = random.Random(k)
        try:
            start.wait(timeout=300)
            i = 0
            while time.monotonic() < deadline:
                step(k, i, rnd)
                i += 1
        except BaseException:
            with tally.lock:
                tally.errors.append(f"session {k}: {traceback.format_exc(limit=5)}")

    threads = [threading.Thread(target=loop, args=(k,), name=f"session-{k}") for k in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _check_store(db: Path, tally: _Tally) -> tuple[int, int, int]:
    """Rows lost, duplicate rows, and files imported, from the store itself."""
    expected = totals(tally.ids)
    con = connect(db, read_only=True)
    rows, distinct, inp = con.execute(
        "SELECT count(*), count(DISTINCT request_id), coalesce(sum(input_tokens), 0) FROM usage_events"
    ).fetchone()  # type: ignore[misc]
    imports = con.execute("SELECT count(*) FROM imports").fetchone()[0]  # type: ignore[index]
    con.close()
    lost = expected.rows - distinct
    if lost == 0 and inp != expected.input_tokens:
        lost = -1  # same rows, other tokens: report it as a loss
    return lost, rows - distinct, imports


def run_http(*, sessions: int, seconds: float, rows: int, workdir: Path) -> int:
    tally = _Tally()
    db = workdir / "soak.duckdb"
    with streamlit_server(db=db, log=workdir / "streamlit.log") as base:
        held = {k: Session(base).run() for k in range(sessions)}  # every tab open before the clock starts

        def step(k: int, i: int, rnd: random.Random) -> None:
            s = held[k]
            choice = _pick(k, i, rnd, rows)
            t = time.perf_counter()
            if choice is None:
                s.run()
                tally.add(reads=1)
            else:
                name, data, ids = choice
                s.upload([(name, data)])
                with tally.lock:
                    tally.ids.update(ids)
                    tally.contents.add(data)
                tally.add(uploads=1, already=sum("already imported" in text for _, text in s.alerts()))
            with tally.lock:
                tally.run_ms.append((time.perf_counter() - t) * 1000)
            bad = [text for kind, text in s.alerts() if kind == "error"] + [e.message for e in s.of("exception")]
            if bad:
                with tally.lock:
                    tally.errors.append(f"session {k}: {bad[0][:300]}")

        _soak(step, sessions=sessions, seconds=seconds, tally=tally)
        finals = set()
        for s in held.values():
            finals.add(s.run().metrics().get("Tokens in / out"))
            s.close()
    lost, dupes, imports = _check_store(db, tally)
    expected = totals(tally.ids)
    want = f"{tokens(expected.input_tokens)} / {tokens(expected.output_tokens)}"
    if finals != {want}:
        tally.errors.append(f"sessions' final totals {sorted(map(str, finals))} differ from {want}")
    return _report("http", held=len(held), tally=tally, lost=lost, dupes=dupes, imports=imports, seconds=seconds)


def run_cursors(*, sessions: int, seconds: float, rows: int, workdir: Path) -> int:
    tally = _Tally()
    db = workdir / "soak.duckdb"
    con = connect(db)
    cursors = {k: con.cursor() for k in range(sessions)}

    def step(k: int, i: int, rnd: random.Random) -> None:
        cur = cursors[k]
        choice = _pick(k, i, rnd, rows)
        t = time.perf_counter()
        if choice is not None:
            name, data, ids = choice
            result = import_file(cur, data, file_name=name)
            with tally.lock:
                tally.ids.update(ids)
                tally.contents.add(data)
            tally.add(uploads=1, already=int(result.already_imported))
        with snapshot(cur):
            s = summarize(cur)
        if s.input_tokens != sum(m.input_tokens for m in s.by_month):
            with tally.lock:
                tally.errors.append(f"session {k}: a summary disagrees with itself")
        tally.add(reads=1)
        with tally.lock:
            tally.run_ms.append((time.perf_counter() - t) * 1000)

    _soak(step, sessions=sessions, seconds=seconds, tally=tally)
    for cur in cursors.values():
        cur.close()
    con.close()
    lost, dupes, imports = _check_store(db, tally)
    return _report("cursors", held=sessions, tally=tally, lost=lost, dupes=dupes, imports=imports, seconds=seconds)


def _report(mode: str, *, held: int, tally: _Tally, lost: int, dupes: int, imports: int, seconds: float) -> int:
    ms = sorted(tally.run_ms) or [0.0]
    print(f"mode: {mode}, {seconds:.0f} s")
    print(f"sessions held: {held}")
    print(f"uploads: {tally.counts['uploads']} ({tally.counts['already']} told 'already imported')")
    print(f"files imported: {imports} (distinct contents uploaded: {len(tally.contents)})")
    print(f"page reads: {tally.counts['reads']}")
    print(f"page run ms: p50 {statistics.median(ms):.0f}, p95 {ms[int(len(ms) * 0.95) - 1 if len(ms) > 1 else 0]:.0f}")
    print(f"errors: {len(tally.errors)}")
    for e in tally.errors[:5]:
        print("  " + e.strip().replace("\n", "\n  "))
    print(f"rows lost: {lost}")
    print(f"duplicate rows: {dupes}")
    ok = not tally.errors and lost == 0 and dupes == 0 and imports == len(tally.contents)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rows", type=int, default=200, help="request ids per uploaded file")
    parser.add_argument("--mode", choices=["http", "cursors"], default="http")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opentco-soak-") as d:
        run = run_http if args.mode == "http" else run_cursors
        sys.exit(run(sessions=args.sessions, seconds=args.seconds, rows=args.rows, workdir=Path(d)))


if __name__ == "__main__":
    main()
