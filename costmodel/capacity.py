"""Capacity planning: how many replicas the peak hour needs when nobody plans for 100 % load.

A replica serving B streams is a multi-server queue with B servers: requests arrive at random, each
holds a stream for its whole life (time to first token + output ÷ per-stream speed). At full load the
queue grows without bound, so the planned load is capped twice: at the user's target utilisation
(normal practice is 60–80 %), and at the utilisation where the 95th-percentile time to first token,
queueing included, still meets the target.

Queueing uses the Erlang C formula for the M/M/c queue (A. K. Erlang, 1917; L. Kleinrock, *Queueing
Systems, Vol. 1*, 1975, §3.5): the chance an arrival waits is C(c, a), and waits are exponential with
rate cμ(1 − ρ), so P(W > t) = C(c, a)·e^(−cμ(1−ρ)t) and the p95 wait is ln(C/0.05) ÷ (cμ(1 − ρ)) when
C > 5 %, else 0. Service times in LLM serving are less variable than exponential, so this errs on the
safe side (Allen–Cunneen would scale the wait by (1 + c_s²)/2 ≤ 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["QueuePlan", "erlang_c", "p95_wait_s", "plan_utilisation", "replicas_needed"]

_P95_TAIL = 0.05


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in an M/M/c queue (c = `servers`, a = λ/μ = `offered_load`).

    Computed through the Erlang B recursion, which stays stable for hundreds of servers.
    """
    if offered_load <= 0:
        return 0.0
    rho = offered_load / servers
    if rho >= 1:
        return 1.0
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_load * b / (k + offered_load * b)
    return b / (1 - rho * (1 - b))


def p95_wait_s(servers: int, utilisation: float, service_s: float) -> float:
    """95th-percentile queueing delay, seconds, at a utilisation of a replica with `servers` streams."""
    if utilisation >= 1:
        return math.inf
    c = erlang_c(servers, utilisation * servers)
    if c <= _P95_TAIL:
        return 0.0
    return math.log(c / _P95_TAIL) / (servers / service_s * (1 - utilisation))


@dataclass(frozen=True)
class QueuePlan:
    """The utilisation a replica is planned at, and why."""

    target_utilisation: float
    """What the user asked for."""
    queue_limit_utilisation: float
    """Highest utilisation at which p95 TTFT (queueing included) meets the target."""
    p95_ttft_ms: float
    """p95 time to first token at the planned utilisation."""

    @property
    def utilisation(self) -> float:
        """Planned utilisation at the peak hour: the lower of the two limits."""
        return min(self.target_utilisation, self.queue_limit_utilisation)

    @property
    def limited_by(self) -> str:
        return "queueing (p95 TTFT)" if self.queue_limit_utilisation < self.target_utilisation else "target"


@lru_cache(maxsize=4096)
def plan_utilisation(
    *, streams: int, service_s: float, ttft_ms: float, ttft_target_ms: float, target: float
) -> QueuePlan:
    """Planned utilisation of a replica whose `streams` slots each hold a request for `service_s` seconds.

    Args:
        streams: concurrent streams a replica serves (servers of the queue).
        service_s: seconds one request holds its stream (TTFT + output time).
        ttft_ms: time to first token before any wait for a free stream (it includes other prompts' prefill).
        ttft_target_ms: the p95 TTFT users accept.
        target: the user's target utilisation.
    """
    budget_s = max(0.0, (ttft_target_ms - ttft_ms) / 1000)

    def ok(u: float) -> bool:
        return p95_wait_s(streams, u, service_s) <= budget_s

    if ok(0.999):
        limit = 0.999
    else:
        lo, hi = 0.0, 0.999
        for _ in range(40):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if ok(mid) else (lo, mid)
        limit = lo
    planned = min(target, limit)
    return QueuePlan(target, limit, ttft_ms + p95_wait_s(streams, planned, service_s) * 1000)


def replicas_needed(
    peak_output_tokens_per_s: float, *, capacity_output_tokens_per_s: float, utilisation: float, floor: int, spare: int
) -> int:
    """Replicas for a peak load at a planned utilisation, plus spares, never below the floor."""
    need = math.ceil(peak_output_tokens_per_s / (capacity_output_tokens_per_s * utilisation) - 1e-9)
    return max(floor, need + spare if need > 0 else spare)
