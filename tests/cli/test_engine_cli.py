from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from costmodel.cli import app
from costmodel.demo import preset
from costmodel.tco import evaluate

runner = CliRunner()


def test_estimate_json_keys_and_values():
    res = runner.invoke(
        app,
        ["estimate", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "h100", "--concurrency", "8", "--json"],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    for key in (
        "output_tokens_per_s",
        "output_tokens_per_s_per_stream",
        "ttft_ms",
        "fits",
        "gpus_needed",
        "max_concurrency",
        "basis",
    ):
        assert key in out
    assert out["fits"] is True and out["gpus_needed"] == 1
    assert out["basis"] in ("estimated", "calibrated", "measured")
    assert out["output_tokens_per_s"] == pytest.approx(out["output_tokens_per_s_per_stream"] * 8, rel=1e-3)


def test_estimate_runs_attention_data_parallel_where_the_runtime_recipe_does_unless_told():
    args = ["estimate", "--model", "llama-4-maverick", "--gpu", "h200", "--gpus", "8", "--quant", "fp8"]
    # long requests, so the KV cache (FP8, TensorRT-LLM's default here) and not the 4096-stream cap sets the batch
    args += [
        "--input-tokens",
        "8000",
        "--output-tokens",
        "2000",
        "--runtime",
        "tensorrt-llm",
        "--mode",
        "max_load",
        "--json",
    ]
    recipe, told = (json.loads(runner.invoke(app, args + extra).stdout) for extra in ([], ["--no-attention-dp"]))
    assert recipe["attention_dp"] is True and told["attention_dp"] is False
    assert recipe["weights_gb"] > told["weights_gb"] and recipe["max_concurrency"] < told["max_concurrency"]
    res = runner.invoke(app, args[:-1])
    assert res.exit_code == 0 and "attention data-parallel" in res.output


def test_estimate_at_max_load_points_out_a_split_that_serves_more():
    args = [
        "estimate",
        "--model",
        "llama-2-70b",
        "--gpu",
        "h100",
        "--gpus",
        "8",
        "--quant",
        "fp8",
        "--mode",
        "max_load",
    ]
    args += ["--runtime", "tensorrt-llm", "--input-tokens", "300", "--output-tokens", "294"]
    out = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    split = out["better_split"]
    assert split["gpus_per_replica"] * split["replicas"] == 8 and split["gpus_per_replica"] < 8
    assert split["output_tokens_per_s"] >= 1.1 * out["output_tokens_per_s"]
    two = json.loads(runner.invoke(app, [*args[:6], "2", *args[7:], "--json"]).stdout)
    assert split["gpus_per_replica"] != 2 or split["output_tokens_per_s"] == pytest.approx(
        4 * two["output_tokens_per_s"], rel=1e-3
    )
    text = runner.invoke(app, args).output
    assert f"{split['replicas']} replicas of {split['gpus_per_replica']} serve" in text
    # at fixed concurrency, or on the fewest GPUs that hold the model, there is nothing to split
    fixed = [a for a in args if a not in ("--mode", "max_load")]
    assert "better_split" not in json.loads(runner.invoke(app, [*fixed, "--concurrency", "64", "--json"]).stdout)
    assert "better_split" not in json.loads(runner.invoke(app, [*args[:6], "1", *args[7:], "--json"]).stdout)


def test_estimate_does_not_fit_exits_1():
    res = runner.invoke(app, ["estimate", "--model", "llama-3.1-405b", "--gpu", "L4", "--gpus", "1"])
    assert res.exit_code == 1
    assert "does NOT fit" in res.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["estimate", "--model", "llama-3.1-8", "--gpu", "h100"], "llama-3.1-8b"),
        (["estimate", "--model", "llama-3.1-8b", "--gpu", "h10"], "H100"),
        (["estimate", "--model", "llama-3.1-8b", "--gpu", "h100", "--quant", "q4km"], "gguf-q4_k_m"),
    ],
)
def test_unknown_names_exit_2_with_suggestions(args, needle):
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert "Did you mean" in res.output and needle in res.output


