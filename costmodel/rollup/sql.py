"""The rollup as SQL, written once in DuckDB's dialect and transpiled by sqlglot for Spark.

Three statements, all over a relation `raw` that an engine makes from the input files (every column text; for
JSON-lines formats a single column `line`):

- `source_sql`: the format's fields, named as the format names them (`src`);
- `rollup_sql`: normalise (the format's `SELECT`), keep usage rows, drop repeated request ids, and total by
  hour × provider × model × project × user, in the columns the generic Parquet importer reads, plus the
  `day` partition and a bucket key as `request_id` (so importing the same bucket twice stores it once);
- `counts_sql`: what happened to the rows (skipped, rejected by reason, usage), in one pass.

`for_engine(sql, "spark")` is the only place the dialects meet.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Literal

from costmodel.rollup.formats import RollupFormat

__all__ = ["Dialect", "counts_sql", "for_engine", "rollup_sql", "source_sql"]

Dialect = Literal["duckdb", "spark"]

_NORM_COLUMNS = (
    "ts",
    "provider",
    "model",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "requests",
    "cost_usd",
    "project",
    '"user"',
    "request_id",
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def source_sql(fmt: RollupFormat, raw_columns: Iterable[str]) -> str:
    """`SELECT` of the format's fields out of `raw` (fields a file lacks are NULL; header case is ignored)."""
    if fmt.shape == "json_lines":
        fields = [
            f"json_extract_string(line, {_literal(path)}) AS {_quote(name)}" for name, path in fmt.columns.items()
        ]
    else:
        present = {c.lower(): c for c in raw_columns}
        fields = [
            f"CAST({_quote(present[header.lower()])} AS VARCHAR) AS {_quote(name)}"
            if header.lower() in present
            else f"CAST(NULL AS VARCHAR) AS {_quote(name)}"
            for name, header in fmt.columns.items()
        ]
    return "SELECT " + ", ".join(fields) + " FROM raw"


def _normalised(fmt: RollupFormat, raw_columns: Iterable[str]) -> str:
    return f"WITH src AS ({source_sql(fmt, raw_columns)}), norm AS ({fmt.select})"


def rollup_sql(fmt: RollupFormat, raw_columns: Iterable[str]) -> str:
    """The hourly totals, one row per hour × provider × model × project × user, ready to write as Parquet."""
    cols = ", ".join(_NORM_COLUMNS)
    order = ", ".join(c for c in _NORM_COLUMNS if c != "request_id")
    hour = "date_trunc('hour', ts)"
    key = (
        f"concat_ws(chr(31), CAST({hour} AS VARCHAR), coalesce(provider, ''), model, "
        "coalesce(project, ''), coalesce(\"user\", ''))"
    )
    return f"""{_normalised(fmt, raw_columns)},
good AS (SELECT {cols} FROM norm WHERE skip IS NULL AND reject IS NULL),
ranked AS (
    SELECT {cols}, row_number() OVER (PARTITION BY request_id ORDER BY {order}) AS copy
    FROM good WHERE request_id IS NOT NULL
),
kept AS (
    SELECT {cols} FROM good WHERE request_id IS NULL
    UNION ALL
    SELECT {cols} FROM ranked WHERE copy = 1
)
SELECT CAST({hour} AS TIMESTAMPTZ) AS "timestamp",
       provider, model, project, "user",
       CAST(sum(input_tokens) AS BIGINT) AS input_tokens,
       CAST(sum(cached_input_tokens) AS BIGINT) AS cached_input_tokens,
       CAST(sum(output_tokens) AS BIGINT) AS output_tokens,
       CAST(sum(requests) AS BIGINT) AS requests,
       CAST(sum(cost_usd) AS DOUBLE) AS cost_usd,
       CAST(count(*) AS BIGINT) AS source_rows,
       'rollup-' || substr(sha256({key}), 1, 40) AS request_id,
       CAST(CAST({hour} AS DATE) AS VARCHAR) AS day
FROM kept
GROUP BY {hour}, provider, model, project, "user"
"""


def counts_sql(fmt: RollupFormat, raw_columns: Iterable[str]) -> str:
    """What happened to the rows, in one pass: `(outcome, reason, rows)` with outcome `skipped`, `rejected`
    (one row per reason) or `usage` (before repeated request ids are dropped: the rollup's `source_rows` say
    how many were kept)."""
    return f"""{_normalised(fmt, raw_columns)}
SELECT CASE WHEN skip IS NOT NULL THEN 'skipped' WHEN reject IS NOT NULL THEN 'rejected' ELSE 'usage' END AS outcome,
       CASE WHEN skip IS NULL THEN reject END AS reason,
       count(*) AS n
FROM norm
GROUP BY 1, 2
"""


@functools.lru_cache(maxsize=64)
def for_engine(sql: str, dialect: Dialect) -> str:
    """The statement in the engine's dialect: as written for DuckDB, transpiled by sqlglot for Spark."""
    if dialect == "duckdb":
        return sql
    import sqlglot  # only the Spark path needs it

    (out,) = sqlglot.transpile(sql, read="duckdb", write="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)
    return out
