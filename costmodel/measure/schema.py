"""Benchmark tables (owned by the live-measurement issue).

`benchmarks` holds one row per run (hardware, driver, model, server, settings as JSON — never an API key),
`benchmark_levels` one row per concurrency level with its figures, and `benchmark_samples` the raw GPU
samples (times in seconds since the run started). Timestamps are UTC. `benchmark_imports` says which
runs came from another tool's result file (`opentco measure import`) and which file.
"""

from __future__ import annotations

import duckdb

from costmodel.store import migration

__all__: list[str] = []


@migration("bench_001_tables")
def _bench_001_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SEQUENCE benchmarks_id_seq START 1")
    con.execute(
        """
        CREATE TABLE benchmarks (
            id BIGINT PRIMARY KEY DEFAULT nextval('benchmarks_id_seq'),
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP NOT NULL,
            model VARCHAR NOT NULL,
            endpoint VARCHAR NOT NULL,
            server VARCHAR,
            gpu_name VARCHAR,
            gpu_count INTEGER NOT NULL,
            gpu_indices_json VARCHAR NOT NULL,
            driver_version VARCHAR,
            cuda_version VARCHAR,
            hardware_json VARCHAR,
            settings_json VARCHAR NOT NULL,
            costs_json VARCHAR NOT NULL,
            power_note VARCHAR,
            fixed_length_hints_accepted BOOLEAN,
            stopped_early BOOLEAN NOT NULL,
            stop_reason VARCHAR,
            warnings_json VARCHAR NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE benchmark_levels (
            benchmark_id BIGINT NOT NULL,
            concurrency INTEGER NOT NULL,
            start_s DOUBLE NOT NULL,
            end_s DOUBLE NOT NULL,
            requests_ok INTEGER NOT NULL,
            requests_failed INTEGER NOT NULL,
            requests_cancelled INTEGER NOT NULL,
            errors_json VARCHAR NOT NULL,
            first_error VARCHAR,
            input_tokens_per_request DOUBLE,
            output_tokens BIGINT NOT NULL,
            token_count_basis VARCHAR NOT NULL,
            ttft_ms_p50 DOUBLE,
            ttft_ms_p95 DOUBLE,
            inter_token_ms_p50 DOUBLE,
            inter_token_ms_p95 DOUBLE,
            output_tokens_per_s DOUBLE NOT NULL,
            output_tokens_per_s_per_stream DOUBLE,
            requests_per_s DOUBLE NOT NULL,
            mean_power_w DOUBLE,
            watts_per_gpu DOUBLE,
            energy_j DOUBLE,
            energy_basis VARCHAR,
            joules_per_output_token DOUBLE,
            usd_per_mtok_energy DECIMAL(18, 6),
            usd_per_mtok_gpu_hours DECIMAL(18, 6),
            PRIMARY KEY (benchmark_id, concurrency)
        )
        """
    )
    con.execute(
        """
        CREATE TABLE benchmark_samples (
            benchmark_id BIGINT NOT NULL,
            gpu_index INTEGER NOT NULL,
            t_s DOUBLE NOT NULL,
            power_w DOUBLE,
            energy_mj BIGINT,
            gpu_util_pct DOUBLE,
            mem_util_pct DOUBLE,
            memory_used_mib DOUBLE,
            sm_clock_mhz DOUBLE,
            temperature_c DOUBLE
        )
        """
    )


@migration("bench_002_imports")
def _bench_002_imports(con: duckdb.DuckDBPyConnection) -> None:
    # Where an imported run came from (a benchmark tool's result file): one row per stored run, keyed by the
    # file's SHA-256 so that the same file imports once.
    con.execute(
        """
        CREATE TABLE benchmark_imports (
            benchmark_id BIGINT PRIMARY KEY,
            sha256 VARCHAR NOT NULL UNIQUE,
            file_name VARCHAR NOT NULL,
            format VARCHAR NOT NULL,
            tool VARCHAR NOT NULL,
            tool_version VARCHAR,
            imported_at TIMESTAMP NOT NULL
        )
        """
    )
