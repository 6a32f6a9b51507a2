"""A benchmark run: the load sweep with the GPUs sampled alongside, and energy and money per level.

`run_benchmark` runs on the caller's thread (the CLI); `BenchmarkJob` runs the same on a background
thread and offers progress snapshots and a stop, which is what a dashboard page polls.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlsplit

from pydantic import Field

from costmodel._base import StrictModel
from costmodel.errors import CostModelError, MeasurementUnavailable
from costmodel.measure.energy import (
    CostInputs,
    EnergyBasis,
    energy_usd_per_mtok,
    gpu_hours_usd_per_mtok,
    window_energy,
)
from costmodel.measure.loadgen import LevelResult, LoadSettings, SweepProgress, resolve_api_key, run_sweep
from costmodel.measure.nvml import Inventory, Nvml
from costmodel.measure.sampler import GpuSample, NvmlSampler

__all__ = [
    "BenchmarkJob",
    "BenchmarkProgress",
    "BenchmarkResult",
    "LevelFigures",
    "LivePoint",
    "run_benchmark",
]

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}
_MAX_UNCOVERED_SHARE = 0.05
_MAX_UNCOVERED_S = 0.25
"""A level's energy is reported only when the GPU readings miss at most this much of it (share, or seconds)."""


class LevelFigures(LevelResult):
    """A level's load figures plus its power, energy and cost (energy fields empty when power was not read)."""

    mean_power_w: float | None = None
    """Mean power of all sampled GPUs together during the level, watts."""
    watts_per_gpu: float | None = None
    """Mean power per sampled GPU, watts (what a scenario's `measured_watts_per_gpu` takes)."""
    energy_j: float | None = None
    """GPU energy over the level's window, joules."""
    energy_basis: EnergyBasis | None = None
    """Energy counter, or integrated power where a GPU has no counter."""
    joules_per_output_token: float | None = None
    """GPU energy per output token, joules (prefill energy included, as it is paid for per answer)."""
    usd_per_mtok_energy: Decimal | None = None
    """Electricity per million output tokens at the run's $/kWh and PUE, USD."""
    usd_per_mtok_gpu_hours: Decimal | None = None
    """GPU-hours per million output tokens at the run's GPU hourly price, USD."""


class LivePoint(StrictModel):
    """One point of the live charts."""

    t_s: float
    """Seconds since the benchmark started."""
    output_tokens_per_s: float
    """Streamed output chunks per second over the last second (≈ tokens/s)."""
    power_w: float | None
    """Power of all sampled GPUs together, watts (empty without NVML)."""


class BenchmarkProgress(StrictModel):
    """What a progress bar and live charts need."""

    sweep: SweepProgress | None = None
    """The level running (empty before the first request)."""
    timeline: list[LivePoint] = Field(default_factory=list)
    """Throughput and power since the start."""
    levels_done: list[LevelFigures] = Field(default_factory=list)
    """Levels finished so far (energy not yet attached)."""


class BenchmarkResult(StrictModel):
    """Everything one run measured; `save_benchmark` stores it."""

    started_at: datetime
    """When the run started (UTC)."""
    finished_at: datetime
    """When it ended (UTC)."""
    settings: LoadSettings
    """What was sent (holds the API key's variable name, never the key)."""
    costs: CostInputs
    """Prices the money figures use."""
    server: str | None = None
    """What the server says it is."""
    hardware: Inventory | None = None
    """The GPUs and driver, when NVML was read."""
    gpu_indices: list[int] = Field(default_factory=list)
    """GPUs sampled (their power is summed)."""
    power_note: str | None = None
    """Why power was not measured, when it was not."""
    fixed_length_hints_accepted: bool | None = None
    """Whether the server took `min_tokens` / `ignore_eos`."""
    levels: list[LevelFigures]
    """Per-level figures."""
    samples: list[GpuSample] = Field(default_factory=list, repr=False)
    """Raw GPU samples, times in seconds since the start."""
    stopped_early: bool = False
    """A stop or Ctrl-C ended the run before its bounds (finished requests are kept)."""
    stop_reason: str | None = None
    """Why it stopped early."""
    warnings: list[str] = Field(default_factory=list)
    """Things to know before trusting the figures."""
    gpu_label: str | None = None
    """GPU as the user or an imported result file named it, for runs whose GPUs NVML did not read."""

    @property
    def gpu_name(self) -> str | None:
        return self.hardware.summary(self.gpu_indices) if self.hardware else self.gpu_label


