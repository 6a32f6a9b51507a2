"""From raw samples to usage: counter increases per hour, gauge means and peaks per hour, histogram bucket counts.

Counters (the rules of Prometheus' `increase()`, without its extrapolation):
- the increase between two samples is counted in the interval between them; nothing before the first sample or
  after the last is guessed;
- a value lower than the one before is a restart (a *reset*): the counter began again from 0, so the increase is
  the new value. A `*_created` series gives the start time of the process: a restart it shows is a reset even when
  the value went up, and its interval starts at the restart;
- a series with a `_created` time counts from 0 at that time: a single scrape counts everything since the process
  started (https://prometheus.io/docs/specs/om/open_metrics_spec/#counter);
- an interval longer than an hour (a scrape gap, or from the process start) is spread over the hours it covers in
  proportion to time, rounded so that the hours add up to the exact increase. Gaps (longer than three usual scrape
  intervals and a minute) are counted and reported.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from costmodel.errors import BadLogRow
from costmodel.fleet.metrics import COUNTERS, GAUGES, Kind, Role, engine_of, preference
from costmodel.fleet.parse import SeriesKey, SeriesSet
from costmodel.importers.records import EARLIEST_TS, FUTURE_TOLERANCE

__all__ = ["FleetData", "HourRow", "Window", "derive", "increments"]

_HOUR_S = 3600
_SUM_GAUGES = frozenset({Role.RUNNING, Role.WAITING})
"""Gauges that add up across series of one instance (requests of several engines); the others are averaged."""


@dataclass
class HourRow:
    """One instance × model × hour."""

    tokens: dict[Role, int] = field(default_factory=dict)
    """Increase of each token or request counter in the hour."""
    gauge_mean: dict[Role, float] = field(default_factory=dict)
    gauge_max: dict[Role, float] = field(default_factory=dict)


@dataclass
class Window:
    """What the samples of one instance × model cover."""

    instance: str
    model: str
    engine: str
    first_s: float
    last_s: float
    samples: int = 0
    resets: int = 0
    gaps: int = 0
    gap_s: float = 0.0
    counted_from_start: bool = False
    """True when counting began at the process start (`_created`) rather than at the first sample."""

    @property
    def key(self) -> str:
        """Identity of the covered window: the same window imported again from another file is not stored twice."""
        return f"{self.instance}|{self.model}|{self.first_s:.3f}|{self.last_s:.3f}"


@dataclass
class FleetData:
    """Everything one metrics file says about the fleet."""

    windows: dict[tuple[str, str], Window] = field(default_factory=dict)
    hours: dict[tuple[str, str], dict[int, HourRow]] = field(default_factory=dict)
    """(instance, model) → hour index (Unix hours) → row."""
    buckets: dict[tuple[str, str, Role, float], float] = field(default_factory=dict)
    """(instance, model, histogram, le) → observations added in the window."""
    rejected: list[BadLogRow] = field(default_factory=list)


@dataclass
class _Inc:
    start: np.ndarray
    end: np.ndarray
    delta: np.ndarray
    resets: int
    gaps: int
    gap_s: float
    from_start: bool


def increments(
    t: np.ndarray, v: np.ndarray, *, created: tuple[np.ndarray, np.ndarray] | None = None, gap_s: float | None = None
) -> _Inc:
    """Increases of one counter series between its samples, resets and `_created` times applied.

    Args:
        t: sample times, Unix seconds, ascending and unique.
        v: counter values.
        created: (times, values) of the series' `_created` samples (values are Unix seconds of the process start).
        gap_s: an interval longer than this is a gap (default: three median intervals, at least a minute).
    """
    from_start = False
    c_at: np.ndarray | None = None
    if created is not None and len(created[0]):
        ct, cv = created
        idx = np.clip(np.searchsorted(ct, t, side="right") - 1, 0, len(ct) - 1)
        c_at = cv[idx]
        c0 = float(c_at[0])
        if 0 < c0 < t[0]:
            t, v, c_at = np.concatenate(([c0], t)), np.concatenate(([0.0], v)), np.concatenate(([c0], c_at))
            from_start = True
    if len(t) < 2:
        empty = np.zeros(0)
        return _Inc(empty, empty, np.zeros(0, dtype=np.int64), 0, 0, 0.0, from_start)
    dv = v[1:] - v[:-1]
    reset = dv < 0
    start = t[:-1].copy()
    if c_at is not None:
        restarted = c_at[1:] > t[:-1]
        reset |= restarted
        start = np.where(restarted, c_at[1:], start)
    delta = np.rint(np.where(reset, v[1:], dv)).astype(np.int64)
    delta[delta < 0] = 0  # a negative value after a reset is not usage
    end = t[1:]
    steps = np.diff(t[1:] if from_start else t)
    if gap_s is None:
        gap_s = max(3 * float(np.median(steps)), 60.0) if len(steps) else math.inf
    span = end - start
    gap = span > gap_s
    if from_start:
        gap[0] = False
    return _Inc(start, end, delta, int(reset.sum()), int(gap.sum()), float(span[gap].sum()), from_start)


def _allocate(inc: _Inc) -> tuple[np.ndarray, np.ndarray]:
    """(hour indexes, amounts): each increase in the hour(s) of its interval, split in proportion to time."""
    ha = np.floor(inc.start / _HOUR_S).astype(np.int64)
    hb = np.maximum(np.ceil(inc.end / _HOUR_S).astype(np.int64) - 1, ha)
    single = ha == hb
    # intervals follow each other in time, so one hour's are adjacent: sum each run (no sort needed)
    h1, d1 = hb[single], inc.delta[single]
    if len(h1):
        first = np.flatnonzero(np.concatenate(([True], h1[1:] != h1[:-1])))
        hours, amounts = [h1[first]], [np.add.reduceat(d1, first)]
    else:
        hours, amounts = [h1], [d1]
    for i in np.flatnonzero(~single):
        a, b, d = float(inc.start[i]), float(inc.end[i]), int(inc.delta[i])
        hs = np.arange(ha[i], hb[i] + 1, dtype=np.int64)
        bounds = np.minimum((hs + 1) * _HOUR_S, b).astype(np.float64)
        cum = np.rint(d * (bounds - a) / (b - a)).astype(np.int64)
        cum[-1] = d
        hours.append(hs)
        amounts.append(np.diff(cum, prepend=0))
    if len(hours) == 1:
        return hours[0], amounts[0]
    h, amt = np.concatenate(hours), np.concatenate(amounts)
    uniq, inv = np.unique(h, return_inverse=True)
    return uniq, np.bincount(inv, weights=amt.astype(np.float64)).round().astype(np.int64)


def _gauge_hours(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hour indexes, mean, max) of one gauge series."""
    h = np.floor(t / _HOUR_S).astype(np.int64)
    first = np.flatnonzero(np.concatenate(([True], h[1:] != h[:-1])))
    counts = np.diff(np.append(first, len(h)))
    return h[first], np.add.reduceat(v, first) / counts, np.maximum.reduceat(v, first)


