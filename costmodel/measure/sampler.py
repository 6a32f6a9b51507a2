"""A background thread that samples every chosen GPU through NVML at a fixed rate (default 10 Hz).

Samples carry power, the total-energy counter, GPU and memory utilisation, memory used, SM clock and
temperature. NVML calls are not equally cheap — on an H100 (driver 580, in a Firecracker VM) one read of
the energy counter cost about 4 ms of CPU, every other reading 2–10 µs — so the sampler plans its
readings to stay within a CPU budget (default 0.5 % of one core):

- at start it times each reading once and drops the ones the GPU does not support;
- the energy counter (or, on GPUs without one, power) is read every tick, or every few ticks where the
  call is so slow that every tick would break the budget;
- the slowly changing readings (utilisation, memory, clock, temperature, and power where the counter
  exists — NVML's power is itself a one-second average on recent GPUs) are read once per
  `detail_interval_s`, one reading per tick, or less often if the budget demands it;
- `mark()` takes a full sample at once: called at the edges of a measurement window, the energy over the
  window comes from counter readings taken exactly there, however sparse the readings in between.

A sample leaves empty the readings not taken at its tick. `power_now_w()` gives the current power from
the counter's rise. Samples are kept in a bounded buffer and can be read while the thread runs (live
charts) or after it stops (energy per level).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from costmodel.errors import MeasurementUnavailable
from costmodel.measure.nvml import (
    NO_GPU_MESSAGE,
    Inventory,
    NoGpuFound,
    Nvml,
    load_nvml,
    read_inventory,
    unavailable_error,
)

__all__ = ["GpuSample", "NvmlSampler"]

_STAMPED = frozenset({"energy_mj", "power_w"})
"""Readings timed on their own, a sample's time being the middle of its energy read (else its power read): the
tick's other readings take milliseconds on a real driver, and a window's joules are the counter's rise between
two sample times, so a time taken after them all would shift every window by that much."""

_NO_PERMISSION = 4


@dataclasses.dataclass(frozen=True, slots=True)
class GpuSample:
    """One reading of one GPU; readings not taken at its tick are empty (see the module docstring).

    A plain slotted dataclass, not a pydantic model: tens of thousands are made per run on the sampling
    thread, and the sampler must stay far below 1 % of a core.
    """

    t_s: float
    """When it was read (the middle of its energy-counter read, else of its power read): `time.monotonic()` while
    sampling, seconds since the benchmark started once stored."""
    gpu_index: int
    """NVML device index."""
    power_w: float | None
    """Board power draw, watts."""
    energy_mj: int | None
    """Total-energy counter, millijoules since the driver loaded (Volta and newer)."""
    gpu_util_pct: float | None
    """Share of the last sample period a kernel was running, percent."""
    mem_util_pct: float | None
    """Share of the last sample period device memory was read or written, percent."""
    memory_used_mib: float | None
    """Device memory in use, MiB."""
    sm_clock_mhz: float | None
    """Streaming-multiprocessor clock, MHz."""
    temperature_c: float | None
    """GPU die temperature, °C."""


Reader = Callable[[Any], Any]


class NvmlSampler:
    """Sample GPUs on a background thread; use as a context manager or call `start()` / `stop()`.

    Example:
        >>> with NvmlSampler(interval_s=0.1) as sampler:  # doctest: +SKIP
        ...     run_the_load()
        >>> samples = sampler.samples()  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        nvml: Nvml | None = None,
        interval_s: float = 0.1,
        detail_interval_s: float = 1.0,
        cpu_budget: float = 0.005,
        gpu_indices: Sequence[int] | None = None,
        max_samples: int = 2_000_000,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[threading.Event, float], bool] | None = None,
    ) -> None:
        """Prepare a sampler; nothing touches NVML until `start()`.

        Args:
            nvml: The NVML implementation; `pynvml` when empty (tests pass a fake).
            interval_s: Seconds between samples (0.1 = 10 Hz).
            detail_interval_s: Seconds between readings of the slowly changing values (at least).
            cpu_budget: Share of one core the NVML readings may use (0.005 = 0.5 %); slow readings are
                taken less often to stay within it.
            gpu_indices: GPUs to sample; all when empty.
            max_samples: Samples kept (oldest dropped first), bounding memory on long runs.
            clock: Monotonic clock in seconds (the load generator must use the same one).
            wait: Blocks the sampling thread until the event is set or `delay` seconds of `clock` have
                passed, and says whether the event is set; `Event.wait` when empty. Tests pass a clock and a
                wait that move only when told, so every tick lands where they expect however busy the CPU.
        """
        if not 0.001 <= interval_s <= 60:
            raise ValueError(f"interval_s must be between 0.001 and 60 seconds, got {interval_s}")
        self._nvml = nvml
        self._interval_s = interval_s
        self._detail_period = max(1, round(detail_interval_s / interval_s))
        self._budget_s_per_tick = cpu_budget * interval_s
        self._tick = 0
        self._read_lock = threading.Lock()
        self._wanted = list(gpu_indices) if gpu_indices is not None else None
        self._clock = clock
        self._wait = wait if wait is not None else threading.Event.wait
        self._buffer: collections.deque[GpuSample] = collections.deque(maxlen=max_samples)
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._api: Nvml | None = None
        # per GPU: index, handle, and its readings as (field, reader, period in ticks, phase)
        self._plan: list[tuple[int, Any, list[tuple[str, Reader, int, int]]]] = []
        self._failure: BaseException | None = None
        self.inventory: Inventory | None = None
        """The GPUs found at `start()`."""
        self.unsupported: dict[int, list[str]] = {}
        """Readings each GPU does not support, by GPU index (e.g. `{0: ['energy_mj']}`)."""
        self.read_errors = 0
        """Readings that failed transiently while sampling (left empty in their sample)."""
        self.last_read_error: str | None = None
        """NVML's message for the latest failed reading (what the run's warning quotes)."""
        self.reading_cost_s: dict[int, dict[str, float]] = {}
        """CPU seconds one call of each reading took at start, by GPU index and field."""

    @property
    def interval_s(self) -> float:
        return self._interval_s

    @property
    def gpu_indices(self) -> list[int]:
        """The GPUs being sampled (known after `start()`)."""
        return [index for index, _, _ in self._plan]

    @property
    def read_every_s(self) -> dict[int, dict[str, float]]:
        """How often each reading is taken, seconds, by GPU index and field (known after `start()`)."""
        return {index: {f: period * self._interval_s for f, _, period, _ in plan} for index, _, plan in self._plan}

    def start(self) -> None:
        """Initialise NVML, probe which readings each GPU supports, take a first sample and start the thread.

        Raises:
            MeasurementUnavailable: No NVML library, no GPU, no permission, or an unknown GPU index asked for.
        """
        if self._thread is not None:
            raise RuntimeError("sampler already started")
        api = self._nvml if self._nvml is not None else load_nvml()
        try:
            api.nvmlInit()
        except api.NVMLError as ex:
            raise unavailable_error(api, ex) from None
        self._api = api
        try:
            self.inventory = read_inventory(api)
            if not self.inventory.gpus:
                raise NoGpuFound(NO_GPU_MESSAGE)
            known = [g.index for g in self.inventory.gpus]
            chosen = self._wanted if self._wanted is not None else known
            missing = sorted(set(chosen) - set(known))
            if missing or not chosen:
                raise MeasurementUnavailable(
                    f"no GPU with index {', '.join(map(str, missing)) or '(none chosen)'}; "
                    f"this machine has {', '.join(map(str, known))} (see `opentco gpu`)."
                )
            self._plan = [self._probe(api, index) for index in chosen]
        except BaseException:
            self._shutdown()
            raise
        self._sample_all(full=True)
        self._thread = threading.Thread(target=self._run, name="opentco-nvml-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> list[GpuSample]:
        """Take a last sample, stop the thread, release NVML, and return every sample kept."""
        thread = self._thread
        try:
            if thread is not None and thread.is_alive():
                self._halt.set()
                thread.join()
                if self._failure is None:
                    self._sample_all(full=True)  # so the last load window is covered up to now
        finally:
            self._shutdown()
        if self._failure is not None:
            raise self._failure
        return self.samples()

    def __enter__(self) -> NvmlSampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def samples(self, *, since_s: float | None = None) -> list[GpuSample]:
        """A copy of the samples kept so far (those taken at or after `since_s` when given)."""
        with self._lock:
            if since_s is None:
                return list(self._buffer)
            return [s for s in self._buffer if s.t_s >= since_s]

    def latest(self) -> list[GpuSample]:
        """The most recent sample of each GPU (empty before the first)."""
        seen: dict[int, GpuSample] = {}
        with self._lock:
            for s in reversed(self._buffer):
                seen.setdefault(s.gpu_index, s)
                if len(seen) == len(self._plan):
                    break
        return sorted(seen.values(), key=lambda s: s.gpu_index)

    def power_now_w(self, *, span_s: float = 0.3) -> float | None:
        """Power of all sampled GPUs together now, watts (`None` before any reading).

        Where a GPU has the energy counter this is the counter's rise over the last `span_s` (sharper than
        NVML's own one-second average); otherwise its latest power reading.
        """
        longest = max((period for _, _, plan in self._plan for _, _, period, _ in plan), default=1)
        wanted = (int(span_s / self._interval_s) + 2 * longest + 2) * max(len(self._plan), 1)
        with self._lock:
            recent = list(itertools.islice(reversed(self._buffer), wanted))
        total: float | None = None
        for index in self.gpu_indices:
            mine = [s for s in recent if s.gpu_index == index]
            counted = [s for s in mine if s.energy_mj is not None]
            newest = counted[0] if counted else None
            older = next((s for s in counted if newest and newest.t_s - s.t_s >= span_s), None)
            if newest is not None and older is not None:
                watts = (newest.energy_mj - older.energy_mj) / 1000 / (newest.t_s - older.t_s)  # type: ignore[operator]
            else:
                watts = next((s.power_w for s in mine if s.power_w is not None), None)
            if watts is not None:
                total = (total or 0.0) + watts
        return total

    def _probe(self, api: Nvml, index: int) -> tuple[int, Any, list[tuple[str, Reader, int, int]]]:
        handle = api.nvmlDeviceGetHandleByIndex(index)
        candidates: dict[str, Reader] = {
            "energy_mj": api.nvmlDeviceGetTotalEnergyConsumption,
            "power_w": lambda h: api.nvmlDeviceGetPowerUsage(h) / 1000.0,
            "utilization": api.nvmlDeviceGetUtilizationRates,
            "memory_used_mib": lambda h: api.nvmlDeviceGetMemoryInfo(h).used / 1048576.0,
            "sm_clock_mhz": lambda h: api.nvmlDeviceGetClockInfo(h, api.NVML_CLOCK_SM),
            "temperature_c": lambda h: api.nvmlDeviceGetTemperature(h, api.NVML_TEMPERATURE_GPU),
        }
        readers: dict[str, Reader] = {}
        costs = self.reading_cost_s.setdefault(index, {})
        for field, read in candidates.items():
            try:
                read(handle)  # the first call may load things once; time the next two
                timings = []
                for _ in range(2):
                    t0 = time.thread_time()
                    read(handle)
                    timings.append(time.thread_time() - t0)
            except api.NVMLError as ex:
                if getattr(ex, "value", None) == _NO_PERMISSION and field == "power_w":
                    raise unavailable_error(api, ex) from None
                self.unsupported.setdefault(index, []).append(field)
                continue
            readers[field] = read
            costs[field] = min(timings)
        # Half the budget goes to the energy reading (the counter where there is one, else power), every
        # tick if it fits; the other half to the rest, one per tick in turn, at least a detail interval apart.
        half = self._budget_s_per_tick / 2
        key = "energy_mj" if "energy_mj" in readers else "power_w"
        plan: list[tuple[str, Reader, int, int]] = []
        if key in readers:
            plan.append((key, readers.pop(key), max(1, math.ceil(costs[key] / half)), 0))
        period = max(self._detail_period, math.ceil(sum(costs[f] for f in readers) / half))
        plan += [(field, read, period, i % period) for i, (field, read) in enumerate(readers.items())]
        return index, handle, plan

    def mark(self) -> None:
        """Take a full sample now, from the calling thread (at the edges of a window to be measured)."""
        self._sample_all(full=True)

    def _run(self) -> None:
        try:
            deadline = self._clock()
            while True:
                deadline += self._interval_s
                delay = deadline - self._clock()
                if delay < 0:  # fell behind (a slow NVML call): skip the missed ticks rather than burst
                    deadline = self._clock()
                    delay = 0.0
                if self._wait(self._halt, delay):
                    return
                self._sample_all()
        except BaseException as ex:  # surfaced by stop(): a bug here must not vanish with the thread
            self._failure = ex

    def _sample_all(self, *, full: bool = False) -> None:
        with self._read_lock:  # mark() and the thread never read at once, so samples stay in time order
            api = self._api
            if api is None:  # stopped: NVML is released
                return
            error = api.NVMLError
            tick = self._tick
            if not full:
                self._tick += 1
            clock = self._clock
            for index, handle, plan in self._plan:
                values: dict[str, Any] = {}
                stamps: dict[str, float] = {}
                for field, read, period, phase in plan:
                    if full or tick % period == phase:
                        before = clock() if field in _STAMPED else 0.0
                        try:
                            values[field] = read(handle)
                        except error as ex:
                            self.read_errors += 1
                            self.last_read_error = str(ex)
                            continue
                        if field in _STAMPED:
                            stamps[field] = (before + clock()) / 2
                util = values.pop("utilization", None)
                stamp = stamps.get("energy_mj", stamps.get("power_w"))
                sample = GpuSample(
                    t_s=clock() if stamp is None else stamp,
                    gpu_index=index,
                    power_w=values.get("power_w"),
                    energy_mj=values.get("energy_mj"),
                    gpu_util_pct=None if util is None else float(util.gpu),
                    mem_util_pct=None if util is None else float(util.memory),
                    memory_used_mib=values.get("memory_used_mib"),
                    sm_clock_mhz=values.get("sm_clock_mhz"),
                    temperature_c=values.get("temperature_c"),
                )
                with self._lock:
                    self._buffer.append(sample)

    def _shutdown(self) -> None:
        with self._read_lock:
            api, self._api = self._api, None
        if api is not None:
            with contextlib.suppress(api.NVMLError):  # released after use: nothing left to read from it
                api.nvmlShutdown()
