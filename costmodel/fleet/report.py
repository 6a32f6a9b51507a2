"""What the fleet you run did and what it costs per million tokens, next to API prices for the same tokens.

Cost = GPU-hours (each instance's observed hours, first to last sample, × GPUs per instance) × $/GPU-hour
+ people ($/month × months observed). Tokens are the prompt and generation tokens the counters added in that
time, the same totals `opentco usage summary` shows for provider `self-hosted`. Utilisation is what the servers
reported: mean KV-cache usage and running requests (against the batch limit, when given); peak ÷ mean is of the
fleet's hourly tokens, idle hours between the first and last counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import duckdb
import numpy as np
from pydantic import Field

from costmodel._base import StrictModel
from costmodel.catalog import catalog
from costmodel.errors import ScenarioError
from costmodel.gpu_offers import offers_for
from costmodel.prices import usage_cost_usd
from costmodel.scenario import ApiOption, CloudGpuOption, OnPremOption, Scenario

__all__ = [
    "ApiComparison",
    "FleetInputs",
    "FleetReport",
    "InstanceUse",
    "LatencyPercentiles",
    "fleet_inputs",
    "fleet_report",
    "histogram_quantile",
]

_MONTH_DAYS = 365.25 / 12
_MTOK = Decimal(1_000_000)
_CENT = Decimal("0.01")


class InstanceUse(StrictModel):
    """One server of the fleet over the imported metrics."""

    instance: str
    models: list[str]
    engine: str
    first_ts: datetime
    """First sample (or process start, when counted from there), UTC."""
    last_ts: datetime
    hours_observed: float
    prompt_tokens: int
    generation_tokens: int
    prefix_cache_hit_tokens: int
    requests: int | None
    kv_cache_usage_mean: float | None
    """Mean of the hourly means, fraction 0–1."""
    running_mean: float | None
    running_peak: float | None
    resets: int
    gaps: int


class LatencyPercentiles(StrictModel):
    """Percentiles of a latency histogram over the whole fleet (buckets added across instances)."""

    metric: str
    """`ttft_seconds`, `itl_seconds` or `e2e_seconds`."""
    observations: int
    p50_s: float | None
    p95_s: float | None
    p99_s: float | None


class ApiComparison(StrictModel):
    """The fleet's tokens priced at an API's list price."""

    provider: str
    model: str
    cost_usd: Decimal | None
    """None when genai-prices does not price the model."""
    usd_per_mtok: Decimal | None


class FleetReport(StrictModel):
    """The self-hosted fleet's usage, utilisation and cost per million tokens."""

    instances: list[InstanceUse]
    first_ts: datetime
    last_ts: datetime
    instance_hours: float
    gpus_per_instance: int
    gpu_hours: float
    usd_per_gpu_hour: Decimal
    price_source: str
    """Where the $/GPU-hour comes from (a catalog offer with its date and URL, or typed by the user)."""
    gpu_cost_usd: Decimal
    people_usd_per_month: Decimal
    months_observed: float
    people_cost_usd: Decimal
    total_cost_usd: Decimal
    prompt_tokens: int
    generation_tokens: int
    prefix_cache_hit_tokens: int
    requests: int | None
    usd_per_mtok: Decimal | None
    """Total cost ÷ (prompt + generation tokens) × 1M; None without tokens."""
    kv_cache_usage_mean: float | None
    running_mean: float | None
    running_peak: float | None
    max_running: int | None
    """Batch limit the running mean is compared with (vLLM `--max-num-seqs`), when given."""
    running_utilisation: float | None
    peak_to_mean: float | None
    """Busiest hour ÷ mean hour of tokens."""
    p95_to_mean: float | None
    """p95 hour ÷ mean hour of tokens (the ratio the workload model uses)."""
    latency: list[LatencyPercentiles]
    api: list[ApiComparison]


class FleetInputs(StrictModel):
    """What the fleet's cost needs beyond its metrics: its GPUs, their price, its people, the APIs to compare."""

    gpus_per_instance: int = 1
    gpu_id: str | None = None
    """Catalog GPU id for the price lookup."""
    plan: str = "on_demand"
    usd_per_gpu_hour: Decimal | None = None
    """The price paid; None: the cheapest catalog offer of `gpu_id`."""
    people_usd_per_month: Decimal = Decimal(0)
    api_models: list[tuple[str, str]] = Field(default_factory=list)
    """(provider, model) of the API options to price the same tokens at."""


