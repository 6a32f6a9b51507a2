"""Usage-log tables: one row per import, the normalised usage rows, their hourly totals, and the rejects.

No foreign keys or indexes on `usage_events`: DuckDB checks them row by row on insert, which would halve
import speed, and its zone maps already prune scans by `import_id` and `ts`. The import pipeline is the
only writer and keeps the invariants (see `costmodel.usage.ingest`).
"""

from __future__ import annotations

import duckdb

from costmodel.store import migration

__all__: list[str] = []


@migration("usage_001_tables")
def _usage_001_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SEQUENCE IF NOT EXISTS imports_id_seq START 1")
    con.execute(
        """
        CREATE TABLE imports (
            id INTEGER PRIMARY KEY,
            file_name VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL UNIQUE,   -- of the file as uploaded (before any .gz is expanded)
            format VARCHAR NOT NULL,
            size_bytes BIGINT NOT NULL,
            row_count BIGINT NOT NULL,        -- rows stored in usage_events
            rejected_count BIGINT NOT NULL,   -- rows refused (see import_rejects)
            duplicate_count BIGINT NOT NULL,  -- rows whose request_id was already stored
            skipped_count BIGINT NOT NULL,    -- rows that are not token usage (tax lines, failed calls, spans)
            imported_at TIMESTAMP NOT NULL    -- UTC
        )
        """
    )
    con.execute(
        """
        CREATE TABLE usage_events (
            ts TIMESTAMP NOT NULL,            -- UTC
            provider VARCHAR,                 -- genai-prices provider id; NULL when the log does not say
            model VARCHAR NOT NULL,
            input_tokens BIGINT NOT NULL,     -- cached part included
            cached_input_tokens BIGINT NOT NULL,
            output_tokens BIGINT NOT NULL,
            requests BIGINT,                  -- NULL when the source does not count requests
            reported_cost_usd DECIMAL(18, 8), -- NULL when the source reports no cost
            project VARCHAR,
            user VARCHAR,
            request_id VARCHAR,               -- request id, or a deterministic key of an aggregate bucket
            import_id INTEGER NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE import_rejects (
            import_id INTEGER NOT NULL,
            line BIGINT,
            column_name VARCHAR,
            reason VARCHAR NOT NULL,
            value VARCHAR
        )
        """
    )


@migration("usage_002_hourly_totals")
def _usage_002_hourly_totals(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE usage_hourly (           -- per-hour totals of each import, kept with it (summaries read these)
            hour TIMESTAMP NOT NULL,          -- UTC, start of the hour
            import_id INTEGER NOT NULL,
            rows BIGINT NOT NULL,
            rows_without_requests BIGINT NOT NULL,
            midnight_rows BIGINT NOT NULL,    -- rows stamped exactly 00:00:00 (daily-bucket sources)
            input_tokens BIGINT NOT NULL,
            cached_input_tokens BIGINT NOT NULL,
            output_tokens BIGINT NOT NULL,
            requests BIGINT,
            reported_cost_usd DECIMAL(38, 8)
        )
        """
    )
    # Stores created before this table get the totals of the rows they already hold.
    con.execute(
        """
        INSERT INTO usage_hourly
        SELECT date_trunc('hour', ts), import_id, count(*), count(*) - count(requests),
               count(*) FILTER (ts = date_trunc('day', ts)), sum(input_tokens), sum(cached_input_tokens),
               sum(output_tokens), sum(requests), sum(reported_cost_usd)
        FROM usage_events GROUP BY 1, 2
        """
    )


@migration("usage_003_cache_writes_and_proxy_cache")
def _usage_003_cache_writes_and_proxy_cache(con: duckdb.DuckDBPyConnection) -> None:
    # Prompt-cache writes are priced apart from plain input (Anthropic: 1.25× for 5 minutes, 2× for an hour), so
    # each gets its column; like cached reads, both are parts of input_tokens. Earlier rows read 0: the importers
    # before this migration folded writes into input_tokens, which is what a store without the columns meant.
    for table in ("usage_events", "usage_hourly"):  # fixed identifiers
        for column in ("cache_write_5m_tokens", "cache_write_1h_tokens"):
            con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} BIGINT DEFAULT 0")
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS usage_cache_hits (  -- answered by a gateway's own response cache (LiteLLM):
            ts TIMESTAMP NOT NULL,                   -- no provider was called, so never part of usage_events
            provider VARCHAR,
            model VARCHAR NOT NULL,
            input_tokens BIGINT NOT NULL,
            output_tokens BIGINT NOT NULL,
            requests BIGINT,
            request_id VARCHAR,
            import_id INTEGER NOT NULL
        )
        """
    )
