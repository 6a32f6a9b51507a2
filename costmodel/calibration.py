"""Calibrate the throughput model's efficiency factors against published measurements and the user's own runs.

`data/published_throughput.csv` holds measurements read from vendor and project publications (vLLM,
SGLang, TensorRT-LLM, llama.cpp, MLPerf, NIM …), each with its URL. For each runtime family the factors
of `Efficiency` (bandwidth and compute shares, per-layer and per-MoE-layer overheads, and the llama.cpp
data-centre and ROCm factors where the data has such rows) are fitted by coordinate descent on the
log error under a Huber loss (squared up to a 25 % miss, linear beyond, so a publication the model cannot
follow does not pull the shared factors off every other one), each source weighted by 1/√rows so one long
table does not outvote the others, within
physically sensible bounds, so an estimate never claims more than the datasheet allows.

Honest error figures come from **leave-one-source-out**: every row is predicted by a fit that saw nothing
from its publication (a source's rows share a harness, software version and reading, so leaving one row out
would flatter the model). The report gives in-sample, leave-one-source-out and default errors per family
and per regime (single stream, fixed concurrency, max load, long context, MoE, 4-bit, multi-GPU,
consumer/Apple).

The fit is stored, like the data it is fitted to: data/calibration_fit.json holds per family the fitted
factors, the factors of every leave-one-source-out refit and the three errors, per regime the errors the
engine's error bands come from, and the sha256 of every file the fit reads with the code version that made
it. A process reads that file when it matches (a few milliseconds) and refits in-process only when the
data or code moved on (seconds; said once in a log line), so an edited CSV still takes effect before
`opentco catalog calibration --refit --write` stores the new fit.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import re
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from costmodel.catalog import Catalog, GpuSpec, ModelArch, QuantFormat, catalog, data_dir
from costmodel.errors import DataFileError, UnknownName
from costmodel.throughput import (
    PRO_SEGMENTS,
    RUNTIME_FAMILIES,
    SERVER_FAMILIES,
    Basis,
    Efficiency,
    EstimateMode,
    current_release,
    estimate,
    named_release,
    regimes_of,
    release_series,
    runs_current_release,
    runtime_family,
    uses_fp4_units,
    uses_tensorrt_engines,
)

__all__ = [
    "FIT_CODE_VERSION",
    "FIT_FILE",
    "FIT_INPUTS",
    "HOLDOUT_FILE",
    "REGIMES",
    "CalibrationFit",
    "CalibrationReport",
    "ErrorFigures",
    "FamilyFit",
    "FitReport",
    "HoldoutCheck",
    "InputFile",
    "OwnRunsFit",
    "PublishedPoint",
    "RegimeError",
    "RegimeFit",
    "calibrated_efficiency",
    "calibration_fit",
    "calibration_report",
    "error_bands_pct",
    "fit_efficiency",
    "fit_report",
    "fit_to_measurements",
    "gpu_band_floor_pct",
    "gpu_error_floors_pct",
    "holdout_check",
    "published_points",
    "release_error_floors_pct",
    "runtime_series_errors",
    "stored_calibration_fit",
    "write_calibration_fit",
]

Metric = Literal["output_tokens_per_s_total", "output_tokens_per_s_per_stream", "prefill_tokens_per_s", "ttft_ms"]
REGIMES = (
    "single_stream",
    "fixed_concurrency",
    "max_load",
    "long_context",
    "moe",
    "4bit",
    "multi_gpu",
    "consumer_apple",
)


def _blank(v: object) -> object:
    return None if isinstance(v, str) and not v.strip() else v


class PublishedPoint(BaseModel):
    """One published measurement: a model on a GPU setup at a load, and the figure reported."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    model_id: str
    gpu_id: str
    gpu_count: Annotated[int, Field(ge=1)]
    quant_id: str
    engine: str
    concurrency: Annotated[int | None, BeforeValidator(_blank)] = None
    """Streams in flight; empty for offline max-throughput runs (estimated in max-load mode)."""
    input_tokens: Annotated[Annotated[int, Field(ge=0)] | None, BeforeValidator(_blank)] = None
    output_tokens: Annotated[Annotated[int, Field(ge=0)] | None, BeforeValidator(_blank)] = None
    """Empty where the publication used a variable-length data set (such points are not fitted to)."""
    metric: Metric
    value: Annotated[float, Field(gt=0)]
    source: Annotated[str, Field(min_length=3)]
    as_of: date
    notes: Annotated[str | None, BeforeValidator(_blank)] = None
    kv_cache_dtype: Annotated[str | None, BeforeValidator(_blank)] = None
    """KV cache dtype the run used (fp8 for TensorRT-LLM/MLPerf FP8 runs); empty: the format's default."""
    attention_dp: Annotated[bool | None, BeforeValidator(_blank)] = None
    """Whether the run put attention data-parallel across its GPUs (TensorRT-LLM's MoE recipe, SGLang
    `--enable-dp-attention`); empty: the runtime's default (`throughput.attention_dp_default`)."""
    mean_concurrency: Annotated[Annotated[float, Field(gt=0)] | None, BeforeValidator(_blank)] = None
    """Streams in flight on average over the run, where the benchmark prints it (SGLang `bench_serving`'s
    "Concurrency:", the sum of request latencies over the run's duration). A closed loop of few prompts with random
    lengths drains at its end, so fewer streams than `concurrency` ran for part of the run: the SGLang cookbook's
    `--num-prompts 80 --max-concurrency 16` averaged 13.9. The row is predicted at this figure; empty: at
    `concurrency`."""
    runtime_version: Annotated[str | None, BeforeValidator(_blank)] = None
    """The engine release the publication states it ran (`0.6.3`, `0.5.6.post1`, llama.cpp build `b2824`); empty
    where it does not. The engine's fixed costs fall from release to release, so `runtime_series_errors` reports
    the fit's error per release series: the overheads are fitted to whichever releases the rows measured."""

    @property
    def runtime(self) -> str:
        """The engine as the estimate's `runtime` takes it, with the stated release (`sglang 0.5.6.post1`)."""
        return f"{self.engine} {self.runtime_version}" if self.runtime_version else self.engine

    @property
    def runtime_series(self) -> str:
        """The engine and its release series (`throughput.release_series`: `vllm 0.11`, `sglang 0.5`,
        `llama.cpp b2xxx`), or the engine followed by "?" where the row states no release."""
        return release_series(self.engine, self.runtime_version)

    @property
    def source_key(self) -> str:
        """The publication a row came from (its first URL or repository path), for leave-one-source-out."""
        return self.source.split(";")[0].strip().split("@")[0]


