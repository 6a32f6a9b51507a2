"""Summaries, cost check, workload and replay over usage whose answers are known by construction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from costmodel.scenario import ApiOption, CloudGpuOption, Scenario, SelfHostCosts, Workload
from costmodel.store import connect
from costmodel.usage import (
    Dimension,
    Grain,
    NoUsageData,
    cost_check,
    daily_cost,
    flagged_rows,
    hour_of_week,
    import_file,
    monthly_growth_pct,
    monthly_totals,
    peak_to_average,
    replay,
    summarize,
    usage_series,
    workload_from_usage,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HEADER = "timestamp,model,input_tokens,output_tokens,cached_input_tokens,requests,cost_usd,provider\n"


def csv_of(rows: list[tuple]) -> bytes:
    return (HEADER + "".join(",".join("" if v is None else str(v) for v in r) + "\n" for r in rows)).encode()


@pytest.fixture
def con():
    c = connect()
    yield c
    c.close()


@pytest.fixture
def hourly(con):
    """Ten days from Monday 2025-03-03, one row per hour: 100 tokens, 1,000 at 12:00 and 13:00 UTC."""
    start = datetime(2025, 3, 3)
    rows = []
    for h in range(240):
        t = start + timedelta(hours=h)
        tok = 1000 if t.hour in (12, 13) else 100
        rows.append((t.isoformat() + "Z", "gpt-4o-mini", tok, 0, 0, 1, None, "openai"))
    import_file(con, csv_of(rows), file_name="hourly.csv")
    return con


@pytest.fixture
def monthly(con):
    """Daily buckets on the 1st of Jan–May 2025, requests growing 10 % a month; May is partial."""
    rows = []
    for i, month in enumerate(range(1, 6)):
        req = round(1000 * 1.1**i)
        rows.append((f"2025-{month:02d}-01", "gpt-4o", req * 500, req * 100, req * 50, req, None, "openai"))
    import_file(con, csv_of(rows), file_name="monthly.csv")
    return con


def test_peak_to_average_is_p95_hour_over_mean_hour(hourly) -> None:
    # 22 hours of 100 and 2 of 1,000 a day: mean 175, p95 1,000
    assert peak_to_average(hourly) == pytest.approx(1000 / 175)


def test_daily_buckets_have_no_measurable_peak(monthly) -> None:
    assert peak_to_average(monthly) is None


def test_hour_of_week_averages_each_slot_over_the_weeks_spanned(hourly) -> None:
    heat = hour_of_week(hourly)
    assert len(heat) == 168
    slot = heat.set_index(["weekday", "hour"])["tokens_per_hour"]
    assert slot[(0, 12)] == 1000  # Mondays 3 and 10 March, over the two weeks spanned
    assert slot[(3, 12)] == 500  # a single Thursday
    assert slot[(3, 3)] == 50
    assert heat["tokens_per_hour"].sum() == pytest.approx((22 * 100 + 2000) * 10 / 2)


def test_series_by_grain_and_dimension(hourly) -> None:
    daily = usage_series(hourly, grain=Grain.DAY)
    assert len(daily) == 10 and set(daily["total_tokens"]) == {4200}
    hourly_rows = usage_series(hourly, grain=Grain.HOUR, by=Dimension.PROVIDER)
    assert len(hourly_rows) == 240 and set(hourly_rows["provider"]) == {"openai"}
    month = usage_series(hourly, grain=Grain.MONTH, by=Dimension.MODEL, start=datetime(2025, 3, 5))
    assert month["requests"].tolist() == [8 * 24] and month["model"].tolist() == ["gpt-4o-mini"]


def test_growth_is_fitted_over_full_months_only(monthly) -> None:
    months = monthly_totals(monthly)
    assert [m.full for m in months] == [True, True, True, True, False]
    assert [m.requests for m in months] == [1000, 1100, 1210, 1331, 1464]
    assert monthly_growth_pct(monthly) == pytest.approx(10.0, abs=0.01)


def test_workload_from_the_last_full_month(monthly) -> None:
    base = Workload(peak_to_average=3.5, hours_per_day=12)
    wl = workload_from_usage(monthly, base=base)
    assert wl.requests_per_month == 1331
    assert (wl.input_tokens_per_request, wl.output_tokens_per_request) == (500, 100)
    assert wl.cached_input_share == pytest.approx(0.1)
    assert wl.monthly_growth_pct == pytest.approx(10.0, abs=0.01)
    assert (wl.peak_to_average, wl.hours_per_day) == (3.5, 12)  # daily buckets: peak from the base


def test_workload_from_a_partial_period_is_scaled_to_a_month(hourly) -> None:
    wl = workload_from_usage(hourly)
    span_days = 239 / 24
    assert wl.requests_per_month == pytest.approx(240 * (365.25 / 12) / span_days)
    assert wl.peak_to_average == pytest.approx(1000 / 175)
    assert wl.input_tokens_per_request == round(42000 / 240)
    assert wl.monthly_growth_pct == 0.0


def test_workload_estimates_requests_for_sources_that_do_not_count_them(con) -> None:
    import_file(con, FIXTURES / "anthropic-usage-api/messages_usage_report.json")
    wl = workload_from_usage(con, base=Workload(input_tokens_per_request=900, output_tokens_per_request=150))
    # no request counts at all: 31,500 tokens at the base's 1,050 tokens per request = 30 requests in 2 days
    assert wl.requests_per_month == pytest.approx(30 * (365.25 / 12) / 2)


def test_no_usage_is_a_user_error(con) -> None:
    with pytest.raises(NoUsageData, match="opentco import"):
        workload_from_usage(con)


def test_reported_vs_recomputed_cost_flags_and_unknown_models(con) -> None:
    import_file(con, FIXTURES / "litellm-spend-logs/spend_logs.csv")
    import_file(con, csv_of([("2025-03-01T12:00:00Z", "my-finetune-xyz", 100, 10, 0, 1, "0.5", None)]))
    check = cost_check(con)
    by = {m.model: m for m in check.by_model}
    assert by["gpt-4o"].recomputed_cost_usd == Decimal("0.0014375")  # matches the reported spend: not flagged
    assert by["claude-3-5-sonnet-20241022"].recomputed_cost_usd == Decimal("0.0105")
    assert (by["gpt-4o"].flagged_rows, by["claude-3-5-sonnet-20241022"].flagged_rows) == (0, 1)
    assert by["my-finetune-xyz"].recomputed_cost_usd is None
    assert by["my-finetune-xyz"].input_tokens == 100  # listed, not dropped
    assert check.unknown_models == ["?/my-finetune-xyz"]
    assert check.reported_cost_usd == Decimal("0.5214375")
    assert check.recomputed_cost_usd == Decimal("0.0119375")
    flagged = flagged_rows(con)
    assert flagged["request_id"].tolist() == ["chatcmpl-9a1c"]
    assert flagged["difference_pct"].iloc[0] == pytest.approx((0.02 - 0.0105) / 0.0105 * 100)
    per_day = daily_cost(con)
    assert per_day["recomputed_cost_usd"].sum() == pytest.approx(0.0119375)


def test_summary_brings_it_together(monthly) -> None:
    s = summarize(monthly)
    assert (s.imports, s.rows, s.requests) == (1, 5, 1000 + 1100 + 1210 + 1331 + 1464)
    assert s.first_ts == datetime(2025, 1, 1) and s.last_ts == datetime(2025, 5, 1)
    assert s.monthly_growth_pct == pytest.approx(10.0, abs=0.01)
    assert s.peak_to_average is None and s.unknown_models == [] and s.flagged_rows == 0
    assert [m.month for m in s.by_month] == [date(2025, m, 1) for m in range(1, 6)]
    # gpt-4o: $2.50 / $1.25 cached / $10 per M; every month has 450 uncached, 50 cached in and 100 out per request
    per_request = Decimal(450 * 2.5 + 50 * 1.25 + 100 * 10) / 1_000_000
    assert s.recomputed_cost_usd == per_request * 6105


@dataclass
class _Month:
    total_usd: Decimal


@dataclass
class _Option:
    name: str
    months: list[_Month]


@dataclass
class _Result:
    options: list[_Option]


def test_replay_evaluates_each_logged_month_as_a_one_month_scenario(monthly) -> None:
    seen: list[Scenario] = []

    def fake(s: Scenario) -> _Result:
        seen.append(s)
        return _Result([_Option(o.name, [_Month(Decimal(s.workload.requests_per_month))]) for o in s.options])

    scenario = Scenario(
        options=[
            ApiOption(name="API", provider="openai", model="gpt-4o"),
            CloudGpuOption(name="GPU", model="llama-3.1-8b", gpu="h100", costs=SelfHostCosts(setup_usd=Decimal(5000))),
        ]
    )
    months = replay(monthly, scenario, evaluate=fake)
    assert [m.month for m in months] == [date(2025, m, 1) for m in range(1, 6)]
    assert [m.full for m in months] == [True, True, True, True, False]
    assert [m.cost_usd["API"] for m in months] == [1000, 1100, 1210, 1331, 1464]
    assert all(s.horizon_months == 1 and s.workload.monthly_growth_pct == 0 for s in seen)
    # one-off costs are paid once, in the first replayed month
    assert [s.option("GPU").costs.setup_usd for s in seen] == [5000, 0, 0, 0, 0]  # type: ignore[union-attr]


def test_replay_with_the_real_engine(monthly) -> None:
    scenario = Scenario(
        options=[
            ApiOption(name="gpt-4o", provider="openai", model="gpt-4o"),
            ApiOption(name="mini", provider="openai", model="gpt-4o-mini"),
        ]
    )
    months = replay(monthly, scenario)
    assert len(months) == 5
    assert months[0].cost_usd["gpt-4o"] > months[0].cost_usd["mini"] > 0
    # more traffic, more cost
    assert months[3].cost_usd["gpt-4o"] > months[0].cost_usd["gpt-4o"]
