"""Energy over a time window from GPU samples, and what a million output tokens costs in power and GPU-hours.

Where every GPU has the total-energy counter, a window's energy is the counter's increase across it (the
counter is interpolated linearly at the window's edges). Otherwise it is the power trace integrated with the
trapezoid rule, and the reading says so (`basis="integrated_power"`).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, ValidationError

from costmodel._base import StrictModel, UsdRate
from costmodel.errors import render_validation_error
from costmodel.measure.loadgen import MeasureInputError
from costmodel.measure.sampler import GpuSample

__all__ = [
    "CostInputs",
    "EnergyBasis",
    "EnergyReading",
    "energy_usd_per_mtok",
    "gpu_hours_usd_per_mtok",
    "integrate_power_j",
    "window_energy",
]

EnergyBasis = Literal["energy_counter", "integrated_power"]
"""How a window's energy was obtained: the GPU's own energy counter, or power integrated over time."""

_J_PER_KWH = Decimal(3_600_000)
_MONEY = Decimal("0.000001")


class EnergyReading(StrictModel):
    """Energy of the sampled GPUs over one window."""

    energy_j: float = Field(ge=0)
    """Energy of all sampled GPUs together, joules."""
    mean_power_w: float = Field(ge=0)
    """Mean power of all sampled GPUs together over the window, watts."""
    duration_s: float = Field(gt=0)
    """Length of the window the samples covered, seconds."""
    gpus: int = Field(ge=1)
    """GPUs summed."""
    basis: EnergyBasis
    """`energy_counter` where every GPU had one, else `integrated_power`."""

    @property
    def watts_per_gpu(self) -> float:
        return self.mean_power_w / self.gpus


class CostInputs(StrictModel):
    """Prices that turn energy and GPU time into money."""

    usd_per_kwh: UsdRate = Decimal("0.12")
    """Electricity price, USD per kWh."""
    pue: Annotated[float, Field(ge=1, le=3)] = 1.4
    """Power usage effectiveness of the facility (1.0 = no cooling overhead)."""
    usd_per_gpu_hour: UsdRate | None = None
    """Price of one GPU-hour (rented, or amortised); empty: no GPU-hour cost is shown."""

    @classmethod
    def from_text(cls, *, usd_per_kwh: str, pue: float, usd_per_gpu_hour: str | None = None) -> CostInputs:
        """Prices as a user typed them (`"0.12"`; an empty GPU price means none).

        Raises:
            MeasureInputError: A price that is not a non-negative number, or a PUE outside 1–3.
        """
        try:
            gpu_hour = Decimal(usd_per_gpu_hour.strip()) if usd_per_gpu_hour and usd_per_gpu_hour.strip() else None
            return cls(usd_per_kwh=Decimal(usd_per_kwh.strip()), pue=pue, usd_per_gpu_hour=gpu_hour)
        except ArithmeticError:
            raise MeasureInputError(
                f"prices must be numbers like 0.12 (got {usd_per_kwh!r} $/kWh, {usd_per_gpu_hour!r} $/GPU-hour)"
            ) from None
        except ValidationError as ex:
            raise MeasureInputError(render_validation_error(ex, source="costs")) from None


def integrate_power_j(*, times_s: Sequence[float], powers_w: Sequence[float]) -> float:
    """Energy of a power trace by the trapezoid rule.

    Args:
        times_s: Sample times, seconds, ascending.
        powers_w: Power at each time, watts.

    Returns:
        Joules between the first and the last time.

    Example:
        >>> integrate_power_j(times_s=[0, 1, 2], powers_w=[100, 300, 300])
        500.0
    """
    if len(times_s) != len(powers_w):
        raise ValueError(f"{len(times_s)} times but {len(powers_w)} power readings")
    total = 0.0
    for i in range(1, len(times_s)):
        dt = times_s[i] - times_s[i - 1]
        if dt < 0:
            raise ValueError(f"sample times must ascend; time {i} goes back by {-dt:g} s")
        total += dt * (powers_w[i] + powers_w[i - 1]) / 2
    return total


def _at(t: float, points: Sequence[tuple[float, float]]) -> float:
    """Linear interpolation of (time, value) points at `t`, which lies within them."""
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    raise ValueError(f"time {t} is outside the samples")


def _clip(points: list[tuple[float, float]], start_s: float, end_s: float) -> list[tuple[float, float]]:
    """The points inside [start, end] with interpolated points at both edges (the edges clamped to the data)."""
    lo, hi = max(start_s, points[0][0]), min(end_s, points[-1][0])
    if hi <= lo:
        return []
    inner = [p for p in points if lo < p[0] < hi]
    return [(lo, _at(lo, points)), *inner, (hi, _at(hi, points))]


def _gpu_energy(samples: list[GpuSample], start_s: float, end_s: float) -> tuple[float, float, EnergyBasis] | None:
    # The counter is cumulative, so a reading missing here and there loses nothing.
    counter = [(s.t_s, float(s.energy_mj)) for s in samples if s.energy_mj is not None]
    if len(counter) >= 2:
        clipped = _clip(counter, start_s, end_s)
        if clipped:
            return (clipped[-1][1] - clipped[0][1]) / 1000.0, clipped[-1][0] - clipped[0][0], "energy_counter"
    power = [(s.t_s, s.power_w) for s in samples if s.power_w is not None]
    if len(power) < 2:
        return None
    clipped = _clip(power, start_s, end_s)
    if not clipped:
        return None
    joules = integrate_power_j(times_s=[t for t, _ in clipped], powers_w=[p for _, p in clipped])
    return joules, clipped[-1][0] - clipped[0][0], "integrated_power"


def window_energy(samples: Iterable[GpuSample], *, start_s: float, end_s: float) -> EnergyReading | None:
    """Energy the sampled GPUs used between two times.

    Args:
        samples: Samples of one or more GPUs, on the same clock as `start_s` and `end_s`.
        start_s: Window start.
        end_s: Window end.

    Returns:
        The summed reading, or `None` when no GPU has two samples overlapping the window.
    """
    by_gpu: dict[int, list[GpuSample]] = defaultdict(list)
    for s in samples:
        by_gpu[s.gpu_index].append(s)
    parts = []
    for gpu_samples in by_gpu.values():
        gpu_samples.sort(key=lambda s: s.t_s)
        part = _gpu_energy(gpu_samples, start_s, end_s)
        if part is not None:
            parts.append(part)
    if not parts:
        return None
    energy_j = sum(p[0] for p in parts)
    duration_s = min(p[1] for p in parts)
    if duration_s <= 0:
        return None
    basis: EnergyBasis = "energy_counter" if all(p[2] == "energy_counter" for p in parts) else "integrated_power"
    mean_power_w = sum(p[0] / p[1] for p in parts)
    return EnergyReading(
        energy_j=energy_j, mean_power_w=mean_power_w, duration_s=duration_s, gpus=len(parts), basis=basis
    )


def energy_usd_per_mtok(*, joules_per_token: float, usd_per_kwh: Decimal, pue: float) -> Decimal:
    """Electricity cost of one million tokens.

    Args:
        joules_per_token: GPU energy per token, joules.
        usd_per_kwh: Electricity price.
        pue: Facility overhead multiplier.

    Returns:
        USD per million tokens, to the micro-dollar.

    Example:
        >>> energy_usd_per_mtok(joules_per_token=3.6, usd_per_kwh=Decimal("0.10"), pue=1.0)
        Decimal('0.100000')
    """
    kwh = Decimal(repr(joules_per_token)) * 1_000_000 / _J_PER_KWH
    return (kwh * Decimal(repr(pue)) * usd_per_kwh).quantize(_MONEY)


def gpu_hours_usd_per_mtok(*, tokens_per_s: float, gpus: int, usd_per_gpu_hour: Decimal) -> Decimal:
    """GPU-time cost of one million tokens at a sustained throughput.

    Args:
        tokens_per_s: Tokens per second the `gpus` produce together.
        gpus: GPUs serving the model.
        usd_per_gpu_hour: Price of one GPU-hour.

    Returns:
        USD per million tokens, to the micro-dollar.

    Example:
        >>> gpu_hours_usd_per_mtok(tokens_per_s=1000.0, gpus=1, usd_per_gpu_hour=Decimal("3.60"))
        Decimal('1.000000')
    """
    if tokens_per_s <= 0:
        raise ValueError("tokens_per_s must be positive")
    hours = Decimal(1_000_000) / Decimal(repr(tokens_per_s)) / 3600
    return (hours * gpus * usd_per_gpu_hour).quantize(_MONEY)
