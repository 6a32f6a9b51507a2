"""Importing benchmark result files: how long reading and storing takes for large, realistic files.

Cases, each built here from the fixtures' layouts (tests/fixtures/bench_results):
- a vLLM `bench serve --save-result --save-detailed` run of N requests: per-request arrays (`input_lens`,
  `output_lens`, `ttfts`, `itls` with 256 inter-token gaps each, `generated_texts`), the bulk of a real file;
- a GuideLLM report with 32 benchmarks (the most levels a run stores);
- an AIPerf profile_export_aiperf.json (small; the floor of the import).
Each case is timed `--repeats` times into a fresh store (read + checks + one transaction). Prints a table;
never asserts. Run: python bench/bench_result_files.py [--requests 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from costmodel.measure import ImportFields, import_benchmark_files  # noqa: E402
from costmodel.store import connect  # noqa: E402

BENCH = ROOT / "tests" / "fixtures" / "bench_results"
NOW = datetime(2026, 12, 4, tzinfo=UTC)


def _vllm_detailed(requests: int) -> bytes:
    doc = json.loads(next((BENCH / "vllm_bench_serve").glob("*.json")).read_text())
    doc |= {
        "num_prompts": requests,
        "completed": requests,
        "input_lens": [512] * requests,
        "output_lens": [256] * requests,
        "ttfts": [0.075] * requests,
        "itls": [[0.0078] * 255 for _ in range(requests)],
        "generated_texts": ["lorem ipsum " * 100] * requests,
        "errors": [""] * requests,
    }
    return json.dumps(doc).encode()


def _guidellm_levels(levels: int) -> bytes:
    doc = json.loads((BENCH / "guidellm" / "benchmarks.json").read_text())
    template = doc["benchmarks"][1]
    doc["benchmarks"] = []
    for i in range(levels):
        b = json.loads(json.dumps(template))
        b["config"]["strategy"]["streams"] = i + 1
        b["start_time"], b["end_time"] = 1796050800.0 + 70 * i, 1796050860.0 + 70 * i
        doc["benchmarks"].append(b)
    return json.dumps(doc).encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    cases = {
        f"vLLM --save-detailed, {args.requests:,} requests": ("vllm.json", _vllm_detailed(args.requests)),
        "GuideLLM, 32 benchmarks": ("benchmarks.json", _guidellm_levels(32)),
        "AIPerf JSON": ("profile_export_aiperf.json", (BENCH / "aiperf" / "profile_export_aiperf.json").read_bytes()),
    }
    fields = ImportFields(gpu="h100", runtime="vllm", model="m")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'case':<42} {'MB':>7} {'median ms':>10} {'max ms':>8} {'MB/s':>7}")
    for label, (name, data) in cases.items():
        times = []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as d:
                con = connect(Path(d) / "bench.duckdb")
                t = time.perf_counter()
                import_benchmark_files(con, [(name, data)], fields=fields, now=NOW)
                times.append((time.perf_counter() - t) * 1000)
                con.close()
        mb = len(data) / 1e6
        med = statistics.median(times)
        print(f"{label:<42} {mb:>7.1f} {med:>10.0f} {max(times):>8.0f} {mb / (med / 1000):>7.1f}")


if __name__ == "__main__":
    main()
