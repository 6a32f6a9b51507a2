"""Energy from known power traces and counters, and money per million tokens."""

from __future__ import annotations

import math
import sys
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costmodel.measure import (
    CostInputs,
    GpuSample,
    MeasureInputError,
    NvmlSampler,
    energy_usd_per_mtok,
    gpu_hours_usd_per_mtok,
    integrate_power_j,
    window_energy,
)
from tests.measure.clock import ManualClock
from tests.measure.fake_pynvml import FakeGpu, FakePynvml


def _sample(t: float, *, gpu: int = 0, power: float | None = None, energy_mj: int | None = None) -> GpuSample:
    return GpuSample(
        t_s=t,
        gpu_index=gpu,
        power_w=power,
        energy_mj=energy_mj,
        gpu_util_pct=None,
        mem_util_pct=None,
        memory_used_mib=None,
        sm_clock_mhz=None,
        temperature_c=None,
    )


def test_trapezoid_of_known_traces() -> None:
    assert integrate_power_j(times_s=[0, 10], powers_w=[300, 300]) == 3000  # 300 W for 10 s
    assert integrate_power_j(times_s=[0, 5, 10], powers_w=[100, 200, 300]) == 2000  # linear ramp: exact
    assert integrate_power_j(times_s=[0], powers_w=[300]) == 0
    with pytest.raises(ValueError, match="ascend"):
        integrate_power_j(times_s=[1, 0], powers_w=[1, 1])
    with pytest.raises(ValueError, match="2 times but 1"):
        integrate_power_j(times_s=[0, 1], powers_w=[1])


def test_sampled_sine_converges_to_its_integral() -> None:
    # 400 W + 100 W·sin(2πt/4 s) over 8 s: the mean is 400 W, so 3200 J
    times = [i * 0.1 for i in range(81)]
    powers = [400 + 100 * math.sin(2 * math.pi * t / 4) for t in times]
    assert integrate_power_j(times_s=times, powers_w=powers) == pytest.approx(3200, rel=1e-9)


def test_window_interpolates_power_at_its_edges() -> None:
    # ramp 100 W → 300 W over 0..10 s, sampled each second; the window 2.5..7.5 s holds 1000 J exactly
    samples = [_sample(float(t), power=100 + 20 * t) for t in range(11)]
    reading = window_energy(samples, start_s=2.5, end_s=7.5)
    assert reading is not None and reading.basis == "integrated_power"
    assert reading.energy_j == pytest.approx(1000) and reading.mean_power_w == pytest.approx(200)
    assert reading.duration_s == pytest.approx(5) and reading.gpus == 1


def test_window_prefers_the_energy_counter() -> None:
    # the counter says 2500 J over 0..10 s although the (wrong) power readings say 0 W
    samples = [_sample(float(t), power=0.0, energy_mj=1_000_000 + 250_000 * t) for t in range(11)]
    reading = window_energy(samples, start_s=1.0, end_s=9.0)
    assert reading is not None and reading.basis == "energy_counter"
    assert reading.energy_j == pytest.approx(2000) and reading.mean_power_w == pytest.approx(250)


def test_gpus_are_summed_and_one_without_counter_labels_the_whole() -> None:
    with_counter = [_sample(float(t), gpu=0, power=300.0, energy_mj=300_000 * t) for t in range(5)]
    without = [_sample(float(t), gpu=1, power=100.0) for t in range(5)]
    reading = window_energy(with_counter + without, start_s=0, end_s=4)
    assert reading is not None and reading.basis == "integrated_power"
    assert reading.energy_j == pytest.approx(1600) and reading.gpus == 2 and reading.watts_per_gpu == 200


def test_window_outside_the_samples() -> None:
    samples = [_sample(float(t), power=100.0) for t in range(3)]
    assert window_energy(samples, start_s=5, end_s=6) is None
    assert window_energy(samples[:1], start_s=0, end_s=1) is None
    clamped = window_energy(samples, start_s=-5, end_s=1)  # only the covered part counts
    assert clamped is not None and clamped.energy_j == 100 and clamped.duration_s == 1


