"""Roll usage logs up by hour on DuckDB or Apache Spark, into day-partitioned Parquet that `opentco import` takes.

An organisation's raw LLM logs can run to hundreds of millions of rows a month; the store only needs their
hourly totals. `rollup()` normalises the logs of one format (generic CSV/Parquet, LiteLLM spend logs, Bedrock
invocation logs, Langfuse exports, FOCUS) to the store's columns and totals them by hour × provider × model ×
project × user, with the same rules as the importers (skips, rejects, one row per request id). The logic is
SQL written once (`costmodel.rollup.formats`, `costmodel.rollup.sql`): DuckDB runs it as written, Spark runs
it as transpiled by sqlglot, and a test holds both to identical results on every fixture.

Output: `OUT/day=YYYY-MM-DD/*.parquet` in the generic Parquet columns (`timestamp`, `provider`, `model`,
`input_tokens`, `cached_input_tokens`, `output_tokens`, `requests`, `cost_usd`, `project`, `user`,
`request_id`, plus `source_rows`). Each bucket's `request_id` is a key of the bucket itself, so importing
the same rollup twice (or two runs over the same hour) stores each bucket once.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path

import pyarrow.parquet as pq
from pydantic import Field

from costmodel._base import StrictModel
from costmodel.errors import CostModelError
from costmodel.rollup.engines import Engine, FileKind, run_duckdb, run_spark
from costmodel.rollup.formats import FORMATS, RollupFormat

__all__ = ["FORMATS", "RollupError", "RollupResult", "detect_format", "file_kind", "rollup"]


class RollupError(CostModelError):
    """Inputs the rollup cannot read (the message names the file and the fix)."""


class RollupResult(StrictModel):
    """What a rollup read and wrote."""

    format: str
    """The log format read."""
    engine: Engine
    """The engine that ran it."""
    rows_read: int = Field(ge=0)
    """Source rows (lines, records) read."""
    rows_skipped: int = Field(ge=0)
    """Rows that are not token usage (failed calls, cache hits, spans, non-token charges)."""
    rows_rejected: dict[str, int] = Field(default_factory=dict)
    """Bad rows by reason (left out)."""
    rows_duplicate: int = Field(ge=0)
    """Usage rows repeating a request id already counted (left out)."""
    rows_kept: int = Field(ge=0)
    """Usage rows in the totals."""
    out_dir: str
    """Where the day partitions were written."""

    def summary(self) -> str:
        rejected = sum(self.rows_rejected.values())
        return (
            f"{self.rows_read:,} rows read ({self.format}, {self.engine}): {self.rows_kept:,} rolled up, "
            f"{self.rows_skipped:,} not usage, {rejected:,} rejected, {self.rows_duplicate:,} repeated ids; "
            f"written to {self.out_dir}"
        )


_KINDS: dict[str, FileKind] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def _remote(path: str) -> bool:
    return "://" in path


def file_kind(path: str) -> FileKind:
    """CSV, Parquet or JSON lines, from the name (`.gz` allowed); a local folder is a Parquet dataset.

    Raises:
        RollupError: A name that says none of these.
    """
    if not _remote(path) and Path(path).is_dir():
        return "parquet"
    name = path.lower().removesuffix(".gz")
    for suffix, kind in _KINDS.items():
        if name.endswith(suffix):
            return kind
    raise RollupError(f"{path}: cannot tell CSV, Parquet or JSON lines from the name; use .csv, .parquet or .jsonl")


def _names(path: str, kind: FileKind) -> set[str]:
    """Top-level field names of a local file (for format detection)."""
    p = Path(path)
    if p.is_dir():
        p = next(iter(sorted(p.rglob("*.parquet"))), p)
    try:
        if kind == "parquet":
            return set(pq.ParquetFile(p).schema_arrow.names)
        opener = gzip.open if p.name.endswith(".gz") else open
        with opener(p, "rt", encoding="utf-8", errors="replace") as fp:
            first = fp.readline()
        if kind == "csv":
            return {c.strip().strip('"') for c in first.split(",")}
        doc = json.loads(first)
        return set(doc) if isinstance(doc, dict) else set()
    except (OSError, ValueError) as ex:
        raise RollupError(f"{path}: cannot read its first record to tell its format ({ex}); pass --format") from None


def detect_format(path: str, kind: FileKind) -> RollupFormat:
    """The format whose signature fields the (local) file has.

    Raises:
        RollupError: No format matches, or the path is remote (then `--format` is needed).
    """
    if _remote(path):
        raise RollupError(f"{path}: remote inputs are not sniffed; pass --format ({', '.join(FORMATS)})")
    names = _names(path, kind)
    lowered = {n.lower() for n in names}
    for fmt in FORMATS.values():
        if {s.lower() for s in fmt.signature} <= lowered:
            return fmt
    raise RollupError(
        f"{path}: no known log format has the fields {', '.join(sorted(names)[:12])}; pass --format "
        f"({', '.join(FORMATS)})"
    )


def rollup(
    inputs: Sequence[str],
    *,
    out_dir: str,
    format_name: str | None = None,
    engine: Engine = "duckdb",
    master: str | None = None,
    threads: int | None = None,
    memory_limit_gib: float | None = None,
) -> RollupResult:
    """Normalise and roll up usage logs into `out_dir/day=YYYY-MM-DD/*.parquet`.

    Args:
        inputs: Files or folders of one format and one kind (CSV, Parquet or JSON lines). Spark takes any
            path it reads (s3a://, abfss://, gs://, hdfs://); DuckDB takes local paths and globs.
        out_dir: A folder that does not exist yet or is empty.
        format_name: One of `FORMATS`; detected from the first input when empty (local inputs only).
        engine: `duckdb` (this process) or `spark`.
        master: Spark master URL (default `local[*]`, or Spark Connect when `SPARK_REMOTE` is set).
        threads: DuckDB threads (default: all cores).
        memory_limit_gib: DuckDB's memory cap (default 80 % of RAM); beyond it DuckDB spills to disk.

    Returns:
        The row counts.

    Raises:
        RollupError: Unknown format, mixed file kinds, an output folder in use, or Spark not installed.
    """
    if not inputs:
        raise RollupError("no input given")
    kinds = {file_kind(p) for p in inputs}
    if len(kinds) > 1:
        raise RollupError(f"inputs mix {', '.join(sorted(kinds))} files; roll up one kind at a time")
    (kind,) = kinds
    if format_name is None:
        fmt = detect_format(inputs[0], kind)
    elif format_name in FORMATS:
        fmt = FORMATS[format_name]
    else:
        raise RollupError(f"unknown format {format_name!r}; choose one of {', '.join(FORMATS)}")
    if kind == "jsonl" and fmt.shape != "json_lines":
        raise RollupError(f"{fmt.name} is read from CSV or Parquet, not JSON lines")
    local_out = not _remote(out_dir)
    if local_out and Path(out_dir).exists() and any(Path(out_dir).iterdir()):
        raise RollupError(f"{out_dir}: the output folder is not empty; choose a new one")
    if engine == "duckdb":
        if any(_remote(p) for p in inputs):
            raise RollupError("DuckDB reads local paths here; use --engine spark for s3a://, abfss://, gs://, hdfs://")
        paths = [str(Path(p) / "**" / "*.parquet") if Path(p).is_dir() else p for p in inputs]
        if local_out:
            Path(out_dir).mkdir(parents=True, exist_ok=True)
        counts = run_duckdb(
            fmt=fmt, kind=kind, paths=paths, out_dir=Path(out_dir), threads=threads, memory_limit_gib=memory_limit_gib
        )
    elif engine == "spark":
        try:
            import pyspark  # noqa: F401
        except ImportError:
            raise RollupError("--engine spark needs PySpark and Java: pip install 'opentco[spark]'") from None
        if local_out and Path(out_dir).exists():
            Path(out_dir).rmdir()  # empty (checked above); Spark creates it itself
        counts = run_spark(fmt=fmt, kind=kind, paths=list(inputs), out_dir=out_dir, master=master)
    else:
        raise RollupError(f"unknown engine {engine!r}; choose duckdb or spark")
    totals = {outcome: n for outcome, _, n in counts if outcome != "rejected"}
    rejected = {reason or "": n for outcome, reason, n in counts if outcome == "rejected"}
    usage, kept = totals.get("usage", 0), totals["kept"]
    return RollupResult(
        format=fmt.name,
        engine=engine,
        rows_read=usage + totals.get("skipped", 0) + sum(rejected.values()),
        rows_skipped=totals.get("skipped", 0),
        rows_rejected=rejected,
        rows_duplicate=usage - kept,
        rows_kept=kept,
        out_dir=out_dir,
    )
