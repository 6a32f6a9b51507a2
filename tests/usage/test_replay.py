"""Replay: each logged month priced as a one-month scenario, one-off costs once, and the period added up."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from costmodel.scenario import ApiOption, CloudGpuOption, Scenario, SelfHostCosts, Workload
from costmodel.store import connect
from costmodel.tco import evaluate
from costmodel.usage import import_file, monthly_totals, replay, replay_totals
from costmodel.usage.workload import month_workload

_HEADER = "timestamp,model,input_tokens,output_tokens,requests,cost_usd,provider,request_id\n"


def _log(tmp_path: Path) -> Path:
    """Three months of gpt-4o traffic: 20–28 Feb (partial), all of March, 1–10 April (partial)."""
    rows, n = [], 0
    for month, days in (("02", range(20, 29)), ("03", range(1, 32)), ("04", range(1, 11))):
        for day in days:
            for hour in (9, 14):
                n += 1
                rows.append(f"2025-{month}-{day:02d}T{hour:02d}:00:00Z,gpt-4o,40000,8000,20,0.18,openai,r{n}\n")
    f = tmp_path / "three-months.csv"
    f.write_text(_HEADER + "".join(rows))
    return f


def _scenario() -> Scenario:
    return Scenario(
        workload=Workload(peak_to_average=2.0),
        options=[
            ApiOption(name="GPT-4o", provider="openai", model="gpt-4o"),
            CloudGpuOption(
                name="8B on H100",
                model="llama-3.1-8b",
                quant="bf16",
                gpu="H100-SXM",
                costs=SelfHostCosts(setup_usd=Decimal("5000"), engineering_fte=0.1),
            ),
        ],
        price_date="2026-11-25",
    )


@pytest.fixture
def con(tmp_path: Path):
    c = connect(tmp_path / "r.duckdb")
    import_file(c, _log(tmp_path))
    yield c
    c.close()


def test_every_month_is_the_engine_on_that_months_workload_with_one_offs_in_the_first(con) -> None:
    s = _scenario()
    months = replay(con, s)
    assert [(f"{m.month:%Y-%m}", m.full) for m in months] == [("2025-02", False), ("2025-03", True), ("2025-04", False)]
    assert [m.requests for m in months] == [9 * 2 * 20, 31 * 2 * 20, 10 * 2 * 20]
    assert [m.reported_cost_usd for m in months] == [Decimal("3.24"), Decimal("11.16"), Decimal("3.60")]
    for i, (m, totals) in enumerate(zip(months, monthly_totals(con), strict=True)):
        wl = month_workload(con, totals, base=s.workload).model_copy(update={"monthly_growth_pct": 0.0})
        one = evaluate(s.model_copy(update={"workload": wl, "horizon_months": 1}), with_break_even=False)
        assert m.cost_usd["GPT-4o"] == one.option("GPT-4o").months[0].total_usd
        setup = Decimal("5000") if i == 0 else Decimal(0)  # charged once, in the first replayed month
        assert m.cost_usd["8B on H100"] == one.option("8B on H100").months[0].total_usd - Decimal("5000") + setup


def test_totals_add_the_months_and_name_the_cheapest(con) -> None:
    months = replay(con, _scenario())
    t = replay_totals(months)
    assert (t.months, t.full_months) == (3, 1)
    assert t.reported_cost_usd == Decimal("18.00")  # 100 rows × $0.18
    for name in ("GPT-4o", "8B on H100"):
        assert t.cost_usd[name] == sum(m.cost_usd[name] for m in months)
    assert t.cheapest == "GPT-4o"  # a few thousand requests a month: renting an H100 cannot pay off
    assert t.cost_usd["8B on H100"] > Decimal("5000") > t.cost_usd["GPT-4o"]


def test_totals_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no replayed months"):
        replay_totals([])
