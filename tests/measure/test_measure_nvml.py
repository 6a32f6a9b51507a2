"""Inventory, the sampler thread and the 'no GPU' paths, with NVML faked at the pynvml boundary."""

from __future__ import annotations

import sys
import threading
import time

import pynvml
import pytest

from costmodel.errors import MeasurementUnavailable
from costmodel.measure import (
    GpuPermissionDenied,
    NoGpuFound,
    NvmlLibraryMissing,
    NvmlSampler,
    inventory,
)
from tests.measure.clock import ManualClock
from tests.measure.fake_pynvml import FakeGpu, FakePynvml


def test_inventory(fake_nvml: FakePynvml) -> None:
    fake_nvml.gpus.append(FakeGpu(name="NVIDIA L40S", memory_total_mib=46068, power_limit_w=350, energy_j=None))
    inv = inventory()
    assert (inv.driver_version, inv.cuda_version) == ("580.159.04", "13.0")
    h100, l40s = inv.gpus
    assert (h100.index, h100.name, h100.uuid) == (0, "NVIDIA H100 80GB HBM3", "GPU-00000000")
    assert h100.memory_total_mib == 81559 and h100.power_limit_w == 700 and h100.energy_counter_supported
    assert l40s.name == "NVIDIA L40S" and l40s.power_limit_w == 350 and not l40s.energy_counter_supported
    assert inv.summary() == "mixed: NVIDIA H100 80GB HBM3, NVIDIA L40S" and inv.summary([1]) == "NVIDIA L40S"
    assert fake_nvml.inits == fake_nvml.shutdowns == 1


def test_no_package(no_pynvml: None) -> None:
    with pytest.raises(NvmlLibraryMissing, match="pip install nvidia-ml-py"):
        inventory()


