"""A metrics file's fleet rows in the store, and its hourly tokens as usage rows (provider `self-hosted`).

Both come from the same `FleetData`, so `opentco usage summary` and the fleet view count the same tokens. A
window (instance × model × first and last sample) already stored by an earlier import is skipped in both: its
usage rows carry a request id derived from the window, which the import's de-duplication drops, and its fleet rows
are not inserted again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import duckdb
import pyarrow as pa

from costmodel.errors import BadLogRow
from costmodel.fleet.derive import FleetData, Window, hour_start
from costmodel.fleet.metrics import Role
from costmodel.importers._base import Extra
from costmodel.importers.records import UsageRecord, make_record

__all__ = ["SELF_HOSTED", "FleetRows", "usage_records"]

SELF_HOSTED = "self-hosted"
"""Provider of usage rows that come from the user's own inference servers."""

_HOURLY = pa.schema(
    [
        ("instance", pa.string()),
        ("model", pa.string()),
        ("hour", pa.timestamp("us")),
        ("prompt_tokens", pa.int64()),
        ("generation_tokens", pa.int64()),
        ("prefix_cache_hit_tokens", pa.int64()),
        ("requests", pa.int64()),
        ("running_mean", pa.float64()),
        ("running_max", pa.float64()),
        ("waiting_mean", pa.float64()),
        ("waiting_max", pa.float64()),
        ("kv_cache_usage_mean", pa.float64()),
        ("kv_cache_usage_max", pa.float64()),
    ]
)


def _request_id(w: Window, hour: int) -> str:
    return "fleet:" + hashlib.sha256(w.key.encode()).hexdigest()[:16] + f":{hour}"


def _has_requests(data: FleetData, pair: tuple[str, str]) -> bool:
    return any(Role.REQUESTS in r.tokens for r in data.hours.get(pair, {}).values())


def usage_records(data: FleetData, *, file: str) -> Iterator[UsageRecord | BadLogRow]:
    """One usage row per instance × model × hour with tokens or requests."""
    for pair, rows in data.hours.items():
        w = data.windows[pair]
        counts_requests = _has_requests(data, pair)
        for h in sorted(rows):
            tok = rows[h].tokens
            prompt, gen = tok.get(Role.PROMPT, 0), tok.get(Role.GENERATION, 0)
            req = tok.get(Role.REQUESTS, 0)
            if not (prompt or gen or req):
                continue
            yield make_record(
                file=file,
                line=0,
                columns={"model": "model_name", "input_tokens": "prompt_tokens", "output_tokens": "generation_tokens"},
                ts=hour_start(h),
                provider=SELF_HOSTED,
                model=w.model,
                input_tokens=prompt,
                # hits counted by another counter than the prompt's: never more than the hour's prompt tokens
                cached_input_tokens=min(tok.get(Role.CACHE_HITS, 0), prompt),
                output_tokens=gen,
                requests=req if counts_requests else None,
                request_id=_request_id(w, h),
            )


class FleetRows(Extra):
    """The fleet tables' rows of one metrics file."""

    def __init__(self, data: FleetData) -> None:
        self.data = data

    def store(self, con: Any, import_id: int) -> None:
        assert isinstance(con, duckdb.DuckDBPyConnection)
        d = self.data
        keys = [w.key for w in d.windows.values()]
        seen = {
            k
            for (k,) in con.execute(
                "SELECT window_key FROM fleet_windows WHERE window_key IN (SELECT unnest(?))", [keys]
            ).fetchall()
        }
        fresh = {pair: w for pair, w in d.windows.items() if w.key not in seen}
        if not fresh:
            return
        con.executemany(
            "INSERT INTO fleet_windows VALUES (?, ?, ?, ?, ?, make_timestamp(?), make_timestamp(?), ?, ?, ?, ?, ?)",
            [
                [
                    import_id,
                    w.key,
                    w.instance,
                    w.model,
                    w.engine,
                    int(w.first_s * 1e6),
                    int(w.last_s * 1e6),
                    w.samples,
                    w.resets,
                    w.gaps,
                    w.gap_s,
                    w.counted_from_start,
                ]
                for w in fresh.values()
            ],
        )
        cols: dict[str, list[object]] = {f.name: [] for f in _HOURLY}
        for pair in fresh:
            counts_requests = _has_requests(d, pair)
            for h, row in sorted(d.hours.get(pair, {}).items()):
                t, m, x = row.tokens, row.gauge_mean, row.gauge_max
                for name, value in (
                    ("instance", pair[0]),
                    ("model", pair[1]),
                    ("hour", hour_start(h)),
                    ("prompt_tokens", t.get(Role.PROMPT, 0)),
                    ("generation_tokens", t.get(Role.GENERATION, 0)),
                    ("prefix_cache_hit_tokens", min(t.get(Role.CACHE_HITS, 0), t.get(Role.PROMPT, 0))),
                    ("requests", t.get(Role.REQUESTS, 0) if counts_requests else None),
                    ("running_mean", m.get(Role.RUNNING)),
                    ("running_max", x.get(Role.RUNNING)),
                    ("waiting_mean", m.get(Role.WAITING)),
                    ("waiting_max", x.get(Role.WAITING)),
                    ("kv_cache_usage_mean", m.get(Role.KV_USAGE)),
                    ("kv_cache_usage_max", x.get(Role.KV_USAGE)),
                ):
                    cols[name].append(value)
        table = pa.table(cols, schema=_HOURLY)
        con.register("_fleet_hourly_batch", table)
        try:
            con.execute("INSERT INTO fleet_hourly SELECT ?, * FROM _fleet_hourly_batch", [import_id])
        finally:
            con.unregister("_fleet_hourly_batch")
        buckets = [
            [import_id, inst, model, str(role), le, n]
            for (inst, model, role, le), n in d.buckets.items()
            if (inst, model) in fresh
        ]
        if buckets:
            con.executemany("INSERT INTO fleet_latency_buckets VALUES (?, ?, ?, ?, ?, ?)", buckets)
