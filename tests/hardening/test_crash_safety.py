"""A process killed with SIGKILL in the middle of an import leaves the store as it was before that import.

A child process (tests/hardening/crash_child.py, or the real `opentco import`) imports a million-row CSV
into a store that already holds earlier imports, and is killed with a real `kill -9`: at each step of the
import (rows loaded into the open transaction, de-dup, roll-up, just before COMMIT), at timed moments while
DuckDB is writing, and between two batches of the Python parsers. After every kill the store opens cleanly
and checkpoints, the earlier imports are exactly as they were, nothing of the killed import is visible (or,
for a kill that may have come after the commit, all of it), and the same file imports afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from costmodel.store import connect
from costmodel.usage import import_file
from tests.hardening.logs import Totals, big_generic_csv, generic_csv, litellm_jsonl, totals

ROOT = Path(__file__).resolve().parents[2]
BIG_ROWS = 1_000_000
BASELINE_IDS = range(0, 2_000)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _state(db: Path) -> tuple:
    """Every table's rows and totals, read through a fresh connection that also checkpoints the store."""
    con = connect(db)  # raises StoreError if the file did not survive
    try:
        con.execute("CHECKPOINT")  # the recovered file can be written back
        return (
            con.execute(
                "SELECT count(*), list(sha256 ORDER BY id), list(row_count ORDER BY id) FROM imports"
            ).fetchone(),
            con.execute(
                "SELECT count(*), count(DISTINCT request_id), sum(input_tokens), sum(output_tokens), "
                "list(DISTINCT import_id ORDER BY import_id) FROM usage_events"
            ).fetchone(),
            con.execute("SELECT sum(rows), sum(input_tokens), list(DISTINCT import_id) FROM usage_hourly").fetchone(),
            con.execute("SELECT count(*) FROM import_rejects").fetchone(),
        )
    finally:
        con.close()


def _totals_of(db: Path) -> Totals:
    con = connect(db)
    try:
        n, i, o = con.execute("SELECT count(*), sum(input_tokens), sum(output_tokens) FROM usage_events").fetchone()
        return Totals(rows=n, input_tokens=int(i or 0), output_tokens=int(o or 0))
    finally:
        con.close()