@dataclass(frozen=True)
class _Resolved:
    point: PublishedPoint
    model: ModelArch
    gpu: GpuSpec
    quant: QuantFormat
    family: str
    regimes: tuple[str, ...]
    current: bool = False
    """Predicted with a current engine release's fixed costs (`throughput.CURRENT_RELEASES`)."""


HOLDOUT_FILE = "published_throughput_holdout.csv"
"""Published rows the fit never reads, so the stored factors are scored on measurements they were not fitted to, as a
new user's own measurement would score them (`holdout_check`): TensorRT-LLM's perf-overview cells the fitted file
lacks, and rows that, fitted, pulled the shared factors off every other regime (data/PUBLISHED_THROUGHPUT.md)."""


def published_points() -> list[PublishedPoint]:
    """The rows the calibration fits to (data/published_throughput.csv)."""
    return _read_points(data_dir() / "published_throughput.csv")


def _read_points(path: Path) -> list[PublishedPoint]:
    if not path.exists():
        return []
    out = []
    for line, row in enumerate(csv.DictReader(path.read_text(encoding="utf-8").splitlines()), start=2):
        try:
            out.append(PublishedPoint.model_validate(row))
        except ValidationError as ex:
            err = ex.errors()[0]
            raise DataFileError(f"{path.name}, line {line}, column {err['loc'][0]!r}: {err['msg']}") from None
    return out


def _resolve(cat: Catalog, pts: Sequence[PublishedPoint]) -> list[_Resolved]:
    """Points whose model, GPU and quantization are all in the catalog and whose lengths are stated (a first-token
    latency needs only its prompt length)."""
    out = []
    for p in pts:
        # a first-token latency needs only the prompt: the run's output length does not change it
        if p.input_tokens is None or (p.output_tokens is None and p.metric != "ttft_ms"):
            continue
        try:
            m, g, q = cat.model(p.model_id), cat.gpu(p.gpu_id), cat.quant(p.quant_id)
        except UnknownName:
            continue
        mode = EstimateMode.MAX_LOAD if p.concurrency is None else EstimateMode.FIXED_CONCURRENCY
        regimes = regimes_of(
            model=m,
            gpu=g,
            quant=q,
            gpus=p.gpu_count,
            concurrency=p.concurrency or 1,
            mode=mode,
            context=p.input_tokens + (p.output_tokens or 1),
        )
        out.append(_Resolved(p, m, g, q, runtime_family(q, runtime=p.engine, gpu=g), regimes, _current(p)))
    return out


def _current(p: PublishedPoint) -> bool:
    """Whether a published row ran a current engine release (`throughput.CURRENT_RELEASES`). A row that states no
    release is older: every such server row was published before the boundaries (Oracle's and MLPerf's of 2024,
    Hugging Face's TGI posts, tenstorrent's July 2025 sweeps; data/PUBLISHED_THROUGHPUT.md). So is one that states
    only a commit, which no boundary can be compared with (llama.cpp discussion #4167's 8e672ef of November 2023)."""
    return named_release(p.runtime) is not None and bool(current_release(p.runtime))


def _predict(r: _Resolved, eff: Efficiency) -> float:
    """What the engine predicts for a published row, run the way its harness ran it.

    A row without a concurrency is an offline max-throughput run: every request queued at once with one input
    and one output length (TensorRT-LLM perf-overview: requests "fed at an infinite rate", `prepare_dataset.py
    … --input-stdev=0 --output-stdev=0`; vLLM `benchmark_throughput.py`). Identical requests admitted together
    finish together, so the batch runs in waves: a wave's prompts are prefilled, then decoded, and prefill does
    not ride on decode steps as it does when arrivals are staggered. Such rows are predicted without chunked
    prefill interleaving (`chunked_prefill=False`); a user's max-load estimate keeps the runtime's default.

    A fixed-concurrency row whose run averaged fewer streams than its cap (`PublishedPoint.mean_concurrency`) is
    predicted at that average.
    """
    p = r.point
    if p.mean_concurrency is None or p.concurrency is None or p.mean_concurrency >= p.concurrency:
        return _predict_at(r, eff, p.concurrency or 1)
    # the run averaged a fractional batch: interpolate between the two whole batches around it
    lo = max(1, math.floor(p.mean_concurrency))
    share = min(1.0, max(0.0, p.mean_concurrency - lo))
    below = _predict_at(r, eff, lo)
    return below if share == 0 else below + share * (_predict_at(r, eff, lo + 1) - below)


def _predict_at(r: _Resolved, eff: Efficiency, concurrency: int) -> float:
    """The published row's metric, estimated at `concurrency` streams."""
    p = r.point
    est = estimate(
        r.model,
        r.gpu,
        r.quant,
        gpus=p.gpu_count,
        concurrency=concurrency,
        input_tokens=max(1, p.input_tokens or 1),
        output_tokens=max(1, p.output_tokens or 1),
        efficiency=eff,
        mode=EstimateMode.MAX_LOAD if p.concurrency is None else EstimateMode.FIXED_CONCURRENCY,
        runtime=p.runtime,
        kv_cache_dtype=p.kv_cache_dtype,
        chunked_prefill=False if p.concurrency is None else None,
        attention_dp=p.attention_dp,
        with_error_band=False,
        current=r.current,
    )
    value = {
        "output_tokens_per_s_total": est.output_tokens_per_s,
        # a published per-stream speed is what one user sees while tokens stream: 1 / inter-token latency
        "output_tokens_per_s_per_stream": 1000 / est.decode_step_ms if est.decode_step_ms > 0 else 0.0,
        "prefill_tokens_per_s": est.prefill_tokens_per_s,
        "ttft_ms": est.ttft_ms,
    }[p.metric]
    return value if math.isfinite(value) and value > 0 else 1e-9


def _err(pred: float, r: _Resolved) -> float:
    """Signed relative error of a prediction, as the fraction the estimate is above (+) or below (−)."""
    return pred / r.point.value - 1


