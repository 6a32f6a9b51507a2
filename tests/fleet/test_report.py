"""The fleet's cost per million tokens, utilisation, peak ÷ mean and latency, against hand-computed numbers."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from costmodel.cli import usage_cmd
from costmodel.errors import ScenarioError
from costmodel.fleet.report import fleet_report
from costmodel.gpu_offers import offers_for
from costmodel.prices import usage_cost_usd
from costmodel.store import connect
from costmodel.usage import import_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "prometheus-metrics"


def _store(tmp_path: Path, *files: str):
    con = connect(tmp_path / "t.duckdb")
    for f in files:
        import_file(con, FIXTURES / f)
    return con


def test_cost_per_million_tokens_by_hand(tmp_path: Path) -> None:
    con = _store(tmp_path, "query_range.json")
    r = fleet_report(
        con,
        gpus_per_instance=2,
        usd_per_gpu_hour=Decimal("2"),
        people_usd_per_month=Decimal("730.5"),  # $24 a day (730.5 / 30.4375)
        api_models=[("openai", "gpt-4o-mini")],
    )
    assert r is not None
    # two instances, 00:00–01:15 each: 2.5 instance-hours × 2 GPUs = 5 GPU-hours × $2 = $10
    assert (r.instance_hours, r.gpu_hours, r.gpu_cost_usd) == (2.5, 5.0, Decimal("10.00"))
    # people: 1.25 h of $24 a day = $1.25; total $11.25 over 2,600 + 1,050 tokens
    assert (r.people_cost_usd, r.total_cost_usd) == (Decimal("1.25"), Decimal("11.25"))
    assert (r.prompt_tokens, r.generation_tokens, r.requests) == (2600, 1050, 14)
    assert r.usd_per_mtok == Decimal("3082.1918")  # 11.25 / 3650 × 1e6
    # hours: 00 → 1,300 + 1,250 = 2,550; 01 → 700 + 400 = 1,100; mean 1,825
    assert r.peak_to_mean == pytest.approx(2550 / 1825)
    api = r.api[0]
    same = usage_cost_usd(
        provider="openai",
        model="gpt-4o-mini",
        input_tokens=2600,
        cached_input_tokens=0,
        output_tokens=1050,
        at=date(2025, 3, 3),
    )
    assert same is not None and api.cost_usd == same.quantize(Decimal("0.01"))
    assert api.usd_per_mtok == (same / 3650 * 1_000_000).quantize(Decimal("0.0001"))


def test_utilisation_and_latency_of_the_vllm_scrapes(tmp_path: Path) -> None:
    con = _store(tmp_path, "vllm_scrapes.prom")
    r = fleet_report(con, usd_per_gpu_hour=Decimal("1"), max_running=64)
    assert r is not None
    # hourly means: hour 10 → running 4, KV 0.2333; hour 13 → running 8, KV 0.5
    assert r.running_mean == pytest.approx(6.0) and r.running_peak == 8.0
    assert r.running_utilisation == pytest.approx(6 / 64)
    assert r.kv_cache_usage_mean == pytest.approx((0.7 / 3 + 0.5) / 2)
    ttft = {lat.metric: lat for lat in r.latency}["ttft_seconds"]
    assert (ttft.observations, ttft.p50_s, ttft.p95_s, ttft.p99_s) == (30, 0.2, 0.95, 1.0)
    # 09:00 (process start) to 13:30: 4.5 GPU-hours at $1
    assert (r.gpu_hours, r.total_cost_usd) == (4.5, Decimal("4.50"))


def test_price_from_the_catalog_carries_its_source(tmp_path: Path) -> None:
    con = _store(tmp_path, "sglang_single.prom")
    r = fleet_report(con, gpu_id="H100-SXM", plan="on_demand")
    best = offers_for("H100-SXM", gpus_per_replica=1, plan="on_demand")[0]
    assert r is not None and r.usd_per_gpu_hour == best.usd_per_gpu_hour
    assert best.source in r.price_source


def test_no_price_is_a_clear_error_and_no_metrics_is_none(tmp_path: Path) -> None:
    con = connect(tmp_path / "t.duckdb")
    assert fleet_report(con, usd_per_gpu_hour=Decimal("1")) is None
    import_file(con, FIXTURES / "sglang_single.prom")
    with pytest.raises(ScenarioError, match="GPU price"):
        fleet_report(con)


def test_cli_import_detects_and_fleet_json_matches_the_summary(tmp_path: Path) -> None:
    app = typer.Typer()
    usage_cmd.register(app)
    db = str(tmp_path / "cli.duckdb")
    runner = CliRunner()
    files = [str(FIXTURES / f) for f in ("vllm_scrapes.prom", "query_range.json")]
    res = runner.invoke(app, ["import", *files, "--db", db])
    assert res.exit_code == 0 and res.output.count("(prometheus-metrics)") == 2, res.output
    fleet = runner.invoke(
        app, ["usage", "fleet", "--db", db, "--usd-per-gpu-hour", "2", "--api", "openai/gpt-4o-mini", "--json"]
    )
    assert fleet.exit_code == 0, fleet.output
    f = json.loads(fleet.output)
    s = json.loads(runner.invoke(app, ["usage", "summary", "--db", db, "--json"]).output)
    assert (f["prompt_tokens"], f["generation_tokens"]) == (s["input_tokens"], s["output_tokens"]) == (8100, 3050)
    text = runner.invoke(app, ["usage", "fleet", "--db", db, "--usd-per-gpu-hour", "2"])
    assert "per 1M tokens" in text.output and "ttft_seconds: p50 0.2 s" in text.output
    bad = runner.invoke(app, ["usage", "fleet", "--db", db, "--api", "gpt-4o"])
    assert bad.exit_code == 2 and "provider/model" in bad.output