def fleet_inputs(scenario: Scenario) -> FleetInputs:
    """Defaults from a scenario: its first self-hosted option's GPU, shape, price and people; its API options."""
    own = next((o for o in scenario.options if isinstance(o, CloudGpuOption | OnPremOption)), None)
    apis = [(o.provider, o.model) for o in scenario.options if isinstance(o, ApiOption)]
    if own is None:
        return FleetInputs(api_models=apis)
    cloud = own if isinstance(own, CloudGpuOption) else None
    return FleetInputs(
        gpus_per_instance=own.gpus_per_replica or 1,
        gpu_id=catalog().gpu(own.gpu).gpu_id,
        plan=str(cloud.price_plan) if cloud else "on_demand",
        usd_per_gpu_hour=cloud.usd_per_gpu_hour if cloud else None,
        people_usd_per_month=own.costs.people_usd_per_month,
        api_models=apis,
    )


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus' `histogram_quantile`: linear interpolation inside the bucket that holds the rank.

    https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile

    >>> histogram_quantile(0.5, [(0.1, 12), (0.5, 24), (1.0, 29), (math.inf, 30)])
    0.2

    Args:
        q: the quantile, 0–1.
        buckets: (upper bound, cumulative count); needs a `+Inf` bucket.

    Returns:
        Seconds; the highest finite bound when the rank falls in `+Inf`; None without observations.
    """
    bs = sorted(buckets)
    if len(bs) < 2 or not math.isinf(bs[-1][0]) or bs[-1][1] <= 0:
        return None
    rank = q * bs[-1][1]
    prev_le, prev_n = 0.0, 0.0
    for le, n in bs:
        if n >= rank:
            if math.isinf(le):
                return prev_le
            if n == prev_n:
                return le
            return round(prev_le + (le - prev_le) * (rank - prev_n) / (n - prev_n), 9)
        prev_le, prev_n = le, max(prev_n, n)
    return prev_le  # pragma: no cover - the +Inf bucket holds every rank


def _price(
    *, usd_per_gpu_hour: Decimal | None, gpu_id: str | None, plan: str, gpus_per_instance: int
) -> tuple[Decimal, str]:
    if usd_per_gpu_hour is not None:
        return usd_per_gpu_hour, "typed by the user"
    if gpu_id is None:
        raise ScenarioError("the fleet's cost needs a GPU price: give $/GPU-hour, or a GPU type to look it up")
    offers = offers_for(gpu_id, gpus_per_replica=gpus_per_instance, plan=plan)
    if not offers:
        raise ScenarioError(f"no {plan} price for {gpu_id} in the catalog: give $/GPU-hour instead")
    best = offers[0]
    return best.usd_per_gpu_hour, "cheapest catalog offer: " + best.describe()


def fleet_report(
    con: duckdb.DuckDBPyConnection,
    *,
    gpus_per_instance: int = 1,
    usd_per_gpu_hour: Decimal | None = None,
    gpu_id: str | None = None,
    plan: str = "on_demand",
    people_usd_per_month: Decimal = Decimal(0),
    max_running: int | None = None,
    api_models: Sequence[tuple[str, str]] = (),
) -> FleetReport | None:
    """The imported fleet's usage and cost per million tokens; None when no metrics file was imported.

    Args:
        con: store connection.
        gpus_per_instance: GPUs behind each server (tensor-parallel size × pipeline stages).
        usd_per_gpu_hour: the price paid; when None, the cheapest catalog offer of `gpu_id` under `plan`.
        gpu_id: catalog GPU id (`H100-SXM`) for the price lookup.
        plan: `on_demand`, `spot`, `commit_1yr` or `commit_3yr`.
        people_usd_per_month: engineering and operations cost of running the fleet.
        max_running: the servers' batch limit, to turn running requests into a utilisation.
        api_models: (provider, model) pairs to price the same tokens at.

    Raises:
        ScenarioError: no price can be found.
    """
    if gpus_per_instance < 1:
        raise ScenarioError("GPUs per instance must be at least 1")
    rows = con.execute(
        """
        SELECT w.instance, list(DISTINCT w.model ORDER BY w.model), min(w.engine), min(w.first_ts), max(w.last_ts),
               sum(w.resets), sum(w.gaps), any_value(h.p), any_value(h.g), any_value(h.c), any_value(h.r),
               any_value(h.kv), any_value(h.run), any_value(h.peak)
        FROM fleet_windows w LEFT JOIN (
            SELECT instance, sum(prompt_tokens) AS p, sum(generation_tokens) AS g, sum(prefix_cache_hit_tokens) AS c,
                   sum(requests) AS r, avg(kv_cache_usage_mean) AS kv, avg(running_mean) AS run,
                   max(running_max) AS peak
            FROM fleet_hourly GROUP BY instance) h USING (instance)
        GROUP BY w.instance ORDER BY w.instance
        """
    ).fetchall()
    if not rows:
        return None
    instances = [
        InstanceUse(
            instance=r[0],
            models=list(r[1]),
            engine=r[2],
            first_ts=r[3],
            last_ts=r[4],
            hours_observed=(r[4] - r[3]).total_seconds() / 3600,
            prompt_tokens=int(r[7] or 0),
            generation_tokens=int(r[8] or 0),
            prefix_cache_hit_tokens=int(r[9] or 0),
            requests=None if r[10] is None else int(r[10]),
            kv_cache_usage_mean=r[11],
            running_mean=r[12],
            running_peak=r[13],
            resets=int(r[5]),
            gaps=int(r[6]),
        )
        for r in rows
    ]
    price, source = _price(
        usd_per_gpu_hour=usd_per_gpu_hour, gpu_id=gpu_id, plan=plan, gpus_per_instance=gpus_per_instance
    )
    first, last = min(i.first_ts for i in instances), max(i.last_ts for i in instances)
    instance_hours = sum(i.hours_observed for i in instances)
    gpu_hours = instance_hours * gpus_per_instance
    gpu_cost = (Decimal(repr(round(gpu_hours, 6))) * price).quantize(_CENT)
    months = (last - first).total_seconds() / 86400 / _MONTH_DAYS
    people = (people_usd_per_month * Decimal(repr(round(months, 6)))).quantize(_CENT)
    total = gpu_cost + people
    prompt = sum(i.prompt_tokens for i in instances)
    gen = sum(i.generation_tokens for i in instances)
    hits = sum(i.prefix_cache_hit_tokens for i in instances)
    req = [i.requests for i in instances if i.requests is not None]
    tokens = prompt + gen
    kv = [i.kv_cache_usage_mean for i in instances if i.kv_cache_usage_mean is not None]
    run = [i.running_mean for i in instances if i.running_mean is not None]
    peaks = [i.running_peak for i in instances if i.running_peak is not None]
    running_mean = sum(run) / len(run) if run else None
    peak, p95 = _peak_ratios(con)
    api = []
    for provider, model in api_models:
        cost = usage_cost_usd(
            provider=provider,
            model=model,
            input_tokens=prompt,
            cached_input_tokens=hits,
            output_tokens=gen,
            at=last.date(),
        )
        per = (cost / tokens * _MTOK).quantize(Decimal("0.0001")) if cost is not None and tokens else None
        api.append(
            ApiComparison(
                provider=provider,
                model=model,
                cost_usd=None if cost is None else cost.quantize(_CENT),
                usd_per_mtok=per,
            )
        )
    return FleetReport(
        instances=instances,
        first_ts=first,
        last_ts=last,
        instance_hours=instance_hours,
        gpus_per_instance=gpus_per_instance,
        gpu_hours=gpu_hours,
        usd_per_gpu_hour=price,
        price_source=source,
        gpu_cost_usd=gpu_cost,
        people_usd_per_month=people_usd_per_month,
        months_observed=months,
        people_cost_usd=people,
        total_cost_usd=total,
        prompt_tokens=prompt,
        generation_tokens=gen,
        prefix_cache_hit_tokens=hits,
        requests=sum(req) if req else None,
        usd_per_mtok=(total / tokens * _MTOK).quantize(Decimal("0.0001")) if tokens else None,
        kv_cache_usage_mean=sum(kv) / len(kv) if kv else None,
        running_mean=running_mean,
        running_peak=max(peaks) if peaks else None,
        max_running=max_running,
        running_utilisation=running_mean / max_running if running_mean is not None and max_running else None,
        peak_to_mean=peak,
        p95_to_mean=p95,
        latency=_latency(con),
        api=api,
    )


def _peak_ratios(con: duckdb.DuckDBPyConnection) -> tuple[float | None, float | None]:
    hours = con.execute(
        "SELECT epoch(hour)::BIGINT // 3600, sum(prompt_tokens + generation_tokens) FROM fleet_hourly GROUP BY 1"
    ).fetchall()
    if not hours:
        return None, None
    h = np.array([r[0] for r in hours], dtype=np.int64)
    series = np.zeros(int(h.max() - h.min() + 1))
    series[h - h.min()] = [float(r[1]) for r in hours]
    mean = float(series.mean())
    if mean <= 0:
        return None, None
    return float(series.max()) / mean, float(np.quantile(series, 0.95)) / mean


def _latency(con: duckdb.DuckDBPyConnection) -> list[LatencyPercentiles]:
    rows = con.execute(
        "SELECT metric, le, sum(observations) FROM fleet_latency_buckets GROUP BY metric, le ORDER BY metric, le"
    ).fetchall()
    by_metric: dict[str, list[tuple[float, float]]] = {}
    for metric, le, n in rows:
        by_metric.setdefault(metric, []).append((float(le), float(n)))
    out = []
    for metric, buckets in by_metric.items():
        total = max((n for le, n in buckets if math.isinf(le)), default=0.0)
        out.append(
            LatencyPercentiles(
                metric=metric,
                observations=int(total),
                p50_s=histogram_quantile(0.5, buckets),
                p95_s=histogram_quantile(0.95, buckets),
                p99_s=histogram_quantile(0.99, buckets),
            )
        )
    return out
