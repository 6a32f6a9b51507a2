from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from costmodel.cli import app
from costmodel.demo import preset
from costmodel.scenario import Scenario
from costmodel.store import connect
from costmodel.tco import evaluate
from costmodel.usage.ingest import import_file
from costmodel.usage.workload import workload_from_usage

runner = CliRunner()
FIXTURES = Path(__file__).parents[1] / "fixtures"


def _store(tmp_path: Path) -> Path:
    db = tmp_path / "u.duckdb"
    con = connect(db)
    import_file(con, FIXTURES / "litellm-spend-logs" / "spend_logs.csv")
    con.close()
    return db


def test_usage_workload_writes_the_measured_workload_into_the_scenario(tmp_path):
    db = _store(tmp_path)
    out = tmp_path / "mine.json"
    res = runner.invoke(
        app, ["usage", "workload", "data/scenarios/api-bill-10k-50k.json", "-o", str(out), "--db", str(db)]
    )
    assert res.exit_code == 0, res.output
    s = Scenario.model_validate_json(out.read_text())
    con = connect(db)
    expected = workload_from_usage(con, base=preset("api-bill-10k-50k").workload)
    con.close()
    assert s.workload == expected
    assert s.options == preset("api-bill-10k-50k").options


def test_usage_replay_prices_each_logged_month_under_each_option(tmp_path):
    db = _store(tmp_path)
    res = runner.invoke(
        app, ["usage", "replay", "data/scenarios/customer-service-triage.json", "--db", str(db), "--json"]
    )
    assert res.exit_code == 0, res.output
    months = json.loads(res.stdout)
    assert months
    s = preset("customer-service-triage")
    first = months[0]
    assert set(first["cost_usd"]) == {o.name for o in s.options}
    # the first month equals the engine evaluated on that month's workload
    con = connect(db)
    from costmodel.usage.summary import monthly_totals
    from costmodel.usage.workload import month_workload

    m = monthly_totals(con)[0]
    w = month_workload(con, m, base=s.workload).model_copy(update={"monthly_growth_pct": 0.0})
    con.close()
    r = evaluate(s.model_copy(update={"workload": w, "horizon_months": 1}))
    for name, usd in first["cost_usd"].items():
        assert abs(Decimal(str(usd)) - r.option(name).months[0].total_usd) < Decimal("1e-9")


def test_usage_replay_without_logs_is_a_clear_error(tmp_path):
    res = runner.invoke(
        app, ["usage", "replay", "data/scenarios/customer-service-triage.json", "--db", str(tmp_path / "empty.duckdb")]
    )
    assert res.exit_code == 2
    assert "no usage imported yet" in res.output


def test_usage_replay_text_ends_with_the_totals_and_the_cheapest_option(tmp_path):
    from costmodel.usage import replay, replay_totals

    db = _store(tmp_path)
    res = runner.invoke(app, ["usage", "replay", "data/scenarios/customer-service-triage.json", "--db", str(db)])
    assert res.exit_code == 0, res.output
    con = connect(db)
    t = replay_totals(replay(con, preset("customer-service-triage")))
    con.close()
    total_line = next(ln for ln in res.output.splitlines() if ln.startswith("total"))
    assert total_line.split()[1:] == [
        f"${t.cost_usd[o.name]:,.2f}" for o in preset("customer-service-triage").options
    ] + [f"${t.reported_cost_usd:,.2f}"]
    assert f"Cheapest over the {t.months} logged month(s): {t.cheapest}" in res.output
