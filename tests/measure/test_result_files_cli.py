"""`opentco measure import`, `opentco import` on a result file, and imported runs feeding `--fit-my-runs`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costmodel.catalog import catalog
from costmodel.cli import app
from costmodel.throughput import estimate

BENCH = Path(__file__).resolve().parents[1] / "fixtures" / "bench_results"
VLLM = next((BENCH / "vllm_bench_serve").glob("*.json"))
AIPERF_CSV = BENCH / "aiperf" / "profile_export_aiperf.csv"
GUIDELLM = BENCH / "guidellm" / "benchmarks.json"


def _run(*args: str) -> tuple[int, str, str]:
    out = CliRunner().invoke(app, list(args))
    return out.exit_code, out.stdout, out.stderr


def test_measure_import_stores_and_reports_each_file() -> None:
    code, stdout, _ = _run("measure", "import", str(VLLM), str(GUIDELLM), "--gpu", "h100", "--runtime", "vllm")
    assert code == 0, stdout
    lines = stdout.splitlines()
    assert lines[0].startswith(f"{VLLM.name}: vLLM bench serve result stored as benchmark #1 (measured)")
    assert "on 1× h100, 1 level(s) at 8 streams, best 1,024.0 output tok/s" in lines[0]
    assert any(line.startswith("benchmarks.json: GuideLLM result stored as benchmark #2") for line in lines)
    code, stdout, _ = _run("measure", "import", str(VLLM), "--gpu", "h100", "--runtime", "vllm", "--json")
    [again] = json.loads(stdout)
    assert code == 0 and again["already_imported"] and again["benchmark_id"] == 1 and again["levels"] == []


def test_measure_import_names_what_is_missing() -> None:
    code, stdout, stderr = _run("measure", "import", str(AIPERF_CSV))
    assert code == 2 and stdout == ""
    assert stderr.startswith("error: profile_export_aiperf.csv: this NVIDIA AIPerf result does not say the model")
    assert "`opentco measure import --model … --runtime … profile_export_aiperf.csv`" in stderr


def test_measure_import_refuses_a_bad_field_value() -> None:
    code, _, stderr = _run("measure", "import", str(VLLM), "--gpu", "h100", "--runtime", "v llm; rm")
    assert code == 2 and "runtime" in stderr and "Traceback" not in stderr


def test_measure_without_endpoint_says_what_to_give() -> None:
    code, _, stderr = _run("measure", "--model", "m")
    assert code == 2 and stderr.strip() == (
        "error: give --endpoint (or `opentco measure import FILE…` to store result files)"
    )


def test_usage_log_import_points_a_result_file_to_measure_import() -> None:
    code, _, stderr = _run("import", str(GUIDELLM))
    assert code != 0
    assert "benchmarks.json: this is a benchmark result of GuideLLM (guidellm), not a usage log" in stderr
    assert "`opentco measure import benchmarks.json`" in stderr and "unknown" not in stderr.lower()


def _vllm_result(*, concurrency: int, output_tokens_per_s: float) -> dict[str, object]:
    """A `vllm bench serve` result of 100 requests of 512 + 256 tokens at a known throughput."""
    duration = 100 * 256 / output_tokens_per_s
    return {
        "date": "20261201-090000",
        "backend": "vllm",
        "model_id": "meta-llama/Llama-3.1-8B-Instruct",
        "num_prompts": 100,
        "request_rate": "inf",
        "burstiness": 1.0,
        "max_concurrency": concurrency,
        "duration": duration,
        "completed": 100,
        "failed": 0,
        "total_input_tokens": 51_200,
        "total_output_tokens": 25_600,
        "request_throughput": 100 / duration,
        "output_throughput": output_tokens_per_s,
        "total_token_throughput": 76_800 / duration,
        "median_ttft_ms": 50.0,
        "p95_ttft_ms": 80.0,
        "mean_tpot_ms": 1000 * concurrency / output_tokens_per_s,
    }


def test_imported_results_calibrate_the_estimate_on_your_runs(tmp_path: Path) -> None:
    """A deployment 30% slower than the published calibration: importing its runs moves the fit onto it."""
    cat = catalog()
    m, g, q = cat.resolve_model("meta-llama/Llama-3.1-8B-Instruct")[0], cat.gpu("h100"), cat.quant("bf16")
    published = {
        c: estimate(m, g, q, concurrency=c, input_tokens=512, output_tokens=256, runtime="vllm").output_tokens_per_s
        for c in (1, 8, 32)
    }
    truth = {c: 0.7 * v for c, v in published.items()}  # what "your" deployment does
    files = []
    for c, tps in truth.items():
        f = tmp_path / f"vllm-c{c}.json"
        f.write_text(json.dumps(_vllm_result(concurrency=c, output_tokens_per_s=tps)))
        files.append(str(f))
    assert _run("measure", "import", *files, "--gpu", "h100")[0] == 0
    args = ["estimate", "--gpu", "h100", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--concurrency", "8"]
    args += ["--input-tokens", "512", "--output-tokens", "256", "--runtime", "vllm", "--json"]
    code, stdout, stderr = _run(*args, "--fit-my-runs")
    assert code == 0, stderr
    fitted = json.loads(stdout)
    assert fitted["calibrated_on_your_runs"] and fitted["own_runs_levels"] == 3
    assert fitted["own_runs_error_before_pct"] == pytest.approx(100 * (1 / 0.7 - 1), abs=0.1)  # 42.9%
    assert fitted["own_runs_error_after_pct"] < 5
    assert "calibrated on your runs: 3 levels of 3 run(s)" in fitted["basis_source"]
    # The fitted estimate lands on the deployment; the published calibration alone is 42.9% above it.
    assert fitted["basis"] == "measured" and abs(fitted["output_tokens_per_s"] / truth[8] - 1) < 0.05
    plain = json.loads(_run(*args)[1])
    assert plain["basis"] == "calibrated" and "own_runs_levels" not in plain
    assert plain["output_tokens_per_s"] / truth[8] - 1 == pytest.approx(1 / 0.7 - 1, abs=0.001)