def _figures(level: LevelResult, samples: Sequence[GpuSample], *, costs: CostInputs, gpus: int) -> LevelFigures:
    extra: dict[str, object] = {}
    reading = window_energy(samples, start_s=level.start_s, end_s=level.end_s) if samples else None
    if reading is not None and level.duration_s - reading.duration_s > max(
        _MAX_UNCOVERED_SHARE * level.duration_s, _MAX_UNCOVERED_S
    ):
        # The GPU readings cover only part of the level (NVML failed or the GPU was lost mid-run): that energy
        # divided by all of the level's tokens would understate joules per token. No energy figures, then.
        reading = None
    if reading is not None:
        extra.update(
            mean_power_w=reading.mean_power_w,
            watts_per_gpu=reading.watts_per_gpu,
            energy_j=reading.energy_j,
            energy_basis=reading.basis,
        )
        if level.output_tokens > 0:
            jpt = reading.energy_j / level.output_tokens
            extra["joules_per_output_token"] = jpt
            extra["usd_per_mtok_energy"] = energy_usd_per_mtok(
                joules_per_token=jpt, usd_per_kwh=costs.usd_per_kwh, pue=costs.pue
            )
    if costs.usd_per_gpu_hour is not None and level.output_tokens_per_s > 0 and gpus > 0:
        extra["usd_per_mtok_gpu_hours"] = gpu_hours_usd_per_mtok(
            tokens_per_s=level.output_tokens_per_s, gpus=gpus, usd_per_gpu_hour=costs.usd_per_gpu_hour
        )
    return LevelFigures(**level.model_dump(), **extra)


def run_benchmark(
    *,
    settings: LoadSettings,
    costs: CostInputs | None = None,
    measure_power: bool = True,
    gpu_indices: Sequence[int] | None = None,
    nvml: Nvml | None = None,
    sample_interval_s: float = 0.1,
    stop: threading.Event | None = None,
    on_progress: Callable[[BenchmarkProgress], None] | None = None,
    on_level: Callable[[LevelResult], None] | None = None,
) -> BenchmarkResult:
    """Sweep the endpoint while sampling the GPUs, and work out energy and cost per level.

    Args:
        settings: Endpoint, model, lengths, levels and bounds.
        costs: Electricity price, PUE and GPU hourly price.
        measure_power: Sample this machine's GPUs (turn off when the server runs elsewhere).
        gpu_indices: GPUs the server uses; all when empty.
        nvml: NVML implementation; `pynvml` when empty.
        sample_interval_s: Seconds between GPU samples.
        stop: Set it to end the run now (partial results are returned).
        on_progress: Called on this thread a few times a second.
        on_level: Called on this thread as each level ends.

    Returns:
        The result. Without NVML the throughput figures are still there and `power_note` says why not power.

    Raises:
        EndpointError: The endpoint fails its first request.
        MeasureInputError: The API key variable is named but unset.
    """
    costs = costs or CostInputs()
    api_key = resolve_api_key(settings)
    started_at, origin = datetime.now(UTC), time.monotonic()
    sampler: NvmlSampler | None = None
    power_note: str | None = None
    if measure_power:
        sampler = NvmlSampler(nvml=nvml, interval_s=sample_interval_s, gpu_indices=gpu_indices)
        try:
            sampler.start()
        except MeasurementUnavailable as ex:
            sampler, power_note = None, f"power not measured: {ex}"
    else:
        power_note = "power not measured (turned off)"
    progress = BenchmarkProgress()

    def tick(sweep: SweepProgress) -> None:
        power = sampler.power_now_w() if sampler is not None else None
        point = LivePoint(t_s=sweep.elapsed_s, output_tokens_per_s=sweep.output_tokens_per_s_recent, power_w=power)
        progress.sweep = sweep
        progress.timeline.append(point)
        if on_progress is not None:
            on_progress(progress)

    def level_done(level: LevelResult) -> None:
        progress.levels_done.append(LevelFigures(**level.model_dump()))
        if on_level is not None:
            on_level(level)

    try:
        sweep = run_sweep(
            settings,
            api_key=api_key,
            stop=stop,
            on_tick=tick,
            on_level=level_done,
            on_boundary=sampler.mark if sampler is not None else None,
            origin_s=origin,
        )
    finally:
        raw = sampler.stop() if sampler is not None else []
    samples = [dataclasses.replace(s, t_s=s.t_s - origin) for s in raw]
    hardware = sampler.inventory if sampler is not None else None
    chosen = sampler.gpu_indices if sampler is not None else []
    warnings = list(sweep.warnings)
    if sampler is not None:
        for index, fields in sorted(sampler.unsupported.items()):
            if "energy_mj" in fields:
                warnings.append(f"GPU {index} has no energy counter: energy is integrated from power samples")
        host = urlsplit(settings.endpoint).hostname or ""
        if host not in _LOCAL_HOSTS:
            warnings.append(
                f"power was read from this machine's GPUs but the endpoint is on {host}; the energy figures "
                "are only right if the model is served here"
            )
    levels = [_figures(level, samples, costs=costs, gpus=max(len(chosen), 1)) for level in sweep.levels]
    if sampler is not None:
        if sampler.read_errors:
            warnings.append(
                f"{sampler.read_errors:,} GPU readings failed during the run (NVML: {sampler.last_read_error}); "
                "check `nvidia-smi`"
            )
        if blind := [str(lv.concurrency) for lv in levels if lv.requests_ok and lv.energy_j is None]:
            warnings.append(
                f"no power or energy figures at concurrency {', '.join(blind)}: the GPU readings do not cover "
                "those levels (their throughput and latency are kept)"
            )
    return BenchmarkResult(
        started_at=started_at,
        finished_at=datetime.now(UTC),
        settings=settings,
        costs=costs,
        server=sweep.server,
        hardware=hardware,
        gpu_indices=chosen,
        power_note=power_note,
        fixed_length_hints_accepted=sweep.fixed_length_hints_accepted,
        levels=levels,
        samples=samples,
        stopped_early=sweep.stopped_early,
        stop_reason=sweep.stop_reason,
        warnings=warnings,
    )