def test_compare_json_agrees_with_engine(tmp_path):
    path = "data/scenarios/api-bill-10k-50k.json"
    res = runner.invoke(app, ["compare", path, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    r = evaluate(preset("api-bill-10k-50k"))
    assert out["verdict"] == r.verdict
    for o in out["options"]:
        e = r.option(o["name"])
        assert Decimal(str(o["month1_usd"])) == pytest.approx(e.month1_usd, abs=Decimal("0.000001"))
        assert Decimal(str(o["horizon_usd"])) == pytest.approx(e.horizon_usd, abs=Decimal("0.000001"))


def test_compare_text_has_verdict():
    res = runner.invoke(app, ["compare", "data/scenarios/internal-search-rag.json"])
    assert res.exit_code == 0, res.output
    assert "Verdict:" in res.output and "$" in res.output


def test_compare_bad_file_exits_2_with_field_message(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "options": [
                    {"kind": "cloud_gpu", "name": "x", "model": "llama-3.1-8b", "gpu": "h100", "min_replicas": -1}
                ]
            }
        )
    )
    res = runner.invoke(app, ["compare", str(bad)])
    assert res.exit_code == 2
    assert "bad.json: options.0.cloud_gpu.min_replicas" in res.output


@pytest.mark.parametrize("what", ["gpus", "models", "quant", "prices"])
def test_catalog_lists_with_sources(what):
    res = runner.invoke(app, ["catalog", what, "--json"])
    assert res.exit_code == 0
    rows = json.loads(res.stdout)
    assert rows and all(r["source"] and r["as_of"] for r in rows)


def test_catalog_api_prices_come_from_genai_prices():
    res = runner.invoke(app, ["catalog", "api", "--search", "gpt-4o-mini", "--json"])
    rows = json.loads(res.stdout)
    row = next(r for r in rows if r["provider"] == "openai" and r["model"] == "gpt-4o-mini")
    assert row["input_usd_per_mtok"] == 0.15 and row["output_usd_per_mtok"] == 0.6
    assert "genai-prices" in row["source"]


def test_engine_never_imports_streamlit():
    code = (
        "import sys, costmodel.tco, costmodel.sensitivity, costmodel.cli, costmodel.calibration; "
        "print('streamlit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_opentco_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "costmodel.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "estimate" in out.stdout


def test_estimate_reports_a_stored_measurement_as_measured(tmp_path):
    from pathlib import Path

    from costmodel.measure.benchmark import BenchmarkResult
    from costmodel.measure.results import save_benchmark
    from costmodel.store import connect

    fixture = Path(__file__).parents[1] / "fixtures" / "benchmarks" / "h100-llama-3.1-8b-random-weights.json"
    run = BenchmarkResult.model_validate_json(fixture.read_text())
    db = tmp_path / "bench.duckdb"
    con = connect(db)
    save_benchmark(con, run)
    con.close()
    args = ["estimate", "--model", "llama-3.1-8b", "--gpu", "h100", "--input-tokens", "512", "--output-tokens", "128"]
    res = runner.invoke(app, [*args, "--concurrency", "8", "--db", str(db), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    level = next(lv for lv in run.levels if lv.concurrency == 8)
    assert out["basis"] == "measured"
    assert out["output_tokens_per_s"] == round(level.output_tokens_per_s, 2)
    assert out["estimate_error_pct"] == round(
        (out["estimated_output_tokens_per_s"] / level.output_tokens_per_s - 1) * 100, 1
    )
    # a concurrency that was not measured keeps the estimate
    res = runner.invoke(app, [*args, "--concurrency", "3", "--db", str(db), "--json"])
    assert json.loads(res.stdout)["basis"] == "calibrated"
    # no store file: estimating never creates one
    res = runner.invoke(app, [*args, "--db", str(tmp_path / "none.duckdb"), "--json"])
    assert res.exit_code == 0 and not (tmp_path / "none.duckdb").exists()
