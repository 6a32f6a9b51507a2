"""Wilson intervals, the exact McNemar test and the paired (Newcombe) interval, against known values and by
simulation with a fixed seed (so the coverage checks never flake)."""

from __future__ import annotations

import random

import pytest

from costmodel.evals.stats import mcnemar_exact_p, paired_comparison, percentile, wilson_interval


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (8, 10, 0.4902, 0.9433),  # the textbook example (Agresti & Coull 1998; Newcombe 1998a)
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (50, 100, 0.4038, 0.5962),
    ],
)
def test_wilson_known_values(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)


def test_wilson_empty_and_bad_input():
    assert wilson_interval(0, 0) == (0.0, 0.0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_wilson_covers_the_true_rate_about_95_percent_of_the_time():
    rng = random.Random(2024)
    for p, n in [(0.7, 40), (0.95, 60), (0.3, 200)]:
        covered = 0
        trials = 2000
        for _ in range(trials):
            k = sum(rng.random() < p for _ in range(n))
            lo, hi = wilson_interval(k, n)
            covered += lo <= p <= hi
        assert 0.92 <= covered / trials <= 0.99, (p, n, covered / trials)


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [(1, 9, 22 / 1024), (0, 0, 1.0), (5, 5, 1.0), (0, 6, 2 / 64), (3, 0, 0.25)],
)
def test_mcnemar_exact(b, c, p):
    assert mcnemar_exact_p(b, c) == pytest.approx(p)
    assert mcnemar_exact_p(c, b) == pytest.approx(p)


def test_paired_comparison_counts_and_sign():
    pairs = [(True, True)] * 50 + [(True, False)] * 12 + [(False, True)] * 2 + [(False, False)] * 6
    cmp = paired_comparison(label="new", baseline="old", pairs=pairs)
    assert (cmp.n_pairs, cmp.target_only_right, cmp.baseline_only_right) == (70, 12, 2)
    assert cmp.difference == pytest.approx(10 / 70)
    assert cmp.ci_low < cmp.difference < cmp.ci_high
    assert cmp.p_value == pytest.approx(mcnemar_exact_p(12, 2))
    assert cmp.significant and cmp.ci_low > 0
    same = paired_comparison(label="b", baseline="a", pairs=[(True, True)] * 30)
    assert same.difference == 0 and not same.significant and same.ci_low < 0 < same.ci_high


def test_paired_interval_covers_the_true_difference():
    rng = random.Random(7)
    p_base, p_new, n, trials = 0.8, 0.7, 80, 1500
    covered = 0
    for _ in range(trials):
        pairs = []
        for _ in range(n):
            u = rng.random()  # correlated outcomes: both driven by how hard the task is
            pairs.append((u < p_new, u < p_base) if rng.random() < 0.7 else (rng.random() < p_new, u < p_base))
        cmp = paired_comparison(label="n", baseline="b", pairs=pairs)
        covered += cmp.ci_low <= p_new - p_base <= cmp.ci_high
    assert 0.92 <= covered / trials <= 0.99


def test_percentile_interpolates_like_numpy():
    assert percentile([], 50) is None
    assert percentile([10.0], 95) == 10.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(map(float, range(101))), 95) == 95.0