def _kill_child(
    db: Path,
    path: Path,
    *,
    hold: str | None = None,
    after: str | None = None,
    delay_s: float = 0.0,
    batch: int = 0,
) -> tuple[list[str], int, float]:
    """Run crash_child importing `path`, and SIGKILL it.

    With `hold`, the child stops at that step and waits to be killed. The kill comes `delay_s` seconds after the
    child prints the step `after` (by default `hold`, else `begin`), while it carries on (or holds). Returns the
    steps it printed, its exit code and the seconds from `begin` to the last step seen before the kill.
    """
    after = after or hold or "begin"
    args = [sys.executable, "-m", "tests.hardening.crash_child", str(db), str(path), hold or "-"]
    if batch:
        args.append(str(batch))
    proc = subprocess.Popen(args, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    steps: list[str] = []
    began = time.monotonic()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            steps.append(line.strip())
            if steps[-1] == "begin":
                began = time.monotonic()
            if steps[-1] == after:
                break
        elapsed = time.monotonic() - began
        time.sleep(delay_s)
        os.kill(proc.pid, signal.SIGKILL)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    steps += rest.split()
    assert proc.returncode == -signal.SIGKILL, f"the child ended before the kill ({steps}): {err[-2000:]}"
    return steps, proc.returncode, elapsed


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> tuple[Path, Totals]:
    path = tmp_path_factory.mktemp("big") / "big-usage.csv"
    return path, big_generic_csv(path, rows=BIG_ROWS)


def _baseline(db: Path) -> tuple:
    con = connect(db)
    import_file(con, generic_csv(BASELINE_IDS), file_name="earlier.csv")
    import_file(con, litellm_jsonl(range(1_500, 3_000)), file_name="earlier-litellm.jsonl")  # 500 ids repeat
    con.close()
    assert _totals_of(db) == totals([*BASELINE_IDS, *range(1_500, 3_000)])
    return _state(db)


def _plus(a: Totals, b: Totals) -> Totals:
    return Totals(a.rows + b.rows, a.input_tokens + b.input_tokens, a.output_tokens + b.output_tokens)


def test_kill_9_at_every_step_of_a_big_import_leaves_earlier_imports_and_nothing_else(tmp_path, big) -> None:
    path, big_totals = big
    db = tmp_path / "store.duckdb"
    before = _baseline(db)
    # held at each step, transaction open: every row inserted (big inserts already written to the file) …
    _, _, load_s = _kill_child(db, path, hold="dedup")
    assert _state(db) == before
    for hold in ("rollup", "commit"):
        _kill_child(db, path, hold=hold)
        assert _state(db) == before, hold
    # … and at moments while DuckDB hashes, reads and inserts, spread over the load time just measured. The
    # machine's other work comes and goes, so a later load can run faster than the measured one: the child holds
    # at the COMMIT should it get there, and a kill that came after the loading is tried again sooner, until one
    # lands mid-load (a kill right after `begin` always does)
    for fraction in (0.05, 0.5):
        delay_s = fraction * load_s
        while True:
            steps, _, _ = _kill_child(db, path, hold="commit", after="begin", delay_s=delay_s)
            assert _state(db) == before, (fraction, steps)
            if "dedup" not in steps:
                break
            assert delay_s > 1e-4, "even a kill right after `begin` came after the loading"
            delay_s = delay_s / 4 if delay_s > 0.01 else 0.0
    # and the file imports once the crashes are over
    con = connect(db)
    result = import_file(con, path)
    con.close()
    assert not result.already_imported and result.rows_imported == big_totals.rows
    assert _totals_of(db) == _plus(totals([*BASELINE_IDS, *range(1_500, 3_000)]), big_totals)
    assert _state(db)[0][0] == before[0][0] + 1


def test_kill_9_racing_the_commit_leaves_all_of_the_import_or_none(tmp_path, big) -> None:
    """Killed as the COMMIT is sent (and the checkpoint that follows a big commit): atomic either way."""
    path, big_totals = big
    db = tmp_path / "store.duckdb"
    before = _baseline(db)
    baseline = _totals_of(db)
    for delay_s in (0.0, 0.05, 0.3):
        _kill_child(db, path, after="commit", delay_s=delay_s)
        after = _state(db)
        if after != before:  # the commit made it: then all of it, once
            assert _totals_of(db) == _plus(baseline, big_totals)
            assert after[0][0] == before[0][0] + 1
            break
    con = connect(db)
    result = import_file(con, path)  # imports it, or says it already did
    con.close()
    assert result.already_imported or result.rows_imported == big_totals.rows
    assert _totals_of(db) == _plus(baseline, big_totals)


def test_kill_9_between_batches_of_the_python_parser(tmp_path) -> None:
    db = tmp_path / "store.duckdb"
    before = _baseline(db)
    log = tmp_path / "spend.jsonl"
    log.write_bytes(litellm_jsonl(range(10_000, 16_000)))
    steps, _, _ = _kill_child(db, log, hold="flush", batch=1_000)  # 1,000 rows inserted, 5,000 to go
    assert steps.count("flush") == 1
    assert _state(db) == before
    con = connect(db)
    assert import_file(con, log).rows_imported == 6_000
    con.close()


def _open_files(pid: int) -> set[str]:
    fds = Path(f"/proc/{pid}/fd")
    out = set()
    for fd in fds.iterdir() if fds.exists() else []:
        try:
            out.add(os.readlink(fd))
        except OSError:
            continue
    return out


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to see the CLI open the file")
def test_kill_9_of_the_real_cli_mid_import(tmp_path, big) -> None:
    """`opentco import` itself, killed once it has the CSV open (hashing it, DuckDB reading it, or — on a fast
    machine — already past its commit): all of the import or none of it, never a part."""
    path, big_totals = big
    db = tmp_path / "store.duckdb"
    before = _baseline(db)
    baseline = _totals_of(db)
    cli = [sys.executable, "-m", "costmodel.cli", "import", str(path), "--db", str(db)]
    committed = False
    for after_s in (0.15, 0.6):
        proc = subprocess.Popen(cli, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while str(path) not in _open_files(proc.pid):
                assert proc.poll() is None and time.monotonic() < deadline, "the CLI never opened the file"
                time.sleep(0.005)
            time.sleep(after_s)
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == -signal.SIGKILL, "the import finished before the kill; shorten after_s"
        after = _state(db)
        if after != before:  # the kill came after the commit: then all of it, once
            assert _totals_of(db) == _plus(baseline, big_totals), after_s
            assert after[0][0] == before[0][0] + 1, after_s
            committed = True
            break
    out = subprocess.run(cli, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    expected = "already imported" if committed else f"{big_totals.rows:,} rows imported"
    assert expected in out.stdout
    assert _totals_of(db) == _plus(baseline, big_totals)
