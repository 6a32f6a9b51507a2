"""Statistics of a run: Wilson intervals for accuracy, and a paired comparison of two targets.

The paired comparison uses the exact McNemar test: on the tasks both targets answered, only the tasks where
exactly one of them was right carry information (b: the target right, the baseline wrong; c: the reverse);
under "no difference" b is Binomial(b + c, ½). Its two-sided p-value decides significance (p < 0.05). The
interval of the difference in accuracy is Newcombe's score interval for paired proportions (method 10,
Newcombe 1998, Statistics in Medicine 17:2635), built from the two Wilson intervals and the correlation of
the pairs. Both are exact or score-based, need no random resampling, and stay sensible at 0 or 100 %.
"""

from __future__ import annotations

import math

from costmodel._base import StrictModel

__all__ = ["Z95", "PairedComparison", "mcnemar_exact_p", "paired_comparison", "percentile", "wilson_interval"]

Z95 = 1.959963984540054
"""Standard-normal quantile for a two-sided 95 % interval."""


def wilson_interval(successes: int, n: int, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (0, 0 for n = 0: nothing measured).

    Unlike the textbook p ± z·√(p(1−p)/n) it never leaves [0, 1] and stays honest at 0 or n successes.
    """
    if n <= 0:
        return 0.0, 0.0
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} outside 0..{n}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    # at the edges the formula lands a rounding error away from p itself
    return (0.0 if successes == 0 else low), (1.0 if successes == n else high)


def mcnemar_exact_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for b and c discordant pairs (1.0 when there are none)."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    # P(X <= k) for X ~ Binomial(n, 1/2), in exact integers
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


class PairedComparison(StrictModel):
    """A target against the baseline (the first target) on the tasks both answered."""

    label: str
    """The target compared."""
    baseline: str
    """The first target."""
    n_pairs: int
    """Tasks both answered without error."""
    target_only_right: int
    """Tasks the target got right and the baseline wrong (McNemar's b)."""
    baseline_only_right: int
    """Tasks the baseline got right and the target wrong (McNemar's c)."""
    difference: float
    """Target accuracy minus baseline accuracy on those tasks."""
    ci_low: float
    """Lower end of the 95 % interval of the difference (Newcombe, paired)."""
    ci_high: float
    p_value: float
    """Exact McNemar two-sided p-value."""
    significant: bool
    """p < 0.05."""
    method: str = "mcnemar_exact"


def paired_comparison(*, label: str, baseline: str, pairs: list[tuple[bool, bool]]) -> PairedComparison:
    """Compare `(target_right, baseline_right)` pairs: difference, Newcombe interval, exact McNemar test."""
    n = len(pairs)
    a = sum(1 for t, r in pairs if t and r)
    b = sum(1 for t, r in pairs if t and not r)
    c = sum(1 for t, r in pairs if r and not t)
    d = n - a - b - c
    p_value = mcnemar_exact_p(b, c)
    if n == 0:
        return PairedComparison(
            label=label,
            baseline=baseline,
            n_pairs=0,
            target_only_right=0,
            baseline_only_right=0,
            difference=0.0,
            ci_low=0.0,
            ci_high=0.0,
            p_value=1.0,
            significant=False,
        )
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_interval(a + b, n)
    l2, u2 = wilson_interval(a + c, n)
    denom = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(denom) if denom else 0.0
    diff = p1 - p2
    delta = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    eps = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return PairedComparison(
        label=label,
        baseline=baseline,
        n_pairs=n,
        target_only_right=b,
        baseline_only_right=c,
        difference=diff,
        ci_low=max(-1.0, diff - delta),
        ci_high=min(1.0, diff + eps),
        p_value=p_value,
        significant=p_value < 0.05,
    )


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0–100) by linear interpolation between order statistics (numpy's default)."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
