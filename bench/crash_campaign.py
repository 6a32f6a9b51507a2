"""Crash campaign: kill -9 an import again and again, at random moments, and check the store after every kill.

A child process (tests/hardening/crash_child.py) imports a big generic CSV (or, one time in four, a LiteLLM
JSON-lines file read by the Python parser in small batches) into a store that holds earlier imports; it is
killed with SIGKILL at a random step (rows in the open transaction, de-dup, roll-up, just before COMMIT, between
two batches) or after a random delay. After each kill the store must open and checkpoint cleanly, the earlier
imports must be exactly as they were, and the killed import must be absent, or, when the kill came after the
COMMIT, present in full (the store is then put back to its earlier state for the next round).

    python bench/crash_campaign.py                 # 30 kills, 3 million rows
    python bench/crash_campaign.py --kills 100 --rows 5000000

Prints kills, survived, imports that had committed before the kill, rows lost; exits 1 unless every kill was
survived with no row lost.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from costmodel.store import connect  # noqa: E402
from costmodel.usage import import_file  # noqa: E402
from tests.hardening.logs import big_generic_csv, generic_csv, litellm_jsonl, totals  # noqa: E402


def _state(db: Path) -> tuple:
    con = connect(db)
    try:
        con.execute("CHECKPOINT")
        return (
            con.execute("SELECT count(*), list(sha256 ORDER BY id) FROM imports").fetchone(),
            con.execute("SELECT count(*), count(DISTINCT request_id), sum(input_tokens) FROM usage_events").fetchone(),
            con.execute("SELECT sum(rows), sum(input_tokens) FROM usage_hourly").fetchone(),
            con.execute("SELECT count(*) FROM import_rejects").fetchone(),
        )
    finally:
        con.close()


def _kill(db: Path, path: Path, *, hold: str | None, delay_s: float, batch: int) -> list[str]:
    args = [sys.executable, "-m", "tests.hardening.crash_child", str(db), str(path), hold or "-"]
    if batch:
        args.append(str(batch))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    steps = []
    assert proc.stdout is not None
    for line in proc.stdout:
        steps.append(line.strip())
        if steps[-1] == (hold or "begin"):
            break
    time.sleep(delay_s)
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=120)
    return steps + rest.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="opentco-crash-") as d:
        work = Path(d)
        big = work / "big.csv"
        big_generic_csv(big, rows=args.rows)
        small = work / "spend.jsonl"
        small.write_bytes(litellm_jsonl(range(20_000, 40_000)))
        db, pristine = work / "store.duckdb", work / "pristine.duckdb"
        con = connect(db)
        import_file(con, generic_csv(range(5_000)), file_name="earlier.csv")
        import_file(con, litellm_jsonl(range(4_000, 9_000)), file_name="earlier.jsonl")
        con.close()
        baseline_rows = totals([*range(5_000), *range(4_000, 9_000)]).rows
        before = _state(db)
        shutil.copy(db, pristine)
        t = time.perf_counter()
        con = connect(work / "timing.duckdb")
        import_file(con, big)
        con.close()
        load_s = time.perf_counter() - t
        survived = committed = lost = 0
        for n in range(args.kills):
            python_path = rnd.random() < 0.25
            path, batch = (small, 1_000) if python_path else (big, 0)
            holds = ["flush", "dedup", "rollup", "commit"] if python_path else ["dedup", "rollup", "commit"]
            hold = rnd.choice([*holds, None, None, None])
            delay = 0.0 if hold else rnd.uniform(0, load_s * (0.3 if python_path else 1.2))
            steps = _kill(db, path, hold=hold, delay_s=delay, batch=batch)
            try:
                after = _state(db)
            except Exception as ex:  # the store did not survive: count it, report it
                print(f"kill {n}: store does not open: {ex}")
                continue
            if after == before:
                survived += 1
            elif "commit" in steps and hold is None and after[0][0] == before[0][0] + 1:
                full = (args.rows if path is big else 20_000) + baseline_rows
                if after[1][0] == after[1][1] == full:  # all of it, once
                    survived += 1
                    committed += 1
                else:
                    lost += abs(full - after[1][1])
                    print(f"kill {n}: partial import: {after[1]} rows, expected {full}")
                shutil.copy(pristine, db)  # back to the earlier state for the next round
                wal = db.with_name(db.name + ".wal")
                if wal.exists():
                    wal.unlink()
            else:
                lost += abs(after[1][0] - before[1][0])
                print(f"kill {n} ({hold or f'+{delay:.2f}s'}): store changed: {after} != {before}")
        print(f"rows per big file: {args.rows:,} (import {load_s:.1f} s); earlier rows: {baseline_rows:,}")
        print(f"kills: {args.kills}")
        print(f"survived: {survived}")
        print(f"committed before the kill (present in full): {committed}")
        print(f"rows lost: {lost}")
        ok = survived == args.kills and lost == 0
        print("OK" if ok else "FAILED")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
