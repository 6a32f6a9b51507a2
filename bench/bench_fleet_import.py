"""Import speed of a month of fleet metrics: 30 days of 15-second Prometheus samples for 16 vLLM instances.

    python bench/bench_fleet_import.py             # the issue's size (about 400 MB of JSON, slow to generate)
    python bench/bench_fleet_import.py --days 2    # a quick run

Target (issue #15, item 4): importing 30 days of 15-second samples for 16 instances takes < 5 s.

The `query_range` form is what a month at 15 s comes as: Prometheus answers at most 11,000 points per series and
query, so the export is JSON lines, one answer per metric and time slice, each with all 16 instances. Seven series
per instance: prompt, generation and prefix-cache-hit tokens, successful requests (counters, one restart per
instance mid-month), running and waiting requests and KV-cache usage (gauges). The text form (`/metrics` scrapes)
is timed at `--text-step` seconds between scrapes (default hourly): nobody keeps a month of 15-second scrapes as
text. Times are wall-clock seconds of the whole `import_file` (parse, counter deltas, validation, storage), best of
`--repeat`, with the machine's load average printed next to them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from costmodel.store import connect
from costmodel.usage import import_file

_START = 1790812800  # 2026-10-01 00:00 UTC
_MODEL = "meta-llama/Llama-3.1-8B-Instruct"
_POINTS_PER_QUERY = 11_000


def _series(instances: int, n: int, step_s: int) -> dict[str, list[np.ndarray]]:
    """Values per metric per instance: counters grow with a daily cycle and restart once mid-month."""
    rng = np.random.default_rng(7)
    t = np.arange(n) * step_s
    daily = 1.0 + 0.8 * np.sin(2 * np.pi * t / 86400)
    out: dict[str, list[np.ndarray]] = {k: [] for k in _METRICS}
    for i in range(instances):
        restart = n // 2 + i
        load = daily * (0.8 + 0.4 * rng.random(n))
        for name, per_step in (
            ("vllm:prompt_tokens_total", 6000),
            ("vllm:generation_tokens_total", 1500),
            ("vllm:prefix_cache_hits_total", 2000),
            ("vllm:request_success_total", 5),
        ):
            inc = np.rint(load * per_step).astype(np.int64)
            c = np.cumsum(inc)
            c[restart:] -= c[restart - 1]  # the process restarted: the counter starts again from 0
            out[name].append(c)
        out["vllm:num_requests_running"].append(np.rint(load * 20))
        out["vllm:num_requests_waiting"].append(np.rint(np.maximum(load - 1.5, 0) * 10))
        out["vllm:kv_cache_usage_perc"].append(np.round(load / 2, 3))
    return out


_METRICS = (
    "vllm:prompt_tokens_total",
    "vllm:generation_tokens_total",
    "vllm:prefix_cache_hits_total",
    "vllm:request_success_total",
    "vllm:num_requests_running",
    "vllm:num_requests_waiting",
    "vllm:kv_cache_usage_perc",
)


def _labels(name: str, i: int) -> str:
    extra = ',"finished_reason":"stop"' if name == "vllm:request_success_total" else ""
    return f'{{"__name__":"{name}","instance":"gpu-{i:02d}:8000","job":"vllm","model_name":"{_MODEL}"{extra}}}'


def write_query_range(path: Path, *, instances: int, days: float, step_s: int) -> int:
    """JSON lines of `query_range` answers; returns the number of samples."""
    n = int(days * 86400 / step_s)
    data = _series(instances, n, step_s)
    ts = (_START + np.arange(n) * step_s).astype(np.int64)
    with path.open("w") as f:
        for name in _METRICS:
            for lo in range(0, n, _POINTS_PER_QUERY):
                hi = min(lo + _POINTS_PER_QUERY, n)
                results = []
                for i in range(instances):
                    vals = data[name][i][lo:hi]
                    fmt = '[%d,"%d"]' if vals.dtype.kind == "i" else '[%d,"%g"]'
                    pairs = ",".join(fmt % p for p in zip(ts[lo:hi].tolist(), vals.tolist(), strict=True))
                    results.append(f'{{"metric":{_labels(name, i)},"values":[{pairs}]}}')
                f.write('{"status":"success","data":{"resultType":"matrix","result":[' + ",".join(results) + "]}}\n")
    return n * instances * len(_METRICS)


def write_text(path: Path, *, instances: int, days: float, step_s: int) -> int:
    """`/metrics` scrapes, each after a `# scrape_time` line; returns the number of samples."""
    n = int(days * 86400 / step_s)
    data = _series(instances, n, step_s)
    samples = 0
    with path.open("w") as f:
        for k in range(n):
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(_START + k * step_s))
            for i in range(instances):
                lines = [f"# scrape_time {when} instance=gpu-{i:02d}:8000"]
                for name in _METRICS:
                    extra = ',finished_reason="stop"' if name == "vllm:request_success_total" else ""
                    lines.append(f'{name}{{engine="0",model_name="{_MODEL}"{extra}}} {data[name][i][k]}')
                f.write("\n".join(lines) + "\n")
                samples += len(_METRICS)
    return samples


def _time_import(path: Path, repeat: int) -> tuple[float, float, int]:
    """Best wall-clock and CPU seconds (all threads of this process) of importing `path` into a fresh store."""
    best, best_cpu, rows = float("inf"), float("inf"), 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            con = connect(Path(tmp) / "b.duckdb")
            start, cpu = time.perf_counter(), time.process_time()
            result = import_file(con, path)
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - cpu)
            rows = result.rows_imported
            con.close()
    return best, best_cpu, rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", type=int, default=16)
    ap.add_argument("--days", type=float, default=30)
    ap.add_argument("--step", type=int, default=15, help="seconds between query_range samples")
    ap.add_argument("--text-step", type=int, default=3600, help="seconds between text scrapes")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--check", action="store_true", help="exit 1 when the query_range import takes 5 s or more")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        qr = Path(tmp) / "fleet_query_range.jsonl"
        n_qr = write_query_range(qr, instances=args.instances, days=args.days, step_s=args.step)
        load_before = os.getloadavg()[0]
        s_qr, cpu_qr, stored_qr = _time_import(qr, args.repeat)
        rows.append((f"query_range, {args.step} s", n_qr, qr.stat().st_size, s_qr, cpu_qr, stored_qr, load_before))
        tx = Path(tmp) / "fleet_scrapes.prom"
        n_tx = write_text(tx, instances=args.instances, days=args.days, step_s=args.text_step)
        load_before = os.getloadavg()[0]
        s_tx, cpu_tx, stored_tx = _time_import(tx, args.repeat)
        rows.append(
            (f"/metrics text, {args.text_step} s", n_tx, tx.stat().st_size, s_tx, cpu_tx, stored_tx, load_before)
        )
    print(f"{args.instances} instances × {args.days:g} days; {os.cpu_count()} CPUs")
    head = f"{'form':<26}{'samples':>14}{'MB':>9}{'import s':>10}{'CPU s':>8}{'samples/s':>14}{'usage rows':>12}"
    print(head + f"{'load':>7}")
    for form, n, size, secs, cpu, stored, load in rows:
        print(
            f"{form:<26}{n:>14,}{size / 1e6:>9.1f}{secs:>10.2f}{cpu:>8.2f}{n / secs:>14,.0f}{stored:>12,}{load:>7.1f}"
        )
    print(f"load average after: {os.getloadavg()}")
    target_ok = rows[0][3] < 5
    print(f"target < 5 s for the query_range month: {'met' if target_ok else 'MISSED'}")
    return 0 if target_ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
