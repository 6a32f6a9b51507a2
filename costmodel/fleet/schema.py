"""Fleet tables: what each imported metrics file covers, its hourly tokens and load, and its latency buckets.

The hourly tokens are also stored as usage rows (provider `self-hosted`), so usage summaries include the fleet;
these tables keep what usage rows cannot hold (instances, gauges, histograms). Rows belong to an import and are
written in its transaction (see `costmodel.fleet.store`).
"""

from __future__ import annotations

import duckdb

from costmodel.store import migration

__all__: list[str] = []


@migration("fleet_001_tables")
def _fleet_001_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE fleet_windows (          -- one row per instance × model of an import
            import_id INTEGER NOT NULL,
            window_key VARCHAR NOT NULL,      -- instance|model|first|last: the same window is stored once
            instance VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            engine VARCHAR NOT NULL,          -- vllm, sglang or tgi
            first_ts TIMESTAMP NOT NULL,      -- UTC; the process start when counting began there
            last_ts TIMESTAMP NOT NULL,
            samples BIGINT NOT NULL,
            resets INTEGER NOT NULL,          -- counter restarts seen
            gaps INTEGER NOT NULL,            -- scrape gaps (longer than 3 usual intervals and a minute)
            gap_seconds DOUBLE NOT NULL,
            counted_from_start BOOLEAN NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE fleet_hourly (
            import_id INTEGER NOT NULL,
            instance VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            hour TIMESTAMP NOT NULL,          -- UTC, start of the hour
            prompt_tokens BIGINT NOT NULL,
            generation_tokens BIGINT NOT NULL,
            prefix_cache_hit_tokens BIGINT NOT NULL,
            requests BIGINT,                  -- NULL when the server exports no request counter
            running_mean DOUBLE, running_max DOUBLE,
            waiting_mean DOUBLE, waiting_max DOUBLE,
            kv_cache_usage_mean DOUBLE,       -- fraction 0–1
            kv_cache_usage_max DOUBLE
        )
        """
    )
    con.execute(
        """
        CREATE TABLE fleet_latency_buckets (  -- histogram observations added over the window, per bucket
            import_id INTEGER NOT NULL,
            instance VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            metric VARCHAR NOT NULL,          -- ttft_seconds, itl_seconds, e2e_seconds
            le DOUBLE NOT NULL,               -- bucket upper bound, seconds (inf for +Inf)
            observations DOUBLE NOT NULL
        )
        """
    )
