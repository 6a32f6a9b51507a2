""" "Use as workload", guarded: the default period, any range, sparse-period warnings, and a peak only from a week."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from costmodel.scenario import Workload
from costmodel.store import connect
from costmodel.usage import import_file
from costmodel.usage.workload import PeriodBasis, measure_workload, workload_from_usage

HEADER = "timestamp,model,input_tokens,output_tokens,requests,provider\n"


def _csv(rows: list[tuple[datetime, int]]) -> bytes:
    lines = [f"{t.isoformat()}Z,gpt-4o,{r * 1000},{r * 200},{r},openai\n" for t, r in rows]
    return (HEADER + "".join(lines)).encode()


@pytest.fixture
def con(tmp_path):
    c = connect(tmp_path / "w.duckdb")
    yield c
    c.close()


def _spread(month: int, requests: int, days: int = 28) -> list[tuple[datetime, int]]:
    """`requests` one per row, spread over the hours of the month's first `days` days."""
    start = datetime(2025, month, 1)
    return [(start + timedelta(hours=(i * 7) % (days * 24)), 1) for i in range(requests)]


def test_a_near_empty_last_month_gives_way_to_the_mean_of_full_months(con) -> None:
    # the browser report: the last full month held one 5-request row, the logs average 131 requests a month
    rows = _spread(1, 170) + _spread(2, 150) + _spread(3, 200) + [(datetime(2025, 4, 12, 9), 5)]
    rows += [(datetime(2025, 5, 2, 10), 3)]  # May: partial
    import_file(con, _csv(rows), file_name="logs.csv")
    m = measure_workload(con, base=Workload(peak_to_average=3.0))
    assert m.basis is PeriodBasis.MEAN_OF_FULL_MONTHS
    assert m.workload.requests_per_month == pytest.approx((170 + 150 + 200 + 5) / 4)
    assert m.mean_full_month_requests == pytest.approx(131.25)
    assert m.period_label == "mean of 4 full months, 2025-01 … 2025-04"
    assert any("held 5 requests, 4% of the mean full month (131)" in w for w in m.warnings), m.warnings


def test_a_last_month_with_half_the_mean_is_used_as_it_is(con) -> None:
    rows = _spread(1, 100) + _spread(2, 100) + _spread(3, 60)  # mean 86.7: 60 is 69 %
    rows += [(datetime(2025, 4, 2, 10), 1)]
    import_file(con, _csv(rows), file_name="logs.csv")
    m = measure_workload(con)
    assert (m.basis, m.period_label, m.workload.requests_per_month) == (PeriodBasis.LAST_FULL_MONTH, "2025-03", 60)


def test_a_chosen_range_is_scaled_from_its_days_and_a_sparse_one_warns_with_numbers(con) -> None:
    rows = _spread(1, 300) + _spread(2, 300) + _spread(3, 300) + [(datetime(2025, 4, 2, 10), 1)]
    import_file(con, _csv(rows), file_name="logs.csv")
    m = measure_workload(con, start=date(2025, 2, 1), end=date(2025, 2, 28))
    assert (m.basis, m.start, m.end) == (PeriodBasis.RANGE, date(2025, 2, 1), date(2025, 2, 28))
    assert m.workload.requests_per_month == pytest.approx(300 * (365.25 / 12) / 28)
    assert not [w for w in m.warnings if w.startswith("Sparse")]
    # 1 request in the 5 days up to the logs' last day: 6 requests a month
    sparse = measure_workload(con, start=date(2025, 3, 29), end=date(2025, 4, 10))
    assert (sparse.requests_in_period, sparse.end) == (1, date(2025, 4, 2))
    sparse_line = "Sparse period: 2025-03-29 … 2025-04-02 comes to 6 requests a month, 2% of the mean full month (300)."
    assert sparse_line in sparse.warnings
    assert any("Only 1 requests" in w for w in sparse.warnings)
    # a range past the logs is clamped to them
    assert measure_workload(con, start=date(2024, 1, 1), end=date(2030, 1, 1)).start == date(2025, 1, 1)


def test_peak_needs_a_week_of_hourly_data_or_the_scenario_keeps_its_own(con) -> None:
    # all the traffic in one hour of one day: the ratio would read 1.00, a meaningless figure
    import_file(con, _csv([(datetime(2025, 3, 3, 14), 50)]), file_name="one-hour.csv")
    m = measure_workload(con, base=Workload(peak_to_average=4.0))
    assert (m.peak_measured, m.workload.peak_to_average) == (False, 4.0)
    assert any(
        "Peak ÷ mean needs 7 days of hourly data; the period has 1, so the scenario keeps its own 4.00" in w
        for w in m.warnings
    )


def test_a_week_of_hourly_data_measures_the_peak(con) -> None:
    rows = [(datetime(2025, 3, 3) + timedelta(hours=h), 10 if h % 24 in (12, 13) else 1) for h in range(7 * 24)]
    import_file(con, _csv(rows), file_name="week.csv")
    m = measure_workload(con, base=Workload(peak_to_average=4.0))
    assert m.peak_measured and m.workload.peak_to_average == pytest.approx(10 / ((22 + 2 * 10) / 24))
    assert workload_from_usage(con, base=Workload(peak_to_average=4.0)) == m.workload