_GRIDS: dict[str, tuple[float, ...]] = {
    "bandwidth": tuple(round(0.30 + 0.025 * i, 3) for i in range(29)),  # 0.300 … 1.000
    "compute": tuple(round(0.15 + 0.025 * i, 3) for i in range(33)),  # 0.150 … 0.950
    "layer_overhead_us": (0.0, 2.0, 5.0, 8.0, 12.0, 16.0, 20.0, 25.0, 30.0, 40.0, 50.0, 65.0, 80.0, 100.0, 130.0),
    "moe_expert_overhead_us": (
        0.0,
        0.5,
        1.0,
        1.5,
        2.0,
        3.0,
        4.0,
        5.0,
        6.0,
        8.0,
        12.0,
        16.0,
        22.0,
        30.0,
        40.0,
        55.0,
        75.0,
    ),
    "mla_layer_overhead_us": (0.0, 25.0, 50.0, 75.0, 100.0, 150.0, 200.0, 250.0, 300.0, 400.0, 500.0),
    "rocm_factor": (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0),
    "datacenter_overhead_factor": (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0),
    "pro_compute_factor": (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1.0),
    "apple_compute_factor": (1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8, 2.0, 2.4, 3.0),
    "apple_bandwidth_factor": (0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2),
    "attention_compute_factor": (0.6, 0.8, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0),
    "tensorrt_compute_factor": (0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8, 2.0),
    "fp4_compute_factor": (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2),
    "current_layer_factor": (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2),
    "current_expert_factor": (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.2),
    "current_mla_factor": (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.2),
    "hopper_compute_factor": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2),
    "moe_compute_factor": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5),
    "stream_overhead_us": (0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 100.0, 130.0, 160.0),
}
_MIN_FOR_EXTRA = 2  # rows a factor needs before it is fitted rather than left at its default


_ROWS_MOVED_BY: dict[str, Callable[[_Resolved], bool]] = {
    "moe_expert_overhead_us": lambda r: r.model.is_moe,
    "moe_compute_factor": lambda r: r.model.is_moe,
    "mla_layer_overhead_us": lambda r: bool(r.model.kv_lora_rank),
    "rocm_factor": lambda r: r.gpu.vendor.upper() == "AMD",
    "datacenter_overhead_factor": lambda r: r.gpu.segment == "datacenter",
    "pro_compute_factor": lambda r: r.gpu.segment in PRO_SEGMENTS,
    "tensorrt_compute_factor": lambda r: uses_tensorrt_engines(r.point.engine),
    "fp4_compute_factor": lambda r: uses_fp4_units(r.gpu, r.quant),
    "apple_compute_factor": lambda r: r.gpu.segment == "apple",
    "apple_bandwidth_factor": lambda r: r.gpu.segment == "apple",
    "hopper_compute_factor": lambda r: r.gpu.architecture == "hopper",
    "current_layer_factor": lambda r: r.current,
    "current_expert_factor": lambda r: r.current and r.model.is_moe,
    "current_mla_factor": lambda r: r.current and bool(r.model.kv_lora_rank),
}
"""The rows each extra factor can change (`throughput._step` applies it to these only), in the order the fit
searches them. A factor is fitted where a family has rows of its kind; searching it re-predicts only those rows,
which is what keeps a full refit fast. Bandwidth, compute, layer overhead and the attention factor move every row."""
_CURRENT_FACTORS = frozenset({"current_layer_factor", "current_expert_factor", "current_mla_factor"})
"""Factors that set current engine releases' fixed costs against older ones' (`throughput.CURRENT_RELEASES`)."""
_SPLIT_FACTORS = frozenset(
    {
        "datacenter_overhead_factor",
        "pro_compute_factor",
        "tensorrt_compute_factor",
        "fp4_compute_factor",
        "apple_compute_factor",
        "apple_bandwidth_factor",
        "hopper_compute_factor",
        *_CURRENT_FACTORS,
    }
)
"""Factors that set one kind of row against the family's others (TensorRT-LLM against the other engines, Macs
against the rest): they need rows on both sides, so a family all on Macs needs no Apple split."""
_ONLY_FOR: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        ("datacenter_overhead_factor", "pro_compute_factor", "hopper_compute_factor"), frozenset({"llama.cpp"})
    ),
    "moe_compute_factor": frozenset(SERVER_FAMILIES),
}
"""Factors fitted for some families only: llama.cpp's small kernels on professional cards and its Ampere-style
kernels on Hopper; the serving engines' grouped expert GEMMs (llama.cpp and MLX run their own MoE kernels)."""


def _free_params(pts: Sequence[_Resolved]) -> list[str]:
    params = ["bandwidth", "compute", "layer_overhead_us"]
    for name, moved in _ROWS_MOVED_BY.items():
        kind = sum(moved(r) for r in pts)
        if kind < _MIN_FOR_EXTRA or (name in _SPLIT_FACTORS and len(pts) - kind < _MIN_FOR_EXTRA):
            continue
        if name in _ONLY_FOR and pts[0].family not in _ONLY_FOR[name]:
            continue
        params.append(name)
    if pts[0].family in SERVER_FAMILIES and sum("long_context" in r.regimes for r in pts) >= _MIN_FOR_EXTRA:
        # FlashAttention's share (the serving engines' kernels; llama.cpp and MLX run their own). It moves every
        # row, but only long prompts pin it down.
        params.append("attention_compute_factor")
    return params


def _weights(pts: Sequence[_Resolved]) -> list[float]:
    per_source: dict[str, int] = {}
    for r in pts:
        per_source[r.point.source_key] = per_source.get(r.point.source_key, 0) + 1
    return [1 / math.sqrt(per_source[r.point.source_key]) for r in pts]


HUBER_LOG_ERROR = math.log(1.25)
"""Where a row's loss turns from squared to linear: a 25 % miss, the error band's order of size. Squared loss
(fit-18 and before) let the rows no factor can follow — the Qwen3 speed benchmark's H20 single streams at 1.5–2×,
GPUStack's gpt-oss on A100 — set the shared factors; Huber's linear tail weighs them as any other large miss.
Fit-19, with the same data and physics: squared loss 10.0 % in-sample, 11.5 % leave-one-source-out, 14.8 % on
the 185 held-out TensorRT-LLM/LMSYS rows; Huber 9.5 %, 11.4 %, 13.0 %. Set a priori, not tuned."""


def _term(eff: Efficiency, r: _Resolved, weight: float) -> float:
    """A row's share of the loss: its weight × the Huber loss of its log error (`HUBER_LOG_ERROR`)."""
    x = abs(math.log(_predict(r, eff) / r.point.value))
    return weight * (x * x if x <= HUBER_LOG_ERROR else HUBER_LOG_ERROR * (2 * x - HUBER_LOG_ERROR))