class BenchmarkJob:
    """`run_benchmark` on a background thread, for UIs that poll (the thread never touches the UI)."""

    def __init__(self, **kwargs: object) -> None:
        """Keep the arguments of `run_benchmark` (except `stop` and `on_progress`) for `start()`."""
        self._kwargs = kwargs
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._progress = BenchmarkProgress()
        self._result: BenchmarkResult | None = None
        self._error: CostModelError | None = None
        self._crash: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="opentco-benchmark", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the run to end now; it keeps what finished."""
        self._stop.set()

    @property
    def done(self) -> bool:
        return self._thread.ident is not None and not self._thread.is_alive()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the run ends (or the timeout passes); True when it has ended."""
        self._thread.join(timeout_s)
        return self.done

    def progress(self) -> BenchmarkProgress:
        """The latest progress snapshot (never changed after it is handed out)."""
        with self._lock:
            return self._progress

    def outcome(self) -> BenchmarkResult:
        """The result once `done`.

        Raises:
            CostModelError: What stopped the run (unreachable endpoint …), to show to the user.
        """
        if self._crash is not None:
            raise self._crash  # a bug: let it surface where the UI reads the outcome
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise RuntimeError("benchmark still running; check `done` first")
        return self._result

    def _on_progress(self, progress: BenchmarkProgress) -> None:
        # A shallow snapshot: the points themselves are never changed, only the lists grow.
        snapshot = BenchmarkProgress.model_construct(
            sweep=progress.sweep, timeline=list(progress.timeline), levels_done=list(progress.levels_done)
        )
        with self._lock:
            self._progress = snapshot

    def _run(self) -> None:
        try:
            self._result = run_benchmark(stop=self._stop, on_progress=self._on_progress, **self._kwargs)  # type: ignore[arg-type]
        except CostModelError as ex:
            self._error = ex
        except BaseException as ex:  # kept for outcome(): a thread's exception would otherwise vanish
            self._crash = ex
