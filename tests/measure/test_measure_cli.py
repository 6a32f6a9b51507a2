"""`opentco gpu` and `opentco measure` end to end (fake NVML, real local streaming server)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from costmodel.cli import measure_cmd
from costmodel.measure import list_benchmarks, load_benchmark
from costmodel.store import connect
from tests.measure.fake_pynvml import FakePynvml, counter_skew_s
from tests.measure.stub_openai import StubServer


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    measure_cmd.register(app)
    return app


def test_commands_are_registered_in_opentco() -> None:
    from costmodel.cli import app

    names = {c.name for c in app.registered_commands}
    assert {"gpu", "measure"} <= names


def test_gpu_json(cli: typer.Typer, fake_nvml: FakePynvml) -> None:
    out = CliRunner().invoke(cli, ["gpu", "--json"])
    assert out.exit_code == 0, out.output
    inv = json.loads(out.stdout)
    assert inv["driver_version"] == "580.159.04" and inv["cuda_version"] == "13.0"
    assert inv["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3" and inv["gpus"][0]["power_limit_w"] == 700


def test_gpu_table(cli: typer.Typer, fake_nvml: FakePynvml) -> None:
    out = CliRunner().invoke(cli, ["gpu"])
    assert out.exit_code == 0
    assert out.stdout.splitlines() == [
        "driver 580.159.04, CUDA 13.0",
        "  GPU 0: NVIDIA H100 80GB HBM3, 79.6 GiB, 700 W limit, energy counter",
    ]


def test_gpu_without_nvml_is_a_clear_error(cli: typer.Typer, no_pynvml: None) -> None:
    out = CliRunner().invoke(cli, ["gpu"])
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr.startswith("error: GPU measurement needs the Python package nvidia-ml-py")


def _measure_args(stub: StubServer, db: Path, *extra: str) -> list[str]:
    return [
        "measure",
        "--endpoint",
        stub.url,
        "--model",
        "stub-model",
        "--concurrency",
        "1,2",
        "--input-tokens",
        "30",
        "--output-tokens",
        "10",
        "--max-requests",
        "4",
        "--db",
        str(db),
        *extra,
    ]


def test_measure_json_is_stored(
    cli: typer.Typer, stub: StubServer, fake_nvml: FakePynvml, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_KEY", "sk-cli-secret-9")
    db = tmp_path / "bench.duckdb"
    args = _measure_args(stub, db, "--json", "--api-key-env", "MY_KEY", "--usd-per-gpu-hour", "3.00")
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["benchmark_id"] == 1 and data["samples_count"] > 0
    assert [lv["concurrency"] for lv in data["levels"]] == [1, 2]
    assert all(lv["requests_ok"] == 4 and lv["output_tokens"] == 40 for lv in data["levels"])
    assert "concurrency 1: 4 ok, 0 failed" in out.stderr
    assert "sk-cli-secret-9" not in out.output and stub.requests[-1][0]["Authorization"] == "Bearer sk-cli-secret-9"
    con = connect(db)
    (run,) = list_benchmarks(con)
    assert run.gpu_name == "NVIDIA H100 80GB HBM3"
    stored = load_benchmark(con, benchmark_id=1, with_samples=True)
    assert stored.costs.usd_per_gpu_hour == 3 and len(stored.samples) == data["samples_count"]
    # 300 W exactly, to the few µs by which this run's sample stamps missed their reads (a wrong window is
    # off by far more)
    rel = counter_skew_s(stored.samples, watts=300) / stored.levels[0].duration_s + 1e-9
    assert data["levels"][0]["watts_per_gpu"] == pytest.approx(300, rel=rel)


def test_measure_table(cli: typer.Typer, stub: StubServer, no_pynvml: None, tmp_path: Path) -> None:
    out = CliRunner().invoke(cli, _measure_args(stub, tmp_path / "b.duckdb"))
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["conc", "ok", "err"] and lines[1].split()[:3] == ["1", "4", "0"]
    assert "hardware: GPU not read" in out.stdout
    assert "note: power not measured: GPU measurement needs the Python package nvidia-ml-py" in out.stdout
    assert f"stored as benchmark #1 in {tmp_path / 'b.duckdb'}" in out.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--concurrency", "1,x"], "error: concurrency must be whole numbers"),
        (["--usd-per-kwh", "free"], "error: prices must be numbers"),
        (["--api-key-env", "UNSET_VAR_FOR_TEST"], "error: environment variable UNSET_VAR_FOR_TEST"),
        (["--output-tokens", "0"], "error: measure: output_tokens"),
    ],
)
def test_measure_input_errors(
    cli: typer.Typer, stub: StubServer, no_pynvml: None, tmp_path: Path, extra: list[str], message: str
) -> None:
    out = CliRunner().invoke(cli, _measure_args(stub, tmp_path / "b.duckdb", *extra))
    assert out.exit_code == 2 and message in out.stderr


def test_measure_unreachable(cli: typer.Typer, stub: StubServer, no_pynvml: None, tmp_path: Path) -> None:
    stub.behaviour.status = 404
    out = CliRunner().invoke(cli, _measure_args(stub, tmp_path / "b.duckdb"))
    assert out.exit_code == 2 and "answered 404" in out.stderr


def test_ctrl_c_stores_partial_results(
    cli: typer.Typer, stub: StubServer, fake_nvml: FakePynvml, tmp_path: Path, ctrl_c_delivered: None
) -> None:
    stub.behaviour.tokens_per_s = 40.0
    db = tmp_path / "b.duckdb"
    args = [a for a in _measure_args(stub, db, "--duration", "30") if a not in ("--max-requests", "4")]

    def ctrl_c_once_the_first_level_runs() -> None:  # its first request is the server's second (after the probe)
        deadline = time.monotonic() + 120  # a guard against a hang, not a bound on speed
        while len(stub.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=ctrl_c_once_the_first_level_runs, daemon=True).start()
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 130 and "stopped by Ctrl-C; finished requests were kept" in out.stderr
    (run,) = list_benchmarks(connect(db))
    assert run.stopped_early and run.levels == 1
