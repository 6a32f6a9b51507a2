"""Calibrating on your own runs: how well a fit to one measured concurrency sweep predicts other workload shapes.

Emulates a user who measured one shape (input/output tokens) at every concurrency on their own stack, then asks
for the others: NVIDIA's DLI sweeps of an older NIM (the `dlinim-` rows of data/published_throughput_holdout.csv,
12 GPU setups of Llama 3 8B/70B, six shapes, concurrency 1–250). Three factor sets: the published fit, the own-runs
fit without a per-stream host cost, and with it (`Efficiency.stream_overhead_us`, what `fit_to_measurements` does
now). Prints median |error| on the fitted sweep and on the other shapes; never asserts.
Run: python bench/bench_own_runs.py
"""

from __future__ import annotations

import statistics
from collections import defaultdict

from costmodel import calibration
from costmodel.calibration import PublishedPoint
from costmodel.catalog import catalog, data_dir
from costmodel.throughput import estimate

TRAIN_SHAPES = ((200, 200), (2000, 2000), (200, 1000))


def main() -> None:
    cat = catalog()
    setups: dict[tuple[str, str, int, str], list[PublishedPoint]] = defaultdict(list)
    for r in calibration._read_points(data_dir() / calibration.HOLDOUT_FILE):  # the file's own validated reader
        if r.id.startswith("dlinim-"):
            setups[(r.model_id, r.gpu_id, r.gpu_count, r.quant_id)].append(r)
    print(f"{'fitted shape':>13} | {'factors':<26} | {'fitted sweep':>12} | {'other shapes':>12} | rows")
    for shape in TRAIN_SHAPES:
        errs: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in ("published", "own", "own+stream")}
        for (model_id, gpu_id, gpus, quant_id), rows in setups.items():
            m, g, q = cat.model(model_id), cat.gpu(gpu_id), cat.quant(quant_id)
            train = {r.id for r in rows if (r.input_tokens, r.output_tokens) == shape}
            levels = [(gpus, r.concurrency, shape[0], shape[1], r.value) for r in rows if r.id in train]
            fits = {"published": None}
            keep = calibration.OWN_STREAM_OVERHEAD_MIN_LEVELS
            try:
                calibration.OWN_STREAM_OVERHEAD_MIN_LEVELS = 10**9
                fits["own"] = calibration.fit_to_measurements(levels, model=m, gpu=g, quant=q, runtime="nvidia-nim")
            finally:
                calibration.OWN_STREAM_OVERHEAD_MIN_LEVELS = keep
            fits["own+stream"] = calibration.fit_to_measurements(levels, model=m, gpu=g, quant=q, runtime="nvidia-nim")
            for name, fit in fits.items():
                for r in rows:
                    est = estimate(
                        m, g, q, gpus=gpus, concurrency=r.concurrency, input_tokens=r.input_tokens,
                        output_tokens=r.output_tokens, runtime="nvidia-nim",
                        efficiency=fit.efficiency if fit else None, with_error_band=False,
                    )  # fmt: skip
                    errs[name][0 if r.id in train else 1].append(abs(est.output_tokens_per_s / r.value - 1))
        for name, (fitted, other) in errs.items():
            print(
                f"{shape[0]:>6}/{shape[1]:<6} | {name:<26} | {100 * statistics.median(fitted):>11.1f}% "
                f"| {100 * statistics.median(other):>11.1f}% | {len(other)}"
            )


if __name__ == "__main__":
    main()
