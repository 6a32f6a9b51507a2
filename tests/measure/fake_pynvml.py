"""A stand-in for the `pynvml` module: same function names, same units, same error class.

Tests put it in `sys.modules["pynvml"]`, so the code under test imports it exactly as it would import
the real one. Errors are real `pynvml.NVMLError`s (the package imports without a GPU), so the error
mapping under test is the one production uses.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from types import SimpleNamespace

import pynvml

from costmodel.measure.sampler import GpuSample

__all__ = ["FakeGpu", "FakePynvml", "counter_skew_s"]


@dataclasses.dataclass
class FakeGpu:
    """One GPU whose power follows `power_w(t)` and whose energy counter is its exact integral `energy_j(t)`."""

    name: str = "NVIDIA H100 80GB HBM3"
    memory_total_mib: float = 81559.0
    power_limit_w: float = 700.0
    power_w: Callable[[float], float] = lambda t: 300.0
    energy_j: Callable[[float], float] | None = lambda t: 300.0 * t
    """None: the GPU has no energy counter (NVML_ERROR_NOT_SUPPORTED)."""
    memory_used_mib: float = 40_000.0
    energy_read_cpu_s: float = 0.0
    """CPU time one energy-counter read burns (a slow driver, as on virtualised GPUs)."""


class FakePynvml:
    """The module-level API of `pynvml`, backed by `FakeGpu`s on a settable clock."""

    NVMLError = pynvml.NVMLError
    NVML_CLOCK_SM = pynvml.NVML_CLOCK_SM
    NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU

    def __init__(
        self,
        gpus: list[FakeGpu] | None = None,
        *,
        init_error: int | None = None,
        read_error: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gpus = [FakeGpu()] if gpus is None else gpus
        self.init_error, self.read_error = init_error, read_error
        self.clock = clock
        self.inits = self.shutdowns = self.power_reads = self.energy_reads = 0
        self.energy_read_at: list[float] = []
        """The clock's time at which each energy-counter read evaluated the GPU's trace."""
        self.power_read_at: list[float] = []
        """The same for each power read."""

    def _check(self) -> None:
        if self.read_error is not None:
            raise pynvml.NVMLError(self.read_error)

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise pynvml.NVMLError(self.init_error)
        self.inits += 1

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlSystemGetDriverVersion(self) -> str:
        return "580.159.04"

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return 13000

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:
        self._check()
        return self.gpus[index]

    def nvmlDeviceGetName(self, handle: FakeGpu) -> bytes:
        return handle.name.encode()  # older pynvml releases return bytes

    def nvmlDeviceGetUUID(self, handle: FakeGpu) -> str:
        return f"GPU-{self.gpus.index(handle):08d}"

    def nvmlDeviceGetMemoryInfo(self, handle: FakeGpu) -> SimpleNamespace:
        total = int(handle.memory_total_mib * 2**20)
        used = int(handle.memory_used_mib * 2**20)
        return SimpleNamespace(total=total, used=used, free=total - used)

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: FakeGpu) -> int:
        return int(handle.power_limit_w * 1000)

    def nvmlDeviceGetPowerUsage(self, handle: FakeGpu) -> int:
        self._check()
        self.power_reads += 1
        now = self.clock()
        self.power_read_at.append(now)
        return round(handle.power_w(now) * 1000)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: FakeGpu) -> int:
        self._check()
        if handle.energy_j is None:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        self.energy_reads += 1
        until = time.thread_time() + handle.energy_read_cpu_s
        while time.thread_time() < until:
            pass
        now = self.clock()
        self.energy_read_at.append(now)
        return round(handle.energy_j(now) * 1000)

    def nvmlDeviceGetUtilizationRates(self, handle: FakeGpu) -> SimpleNamespace:
        return SimpleNamespace(gpu=97, memory=61)

    def nvmlDeviceGetClockInfo(self, handle: FakeGpu, clock_type: int) -> int:
        return 1980

    def nvmlDeviceGetTemperature(self, handle: FakeGpu, sensor: int) -> int:
        return 54


def counter_skew_s(samples: Iterable[GpuSample], *, watts: float) -> float:
    """How far apart the sampler's stamps and the counter's own times drift over a run at constant power, seconds.

    At a constant `watts` the fake's counter reads `watts × t` at the moment `t` of the read, so each sample's
    counter tells when it was really read. The sampler stamps the middle of the read call; a thread preempted
    inside that call (a busy machine) stamps it a little off. A window's joules are off by at most `watts ×`
    this spread, so tests bound their watts by `spread ÷ window` instead of a fixed tolerance: tight when the
    machine is quiet, wider exactly as much as the schedule actually slipped.
    """
    offsets = [s.energy_mj / 1000 / watts - s.t_s for s in samples if s.energy_mj is not None]
    return max(offsets) - min(offsets) if offsets else 0.0
