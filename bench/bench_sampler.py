"""CPU cost of the NVML sampler thread: `python bench/bench_sampler.py [--seconds 10] [--real]`.

The target is under 1 % of one core at 10 Hz. By default NVML is the test suite's fake (no driver calls),
which measures the sampler's own Python overhead; `--real` uses `pynvml` on this machine's GPUs and so
also counts the driver's time. The figure is the sampler thread's own CPU clock (POSIX per-thread clock)
over wall time; the whole process's share (main thread asleep) is shown beside it.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from costmodel.measure import NvmlSampler
from costmodel.measure.nvml import Nvml, load_nvml


def _sampler_thread_cpu_s() -> float:
    """CPU seconds the sampler thread has used so far (its own POSIX thread clock)."""
    thread = next(t for t in threading.enumerate() if t.name == "opentco-nvml-sampler")
    assert thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def _cpu_share(seconds: float, sampler: NvmlSampler) -> tuple[float, float, int]:
    """(sampler-thread CPU share, whole-process CPU share, samples) over `seconds` of sampling."""
    sampler.start()
    thread0, cpu0, wall0 = _sampler_thread_cpu_s(), time.process_time(), time.perf_counter()
    time.sleep(seconds)
    thread, cpu, wall = _sampler_thread_cpu_s() - thread0, time.process_time() - cpu0, time.perf_counter() - wall0
    samples = len(sampler.stop())
    return thread / wall, cpu / wall, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per row")
    parser.add_argument("--real", action="store_true", help="sample this machine's GPUs through pynvml")
    args = parser.parse_args()

    rows: list[tuple[int, float, float, int, float, float]] = []
    plans: list[str] = []
    if args.real:
        nvml: Nvml = load_nvml()
        configs = [(0, 10.0, 1.0), (0, 10.0, 0.1), (0, 100.0, 1.0)]
    else:
        from tests.measure.fake_pynvml import FakeGpu, FakePynvml

        configs = [(1, 10.0, 1.0), (8, 10.0, 1.0), (1, 10.0, 0.1), (1, 100.0, 1.0), (8, 100.0, 1.0)]
    for gpus, hz, detail_s in configs:
        if not args.real:
            nvml = FakePynvml([FakeGpu() for _ in range(gpus)])
        sampler = NvmlSampler(nvml=nvml, interval_s=1 / hz, detail_interval_s=detail_s)
        thread_share, process_share, samples = _cpu_share(args.seconds, sampler)
        rows.append((len(sampler.gpu_indices), hz, detail_s, samples, thread_share * 100, process_share * 100))
        plans.append(f"{hz:g} Hz: every {sampler.read_every_s[0]} s; cost per call {sampler.reading_cost_s[0]}")

    kind = "real pynvml" if args.real else "fake NVML (the sampler's own overhead)"
    print(f"NVML sampler CPU cost, {kind}, {args.seconds:g} s per row")
    print("(energy counter every tick unless its cost breaks the 0.5 % CPU budget; the other readings once per")
    print(" 'details every' seconds, one per tick)")
    head = f"{'GPUs':>5} {'rate Hz':>8} {'details every s':>16} {'samples':>8}"
    print(f"{head} {'sampler thread % core':>22} {'process % core':>15}")
    for gpus, hz, detail_s, samples, thread_pct, process_pct in rows:
        print(f"{gpus:>5} {hz:>8.0f} {detail_s:>16.1f} {samples:>8} {thread_pct:>22.4f} {process_pct:>15.4f}")
    if args.real:
        print("read plan (GPU 0, seconds between readings) and CPU seconds per call measured at start:")
        for plan in plans:
            print("  " + plan)


if __name__ == "__main__":
    main()