def _in_range(
    series: Iterator[tuple[SeriesKey, np.ndarray, np.ndarray]], *, file: str, now: datetime
) -> Iterator[tuple[SeriesKey, np.ndarray, np.ndarray, int]]:
    lo = EARLIEST_TS.replace(tzinfo=UTC).timestamp()
    hi = (now + FUTURE_TOLERANCE).timestamp()
    for key, t, v in series:
        ok = (t >= lo) & (t <= hi)
        dropped = int(len(t) - ok.sum())
        if dropped:
            t, v = t[ok], v[ok]
        if len(t) or dropped:
            yield key, t, v, dropped


def derive(samples: SeriesSet, *, file: str, now: datetime | None = None) -> FleetData:
    """Hourly tokens, requests and load per instance × model, and latency buckets, from a file's samples.

    Args:
        samples: the parsed series.
        file: file name for messages.
        now: the present (UTC), for refusing samples in the future; default: the clock.
    """
    now = now or datetime.now(UTC)
    out = FleetData(rejected=list(samples.rejected))
    created: dict[tuple[Role, str, str, str, tuple[tuple[str, str], ...]], tuple[np.ndarray, np.ndarray]] = {}
    rest: list[tuple[SeriesKey, np.ndarray, np.ndarray]] = []
    for key, t, v, dropped in _in_range(samples.series(), file=file, now=now):
        if dropped:
            out.rejected.append(
                BadLogRow(
                    file=file,
                    line=0,
                    column=key.base,
                    reason=f"{dropped:,} sample(s) of {key.instance}/{key.model} dated before 2020 or in the future",
                )
            )
        if not len(t):
            continue
        if key.kind is Kind.CREATED:
            lo = EARLIEST_TS.replace(tzinfo=UTC).timestamp()
            v = np.where((v >= lo) & (v <= t), v, 0.0)  # a start time after the scrape, or before 2020, is ignored
            created[(key.role, key.base, key.instance, key.model, key.labels)] = (t, v)
        else:
            rest.append((key, t, v))
    # a server exporting a name and its deprecated alias is read once, by the preferred name
    chosen: dict[tuple[str, str, Role], int] = {}
    for key, _, _ in rest:
        k = (key.instance, key.model, key.role)
        chosen[k] = min(chosen.get(k, 1 << 30), preference(key.role, key.base))
    tokens: dict[tuple[str, str, Role], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    gauges: dict[tuple[str, str, Role], list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = defaultdict(list)
    for key, t, v in rest:
        if preference(key.role, key.base) != chosen[(key.instance, key.model, key.role)]:
            continue
        pair = (key.instance, key.model)
        w = out.windows.get(pair)
        if w is None:
            w = out.windows[pair] = Window(key.instance, key.model, engine_of(key.base), float(t[0]), float(t[-1]))
        w.first_s, w.last_s = min(w.first_s, float(t[0])), max(w.last_s, float(t[-1]))
        w.samples = max(w.samples, len(t))
        if key.kind is Kind.GAUGE:
            gauges[(key.instance, key.model, key.role)].append(_gauge_hours(t, v))
            continue
        inc = increments(t, v, created=created.get((key.role, key.base, key.instance, key.model, key.labels)))
        if inc.from_start:
            w.counted_from_start = True
            w.first_s = min(w.first_s, float(inc.start[0]))
        if key.kind is Kind.BUCKET:
            assert key.le is not None
            b = (key.instance, key.model, key.role, key.le)
            out.buckets[b] = out.buckets.get(b, 0.0) + float(inc.delta.sum())
            continue
        if key.role in (Role.PROMPT, Role.GENERATION):
            w.resets = max(w.resets, inc.resets)
            w.gaps, w.gap_s = max(w.gaps, inc.gaps), max(w.gap_s, inc.gap_s)
        hours, amounts = _allocate(inc)
        acc = tokens[(key.instance, key.model, key.role)]
        for h, a in zip(hours.tolist(), amounts.tolist(), strict=True):
            acc[h] += a
    for (instance, model, role), per_hour in tokens.items():
        rows = out.hours.setdefault((instance, model), {})
        for h, a in per_hour.items():
            rows.setdefault(h, HourRow()).tokens[role] = a
    for (instance, model, role), parts in gauges.items():
        rows = out.hours.setdefault((instance, model), {})
        means: dict[int, list[float]] = defaultdict(list)
        maxes: dict[int, list[float]] = defaultdict(list)
        for hs, mean, mx in parts:
            for h, m, x in zip(hs.tolist(), mean.tolist(), mx.tolist(), strict=True):
                means[h].append(m)
                maxes[h].append(x)
        for h, ms in means.items():
            row = rows.setdefault(h, HourRow())
            if role in _SUM_GAUGES:  # the sum of the series' peaks: an upper bound of the hour's peak
                row.gauge_mean[role], row.gauge_max[role] = sum(ms), sum(maxes[h])
            else:
                row.gauge_mean[role], row.gauge_max[role] = sum(ms) / len(ms), max(maxes[h])
    return out


def hour_start(h: int) -> datetime:
    """The naive-UTC start of Unix hour `h`."""
    return datetime(1970, 1, 1) + timedelta(hours=h)


TOKEN_ROLES = tuple(COUNTERS)
GAUGE_ROLES = tuple(GAUGES)
