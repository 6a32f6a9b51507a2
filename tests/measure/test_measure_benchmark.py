"""A whole run (load + fake GPU at a known power), stored in DuckDB, read back and fed into a scenario."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from costmodel.errors import ScenarioError
from costmodel.measure import (
    BenchmarkJob,
    BenchmarkResult,
    CostInputs,
    EndpointError,
    LoadSettings,
    apply_measurement,
    gpu_matches,
    latest_measurement,
    list_benchmarks,
    load_benchmark,
    measurement_of,
    run_benchmark,
    save_benchmark,
)
from costmodel.scenario import ApiOption, CloudGpuOption, LatencyTargets, OnPremOption, Scenario
from costmodel.store import StoreError, connect
from tests.measure.fake_pynvml import FakePynvml, counter_skew_s
from tests.measure.stub_openai import StubServer

_COSTS = CostInputs(usd_per_kwh=Decimal("0.10"), pue=1.5, usd_per_gpu_hour=Decimal("2.00"))


def _run(stub: StubServer, **kw: object) -> BenchmarkResult:
    settings = LoadSettings(
        endpoint=stub.url,
        model="stub-model",
        concurrency_levels=[1, 4],
        input_tokens=40,
        output_tokens=20,
        max_requests_per_level=4,
        request_timeout_s=10,
        api_key_env="STUB_KEY",
    )
    return run_benchmark(settings=settings, costs=_COSTS, sample_interval_s=0.02, **kw)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_KEY", "sk-never-store-me-42")


def _rel(result: BenchmarkResult, window_s: float) -> float:
    """Relative tolerance on 300 W over a window: how far the sampler's stamps slipped in this very run."""
    return counter_skew_s(result.samples, watts=300) / window_s + 1e-9


def test_energy_per_token_from_a_known_power(stub: StubServer, fake_nvml: FakePynvml) -> None:
    result = _run(stub)
    assert result.hardware is not None and result.gpu_indices == [0] and result.power_note is None
    assert result.gpu_name == "NVIDIA H100 80GB HBM3" and result.warnings == []
    for level in result.levels:
        # the fake GPU draws exactly 300 W, its counter integrates exactly: J = 300 W × window (to the few µs
        # by which the samples' stamps missed their reads, measured, not assumed)
        rel = _rel(result, level.duration_s)
        assert level.energy_basis == "energy_counter"
        assert level.watts_per_gpu == pytest.approx(300, rel=rel)
        assert level.energy_j == pytest.approx(300 * level.duration_s, rel=rel)
        jpt = 300 * level.duration_s / level.output_tokens
        assert level.joules_per_output_token == pytest.approx(jpt, rel=rel)
        kwh_per_mtok = Decimal(repr(level.joules_per_output_token)) / Decimal("3.6")
        assert level.usd_per_mtok_energy == (kwh_per_mtok * Decimal("0.15")).quantize(Decimal("0.000001"))
        gpu_cost = Decimal(2) * Decimal(1_000_000) / Decimal(repr(level.output_tokens_per_s)) / 3600
        assert level.usd_per_mtok_gpu_hours == gpu_cost.quantize(Decimal("0.000001"))
    one, four = result.levels
    times = [s.t_s for s in result.samples]
    assert times == sorted(times) and times[0] < one.start_s and times[-1] > four.end_s


def test_sparse_counter_readings_still_give_exact_level_energy(stub: StubServer, fake_nvml: FakePynvml) -> None:
    fake_nvml.gpus[0].energy_read_cpu_s = 0.003  # so slow the sampler reads the counter only every few s
    result = _run(stub)
    # 0.05 ms of each 20 ms tick may go to the counter (half the 0.5 % budget): a 3 ms read comes every 60+
    # ticks, so the thread reads it at most once per 1.2 s of the run, beside the first sample, 2 marks per
    # level and the last (the run's length is what it took on this machine, not a guess)
    span_s = result.samples[-1].t_s - result.samples[0].t_s
    counted = sum(s.energy_mj is not None for s in result.samples)
    assert 1 + 2 * 2 + 1 <= counted <= 1 + 2 * 2 + 1 + 1 + int(span_s / 1.2)
    for level in result.levels:  # … and the marks at each level's edges keep its energy exact
        assert level.energy_basis == "energy_counter"
        assert level.energy_j == pytest.approx(300 * level.duration_s, rel=_rel(result, level.duration_s))


