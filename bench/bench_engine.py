"""Engine speed: 5 options × 36 months with break-even, full tornado and a 1,000-draw Monte Carlo
(target ≤ 250 ms median on 2 cores), and the slider rerun without the Monte Carlo (target < 150 ms).

Prints a table; never asserts (timings belong in notes, not in tests).
Run: python bench/bench_engine.py
"""

from __future__ import annotations

import statistics
import time

from costmodel.demo import demo_scenario
from costmodel.scenario import Scenario
from costmodel.sensitivity import tornado
from costmodel.tco import evaluate


def _time(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    t0 = time.perf_counter()
    s = demo_scenario()
    evaluate(s)  # first call loads data and fits the calibration
    cold_ms = (time.perf_counter() - t0) * 1000

    def fresh() -> Scenario:
        # a changed input (as a slider move makes) defeats any cache on the whole scenario
        w = s.workload.model_copy(update={"requests_per_month": s.workload.requests_per_month * 1.01})
        return s.model_copy(update={"workload": w})

    def full() -> None:
        sc = fresh()
        r = evaluate(sc)
        tornado(sc, r)

    rows = [
        ("evaluate, no Monte Carlo (slider rerun)", _time(lambda: evaluate(fresh(), with_uncertainty=False), 30)),
        ("evaluate (5 options, 36 months, break-even, MC)", _time(lambda: evaluate(fresh()), 30)),
        ("tornado (all numeric inputs ±20 %)", _time(lambda: tornado(s), 30)),
        ("evaluate + tornado (the target)", _time(full, 30)),
    ]
    print(f"scenario: {s.name} — {len(s.options)} options, {s.horizon_months} months")
    print(f"cold start (data load + calibration fit + first evaluate): {cold_ms:.0f} ms\n")
    print(f"{'step':48} {'median ms':>10} {'p95 ms':>8}")
    for name, xs in rows:
        p95 = sorted(xs)[int(len(xs) * 0.95) - 1]
        print(f"{name:48} {statistics.median(xs):>10.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()
