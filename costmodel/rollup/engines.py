"""The two engines that run the rollup SQL: DuckDB in this process, and Apache Spark (local, a cluster, or
Spark Connect). Each only turns the input files into the relation `raw` and writes the result; the logic is
the SQL of `costmodel.rollup.sql`, the same for both.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import duckdb

from costmodel.rollup.formats import RollupFormat
from costmodel.rollup.sql import counts_sql, for_engine, rollup_sql

__all__ = ["Engine", "FileKind", "run_duckdb", "run_spark"]

Engine = Literal["duckdb", "spark"]
FileKind = Literal["csv", "parquet", "jsonl"]

Counts = list[tuple[str, str | None, int]]
"""`counts_sql`'s rows, plus `("kept", None, n)`: the usage rows in the totals (after repeated ids)."""


# ---------------------------------------------------------------- DuckDB


def _duckdb_raw(con: duckdb.DuckDBPyConnection, fmt: RollupFormat, kind: FileKind, paths: Sequence[str]) -> None:
    files = list(paths)
    if kind == "csv":
        rel = con.read_csv(files, header=True, all_varchar=True, union_by_name=True)  # type: ignore[arg-type]
    elif kind == "jsonl":
        rel = con.sql(
            "SELECT json::VARCHAR AS line FROM read_json_objects($files, format := 'newline_delimited')",
            params={"files": files},
        )
    else:
        typed = con.read_parquet(files, union_by_name=True, hive_partitioning=True)  # type: ignore[arg-type]
        if fmt.shape == "json_lines":  # a row as the JSON object a JSON-lines export would have held
            rel = typed.query("typed", "SELECT to_json(t)::VARCHAR AS line FROM typed AS t")
        else:
            text = ", ".join(
                f'{"to_json" if _nested(str(t)) else ""}("{c}")::VARCHAR AS "{c}"'
                for c, t in zip(typed.columns, typed.types, strict=True)
            )
            rel = typed.query("typed", f"SELECT {text} FROM typed")
    rel.create_view("raw")


def _nested(type_name: str) -> bool:
    return type_name.startswith(("STRUCT", "MAP", "JSON")) or type_name.endswith("]")


def run_duckdb(
    *,
    fmt: RollupFormat,
    kind: FileKind,
    paths: Sequence[str],
    out_dir: Path,
    threads: int | None = None,
    memory_limit_gib: float | None = None,
) -> Counts:
    """Roll up with DuckDB, writing `out_dir/day=YYYY-MM-DD/*.parquet`; returns the row counts.

    `memory_limit_gib` caps DuckDB's memory (default: 80 % of RAM); past it the de-duplication and the
    grouping spill to a temporary folder, so a shared machine keeps room for its other work.
    """
    spill = tempfile.mkdtemp(prefix="opentco-rollup-spill-")  # not DuckDB's default `.tmp` in the caller's folder
    con = duckdb.connect(config={"temp_directory": spill})
    try:
        con.execute("SET TimeZone = 'UTC'")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if memory_limit_gib:
            con.execute(f"SET memory_limit = '{int(memory_limit_gib * 1024)}MiB'")
            con.execute("SET preserve_insertion_order = false")  # lets big sorts and windows spill
        _duckdb_raw(con, fmt, kind, paths)
        columns = [r[0] for r in con.execute("DESCRIBE raw").fetchall()]
        counts = [(o, r, int(n)) for o, r, n in con.execute(counts_sql(fmt, columns)).fetchall()]
        con.execute(f"CREATE TEMP TABLE result AS {rollup_sql(fmt, columns)}")  # hourly totals: small
        con.table("result").write_parquet(str(out_dir), partition_by=["day"])
        (kept,) = con.execute("SELECT coalesce(sum(source_rows), 0) FROM result").fetchone()  # type: ignore[misc]
        return [*counts, ("kept", None, int(kept))]
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def read_duckdb(out_dir: Path) -> list[tuple[Any, ...]]:
    """Every row of a rollup folder, sorted (for comparing engines)."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(
            "SELECT * EXCLUDE (day), CAST(day AS VARCHAR) AS day FROM read_parquet($glob, hive_partitioning = true) "
            "ORDER BY ALL",
            {"glob": str(out_dir / "**" / "*.parquet")},
        ).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------- Spark


def spark_session(master: str | None = None) -> Any:
    """A Spark session: Spark Connect when `SPARK_REMOTE` is set, else `master` (default `local[*]`).

    Raises:
        ImportError: pyspark is not installed (`pip install 'opentco[spark]'`).
    """
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("opentco-rollup")
    if os.environ.get("SPARK_REMOTE") and not master:
        builder = builder.remote(os.environ["SPARK_REMOTE"])
    else:
        builder = builder.master(master or "local[*]").config("spark.ui.enabled", "false")
        builder = builder.config("spark.ui.showConsoleProgress", "false")
        if (master or "local").startswith("local"):  # 200 shuffle partitions is a cluster's default, not a laptop's
            builder = builder.config("spark.sql.shuffle.partitions", "8")
    return (
        builder.config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )


def _spark_raw(spark: Any, fmt: RollupFormat, kind: FileKind, paths: Sequence[str]) -> None:
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, MapType, StructType

    if kind == "csv":
        df = spark.read.option("header", True).option("multiLine", True).option("escape", '"').csv(list(paths))
    elif kind == "jsonl":
        df = spark.read.text(list(paths)).withColumnRenamed("value", "line")
    else:
        typed = spark.read.option("mergeSchema", True).parquet(*paths)
        if fmt.shape == "json_lines":
            df = typed.select(F.to_json(F.struct(*[F.col(f"`{c}`") for c in typed.columns])).alias("line"))
        else:
            df = typed.select(
                *[
                    (
                        F.to_json(F.col(f"`{f.name}`"))
                        if isinstance(f.dataType, StructType | MapType | ArrayType)
                        else F.col(f"`{f.name}`").cast("string")
                    ).alias(f.name)
                    for f in typed.schema.fields
                ]
            )
    df.createOrReplaceTempView("raw")


def run_spark(
    *, fmt: RollupFormat, kind: FileKind, paths: Sequence[str], out_dir: str, master: str | None = None
) -> Counts:
    """Roll up with Spark, writing `out_dir/day=YYYY-MM-DD/part-*.parquet` (any path Spark writes)."""
    spark = spark_session(master)
    _spark_raw(spark, fmt, kind, paths)
    columns = spark.table("raw").columns
    counts = [(r[0], r[1], int(r[2])) for r in spark.sql(for_engine(counts_sql(fmt, columns), "spark")).collect()]
    result = spark.sql(for_engine(rollup_sql(fmt, columns), "spark")).cache()  # hourly totals: small
    try:
        result.write.mode("errorifexists").partitionBy("day").parquet(out_dir)
        kept = result.agg({"source_rows": "sum"}).collect()[0][0] or 0
    finally:
        result.unpersist()
    return [*counts, ("kept", None, int(kept))]
