"""`opentco rollup`: usage logs too big to import row by row, totalled by hour on DuckDB or Spark."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from costmodel.cli._common import echo_json, user_errors
from costmodel.rollup import FORMATS, rollup

__all__ = ["register"]

_FORMATS = ", ".join(FORMATS)


@user_errors
def rollup_cmd(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Log files or folders of one kind (CSV, Parquet, JSON lines); with Spark any path it reads "
            "(s3a://, abfss://, gs://, hdfs://).",
            show_default=False,
        ),
    ],
    out: Annotated[str, typer.Option("--out", help="New folder for the day-partitioned Parquet.")],
    format_name: Annotated[
        str | None, typer.Option("--format", help=f"Skip detection and read the inputs as: {_FORMATS}.")
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="duckdb (this machine) or spark (local[*], a cluster, Spark Connect).")
    ] = "duckdb",
    master: Annotated[
        str | None, typer.Option("--master", help="Spark master URL (default local[*]; SPARK_REMOTE for Connect).")
    ] = None,
    memory_limit_gib: Annotated[
        float | None,
        typer.Option("--memory-limit-gib", min=0.25, help="DuckDB's memory cap in GiB; past it DuckDB spills to disk."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Normalise usage logs and total them by hour × provider × model × project × user.

    The output folder holds `day=YYYY-MM-DD/*.parquet` in the generic columns: import its files with
    `opentco import` (each bucket is stored once, however often it is imported).
    """
    chosen: Literal["duckdb", "spark"] = "spark" if engine == "spark" else "duckdb"
    if engine not in ("duckdb", "spark"):
        from costmodel.rollup import RollupError

        raise RollupError(f"unknown engine {engine!r}; choose duckdb or spark")
    result = rollup(
        inputs, out_dir=out, format_name=format_name, engine=chosen, master=master, memory_limit_gib=memory_limit_gib
    )
    if as_json:
        echo_json(result.model_dump())
        return
    typer.echo(result.summary())
    for reason, n in sorted(result.rows_rejected.items()):
        typer.echo(f"  rejected {n:,}: {reason}")


def register(app: typer.Typer) -> None:
    """Add `rollup` to `app`."""
    app.command("rollup")(rollup_cmd)
