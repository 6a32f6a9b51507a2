"""Evaluation throughput: 1,000 tasks at concurrency 32 against a fake endpoint answering in 50 ms.

Targets (issue 14): the run finishes in < 5 s, and the client's own overhead is < 5 ms per item.

The fake server runs in its own process (tests/evals/fake_openai.py), so this process's CPU time is the
client's: request building, HTTP, streaming parse, scoring, batched writes to DuckDB. Overhead per item =
this process's CPU seconds ÷ items (CPU, not wall time: on a shared 2-core machine wall time also counts
waiting for the server's process). The ideal wall time is 1,000 ÷ 32 × 50 ms = 1.56 s.

    python bench/bench_eval.py [--items 1000] [--concurrency 32] [--latency-ms 50] [--no-stream]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from costmodel.evals import RunSettings, Target, parse_tasks, run_eval, summarise  # noqa: E402
from costmodel.store import connect  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--no-stream", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        answers = {f"Ticket {i}: classify it.": ["billing", "bug", "account"][i % 3] for i in range(args.items)}
        (Path(tmp) / "answers.json").write_text(json.dumps(answers))
        lines = [
            json.dumps(
                {
                    "id": f"t{i}",
                    "task_class": ["triage", "routing"][i % 2],
                    "prompt": prompt,
                    "reference": ref,
                    "scorer": "choice",
                    "labels": ["billing", "bug", "account"],
                }
            )
            for i, (prompt, ref) in enumerate(answers.items())
        ]
        task_set = parse_tasks("\n".join(lines).encode(), name="bench.jsonl")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.evals.fake_openai",
                "--latency-ms",
                str(args.latency_ms),
                "--answers",
                str(Path(tmp) / "answers.json"),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            port = int(server.stdout.readline().split()[1])  # type: ignore[union-attr]
            target = Target(label="fake", base_url=f"http://127.0.0.1:{port}/v1", model="m", stream=not args.no_stream)
            settings = RunSettings(targets=[target], concurrency=args.concurrency)
            con = connect(Path(tmp) / "bench.duckdb")
            cpu0, wall0 = time.process_time(), time.perf_counter()
            outcome = run_eval(con, task_set=task_set, settings=settings)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            summary = summarise(con, outcome.run_id).targets[0]
            con.close()
        finally:
            server.stdin.close()  # type: ignore[union-attr]
            server.wait(timeout=30)

    ideal = args.items / args.concurrency * args.latency_ms / 1000
    per_item_ms = cpu / args.items * 1000
    print(
        f"items {args.items}, concurrency {args.concurrency}, fake latency {args.latency_ms:g} ms, "
        f"{'non-streaming' if args.no_stream else 'streaming'}"
    )
    print(f"wall        {wall:6.2f} s   (ideal {ideal:.2f} s; target < 5 s)  {'OK' if wall < 5 else 'MISSED'}")
    print(f"client CPU  {per_item_ms:6.2f} ms/item (target < 5 ms)         {'OK' if per_item_ms < 5 else 'MISSED'}")
    print(
        f"accuracy    {summary.accuracy:.3f} on {summary.n} items, {summary.errors} errors, "
        f"p50 latency {summary.p50_latency_ms:.1f} ms, p95 {summary.p95_latency_ms:.1f} ms"
    )


if __name__ == "__main__":
    main()
