"""Calibrate the throughput model's efficiency factors against published measurements.

`data/published_throughput.csv` holds measurements read from vendor and project publications (vLLM,
TensorRT-LLM, llama.cpp, MLPerf …), each with its URL. For each runtime family the bandwidth and
compute efficiencies are fitted by grid search on squared log error, within physically sensible bounds,
so the estimate never claims more than the datasheet allows. The report gives the in-sample error, the
leave-one-out error (what to expect on measurements not in the file) and the error of the defaults.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from costmodel.catalog import Catalog, catalog, data_dir
from costmodel.errors import DataFileError, UnknownName
from costmodel.throughput import Basis, Efficiency, estimate, runtime_family

__all__ = ["FitReport", "PublishedPoint", "calibrated_efficiency", "fit_report", "published_points"]

Metric = Literal["output_tokens_per_s_total", "output_tokens_per_s_per_stream", "prefill_tokens_per_s", "ttft_ms"]


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
    """Streams in flight; empty for offline max-throughput runs."""
    input_tokens: Annotated[Annotated[int, Field(ge=0)] | None, BeforeValidator(_blank)] = None
    output_tokens: Annotated[Annotated[int, Field(ge=0)] | None, BeforeValidator(_blank)] = None
    """Empty where the publication used a variable-length data set (such points are not fitted to)."""
    metric: Metric
    value: Annotated[float, Field(gt=0)]
    source: Annotated[str, Field(min_length=3)]
    as_of: date
    notes: Annotated[str | None, BeforeValidator(_blank)] = None


@dataclass(frozen=True)
class _Resolved:
    point: PublishedPoint
    args: tuple[object, ...]


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
    """Points whose model, GPU and quantization are all in the catalog (others cannot be predicted)."""
    out = []
    for p in pts:
        if p.input_tokens is None or p.output_tokens is None:
            continue
        try:
            out.append(_Resolved(p, (cat.model(p.model_id), cat.gpu(p.gpu_id), cat.quant(p.quant_id))))
        except UnknownName:
            continue
    return out


def _predict(r: _Resolved, eff: Efficiency) -> float:
    model, gpu, quant = r.args
    p = r.point
    est = estimate(
        model,  # type: ignore[arg-type]
        gpu,  # type: ignore[arg-type]
        quant,  # type: ignore[arg-type]
        gpus=p.gpu_count,
        concurrency=p.concurrency or 10**6,  # offline runs: as many streams as memory holds
        input_tokens=max(1, p.input_tokens or 1),
        output_tokens=max(1, p.output_tokens or 1),
        efficiency=eff,
    )
    value = {
        "output_tokens_per_s_total": est.output_tokens_per_s,
        "output_tokens_per_s_per_stream": est.output_tokens_per_s_per_stream,
        "prefill_tokens_per_s": est.prefill_tokens_per_s,
        "ttft_ms": est.ttft_ms,
    }[p.metric]
    return value if math.isfinite(value) and value > 0 else 1e-9


_BW = [round(0.30 + 0.025 * i, 3) for i in range(27)]  # 0.300 … 0.950
_CO = [round(0.15 + 0.025 * i, 3) for i in range(31)]  # 0.150 … 0.900


def _loss(eff: Efficiency, pts: Sequence[_Resolved]) -> float:
    return sum(math.log(_predict(r, eff) / r.point.value) ** 2 for r in pts)


def _fit(pts: Sequence[_Resolved]) -> Efficiency:
    """Coarse-to-fine grid search; deterministic and bounded to physically sensible factors."""
    base = Efficiency()
    coarse = [replace(base, bandwidth=b, compute=c) for b in _BW[::4] for c in _CO[::4]]
    best = min(coarse, key=lambda e: _loss(e, pts))
    fine = [
        replace(base, bandwidth=b, compute=c)
        for b in _BW
        if abs(b - best.bandwidth) <= 0.1
        for c in _CO
        if abs(c - best.compute) <= 0.1
    ]
    return min(fine, key=lambda e: _loss(e, pts))


def _mape(eff: Efficiency, pts: Sequence[_Resolved]) -> float:
    return 100 * sum(abs(_predict(r, eff) / r.point.value - 1) for r in pts) / len(pts)


MIN_POINTS = 4


@cache
def _family_points(root: str, family: str) -> tuple[_Resolved, ...]:
    cat = catalog()
    return tuple(r for r in _resolve(cat, published_points()) if runtime_family(r.args[2]) == family)  # type: ignore[arg-type]


@cache
def _calibrated(root: str, family: str) -> Efficiency:
    pts = _family_points(root, family)
    if len(pts) < MIN_POINTS:
        return Efficiency(source=f"engineering defaults (only {len(pts)} published {family} points)")
    fitted = _fit(pts)
    sources = len({r.point.source for r in pts})
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
    mape_pct: float
    """Mean absolute percentage error on the points fitted to."""
    loo_mape_pct: float
    """Leave-one-out error: each point predicted by a fit that never saw it (out-of-sample estimate)."""
    default_mape_pct: float
    """Error of the uncalibrated defaults."""
    per_point: tuple[tuple[PublishedPoint, float], ...]
    """Each point with its prediction by the full fit."""


def fit_report(family: str, *, progress: Callable[[int, int], None] | None = None) -> FitReport:
    """Fit, then measure in-sample, leave-one-out and default errors (slow: one fit per point)."""
    pts = _family_points(str(data_dir()), family)
    if not pts:
        raise DataFileError(f"no published {family} measurements resolve against the catalog")
    eff = calibrated_efficiency(family)
    loo = []
    for i, r in enumerate(pts):
        rest = pts[:i] + pts[i + 1 :]
        loo.append(abs(_predict(r, _fit(rest)) / r.point.value - 1))
        if progress:
            progress(i + 1, len(pts))
    return FitReport(
        family=family,
        efficiency=eff,
        points=len(pts),
        mape_pct=_mape(eff, pts),
        loo_mape_pct=100 * sum(loo) / len(loo),
        default_mape_pct=_mape(Efficiency(), pts),
        per_point=tuple((r.point, _predict(r, eff)) for r in pts),
    )
