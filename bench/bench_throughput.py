"""Throughput model speed: one estimate, the max-concurrency search, the calibration fit and its report.

Targets (issue 12): one estimate < 5 ms; max-concurrency search < 20 ms; calibration fit < 30 s.
Prints a table; never asserts (timings belong in notes, not in tests).
Run: python bench/bench_throughput.py
"""

from __future__ import annotations

import statistics
import time

from costmodel import calibration, throughput
from costmodel.catalog import catalog


def _ms(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    cat = catalog()
    t = time.perf_counter()
    for family in throughput.RUNTIME_FAMILIES:
        calibration.calibrated_efficiency(family)
    fit_s = time.perf_counter() - t

    m, g, q = cat.model("llama-3.1-70b"), cat.gpu("H100-SXM"), cat.quant("fp8")
    counter = iter(range(10**9))

    def one() -> None:
        throughput.estimate(m, g, q, gpus=2, concurrency=1 + next(counter) % 500, input_tokens=1000, output_tokens=300)

    def search() -> None:
        # a fresh latency target each time defeats the lru_cache, as a slider move would
        throughput.max_concurrency_meeting(
            m, g, q, gpus=2, input_tokens=1000, output_tokens=300, ttft_ms=2000 + next(counter) % 1000,
            output_tokens_per_s_per_user=20,
        )  # fmt: skip

    pts = calibration._family_points(str(calibration.data_dir()), "server")
    t = time.perf_counter()
    calibration.fit_efficiency(pts)  # what the refit test in the suite runs: the largest family from scratch
    server_fit_s = time.perf_counter() - t
    est = _ms(one, 500)
    srch = _ms(search, 100)
    t = time.perf_counter()
    rep = calibration.calibration_report()
    report_s = time.perf_counter() - t
    print(f"{'what':40s} {'median':>10s} {'p95':>10s}")
    print(f"{'one estimate (ms)':40s} {statistics.median(est):10.3f} {sorted(est)[int(0.95 * len(est))]:10.3f}")
    print(f"{'max-concurrency search (ms)':40s} {statistics.median(srch):10.3f} {sorted(srch)[95]:10.3f}")
    print(f"{'calibration fit, all families (s)':40s} {fit_s:10.2f}")
    print(f"{'server family refit, ' + str(len(pts)) + ' rows (s)':40s} {server_fit_s:10.2f}")
    print(f"{'calibration report incl. LOSO (s)':40s} {report_s:10.2f}")
    print(f"points: {rep.overall.points}, leave-one-source-out median |error| {rep.overall.loso_pct:.1f} %")


if __name__ == "__main__":
    main()
