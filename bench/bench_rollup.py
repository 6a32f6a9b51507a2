"""Rollup throughput and peak memory: DuckDB vs Spark local[2] on generated generic Parquet.

    python bench/bench_rollup.py [--rows 100000000] [--engines duckdb,spark] [--dir /tmp/opentco-bench-rollup]

Generates `--rows` usage rows (one Parquet file per ~10 M rows: a month of one organisation's requests over
1,000 users, 50 projects, 20 models, every request id unique, so the de-duplication does its full work), then
rolls them up once per engine, each in a fresh process. Peak memory is the highest resident set of that process
and all its children together (the JVM included for Spark), sampled every 0.1 s from /proc. Prints one line per
engine: rows/s (rows ÷ wall seconds of the rollup itself, after the engine has started) and the peak memory.
Spark runs `local[2]` and DuckDB 2 threads, so both use the same two cores. DuckDB is capped at
`--duckdb-memory-gib` (default 4) and spills beyond it, as it would on a machine shared with other work;
Spark's driver keeps its default heap (1 GiB) and spills its shuffles likewise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, sys, time
t0 = time.perf_counter()
from costmodel.rollup import rollup
engine, out, src, memory_gib = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
kw = {"master": "local[2]"} if engine == "spark" else {"threads": 2, "memory_limit_gib": memory_gib}
if engine == "spark":
    from costmodel.rollup.engines import spark_session
    spark_session("local[2]")  # started before the clock: a cluster's session is already up
t1 = time.perf_counter()
r = rollup([src], out_dir=out, format_name="generic", engine=engine, **kw)
t2 = time.perf_counter()
print(json.dumps({"startup_s": t1 - t0, "rollup_s": t2 - t1, "rows_kept": r.rows_kept}))
"""


def _generate(folder: Path, rows: int) -> None:
    if (folder / "done").exists() and json.loads((folder / "done").read_text())["rows"] == rows:
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    per_file = 10_000_000
    for i, start in enumerate(range(0, rows, per_file)):
        n = min(per_file, rows - start)
        con.execute(
            f"""COPY (
                SELECT TIMESTAMPTZ '2025-03-01 00:00:00+00' + to_seconds((i * 2654435761) % 2592000) AS "timestamp",
                       'model-' || (i % 20) AS model,
                       CASE i % 3 WHEN 0 THEN 'openai' WHEN 1 THEN 'anthropic' ELSE 'aws' END AS provider,
                       'project-' || (i % 50) AS project,
                       'user-' || ((i * 7919) % 1000) AS "user",
                       100 + (i * 31) % 4000 AS input_tokens,
                       (i * 17) % 100 AS cached_input_tokens,
                       10 + (i * 13) % 800 AS output_tokens,
                       1 AS requests,
                       ((i * 37) % 1000) / 100000.0 AS cost_usd,
                       'req-' || i AS request_id
                FROM range({start}, {start + n}) AS t(i)
            ) TO '{folder / f"part-{i:03d}.parquet"}' (FORMAT parquet)"""
        )
    con.close()
    (folder / "done").write_text(json.dumps({"rows": rows}))


def _tree_rss_bytes(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue  # the process ended between two reads
    return total


def _run(engine: str, src: Path, out: Path, memory_gib: float) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, engine, str(out), str(src / "*.parquet"), str(memory_gib)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_bytes(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{engine} failed (exit {proc.returncode})")
    figures = json.loads(stdout.strip().splitlines()[-1])
    figures["peak_mib"] = peak / 2**20
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/opentco-bench-rollup"))
    parser.add_argument(
        "--duckdb-memory-gib", type=float, default=4.0, help="DuckDB's cap (it spills past it); Spark keeps its own"
    )
    args = parser.parse_args()
    src = args.dir / f"logs-{args.rows}"
    t0 = time.perf_counter()
    _generate(src, args.rows)
    print(f"{args.rows:,} rows of generic Parquet in {src} ({time.perf_counter() - t0:.0f} s to generate)")
    for engine in args.engines.split(","):
        f = _run(engine, src, args.dir / f"out-{engine}", args.duckdb_memory_gib)
        print(
            f"{engine:>6}: {args.rows / f['rollup_s']:>12,.0f} rows/s ({f['rollup_s']:.1f} s, engine start "
            f"{f['startup_s']:.1f} s), peak memory {f['peak_mib']:,.0f} MiB, {f['rows_kept']:,} rows kept"
        )


if __name__ == "__main__":
    main()