def test_without_gpu_throughput_is_still_measured(stub: StubServer, no_pynvml: None) -> None:
    result = _run(stub)
    assert result.hardware is None and result.samples == [] and result.gpu_name is None
    assert result.power_note is not None and "nvidia-ml-py" in result.power_note
    level = result.levels[0]
    assert level.requests_ok == 4 and level.energy_j is None and level.usd_per_mtok_energy is None
    assert level.usd_per_mtok_gpu_hours is not None  # GPU-hours need no power reading


def test_power_turned_off_and_remote_endpoint(
    stub: StubServer, fake_nvml: FakePynvml, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _run(stub, measure_power=False).power_note == "power not measured (turned off)"
    monkeypatch.setattr("costmodel.measure.benchmark._LOCAL_HOSTS", set())  # pretend 127.0.0.1 is elsewhere
    assert "only right if the model is served here" in _run(stub).warnings[0]
    remote = LoadSettings(endpoint="http://gpu-box.invalid:1/v1", model="m", max_requests_per_level=1)
    with pytest.raises(EndpointError):
        run_benchmark(settings=remote)
    assert fake_nvml.shutdowns == fake_nvml.inits  # the sampler is released when the run fails


def test_store_round_trip_without_secrets(stub: StubServer, fake_nvml: FakePynvml) -> None:
    result = _run(stub)
    con = connect()
    benchmark_id = save_benchmark(con, result)
    back = load_benchmark(con, benchmark_id=benchmark_id, with_samples=True)
    assert back.levels == result.levels and back.settings == result.settings and back.costs == result.costs
    assert back.hardware == result.hardware and back.gpu_indices == [0]
    assert back.samples == result.samples and back.started_at == result.started_at
    (summary,) = list_benchmarks(con)
    assert (summary.benchmark_id, summary.model, summary.levels) == (benchmark_id, "stub-model", 2)
    assert summary.best_output_tokens_per_s == max(lv.output_tokens_per_s for lv in result.levels)
    dump = "".join(
        str(row) for table in ("benchmarks", "benchmark_levels") for row in con.execute(f"FROM {table}").fetchall()
    )
    assert "STUB_KEY" in dump and "sk-never-store-me-42" not in dump
    with pytest.raises(StoreError, match="no stored benchmark #999"):
        load_benchmark(con, benchmark_id=999)


def test_latest_measurement_picks_the_best_level_meeting_targets(stub: StubServer, fake_nvml: FakePynvml) -> None:
    con = connect()
    assert latest_measurement(con, model="stub-model", gpu="h100") is None
    stub.behaviour.ttft_s, stub.behaviour.tokens_per_s = 0.05, 100.0
    old = save_benchmark(con, _run(stub))
    stub.behaviour.tokens_per_s = 200.0
    result = _run(stub)
    new = save_benchmark(con, result)
    best = latest_measurement(con, model="STUB-MODEL", gpu="h100-sxm")
    assert best is not None and best.benchmark_id == new != old
    fastest = max(result.levels, key=lambda lv: lv.output_tokens_per_s)  # 4 streams, on any sane schedule
    assert best.concurrency == fastest.concurrency and best.meets_latency_targets is None
    assert best.watts_per_gpu == pytest.approx(300, rel=_rel(result, fastest.duration_s))
    # a 10 ms time to first token is met by no level: the fastest streams are returned, flagged
    fast = latest_measurement(con, model="stub-model", gpu="H100", latency=LatencyTargets(ttft_ms=10))
    assert fast is not None and fast.meets_latency_targets is False
    assert latest_measurement(con, model="stub-model", gpu="a100") is None
    assert latest_measurement(con, model="other-model", gpu="h100") is None


@pytest.mark.parametrize(
    ("query", "name", "same"),
    [
        ("h100", "NVIDIA H100 80GB HBM3", True),
        ("H100-SXM", "NVIDIA H100 80GB HBM3", True),
        ("h100 nvl", "NVIDIA H100 NVL", True),
        ("h100-nvl", "NVIDIA H100 80GB HBM3", False),
        ("a100-80gb", "NVIDIA A100-SXM4-80GB", True),
        ("a100-40gb", "NVIDIA A100-SXM4-80GB", False),
        ("l40s", "NVIDIA L40S", True),
        ("l40", "NVIDIA L40S", False),
        ("", "NVIDIA L40S", False),
    ],
)
def test_gpu_matches(query: str, name: str, same: bool) -> None:
    assert gpu_matches(query, name) is same


def _scenario() -> Scenario:
    return Scenario(
        options=[
            ApiOption(name="API", provider="openai", model="gpt-4o"),
            CloudGpuOption(name="Rented", model="llama-3.1-8b", gpu="h100"),
            OnPremOption(name="Owned", model="llama-3.1-8b", gpu="h100", gpus_per_replica=2),
        ]
    )


def test_apply_measurement_to_a_self_hosted_option(stub: StubServer, fake_nvml: FakePynvml) -> None:
    result = _run(stub)
    four = result.levels[1]
    assert four.ttft_ms_p95 is not None and four.output_tokens_per_s_per_stream is not None
    # targets just met, and just missed, by what this run measured
    met = LatencyTargets(ttft_ms=four.ttft_ms_p95, output_tokens_per_s_per_user=four.output_tokens_per_s_per_stream)
    missed = met.model_copy(update={"ttft_ms": four.ttft_ms_p95 * 0.99})
    assert measurement_of(result, benchmark_id=7, concurrency=4, latency=missed).meets_latency_targets is False
    m = measurement_of(result, benchmark_id=7, concurrency=4, latency=met)
    assert m.meets_latency_targets is True and m.output_tokens_per_s == four.output_tokens_per_s
    before = _scenario()
    after = apply_measurement(before, option="Owned", measurement=m)
    owned = after.option("Owned")
    assert isinstance(owned, OnPremOption)
    assert owned.measured_output_tokens_per_s == m.output_tokens_per_s
    assert owned.measured_watts_per_gpu == pytest.approx(300, rel=_rel(result, four.duration_s))
    assert owned.gpus_per_replica == 1
    assert before.option("Owned").measured_output_tokens_per_s is None  # the original is left alone
    assert after.option("Rented") == before.option("Rented")
    with pytest.raises(ScenarioError, match="is api"):
        apply_measurement(before, option="API", measurement=m)
    with pytest.raises(ScenarioError, match="no option named 'Nope'"):
        apply_measurement(before, option="Nope", measurement=m)
    with pytest.raises(ScenarioError, match="has no concurrency 64"):
        measurement_of(result, benchmark_id=7, concurrency=64)


def test_level_without_tokens_cannot_be_used(stub: StubServer, no_pynvml: None) -> None:
    result = _run(stub)
    broken = result.levels[0].model_copy(update={"output_tokens_per_s": 0.0, "first_error": "HTTP 500"})
    result = result.model_copy(update={"levels": [broken]})
    with pytest.raises(ScenarioError, match="produced no tokens"):
        measurement_of(result, benchmark_id=1, concurrency=1)


def test_job_runs_in_the_background_and_stops(stub: StubServer, fake_nvml: FakePynvml) -> None:
    stub.behaviour.tokens_per_s = 50.0
    settings = LoadSettings(
        endpoint=stub.url, model="stub-model", concurrency_levels=[2, 8], output_tokens=20, duration_s_per_level=30
    )
    job = BenchmarkJob(settings=settings, sample_interval_s=0.02)
    job.start()
    assert not job.done
    deadline = time.monotonic() + 120  # a guard against a hang, not a bound on speed
    while not (job.progress().timeline and job.progress().timeline[-1].power_w):
        assert time.monotonic() < deadline, "no live power reading"
        job.wait(0.05)
    live_w = job.progress().timeline[-1].power_w
    job.stop()
    assert job.wait(120)
    result = job.outcome()
    assert result.stopped_early and len(result.levels) == 1 and 1 <= result.levels[0].requests_cancelled <= 2
    # the live figure is the counter's rise over at least 0.3 s (or the latest power reading: exactly 300 W)
    assert live_w == pytest.approx(300, rel=_rel(result, 0.3))


def test_job_reports_user_errors(stub: StubServer) -> None:
    stub.behaviour.status = 404
    job = BenchmarkJob(settings=LoadSettings(endpoint=stub.url, model="m"), measure_power=False)
    job.start()
    assert job.wait(120)
    with pytest.raises(EndpointError, match="404"):
        job.outcome()