def fit_efficiency(
    points: Sequence[_Resolved],
    *,
    start: Efficiency | None = None,
    params: Iterable[str] | None = None,
    sweeps: int = 10,
) -> Efficiency:
    """Coordinate descent over the free factors, each on a fixed grid: deterministic and bounded.

    Args:
        points: resolved measurements of one runtime family.
        start: factors to start from (default: the engineering defaults).
        params: factors to fit (default: bandwidth, compute, layer overhead, plus MoE/ROCm/data-centre factors
            where the points have at least two rows of that kind, and the serving engines' attention factor where
            at least two rows have long prompts).
        sweeps: most passes over the factors; it stops at the first pass that improves nothing (3 passes left
            the server fit short of its optimum once the data passed 200 rows).
    """
    eff = start or Efficiency()
    if not points:
        return eff
    names = list(params) if params is not None else _free_params(points)
    current = [n for n in names if n in _CURRENT_FACTORS]
    if current:
        # Fit the shared factors to the older releases' rows first, then search the current-release factors
        # before them: started together, the shared overheads settle on a compromise between the generations
        # (DeepSeek's latent-attention cost at 50 µs, between 0.4.1's ~300 and 0.5's ~30) that the
        # current-release factors cannot then undo.
        older = [r for r in points if not r.current]
        rest = [n for n in names if n not in current]
        eff = fit_efficiency(older, start=eff, params=rest, sweeps=sweeps) if older else eff
        names = current + rest
    weights = _weights(points)
    terms = [_term(eff, r, w) for r, w in zip(points, weights, strict=True)]
    best = math.fsum(terms)
    rows = {n: [i for i, r in enumerate(points) if _ROWS_MOVED_BY.get(n, lambda _: True)(r)] for n in names}
    for _ in range(sweeps):
        improved = False
        for name in names:
            for v in _GRIDS[name]:
                if v == getattr(eff, name):
                    continue
                cand = replace(eff, **{name: v})
                trial = list(terms)
                for i in rows[name]:
                    trial[i] = _term(cand, points[i], weights[i])
                loss = math.fsum(trial)
                if loss < best - 1e-12:
                    eff, best, terms, improved = cand, loss, trial, True
        if not improved:
            break
    return eff


MIN_POINTS = 4

FIT_FILE = "calibration_fit.json"
"""The stored fit, in the data directory next to the CSVs it was fitted to."""
FIT_INPUTS = ("published_throughput.csv", "gpus.csv", "models.csv", "quant.csv")
"""The data files a fit reads; their sha256 in the stored fit decide whether it still holds."""
FIT_CODE_VERSION = "throughput-v2/fit-25"
"""Version of the fit and of the physics it predicts with. Bump it when the grids, weights, free factors,
`_predict` or `throughput.estimate` change what a fit returns: every stored fit is then refitted in-process
until `opentco catalog calibration --refit --write` stores a new one. The refit tests in
tests/engine/test_calibration_refit.py (every family's fit, and each family's fit without its largest
publication) catch a forgotten bump."""
_FACTORS = tuple(f.name for f in fields(Efficiency) if f.name not in ("basis", "source"))
_SHIPPED_FIT = Path(__file__).resolve().parents[1] / "data" / FIT_FILE
_log = logging.getLogger(__name__)


