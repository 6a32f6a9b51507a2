"""Calibrate the throughput model's efficiency factors against published measurements and the user's own runs.

`data/published_throughput.csv` holds measurements read from vendor and project publications (vLLM,
SGLang, TensorRT-LLM, llama.cpp, MLPerf, NIM …), each with its URL. For each runtime family the factors
of `Efficiency` (bandwidth and compute shares, per-layer and per-MoE-layer overheads, and the llama.cpp
data-centre and ROCm factors where the data has such rows) are fitted by coordinate descent on the
squared log error, each source weighted by 1/√rows so one long table does not outvote the others, within
physically sensible bounds, so an estimate never claims more than the datasheet allows.

Honest error figures come from **leave-one-source-out**: every row is predicted by a fit that saw nothing
from its publication (a source's rows share a harness, software version and reading, so leaving one row out
would flatter the model). The report gives in-sample, leave-one-source-out and default errors per family
and per regime (single stream, fixed concurrency, max load, long context, MoE, 4-bit, multi-GPU,
consumer/Apple).
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from costmodel.catalog import Catalog, GpuSpec, ModelArch, QuantFormat, catalog, data_dir
from costmodel.errors import DataFileError, UnknownName
from costmodel.throughput import (
    RUNTIME_FAMILIES,
    Basis,
    Efficiency,
    EstimateMode,
    estimate,
    regimes_of,
    runtime_family,
)

__all__ = [
    "REGIMES",
    "CalibrationReport",
    "FitReport",
    "OwnRunsFit",
    "PublishedPoint",
    "RegimeError",
    "calibrated_efficiency",
    "calibration_report",
    "fit_efficiency",
    "fit_report",
    "fit_to_measurements",
    "published_points",
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


def published_points() -> list[PublishedPoint]:
    path = data_dir() / "published_throughput.csv"
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
    """Points whose model, GPU and quantization are all in the catalog and whose lengths are stated."""
    out = []
    for p in pts:
        if p.input_tokens is None or p.output_tokens is None:
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
            context=p.input_tokens + p.output_tokens,
        )
        out.append(_Resolved(p, m, g, q, runtime_family(q, runtime=p.engine), regimes))
    return out


def _predict(r: _Resolved, eff: Efficiency) -> float:
    p = r.point
    est = estimate(
        r.model,
        r.gpu,
        r.quant,
        gpus=p.gpu_count,
        concurrency=p.concurrency or 1,
        input_tokens=max(1, p.input_tokens or 1),
        output_tokens=max(1, p.output_tokens or 1),
        efficiency=eff,
        mode=EstimateMode.MAX_LOAD if p.concurrency is None else EstimateMode.FIXED_CONCURRENCY,
        runtime=p.engine,
        kv_cache_dtype=p.kv_cache_dtype,
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
    "moe_expert_overhead_us": (0.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 22.0, 30.0, 40.0, 55.0, 75.0),
    "rocm_factor": (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0),
    "datacenter_overhead_factor": (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0),
}
_MIN_FOR_EXTRA = 2  # rows a factor needs before it is fitted rather than left at its default


def _free_params(pts: Sequence[_Resolved]) -> list[str]:
    params = ["bandwidth", "compute", "layer_overhead_us"]
    if sum(r.model.is_moe for r in pts) >= _MIN_FOR_EXTRA:
        params.append("moe_expert_overhead_us")
    if sum(r.gpu.vendor.upper() == "AMD" for r in pts) >= _MIN_FOR_EXTRA:
        params.append("rocm_factor")
    dc = sum(r.gpu.segment == "datacenter" for r in pts)
    if dc >= _MIN_FOR_EXTRA and len(pts) - dc >= _MIN_FOR_EXTRA and pts[0].family == "llama.cpp":
        params.append("datacenter_overhead_factor")
    return params


def _weights(pts: Sequence[_Resolved]) -> list[float]:
    per_source: dict[str, int] = {}
    for r in pts:
        per_source[r.point.source_key] = per_source.get(r.point.source_key, 0) + 1
    return [1 / math.sqrt(per_source[r.point.source_key]) for r in pts]


def _loss(eff: Efficiency, pts: Sequence[_Resolved], weights: Sequence[float]) -> float:
    return sum(w * math.log(_predict(r, eff) / r.point.value) ** 2 for r, w in zip(pts, weights, strict=True))


def fit_efficiency(
    points: Sequence[_Resolved],
    *,
    start: Efficiency | None = None,
    params: Iterable[str] | None = None,
    sweeps: int = 3,
) -> Efficiency:
    """Coordinate descent over the free factors, each on a fixed grid: deterministic and bounded.

    Args:
        points: resolved measurements of one runtime family.
        start: factors to start from (default: the engineering defaults).
        params: factors to fit (default: bandwidth, compute, layer overhead, plus MoE/ROCm/data-centre factors
            where the points have at least two rows of that kind).
        sweeps: passes over the factors.
    """
    eff = start or Efficiency()
    if not points:
        return eff
    names = list(params) if params is not None else _free_params(points)
    weights = _weights(points)
    best = _loss(eff, points, weights)
    for _ in range(sweeps):
        improved = False
        for name in names:
            for v in _GRIDS[name]:
                if v == getattr(eff, name):
                    continue
                cand = replace(eff, **{name: v})
                loss = _loss(cand, points, weights)
                if loss < best - 1e-12:
                    eff, best, improved = cand, loss, True
        if not improved:
            break
    return eff


MIN_POINTS = 4


@cache
def _all_points(root: str) -> tuple[_Resolved, ...]:
    return tuple(_resolve(catalog(), published_points()))


def _family_points(root: str, family: str) -> tuple[_Resolved, ...]:
    return tuple(r for r in _all_points(root) if r.family == family)


@cache
def _calibrated(root: str, family: str) -> Efficiency:
    pts = _family_points(root, family)
    if len(pts) < MIN_POINTS:
        return Efficiency(source=f"engineering defaults (only {len(pts)} published {family} points)")
    fitted = fit_efficiency(pts)
    sources = len({r.point.source_key for r in pts})
    return replace(
        fitted,
        basis=Basis.CALIBRATED,
        source=f"fitted to {len(pts)} published {family} measurements from {sources} sources "
        "(data/published_throughput.csv)",
    )


def calibrated_efficiency(family: str) -> Efficiency:
    """Efficiency factors for a runtime family: fitted where ≥ 4 published points exist, else defaults."""
    return _calibrated(str(data_dir()), family)


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


@cache
def _fit_report(root: str, family: str) -> FitReport:
    pts = _family_points(root, family)
    if not pts:
        raise DataFileError(f"no published {family} measurements resolve against the catalog")
    eff = calibrated_efficiency(family)
    start = Efficiency()
    loso: dict[str, float] = {}
    for src in sorted({r.point.source_key for r in pts}):
        rest = [r for r in pts if r.point.source_key != src]
        fitted = fit_efficiency(rest, start=start) if len(rest) >= MIN_POINTS else start
        for r in pts:
            if r.point.source_key == src:
                loso[r.point.id] = _predict(r, fitted)
    ins = [abs(_err(_predict(r, eff), r)) for r in pts]
    out = [abs(_err(loso[r.point.id], r)) for r in pts]
    dflt = [abs(_err(_predict(r, Efficiency()), r)) for r in pts]
    return FitReport(
        family=family,
        efficiency=eff,
        points=len(pts),
        sources=len({r.point.source_key for r in pts}),
        mape_pct=100 * statistics.fmean(ins),
        loo_mape_pct=100 * statistics.fmean(out),
        default_mape_pct=100 * statistics.fmean(dflt),
        median_pct=100 * statistics.median(ins),
        loso_median_pct=100 * statistics.median(out),
        default_median_pct=100 * statistics.median(dflt),
        per_point=tuple((r.point, _predict(r, eff)) for r in pts),
        loso_per_point=tuple((r.point, loso[r.point.id]) for r in pts),
    )


def fit_report(family: str, *, progress: Callable[[int, int], None] | None = None) -> FitReport:
    """Fit, then measure in-sample, leave-one-source-out and default errors (slow: one fit per source)."""
    report = _fit_report(str(data_dir()), family)
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


def _regime_error(name: str, rows: Sequence[tuple[_Resolved, float, float, float]]) -> RegimeError:
    if not rows:
        return RegimeError(name, 0, math.nan, math.nan, math.nan, 0)
    ins = [abs(_err(i, r)) for r, i, _, _ in rows]
    out = [abs(_err(o, r)) for r, _, o, _ in rows]
    dflt = [abs(_err(d, r)) for r, _, _, d in rows]
    within = sum(0.5 <= o / r.point.value <= 2.0 for r, _, o, _ in rows)
    return RegimeError(
        name,
        len(rows),
        100 * statistics.median(ins),
        100 * statistics.median(out),
        100 * statistics.median(dflt),
        within,
    )


def calibration_report() -> CalibrationReport:
    """Every family's fit and the error per regime (in-sample, leave-one-source-out, defaults)."""
    root = str(data_dir())
    fams = tuple(fit_report(f) for f in RUNTIME_FAMILIES if _family_points(root, f))
    rows: list[tuple[_Resolved, float, float, float]] = []
    for f in fams:
        pts = _family_points(root, f.family)
        ins = {p.id: v for p, v in f.per_point}
        out = {p.id: v for p, v in f.loso_per_point}
        rows += [(r, ins[r.point.id], out[r.point.id], _predict(r, Efficiency())) for r in pts]
    regimes = tuple(_regime_error(g, [x for x in rows if g in x[0].regimes]) for g in REGIMES)
    resolved = {r.point.id for r in _all_points(root)}
    return CalibrationReport(
        families=fams,
        regimes=regimes,
        overall=_regime_error("all", rows),
        unresolved=tuple(p for p in published_points() if p.id not in resolved),
    )


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
    family = runtime_family(quant, runtime=runtime)
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
        pts.append(_Resolved(p, model, gpu, quant, family, regimes))
    if not pts:
        raise DataFileError("no stored level of these runs produced tokens; nothing to calibrate on")
    before = 100 * statistics.median(abs(_err(_predict(r, base), r)) for r in pts)
    params = ["bandwidth", "layer_overhead_us"] if len(pts) < 3 else ["bandwidth", "compute", "layer_overhead_us"]
    fitted = fit_efficiency(pts, start=base, params=params)
    after = 100 * statistics.median(abs(_err(_predict(r, fitted), r)) for r in pts)
    eff = replace(
        fitted,
        basis=Basis.MEASURED,
        source=f"calibrated on your runs: {len(pts)} levels of {runs} run(s); median error before {before:.1f}% "
        f"→ error after {after:.1f}%",
    )
    return OwnRunsFit(eff, len(pts), runs, before, after)