@pytest.mark.parametrize(
    ("code", "error", "match"),
    [
        (pynvml.NVML_ERROR_LIBRARY_NOT_FOUND, NvmlLibraryMissing, "libnvidia-ml.so.1"),
        (pynvml.NVML_ERROR_DRIVER_NOT_LOADED, NoGpuFound, "no NVIDIA GPU is visible"),
        (pynvml.NVML_ERROR_NO_PERMISSION, GpuPermissionDenied, "no permission"),
        (pynvml.NVML_ERROR_UNKNOWN, MeasurementUnavailable, "NVML failed"),
    ],
)
def test_each_failure_has_its_own_message(
    monkeypatch: pytest.MonkeyPatch, code: int, error: type[Exception], match: str
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", FakePynvml(init_error=code))
    with pytest.raises(error, match=match):
        inventory()
    with pytest.raises(error, match=match):
        NvmlSampler().start()


def test_zero_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakePynvml(gpus=[])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    with pytest.raises(NoGpuFound, match="reports no GPU"):
        inventory()
    with pytest.raises(NoGpuFound, match="reports no GPU"):
        NvmlSampler().start()
    assert fake.shutdowns == 2  # NVML released on every failed start


def test_permission_denied_while_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakePynvml(read_error=pynvml.NVML_ERROR_NO_PERMISSION)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    with pytest.raises(GpuPermissionDenied):
        NvmlSampler().start()


def test_real_pynvml_on_this_machine() -> None:
    """No fake: CI has no GPU, so this exercises the real library-not-found path; a GPU box lists its GPUs."""
    try:
        inv = inventory()
    except MeasurementUnavailable as ex:
        assert isinstance(ex, NvmlLibraryMissing | NoGpuFound | GpuPermissionDenied)
        assert "NVML" in str(ex) or "GPU" in str(ex)
    else:
        assert inv.gpus and inv.driver_version


@pytest.fixture
def clock(fake_nvml: FakePynvml) -> ManualClock:
    """A manual clock the fake GPUs read too: the tests say when time passes, and ticks run exactly then."""
    manual = ManualClock()
    fake_nvml.clock = manual
    return manual


def _sampler(clock: ManualClock, **kw: object) -> NvmlSampler:
    return NvmlSampler(clock=clock, wait=clock.wait, **kw)  # type: ignore[arg-type]


def test_sampler_reads_energy_every_tick_and_details_in_turn(fake_nvml: FakePynvml, clock: ManualClock) -> None:
    fake_nvml.gpus.append(FakeGpu(power_w=lambda t: 150.0, energy_j=None))
    with _sampler(clock, interval_s=0.05, detail_interval_s=0.25, cpu_budget=1.0) as sampler:
        clock.advance(1.0)
        live = sampler.latest()
        now_w = sampler.power_now_w()
    samples = sampler.samples()
    assert sampler.gpu_indices == [0, 1] and [s.gpu_index for s in live] == [0, 1]
    assert sampler.unsupported == {1: ["energy_mj"]}
    # GPU 0 has the counter: 300 W from its rise; GPU 1 has none: its 150 W power reading
    assert now_w == pytest.approx(450, rel=1e-6)
    h100 = [s for s in samples if s.gpu_index == 0]
    assert len(h100) == 20 + 2  # 1 s at 20 Hz, plus the first and the last sample
    assert [s.t_s - 100 for s in h100] == pytest.approx([0.05 * k for k in range(21)] + [1.0])
    first, *middle, last = h100
    for full in (first, last):  # the first and last samples read everything: windows start and end exact
        assert (full.power_w, full.gpu_util_pct, full.mem_util_pct) == (300, 97, 61)
        assert (full.memory_used_mib, full.sm_clock_mhz, full.temperature_c) == (40_000, 1980, 54)
    assert all(s.energy_mj is not None for s in h100)  # energy every tick
    details = [
        [
            name
            for name in ("power_w", "gpu_util_pct", "memory_used_mib", "sm_clock_mhz", "temperature_c")
            if getattr(s, name) is not None
        ]
        for s in middle
    ]
    turn = ["power_w", "gpu_util_pct", "memory_used_mib", "sm_clock_mhz", "temperature_c"]
    assert [d[0] for d in details] == turn * 4  # one detail reading per tick, in turn
    assert all(len(d) == 1 for d in details)
    l40s = [s for s in samples if s.gpu_index == 1]
    assert len(l40s) == 22 and all(s.power_w == 150 and s.energy_mj is None for s in l40s)  # power every tick


def test_slow_nvml_is_read_less_often_within_budget(fake_nvml: FakePynvml, clock: ManualClock) -> None:
    fake_nvml.gpus[0].energy_read_cpu_s = 0.002  # 2 ms of CPU per counter read
    sampler = _sampler(clock, interval_s=0.02, cpu_budget=0.01)  # 0.2 ms per tick allowed, 0.1 ms for energy
    sampler.start()
    assert sampler.reading_cost_s[0]["energy_mj"] >= 0.002
    every = sampler.read_every_s[0]
    assert 0.4 <= every["energy_mj"] <= 0.5  # ceil(2 ms / 0.1 ms) = every 20th tick (a bit more if slower)
    assert every["power_w"] == every["temperature_c"] == pytest.approx(1.0)  # cheap details: once a second
    reads0 = fake_nvml.energy_reads
    clock.advance(0.45)  # ticks 0 … 21 (at 0.02 … 0.44 s): the counter at tick 0, and again if its period fits
    assert fake_nvml.energy_reads - reads0 == (2 if every["energy_mj"] <= 0.42 + 1e-9 else 1)
    sampler.mark()  # a window edge: everything is read now
    marked = sampler.samples()[-1]
    assert marked.energy_mj is not None and marked.power_w is not None and marked.temperature_c is not None
    assert marked.t_s == 100.45
    samples = sampler.stop()
    times = [s.t_s for s in samples]
    assert times == sorted(times) and len(samples) == 1 + 22 + 2  # first, the ticks, the mark and the last


def test_sampler_gpu_choice(fake_nvml: FakePynvml) -> None:
    fake_nvml.gpus.append(FakeGpu(name="NVIDIA H100 80GB HBM3"))
    with NvmlSampler(gpu_indices=[1], interval_s=0.05) as sampler:
        time.sleep(0.1)
    assert {s.gpu_index for s in sampler.samples()} == {1}
    with pytest.raises(MeasurementUnavailable, match="no GPU with index 3; this machine has 0, 1"):
        NvmlSampler(gpu_indices=[3]).start()


def test_transient_read_errors_leave_gaps(fake_nvml: FakePynvml, clock: ManualClock) -> None:
    sampler = _sampler(clock, interval_s=0.02)
    sampler.start()
    fake_nvml.read_error = pynvml.NVML_ERROR_GPU_IS_LOST  # readings fail for a while
    clock.advance(0.1)  # 5 ticks, the counter failing at each
    fake_nvml.read_error = None
    clock.advance(0.06)  # 3 good ticks
    samples = sampler.stop()
    assert sampler.read_errors == 5 + 1  # the counter at each failing tick, and the detail read at tick 0
    assert [s.energy_mj is None for s in samples] == [False] + [True] * 5 + [False] * 4
    assert samples[-1].power_w == 300


def test_sampler_bounds_memory(fake_nvml: FakePynvml, clock: ManualClock) -> None:
    with _sampler(clock, interval_s=0.005, max_samples=10) as sampler:
        clock.advance(0.2)  # 40 ticks
    samples = sampler.samples()
    assert len(samples) == 10 and samples[-1].t_s == pytest.approx(100.2)  # the newest kept, the oldest dropped


def test_sampler_thread_failure_surfaces(fake_nvml: FakePynvml, clock: ManualClock) -> None:
    sampler = _sampler(clock, interval_s=0.01)
    sampler.start()
    failed_on: list[str] = []

    def broken(t: float) -> float:  # a bug in a reading must not vanish with the thread
        failed_on.append(threading.current_thread().name)
        return 1 / 0

    fake_nvml.gpus[0].power_w = broken
    clock.advance(0.01)  # tick 0 reads power on the sampling thread, which ends on the error
    assert failed_on == ["opentco-nvml-sampler"]
    with pytest.raises(ZeroDivisionError):
        sampler.stop()


def test_bad_interval() -> None:
    with pytest.raises(ValueError, match="interval_s"):
        NvmlSampler(interval_s=0)