@given(
    powers=st.lists(st.floats(min_value=0, max_value=1500), min_size=2, max_size=40),
    cut=st.floats(min_value=0, max_value=1),
)
def test_energy_is_additive_over_split_windows(powers: list[float], cut: float) -> None:
    samples = [_sample(i * 0.1, power=p) for i, p in enumerate(powers)]
    end = (len(powers) - 1) * 0.1
    mid = end * cut
    whole = window_energy(samples, start_s=0, end_s=end)
    assert whole is not None
    parts = [window_energy(samples, start_s=a, end_s=b) for a, b in ((0, mid), (mid, end))]
    total = sum(p.energy_j for p in parts if p is not None)
    assert total == pytest.approx(whole.energy_j, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("counter", [True, False])
def test_sampler_over_a_known_trace(monkeypatch: pytest.MonkeyPatch, counter: bool) -> None:
    """Real thread on a manual clock: 250 W + 50 W·sin must integrate to its known joules over the window.

    Every reading of the clock moves it on 0.5 ms, as if each call took time, so the test also sees that each
    sample is stamped at the very moment its counter (or power) was read, not somewhere else in the tick.
    """
    clock = ManualClock(step_s=0.0005)
    t0 = clock()

    def power(t: float) -> float:
        return 250 + 50 * math.sin(2 * math.pi * (t - t0) / 0.4)

    def energy(t: float) -> float:  # the exact integral of power from t0
        return 250 * (t - t0) + 50 * 0.4 / (2 * math.pi) * (1 - math.cos(2 * math.pi * (t - t0) / 0.4))

    fake = FakePynvml([FakeGpu(power_w=power, energy_j=energy if counter else None)], clock=clock)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    with NvmlSampler(interval_s=0.01, clock=clock, wait=clock.wait) as sampler:
        clock.advance(0.9)
    samples = sampler.samples()
    assert len(samples) == 90 + 2  # a tick every 10 ms, plus the first and the last sample
    read_at = fake.energy_read_at if counter else fake.power_read_at
    stamped = [s.t_s for s in samples]
    # each stamp is the time the fake evaluated its trace for that sample (the middle of the read call)
    assert stamped == pytest.approx(read_at[-len(samples) :], abs=1e-9)
    start, end = samples[0].t_s + 0.05, samples[-1].t_s - 0.05
    reading = window_energy(samples, start_s=start, end_s=end)
    assert reading is not None
    assert reading.basis == ("energy_counter" if counter else "integrated_power")
    exact = energy(end) - energy(start)
    # the counter is exact up to mJ rounding and the straight line between readings 10 ms apart (< 0.02 J at
    # each edge); the 100 Hz trapezoid of a 2.5 Hz sine is within 0.1 %
    assert reading.energy_j == pytest.approx(exact, rel=2e-4 if counter else 1e-3)


def test_money_per_million_tokens_is_exact_decimal() -> None:
    # 0.36 J/token → 0.1 kWh per 1M tokens; × PUE 1.5 × $0.20 = $0.03
    assert energy_usd_per_mtok(joules_per_token=0.36, usd_per_kwh=Decimal("0.20"), pue=1.5) == Decimal("0.030000")
    # 2 GPUs at $2.50 for 500 tok/s: 1M tokens take 2000 s → 0.5556 h × $5 = $2.777778
    assert gpu_hours_usd_per_mtok(tokens_per_s=500.0, gpus=2, usd_per_gpu_hour=Decimal("2.50")) == Decimal("2.777778")
    with pytest.raises(ValueError, match="positive"):
        gpu_hours_usd_per_mtok(tokens_per_s=0.0, gpus=1, usd_per_gpu_hour=Decimal(1))


def test_cost_inputs_from_text() -> None:
    costs = CostInputs.from_text(usd_per_kwh="0.15", pue=1.2, usd_per_gpu_hour=" 2.49 ")
    assert costs.usd_per_kwh == Decimal("0.15") and costs.usd_per_gpu_hour == Decimal("2.49")
    assert CostInputs.from_text(usd_per_kwh="0.1", pue=1.0, usd_per_gpu_hour="").usd_per_gpu_hour is None
    with pytest.raises(MeasureInputError, match=r"numbers like 0\.12"):
        CostInputs.from_text(usd_per_kwh="cheap", pue=1.4)
    with pytest.raises(MeasureInputError, match="pue"):
        CostInputs.from_text(usd_per_kwh="0.1", pue=0.5)
    with pytest.raises(MeasureInputError, match="usd_per_kwh"):
        CostInputs.from_text(usd_per_kwh="-1", pue=1.4)