class _Stored(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def _check_factors(v: dict[str, float]) -> dict[str, float]:
    unknown = sorted(set(v) - set(_FACTORS))
    if unknown:
        raise ValueError(
            f"unknown efficiency factors {unknown}; refit with `opentco catalog calibration --refit --write`"
        )
    if not all(math.isfinite(x) and x >= 0 for x in v.values()):
        raise ValueError("efficiency factors must be finite and ≥ 0")
    return v


Factors = Annotated[dict[str, float], AfterValidator(_check_factors)]
"""Efficiency factors by field name of `throughput.Efficiency` (those not listed keep their defaults)."""


def _check_names(v: tuple[str, ...]) -> tuple[str, ...]:
    _check_factors(dict.fromkeys(v, 0.0))
    return v


FactorNames = Annotated[tuple[str, ...], AfterValidator(_check_names)]


class InputFile(_Stored):
    """One data file a fit read."""

    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    """sha256 of the file's bytes, as `sha256sum` prints it."""
    rows: Annotated[int, Field(ge=0)]
    """Data rows, header not counted."""


class ErrorFigures(_Stored):
    """|error| of a family's predictions over its published rows."""

    median_pct: float
    """Median |error|, %."""
    mean_pct: float
    """Mean |error| (MAPE), %."""


class RegimeFit(_Stored):
    """Median |error| of the rows in one regime, three ways (None where no row falls in it)."""

    points: Annotated[int, Field(ge=0)]
    in_sample_median_pct: float | None
    """Predicted by the fit that saw every row."""
    loso_median_pct: float | None
    """Leave-one-source-out: each row predicted by a fit that saw nothing of its publication (what to expect)."""
    default_median_pct: float | None
    """Predicted by the uncalibrated engineering defaults."""
    loso_within_2x: Annotated[int, Field(ge=0)]
    """Rows whose leave-one-source-out prediction is within a factor of two."""
    sources: Annotated[int, Field(ge=0)] = 0
    """Publications those rows come from."""


class FamilyFit(_Stored):
    """The fit of one runtime family and how well it does."""

    points: Annotated[int, Field(ge=1)]
    """Published rows of this family that resolve against the catalog and state their lengths."""
    sources: Annotated[int, Field(ge=1)]
    """Publications those rows come from."""
    calibrated: bool
    """False where fewer than MIN_POINTS rows exist: the engineering defaults are used."""
    fitted_params: FactorNames
    """The factors the fit was free to move (the others are at their defaults)."""
    efficiency: Factors
    """The factors the engine uses for this family."""
    in_sample: ErrorFigures
    leave_one_source_out: ErrorFigures
    defaults: ErrorFigures
    regimes: dict[str, RegimeFit]
    """Per regime this family has rows in."""
    loso_fits: dict[str, Factors]
    """Per publication (its source key): the factors fitted without its rows, which predicted them."""
    gpus: dict[str, RegimeFit] = Field(default_factory=dict)
    """Per GPU type (`gpu_id`) this family has rows on: how well the family's fit does on that hardware, which
    `gpu_error_floors_pct` turns into the least error band an estimate on it carries."""


class CalibrationFit(_Stored):
    """The calibration of the throughput model as stored in data/calibration_fit.json (or just refitted)."""

    source: Annotated[str, Field(min_length=3)]
    """How the file was made."""
    as_of: date
    """When it was fitted."""
    fit_code_version: str
    """`FIT_CODE_VERSION` of the code that fitted it."""
    inputs: dict[str, InputFile]
    """The data files it read, by name in the data directory."""
    published_rows: Annotated[int, Field(ge=0)]
    """Rows of published_throughput.csv."""
    fitted_rows: Annotated[int, Field(ge=0)]
    """Rows that resolve against the catalog and state their lengths (the rest are not fitted to)."""
    unresolved_ids: tuple[str, ...]
    """Ids of the rows that could not be predicted."""
    families: dict[str, FamilyFit]
    """Per runtime family with rows, in `RUNTIME_FAMILIES` order."""
    regimes: dict[str, RegimeFit]
    """Per regime (`REGIMES`), over every family."""
    overall: RegimeFit
    """Over every fitted row."""


def _pct(x: float) -> float:
    return round(100 * x, 4)


def _figures(errs: Sequence[float]) -> ErrorFigures:
    return ErrorFigures(median_pct=_pct(statistics.median(errs)), mean_pct=_pct(statistics.fmean(errs)))


def _regime_fit(rows: Sequence[tuple[_Resolved, float, float, float]]) -> RegimeFit:
    if not rows:
        return RegimeFit(
            points=0, in_sample_median_pct=None, loso_median_pct=None, default_median_pct=None, loso_within_2x=0
        )
    return RegimeFit(
        sources=len({r.point.source_key for r, _, _, _ in rows}),
        points=len(rows),
        in_sample_median_pct=_pct(statistics.median(abs(_err(i, r)) for r, i, _, _ in rows)),
        loso_median_pct=_pct(statistics.median(abs(_err(o, r)) for r, _, o, _ in rows)),
        default_median_pct=_pct(statistics.median(abs(_err(d, r)) for r, _, _, d in rows)),
        loso_within_2x=sum(_within_2x(o / r.point.value) for r, _, o, _ in rows),
    )


def _within_2x(ratio: float) -> bool:
    """Whether a prediction ÷ published ratio is within a factor of two."""
    return 0.5 <= ratio <= 2.0


def _factors_of(eff: Efficiency) -> dict[str, float]:
    return {name: float(getattr(eff, name)) for name in _FACTORS}


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


@cache
def _all_points(root: str) -> tuple[_Resolved, ...]:
    return tuple(_resolve(catalog(), published_points()))


def _family_points(root: str, family: str) -> tuple[_Resolved, ...]:
    return tuple(r for r in _all_points(root) if r.family == family)


def _label(family: str, points: int, sources: int) -> str:
    return f"fitted to {points} published {family} measurements from {sources} sources (data/published_throughput.csv)"


def _defaults_for(family: str, points: int) -> Efficiency:
    return Efficiency(source=f"engineering defaults (only {points} published {family} points)")


@cache
def _fitted(root: str, family: str) -> Efficiency:
    """The fit itself (a few seconds): what the stored file holds, or what replaces it when it is stale."""
    pts = _family_points(root, family)
    if len(pts) < MIN_POINTS:
        return _defaults_for(family, len(pts))
    sources = len({r.point.source_key for r in pts})
    return replace(fit_efficiency(pts), basis=Basis.CALIBRATED, source=_label(family, len(pts), sources))


def _efficiency_of(fam: FamilyFit, family: str) -> Efficiency:
    if not fam.calibrated:
        return _defaults_for(family, fam.points)
    eff = replace(Efficiency(), **fam.efficiency)
    return replace(eff, basis=Basis.CALIBRATED, source=_label(family, fam.points, fam.sources))


@cache
def _computed_fit(root: str) -> CalibrationFit:
    """Fit every family, then one leave-one-source-out refit per publication (the slow part)."""
    defaults = Efficiency()
    families: dict[str, FamilyFit] = {}
    rows: list[tuple[_Resolved, float, float, float]] = []
    for family in RUNTIME_FAMILIES:
        pts = _family_points(root, family)
        if not pts:
            continue
        eff = _fitted(root, family)
        loso: dict[str, Efficiency] = {}
        for src in sorted({r.point.source_key for r in pts}):
            rest = [r for r in pts if r.point.source_key != src]
            loso[src] = fit_efficiency(rest, start=defaults) if len(rest) >= MIN_POINTS else defaults
        fam_rows = [(r, _predict(r, eff), _predict(r, loso[r.point.source_key]), _predict(r, defaults)) for r in pts]
        gpu_ids = {r.gpu.gpu_id for r in pts}
        rows += fam_rows
        families[family] = FamilyFit(
            points=len(pts),
            sources=len(loso),
            calibrated=eff.basis is Basis.CALIBRATED,
            fitted_params=tuple(_free_params(pts)) if eff.basis is Basis.CALIBRATED else (),
            efficiency=_factors_of(eff),
            in_sample=_figures([abs(_err(i, r)) for r, i, _, _ in fam_rows]),
            leave_one_source_out=_figures([abs(_err(o, r)) for r, _, o, _ in fam_rows]),
            defaults=_figures([abs(_err(d, r)) for r, _, _, d in fam_rows]),
            regimes={
                g: _regime_fit([x for x in fam_rows if g in x[0].regimes])
                for g in REGIMES
                if any(g in r.regimes for r in pts)
            },
            loso_fits={src: _factors_of(e) for src, e in loso.items()},
            gpus={g: _regime_fit([x for x in fam_rows if x[0].gpu.gpu_id == g]) for g in sorted(gpu_ids)},
        )
    published = published_points()
    fitted_ids = {r.point.id for r in _all_points(root)}
    inputs = {}
    for name in FIT_INPUTS:
        path = Path(root) / name
        text = path.read_text(encoding="utf-8")
        inputs[name] = InputFile(sha256=_sha256(path) or "", rows=len(list(csv.DictReader(io.StringIO(text)))))
    return CalibrationFit(
        source="fitted by costmodel.calibration (`opentco catalog calibration --refit --write`) to "
        "data/published_throughput.csv, resolved against gpus.csv, models.csv and quant.csv; errors are median "
        "and mean |predicted ÷ published − 1|, leave-one-source-out from one refit per publication",
        as_of=date.today(),
        fit_code_version=FIT_CODE_VERSION,
        inputs=inputs,
        published_rows=len(published),
        fitted_rows=len(fitted_ids),
        unresolved_ids=tuple(p.id for p in published if p.id not in fitted_ids),
        families=families,
        regimes={g: _regime_fit([x for x in rows if g in x[0].regimes]) for g in REGIMES},
        overall=_regime_fit(rows),
    )


@cache
def _read_stored_fit(root: str) -> tuple[CalibrationFit | None, str]:
    """The stored fit as it is on disk (fresh or not), or None and why it cannot be used."""
    path = Path(root) / FIT_FILE
    try:
        return CalibrationFit.model_validate_json(path.read_bytes()), ""
    except FileNotFoundError:
        return None, "is missing"
    except ValidationError as ex:
        err = ex.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "file"
        return None, f"cannot be read ({where}: {err['msg']})"


def _stale_reasons(root: str, fit: CalibrationFit) -> list[str]:
    """Why a stored fit no longer describes the data and code in force (empty: it does)."""
    reasons = []
    if fit.fit_code_version != FIT_CODE_VERSION:
        reasons.append(f"fit code version {fit.fit_code_version!r} is not the code's {FIT_CODE_VERSION!r}")
    for name in FIT_INPUTS:
        stored = fit.inputs.get(name)
        if stored is None or stored.sha256 != _sha256(Path(root) / name):
            reasons.append(f"{name} changed since {fit.as_of}")
    return reasons


@cache
def _current_stored_fit(root: str) -> CalibrationFit | None:
    """The stored fit when it matches the data and code; else None, said once per process and data directory."""
    fit, problem = _read_stored_fit(root)
    if fit is not None:
        reasons = _stale_reasons(root, fit)
        if not reasons:
            return fit
        problem = "is stale: " + "; ".join(reasons)
    _log.warning(
        "%s %s; refitting the throughput calibration in this process (a few seconds each run). "
        "Store a new fit with `opentco catalog calibration --refit --write`.",
        Path(root) / FIT_FILE,
        problem,
    )
    return None


def stored_calibration_fit() -> CalibrationFit | None:
    """The fit stored in the data directory when its inputs' sha256 and code version still match, else None."""
    return _current_stored_fit(str(data_dir()))


def calibration_fit(*, refit: bool = False) -> CalibrationFit:
    """The calibration: read from data/calibration_fit.json, or refitted in-process when stale or asked to.

    Args:
        refit: ignore the stored file and fit again (one fit per family plus one per publication left out).
    """
    root = str(data_dir())
    stored = None if refit else _current_stored_fit(root)
    return stored or _computed_fit(root)


def write_calibration_fit(*, today: date | None = None) -> Path:
    """Refit and store the result as data/calibration_fit.json (in `$OPENTCO_DATA_DIR` when set).

    Args:
        today: the `as_of` date to record (default: today; tests pass one).

    Returns:
        The path written.
    """
    root = str(data_dir())
    fit = _computed_fit(root)
    if today is not None:
        fit = fit.model_copy(update={"as_of": today})
    path = Path(root) / FIT_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(fit.model_dump(mode="json"), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    for fn in (_read_stored_fit, _current_stored_fit, _calibrated, _error_bands, _gpu_floors):
        fn.cache_clear()
    return path


@cache
def _calibrated(root: str, family: str) -> Efficiency:
    stored = _current_stored_fit(root)
    if stored is None:
        return _fitted(root, family)
    fam = stored.families.get(family)
    return _defaults_for(family, 0) if fam is None else _efficiency_of(fam, family)


def calibrated_efficiency(family: str) -> Efficiency:
    """Efficiency factors for a runtime family: fitted where ≥ 4 published points exist, else defaults.

    Read from data/calibration_fit.json when it matches the data (instant); fitted in-process otherwise.
    """
    return _calibrated(str(data_dir()), family)


def _band_source(root: str) -> CalibrationFit | None:
    """The stored fit, even when stale; the repository's own when the data directory has none."""
    fit = _read_stored_fit(root)[0]
    if fit is None and Path(root) != _SHIPPED_FIT.parent:
        fit = _read_stored_fit(str(_SHIPPED_FIT.parent))[0]
    return fit


@cache
def _error_bands(root: str) -> tuple[tuple[str, float], ...]:
    fit = _band_source(root)
    if fit is None:
        return ()
    return tuple((g, round(r.loso_median_pct, 1)) for g, r in fit.regimes.items() if r.loso_median_pct is not None)


GPU_FLOOR_MIN_ROWS = 5
"""Published rows a family needs on one GPU type before its error there sets a floor under the band."""


def gpu_band_floor_pct(r: RegimeFit) -> float | None:
    """The floor one GPU's figures set under the error band (`gpu_error_floors_pct`), or None below
    `GPU_FLOOR_MIN_ROWS` rows."""
    if r.points < GPU_FLOOR_MIN_ROWS:
        return None
    pct = r.loso_median_pct if r.sources >= 2 else r.in_sample_median_pct
    return None if pct is None else round(pct, 1)


def band_floors_pct(fit: CalibrationFit, check: HoldoutCheck | None = None) -> dict[tuple[str, str], float]:
    """Floors under the error band per (runtime family, GPU type), % (`gpu_error_floors_pct`): each fitted GPU's
    `gpu_band_floor_pct`, raised to the held-out rows' median |error| where `GPU_FLOOR_MIN_ROWS` of them
    measured that GPU."""
    floors = {
        (family, gpu_id): floor
        for family, fam in fit.families.items()
        for gpu_id, r in fam.gpus.items()
        if (floor := gpu_band_floor_pct(r)) is not None
    }
    for key in check.gpus() if check is not None else ():
        held_out = check.median_pct(*key)
        if held_out is not None and len(check.of(*key)) >= GPU_FLOOR_MIN_ROWS:
            floors[key] = max(floors.get(key, 0.0), round(held_out, 1))
    return floors


@cache
def _gpu_floors(root: str) -> tuple[tuple[tuple[str, str], float], ...]:
    fit = _band_source(root)
    return tuple(band_floors_pct(fit, holdout_check(fit)).items()) if fit is not None else ()


def error_bands_pct() -> dict[str, float]:
    """Expected relative error per regime, %: the stored leave-one-source-out median |error|, to one decimal.

    Read from the stored fit even when it is stale (remeasuring is one refit per publication, too slow for
    every process); from the repository's own data/calibration_fit.json when the data directory has none.
    Empty when neither can be read (estimates then carry the generic band).
    """
    return dict(_error_bands(str(data_dir())))


def gpu_error_floors_pct() -> dict[tuple[str, str], float]:
    """Least expected relative error, %, per (runtime family, GPU type) the published rows measure.

    A regime's band is the median over every GPU in it, and one GPU can sit far from that median (the H20's
    batch-1 decode, the B200's NVFP4 rows). Where a family has `GPU_FLOOR_MIN_ROWS` rows on a GPU, its median
    |error| there is a floor under the band of every estimate of that family on that GPU: leave-one-source-out
    where two or more publications measured the GPU, else in-sample (one publication's fit is all there is, and
    even the fit that saw its rows misses them by that much); and where as many held-out rows
    (`holdout_check`) measured it, their median |error| if that is wider. Read like `error_bands_pct`.
    """
    root = str(data_dir())
    return dict(_gpu_floors(root))


@dataclass(frozen=True)
class FitReport:
    """How well the throughput model matches the published measurements of one runtime family."""

    family: str
    efficiency: Efficiency
    points: int
    sources: int
    mape_pct: float
    """Mean absolute percentage error on the points fitted to."""
    loo_mape_pct: float
    """Leave-one-source-out mean |error|: each point predicted by a fit that saw none of its source's rows."""
    default_mape_pct: float
    """Error of the uncalibrated defaults."""
    median_pct: float
    loso_median_pct: float
    default_median_pct: float
    per_point: tuple[tuple[PublishedPoint, float], ...]
    """Each point with its prediction by the full fit."""
    loso_per_point: tuple[tuple[PublishedPoint, float], ...] = ()
    """Each point with its leave-one-source-out prediction."""


def _family_report(root: str, family: str, fam: FamilyFit) -> FitReport:
    """A stored (or just computed) family fit, with each point's predictions recomputed from its factors."""
    pts = _family_points(root, family)
    eff = _efficiency_of(fam, family)
    loso = {src: replace(Efficiency(), **factors) for src, factors in fam.loso_fits.items()}
    return FitReport(
        family=family,
        efficiency=eff,
        points=fam.points,
        sources=fam.sources,
        mape_pct=fam.in_sample.mean_pct,
        loo_mape_pct=fam.leave_one_source_out.mean_pct,
        default_mape_pct=fam.defaults.mean_pct,
        median_pct=fam.in_sample.median_pct,
        loso_median_pct=fam.leave_one_source_out.median_pct,
        default_median_pct=fam.defaults.median_pct,
        per_point=tuple((r.point, _predict(r, eff)) for r in pts),
        loso_per_point=tuple((r.point, _predict(r, loso[r.point.source_key])) for r in pts),
    )


@dataclass(frozen=True)
class HoldoutCheck:
    """The stored fit's error on published rows it never saw (data/published_throughput_holdout.csv)."""

    rows: int
    """Rows in the file."""
    errors: tuple[tuple[PublishedPoint, str, float], ...]
    """Each row the catalog resolves: the row, its runtime family and the estimate's signed relative error."""

    def of(self, family: str | None = None, gpu_id: str | None = None) -> list[float]:
        """The signed errors of every resolved row, or of one family's (on one GPU type)."""
        return [e for p, fam, e in self.errors if family in (None, fam) and gpu_id in (None, p.gpu_id)]

    def gpus(self) -> list[tuple[str, str]]:
        """The (runtime family, GPU type) pairs the resolved rows measure, sorted."""
        return sorted({(fam, p.gpu_id) for p, fam, _ in self.errors})

    def median_pct(self, family: str | None = None, gpu_id: str | None = None) -> float | None:
        """Median |error|, %, over every resolved row or one family's (on one GPU type)."""
        errs = [abs(e) for e in self.of(family, gpu_id)]
        return 100 * statistics.median(errs) if errs else None

    def within_2x(self, family: str | None = None, gpu_id: str | None = None) -> int:
        """Rows the estimate puts within a factor of two of the published figure."""
        return sum(_within_2x(1 + e) for e in self.of(family, gpu_id))


def holdout_check(fit: CalibrationFit | None = None) -> HoldoutCheck | None:
    """Predict every held-out published row with the fit's factors (the stored fit unless one is given).

    None where the data directory has no holdout file. Rows whose model, GPU or format the catalog lacks are
    counted in `rows` but not scored.
    """
    root = data_dir()
    if not (root / HOLDOUT_FILE).exists():
        return None
    fit = fit or calibration_fit()
    points = _read_points(root / HOLDOUT_FILE)
    errors = []
    for r in _resolve(catalog(), points):
        fam = fit.families.get(r.family)
        eff = _efficiency_of(fam, r.family) if fam is not None else _defaults_for(r.family, 0)
        errors.append((r.point, r.family, _err(_predict(r, eff), r)))
    return HoldoutCheck(rows=len(points), errors=tuple(errors))


def fit_report(family: str, *, progress: Callable[[int, int], None] | None = None) -> FitReport:
    """A family's fit with its in-sample, leave-one-source-out and default errors.

    From data/calibration_fit.json when it matches the data; else refitted (slow: one fit per source).
    """
    fam = calibration_fit().families.get(family)
    if fam is None:
        raise DataFileError(f"no published {family} measurements resolve against the catalog")
    report = _family_report(str(data_dir()), family, fam)
    if progress:
        progress(report.points, report.points)
    return report


@dataclass(frozen=True)
class RegimeError:
    """Median |error| of the points in one regime, three ways."""

    regime: str
    points: int
    in_sample_pct: float
    loso_pct: float
    """Leave-one-source-out: the figure to expect on measurements not in the file."""
    default_pct: float
    within_2x: int
    """Points whose leave-one-source-out prediction is within a factor of two."""


@dataclass(frozen=True)
class CalibrationReport:
    """Per-family fits and per-regime errors over every resolvable published point."""

    families: tuple[FitReport, ...]
    regimes: tuple[RegimeError, ...]
    overall: RegimeError
    unresolved: tuple[PublishedPoint, ...]
    """Rows that could not be predicted (unknown model/GPU/format, or lengths not stated)."""


def _regime_error(name: str, r: RegimeFit) -> RegimeError:
    def pct(x: float | None) -> float:
        return math.nan if x is None else x

    return RegimeError(
        name,
        r.points,
        pct(r.in_sample_median_pct),
        pct(r.loso_median_pct),
        pct(r.default_median_pct),
        r.loso_within_2x,
    )


def calibration_report() -> CalibrationReport:
    """Every family's fit and the error per regime (in-sample, leave-one-source-out, defaults)."""
    root = str(data_dir())
    fit = calibration_fit()
    empty = RegimeFit(
        points=0, in_sample_median_pct=None, loso_median_pct=None, default_median_pct=None, loso_within_2x=0
    )
    unresolved = set(fit.unresolved_ids)
    return CalibrationReport(
        families=tuple(_family_report(root, f, fam) for f, fam in fit.families.items()),
        regimes=tuple(_regime_error(g, fit.regimes.get(g, empty)) for g in REGIMES),
        overall=_regime_error("all", fit.overall),
        unresolved=tuple(p for p in published_points() if p.id in unresolved),
    )


@dataclass(frozen=True)
class SeriesError:
    """The fit's error on the rows of one engine release series (`PublishedPoint.runtime_series`).

    A signed median shows the direction: a series far below zero runs faster than the estimate, as releases
    newer than those the overheads were fitted to do. Medians are None where the series has no such rows."""

    series: str
    fitted_rows: int
    in_sample_median_pct: float | None
    loso_median_pct: float | None
    loso_signed_median_pct: float | None
    """Median of the signed leave-one-source-out errors (+: the estimate is above the published figure)."""
    holdout_rows: int
    holdout_median_pct: float | None
    holdout_signed_median_pct: float | None
    loso_within_2x: int
    """Fitted rows whose leave-one-source-out prediction is within 2×."""
    holdout_within_2x: int


def _series_key(series: str) -> tuple[str, tuple[int, ...], str]:
    engine, _, release = series.rpartition(" ")
    numbers = tuple(int(n) for n in re.findall(r"\d+", release))
    return engine, numbers, release


@cache
def _series_errors(root: str) -> dict[str, tuple[tuple[tuple[float, float], ...], tuple[float, ...]]]:
    """Per release series: each fitted row's (in-sample, leave-one-source-out) signed error under the fit, and
    each held-out row's signed error."""
    fit = calibration_fit()
    fitted: dict[str, list[tuple[float, float]]] = {}
    for family, fam in fit.families.items():
        report = _family_report(root, family, fam)
        loso = {p.id: pred for p, pred in report.loso_per_point}
        for p, pred in report.per_point:
            fitted.setdefault(p.runtime_series, []).append((pred / p.value - 1, loso.get(p.id, pred) / p.value - 1))
    held: dict[str, list[float]] = {}
    check = holdout_check(fit)
    for p, _, e in check.errors if check is not None else ():
        held.setdefault(p.runtime_series, []).append(e)
    return {k: (tuple(fitted.get(k, ())), tuple(held.get(k, ()))) for k in fitted.keys() | held.keys()}


def runtime_series_errors() -> list[SeriesError]:
    """The error per engine release series, over the fitted rows (in-sample and leave-one-source-out, from the
    fit's stored factors) and the held-out rows; sorted by engine, then release."""

    def med(xs: Iterable[float], signed: bool = False) -> float | None:
        vals = [x if signed else abs(x) for x in xs]
        return round(100 * statistics.median(vals), 1) if vals else None

    out = []
    errors = _series_errors(str(data_dir()))
    for series in sorted(errors, key=_series_key):
        rows, hold = errors[series]
        out.append(
            SeriesError(
                series=series,
                fitted_rows=len(rows),
                in_sample_median_pct=med(i for i, _ in rows),
                loso_median_pct=med(o for _, o in rows),
                loso_signed_median_pct=med((o for _, o in rows), signed=True),
                holdout_rows=len(hold),
                holdout_median_pct=med(hold),
                holdout_signed_median_pct=med(hold, signed=True),
                loso_within_2x=sum(_within_2x(1 + o) for _, o in rows),
                holdout_within_2x=sum(_within_2x(1 + e) for e in hold),
            )
        )
    return out


RELEASE_FLOOR_MIN_ROWS = 5
"""Published rows of one engine release series needed before their error sets a floor under the band."""


def release_error_floors_pct() -> dict[str, float]:
    """Least expected relative error, %, per engine release series (`PublishedPoint.runtime_series`) with at
    least `RELEASE_FLOOR_MIN_ROWS` published rows: the median |error| of its fitted rows' leave-one-source-out
    predictions and its held-out rows together. An estimate whose runtime names a release (`sglang 0.5.6`)
    carries at least that band: SGLang 0.5's runs decode far faster than the overheads fitted to older
    releases allow, and the band says so."""
    floors = {}
    for series, (rows, hold) in _series_errors(str(data_dir())).items():
        errs = [abs(o) for _, o in rows] + [abs(e) for e in hold]
        if len(errs) >= RELEASE_FLOOR_MIN_ROWS and not series.endswith(" ?"):
            floors[series] = round(100 * statistics.median(errs), 1)
    return floors


@dataclass(frozen=True)
class OwnRunsFit:
    """Efficiency fitted to the user's stored benchmark runs of one model on one GPU type."""

    efficiency: Efficiency
    levels: int
    runs: int
    error_before_pct: float
    """Median |error| of the published calibration on these runs."""
    error_after_pct: float
    """Median |error| after fitting to them (in-sample: few levels, so treat as optimistic)."""


OWN_STREAM_OVERHEAD_MIN_LEVELS = 4
"""Levels (at three or more concurrencies) a user's runs need before their per-stream host cost is fitted too. On
NVIDIA's DLI sweeps of an older NIM (12 GPU setups, Llama 3 8B/70B, concurrency 1–250, held out), fitting it to
one workload shape's sweep took the error on the five other shapes from 12.0 / 10.8 / 9.9 % to 11.6 / 9.3 / 8.5 %
(sweeps at 200/200, 2000/2000, 200/1000 tokens; bench/bench_own_runs.py)."""


def fit_to_measurements(
    levels: Sequence[tuple[int, int, int, int, float]],
    *,
    model: ModelArch,
    gpu: GpuSpec,
    quant: QuantFormat,
    runtime: str | None = None,
    runs: int = 1,
) -> OwnRunsFit:
    """Fit the efficiency factors to the user's own measurements (`opentco measure` levels).

    Args:
        levels: (gpus, concurrency, input tokens, output tokens, measured output tokens/s total) per level.
        model: what was measured.
        gpu: on which GPU type.
        quant: in which weight format.
        runtime: the serving engine, when known.
        runs: how many stored runs the levels came from (for the label).

    Returns:
        The fitted factors, labelled "calibrated on your runs", with the error before and after.
    """
    family = runtime_family(quant, runtime=runtime, gpu=gpu)
    base = calibrated_efficiency(family)
    pts = []
    for i, (n, conc, inp, out, value) in enumerate(levels):
        if value <= 0:
            continue
        p = PublishedPoint(
            id=f"own-{i}",
            model_id=model.model_id,
            gpu_id=gpu.gpu_id,
            gpu_count=n,
            quant_id=quant.quant_id,
            engine=runtime or family,
            concurrency=conc,
            input_tokens=inp,
            output_tokens=out,
            metric="output_tokens_per_s_total",
            value=value,
            source="your runs",
            as_of=date.today(),
        )
        regimes = regimes_of(
            model=model,
            gpu=gpu,
            quant=quant,
            gpus=n,
            concurrency=conc,
            mode=EstimateMode.FIXED_CONCURRENCY,
            context=inp + out,
        )
        pts.append(_Resolved(p, model, gpu, quant, family, regimes, runs_current_release(runtime, family)))
    if not pts:
        raise DataFileError("no stored level of these runs produced tokens; nothing to calibrate on")
    before = 100 * statistics.median(abs(_err(_predict(r, base), r)) for r in pts)
    params = ["bandwidth", "layer_overhead_us"] if len(pts) < 3 else ["bandwidth", "compute", "layer_overhead_us"]
    if len(pts) >= OWN_STREAM_OVERHEAD_MIN_LEVELS and len({r.point.concurrency for r in pts}) >= 3:
        # a sweep over concurrency separates a per-stream host cost from the GPU's shares (`stream_overhead_us`)
        params.append("stream_overhead_us")
    fitted = fit_efficiency(pts, start=base, params=params)
    after = 100 * statistics.median(abs(_err(_predict(r, fitted), r)) for r in pts)
    eff = replace(
        fitted,
        basis=Basis.MEASURED,
        source=f"calibrated on your runs: {len(pts)} levels of {runs} run(s); median error before {before:.1f}% "
        f"→ error after {after:.1f}%",
    )
    return OwnRunsFit(eff, len(pts), runs, before, after)
