"""Counter increases (resets, gaps, `_created`), their split over hours, and histogram percentiles, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from costmodel.fleet.derive import _allocate, increments
from costmodel.fleet.report import histogram_quantile

H = 3600.0
T0 = 1_740_819_600.0  # 2025-03-01 09:00 UTC, on the hour


def _hours(t: list[float], v: list[float], **kw) -> dict[int, int]:
    inc = increments(np.array(t), np.array(v), **kw)
    hours, amounts = _allocate(inc)
    base = int(T0 // H)
    return {int(h) - base: int(a) for h, a in zip(hours, amounts, strict=True)}


def test_increase_between_samples_in_their_hour() -> None:
    # 09:00 → 09:15 → 09:30: +50, +70, both in hour 09; nothing before the first sample is guessed
    assert _hours([T0, T0 + 900, T0 + 1800], [100, 150, 220]) == {0: 120}


def test_a_lower_value_is_a_restart_from_zero() -> None:
    inc = increments(np.array([T0, T0 + 900, T0 + 1800]), np.array([1000.0, 1200.0, 30.0]))
    assert inc.delta.tolist() == [200, 30] and inc.resets == 1


def test_created_marks_a_restart_even_when_the_value_went_up() -> None:
    # the process restarted at 09:20 (after the 09:15 sample) and counted 500 by 09:30, more than the old 400
    t = np.array([T0 + 900, T0 + 1800])
    created = (t.copy(), np.array([T0, T0 + 1200]))
    inc = increments(t, np.array([400.0, 500.0]), created=created)
    # from the start at 09:00: 400 in (09:00, 09:15]; the restart: 500 in (09:20, 09:30]
    assert inc.delta.tolist() == [400, 500] and inc.resets == 1
    assert inc.start.tolist() == [T0, T0 + 1200]


def test_a_single_scrape_counts_from_the_process_start() -> None:
    # started 10:00, scraped 12:00 with 7,200: spread evenly over the two hours
    t = np.array([T0 + 3 * H])
    got = _hours([T0 + 3 * H], [7200.0], created=(t, np.array([T0 + H])))
    assert got == {1: 3600, 2: 3600}


def test_a_single_scrape_without_created_counts_nothing() -> None:
    assert _hours([T0], [7200.0]) == {}


def test_a_gap_is_spread_over_its_hours_in_proportion_and_adds_up_exactly() -> None:
    # 15-minute scrapes, then 3 h without: 10:30 → 13:30 adds 3,601 (odd, so rounding matters)
    t = [T0 + H, T0 + H + 900, T0 + H + 1800, T0 + 4 * H + 1800]
    inc = increments(np.array(t), np.array([0.0, 10.0, 20.0, 3621.0]))
    assert (inc.gaps, inc.gap_s) == (1, 3 * H)
    hours, amounts = _allocate(inc)
    got = dict(zip((hours - int(T0 // H)).tolist(), amounts.tolist(), strict=True))
    # ½ h, 1 h, 1 h, ½ h of 3,601: cumulative 600.17 → 600, 1800.5 → 1800 (half to even), 3000.8 → 3001, 3601
    assert got == {1: 20 + 600, 2: 1200, 3: 1201, 4: 600}
    assert sum(got.values()) == 3621


def test_an_interval_ending_on_the_hour_belongs_to_the_hour_before() -> None:
    assert _hours([T0 + 2700, T0 + H], [0.0, 10.0]) == {0: 10}


@pytest.mark.parametrize(
    ("q", "expected"),
    [(0.5, 0.2), (0.95, 0.95), (0.99, 1.0), (0.1, 0.025)],  # see tests/fixtures/prometheus-metrics/README.md
)
def test_histogram_quantile_interpolates_like_prometheus(q: float, expected: float) -> None:
    buckets = [(0.1, 12.0), (0.5, 24.0), (1.0, 29.0), (math.inf, 30.0)]
    # q=0.1: rank 3 in the first bucket (0, 0.1]: 0.1 × 3/12 = 0.025
    assert histogram_quantile(q, buckets) == pytest.approx(expected)


def test_histogram_quantile_needs_observations_and_an_inf_bucket() -> None:
    assert histogram_quantile(0.5, [(0.1, 0.0), (math.inf, 0.0)]) is None
    assert histogram_quantile(0.5, [(0.1, 3.0), (0.5, 4.0)]) is None
