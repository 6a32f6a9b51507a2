"""The documented generic format, as CSV or Parquet, read by DuckDB itself for speed.

Columns (names case-insensitive, order free, other columns ignored and never stored):

| column                | required | meaning                                                             |
|-----------------------|----------|---------------------------------------------------------------------|
| `timestamp`           | yes      | ISO 8601 (`2025-03-01T14:05:00Z`); no offset means UTC              |
| `model`               | yes      | model id as the provider names it (`gpt-4o`)                        |
| `input_tokens`        | yes      | all prompt tokens, cached ones included                             |
| `output_tokens`       | yes      | completion tokens                                                   |
| `cached_input_tokens` | no       | part of `input_tokens` read from the prompt cache (default 0)       |
| `requests`            | no       | requests the row stands for (default 1)                             |
| `cost_usd`            | no       | cost the source reported, USD                                       |
| `provider`            | no       | genai-prices provider id (`openai`, `anthropic`, `aws` …)           |
| `project`, `user`     | no       | who the usage belongs to                                            |
| `request_id`          | no       | unique id; rows repeating an id already stored are skipped          |

Bad rows are found in SQL: a fast typed read is tried first and, if any value is bad, a careful text read
names every bad row (its line counts the header as line 1 and skips blank lines).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, ClassVar

import pyarrow as pa
import pyarrow.parquet as pq

from costmodel.errors import BadLogRow, ImportRejected
from costmodel.importers._base import ColumnarImporter, CsvImporter, ParsedRow, csv_header, register
from costmodel.importers.records import (
    EARLIEST_TS,
    FUTURE_TOLERANCE,
    MAX_TOKENS_PER_ROW,
    SECRET_PATTERN,
    make_record,
)

__all__ = ["COLUMNS", "GenericCsv", "GenericParquet"]

COLUMNS: dict[str, bool] = {
    "timestamp": True,
    "model": True,
    "input_tokens": True,
    "output_tokens": True,
    "cached_input_tokens": False,
    "requests": False,
    "cost_usd": False,
    "provider": False,
    "project": False,
    "user": False,
    "request_id": False,
}
"""Generic column name → required."""

_TYPES = {
    "timestamp": "TIMESTAMPTZ",
    "input_tokens": "BIGINT",
    "output_tokens": "BIGINT",
    "cached_input_tokens": "BIGINT",
    "requests": "BIGINT",
    "cost_usd": "DOUBLE",
}
_DOC = "costmodel/importers/generic.py"  # documented here, in the module docstring
_CSV_OPTS = "header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"'"
_LIMITS = (
    f"TIMESTAMP '{EARLIEST_TS:%Y-%m-%d %H:%M:%S}'",  # compared as TIMESTAMPTZ in the session's UTC
    f"INTERVAL {int(FUTURE_TOLERANCE.total_seconds())} SECOND",
    str(MAX_TOKENS_PER_ROW),
)


def _columns(names: list[str], *, file: str) -> dict[str, str]:
    """Header names → canonical names, checking required ones are present and none repeats."""
    out: dict[str, str] = {}
    for i, raw in enumerate(names):
        key = raw.strip().lower()
        if key in COLUMNS:
            if key in out.values():
                raise BadLogRow(file=file, line=1, column=raw, reason="the column appears twice in the header")
            out[raw] = key
        else:
            out[raw] = f"_extra_{i}"
    missing = [c for c, req in COLUMNS.items() if req and c not in out.values()]
    if missing:
        raise BadLogRow(
            file=file,
            line=1,
            column=missing[0],
            reason=f"missing required column(s) {', '.join(missing)} (header has: {', '.join(names[:20])}); "
            "the generic format needs timestamp, model, input_tokens, output_tokens",
        )
    return out


def _redacted(col: str) -> str:
    # Cheap length test first: short labels cannot hold a key, and the regex then never runs.
    return (
        f"CASE WHEN length({col}) >= 16 AND regexp_matches({col}, $secret) "
        f"THEN 'redacted-' || left(sha256({col}), 12) ELSE {col} END"
    )


def _label(col: str, present: set[str], *, fast: bool) -> str:
    if col not in present:
        return "NULL::VARCHAR"
    # The typed reader already reads an empty cell as NULL.
    return _redacted(col if fast else f"nullif({col}, '')")


def _utc(col: str) -> str:
    """TIMESTAMPTZ → naive UTC TIMESTAMP without a time-zone lookup per row (epoch microseconds are UTC)."""
    return f"make_timestamp(epoch_us({col}))"


def _fast_sql(present: set[str], source: str) -> str:
    """Typed read; `reject_reason` is non-NULL for any row the careful path would reject or change.

    Per-row string functions cost as much as parsing the column, so nothing is trimmed or lower-cased here:
    a value that would need it (a padded model name) sends the file to the careful path instead.
    """
    earliest, future, max_tok = _LIMITS

    cached = "coalesce(cached_input_tokens, 0)" if "cached_input_tokens" in present else "0::BIGINT"
    requests = "coalesce(requests, 1)" if "requests" in present else "1::BIGINT"
    cost = "cost_usd" if "cost_usd" in present else "NULL::DOUBLE"
    provider = "provider" if "provider" in present else "NULL::VARCHAR"
    checks = [
        "timestamp IS NULL",
        f"timestamp < {earliest}::TIMESTAMPTZ",
        f"timestamp > now() + {future}",
        "model IS NULL OR length(model) > 300 OR model LIKE ' %' OR model LIKE '% '",
        f"input_tokens IS NULL OR input_tokens < 0 OR input_tokens > {max_tok}",
        f"output_tokens IS NULL OR output_tokens < 0 OR output_tokens > {max_tok}",
        f"{cached} < 0 OR {cached} > input_tokens",
    ]
    if "provider" in present:
        checks.append("provider LIKE ' %' OR provider LIKE '% '")
    if "requests" in present:
        checks.append(f"requests < 0 OR requests > {max_tok}")
    if "cost_usd" in present:
        checks.append("NOT isfinite(cost_usd) OR cost_usd < 0 OR cost_usd > 1e10")
    reason = "CASE WHEN " + " OR ".join(f"({c})" for c in checks) + " THEN 'bad value' END"
    return f"""
        SELECT {_utc("timestamp")} AS ts, {provider} AS provider, model,
               input_tokens, {cached} AS cached_input_tokens, output_tokens, {requests} AS requests,
               {cost}::DECIMAL(18, 8) AS reported_cost_usd,
               {_label("project", present, fast=True)} AS project, {_label("user", present, fast=True)} AS user,
               {_label("request_id", present, fast=True)} AS request_id,
               NULL::BIGINT AS line, NULL::VARCHAR AS reject_column, {reason} AS reject_reason,
               NULL::VARCHAR AS reject_value
        FROM {source}"""


def _tok_checks(col: str, *, required: bool) -> list[tuple[str, str]]:
    """(condition, reason) pairs for a token column read as text."""
    v, d = f"trim({col})", f"TRY_CAST(trim({col}) AS DOUBLE)"
    out = []
    if required:
        out.append((f"{col} IS NULL OR {v} = ''", "'missing'"))
    out += [
        (f"{v} <> '' AND {d} IS NULL", "'not a number'"),
        (f"isnan({d})", "'NaN is not a token count'"),
        (f"NOT isfinite({d})", "'infinite is not a token count'"),
        (f"{d} < 0", "'negative token count'"),
        (f"{d} <> floor({d})", "'not a whole number'"),
        (f"{d} > {_LIMITS[2]}", "'implausibly large (unit error?)'"),
    ]
    return out


def _careful_sql(present: set[str], source: str) -> str:
    """Text read naming every bad row: line, column, reason and the offending value."""
    earliest, future, _ = _LIMITS
    ts_num = "TRY_CAST(trim(timestamp) AS DOUBLE)"
    # ISO 8601 text; epoch seconds (or milliseconds) are accepted too.
    ts = (
        f"coalesce(TRY_CAST(trim(timestamp) AS TIMESTAMPTZ), CASE WHEN {ts_num} BETWEEN 0 AND 1e11 "
        f"THEN to_timestamp({ts_num}) WHEN {ts_num} BETWEEN 1e11 AND 1e14 THEN to_timestamp({ts_num} / 1000) END)"
    )
    checks: list[tuple[str, str, str]] = [
        ("timestamp", "timestamp IS NULL OR trim(timestamp) = ''", "'missing'"),
        ("timestamp", "ts_parsed IS NULL", "'not an ISO 8601 timestamp'"),
        ("timestamp", f"ts_parsed < {earliest}::TIMESTAMPTZ", "'before 2020: check the unit or time zone'"),
        ("timestamp", f"ts_parsed > now() + {future}", "'in the future'"),
        ("model", "model IS NULL OR trim(model) = ''", "'missing'"),
        ("model", "length(trim(model)) > 300", "'longer than 300 characters'"),
    ]
    for col in ("input_tokens", "output_tokens", "cached_input_tokens", "requests"):
        if col in present:
            checks += [(col, c, r) for c, r in _tok_checks(col, required=COLUMNS[col])]
    if "cached_input_tokens" in present:
        checks.append(
            (
                "cached_input_tokens",
                "TRY_CAST(trim(cached_input_tokens) AS DOUBLE) > TRY_CAST(trim(input_tokens) AS DOUBLE)",
                "'more cached tokens than input tokens'",
            )
        )
    if "cost_usd" in present:
        c = "TRY_CAST(trim(cost_usd) AS DOUBLE)"
        checks += [
            ("cost_usd", f"trim(cost_usd) <> '' AND {c} IS NULL", "'not a number'"),
            ("cost_usd", f"NOT isfinite({c})", "'not a finite number'"),
            ("cost_usd", f"{c} < 0", "'negative cost'"),
            ("cost_usd", f"{c} > 1e10", "'implausibly large'"),
        ]
    column = "CASE " + " ".join(f"WHEN {cond} THEN '{col}'" for col, cond, _ in checks) + " END"
    reason = "CASE " + " ".join(f"WHEN {cond} THEN {r}" for _, cond, r in checks) + " END"
    value = "CASE " + " ".join(f"WHEN {cond} THEN {_redacted(f'left({col}, 80)')}" for col, cond, _ in checks) + " END"

    def int_of(col: str, default: str) -> str:
        return f"coalesce(TRY_CAST(TRY_CAST(nullif(trim({col}), '') AS DOUBLE) AS BIGINT), {default})"

    cached = int_of("cached_input_tokens", "0") if "cached_input_tokens" in present else "0::BIGINT"
    requests = int_of("requests", "1") if "requests" in present else "1::BIGINT"
    cost = "TRY_CAST(nullif(trim(cost_usd), '') AS DOUBLE)" if "cost_usd" in present else "NULL::DOUBLE"
    provider = "nullif(trim(provider), '')" if "provider" in present else "NULL::VARCHAR"
    return f"""
        WITH parsed AS (SELECT *, {ts} AS ts_parsed FROM {source}),
        judged AS (SELECT *, {column} AS reject_column, {reason} AS reject_reason, {value} AS reject_value
                   FROM parsed)
        SELECT {_utc("ts_parsed")} AS ts, {provider} AS provider, trim(model) AS model,
               {int_of("input_tokens", "0")} AS input_tokens, {cached} AS cached_input_tokens,
               {int_of("output_tokens", "0")} AS output_tokens, {requests} AS requests,
               CASE WHEN isfinite({cost}) AND {cost} BETWEEN 0 AND 1e10 THEN {cost}::DECIMAL(18, 8) END
                   AS reported_cost_usd,
               {_label("project", present, fast=False)} AS project, {_label("user", present, fast=False)} AS user,
               {_label("request_id", present, fast=False)} AS request_id,
               line, reject_column, reject_reason, reject_value
        FROM judged"""


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _params(extra: dict[str, object]) -> dict[str, object]:
    return {"secret": SECRET_PATTERN, **extra}


def _row(get: Callable[[str], str | None], *, file: str, line: int) -> ParsedRow:
    """The generic columns of one row (any source) as a record."""
    cols = {c: c for c in COLUMNS}
    cols.update(ts="timestamp", reported_cost_usd="cost_usd")
    return make_record(
        file=file,
        line=line,
        columns=cols,
        ts=get("timestamp"),
        provider=(get("provider") or "").strip() or None,
        model=(get("model") or "").strip(),
        input_tokens=get("input_tokens"),
        cached_input_tokens=get("cached_input_tokens") or 0,
        output_tokens=get("output_tokens"),
        requests=1 if get("requests") in (None, "") else get("requests"),
        reported_cost_usd=get("cost_usd"),
        project=get("project"),
        user=get("user"),
        request_id=get("request_id"),
    )


@register
class GenericCsv(CsvImporter, ColumnarImporter):
    """The documented generic CSV (see the module docstring); DuckDB parses it."""

    name = "generic-csv"
    title = "generic usage CSV"
    doc_url = _DOC
    priority = 90
    required: ClassVar[tuple[str, ...]] = tuple(c for c, req in COLUMNS.items() if req)
    signature = required

    def sniff(self, head: bytes, filename: str) -> bool:
        # Looser than the required columns, so that a generic file missing one is told which, not "unknown".
        cols = {c.lower() for c in csv_header(head) or []}
        return {"timestamp", "model"} <= cols and any(c.endswith("_tokens") for c in cols)

    def sniff_columns(self, columns: list[str]) -> bool:
        return False  # a Parquet file with the generic columns is `generic-parquet`'s (read by DuckDB)

    def row(self, get: Callable[[str], str | None], *, file: str, line: int) -> ParsedRow:
        return _row(get, file=file, line=line)

    def _header(self, path: Path, file: str) -> dict[str, str]:
        with path.open("rb") as fp:
            head = fp.read(65536)
        names = csv_header(head)
        if not names:
            raise ImportRejected(f"{file}: no CSV header line; the generic format starts with a header row")
        return _columns(names, file=file)

    def fast_select(self, *, path: Path, file: str) -> tuple[str, dict[str, object]]:
        mapping = self._header(path, file)
        types = {canon: _TYPES.get(canon, "VARCHAR") for canon in mapping.values()}
        src = f"read_csv($path, columns = $columns, {_CSV_OPTS})"
        return _fast_sql(set(mapping.values()), src), _params({"path": str(path), "columns": types})

    def careful_select(self, *, path: Path, file: str) -> tuple[str, dict[str, object]]:
        mapping = self._header(path, file)
        types = {canon: "VARCHAR" for canon in mapping.values()}
        # Blank lines are skipped by the reader; ragged rows are padded so every row gets a verdict.
        src = (
            "(SELECT row_number() OVER () + 1 AS line, * FROM read_csv($path, columns = $columns, "
            f"{_CSV_OPTS}, null_padding = true, strict_mode = false, parallel = false))"
        )
        return _careful_sql(set(mapping.values()), src), _params({"path": str(path), "columns": types})


@register
class GenericParquet(ColumnarImporter):
    """The documented generic columns in a Parquet file; DuckDB reads it."""

    name = "generic-parquet"
    title = "generic usage Parquet"
    doc_url = _DOC
    priority = 90

    def sniff(self, head: bytes, filename: str) -> bool:
        return head[:4] == b"PAR1"

    def sniff_columns(self, columns: list[str]) -> bool:
        return True  # the catch-all for Parquet: a file missing a generic column is told which

    def _schema(self, path: Path, file: str) -> dict[str, str]:
        try:
            names = pq.ParquetFile(path).schema_arrow.names
        except (pa.ArrowException, OSError) as ex:
            raise ImportRejected(f"{file}: not a readable Parquet file ({ex})") from None
        return _columns(names, file=file)

    def _select_list(self, mapping: dict[str, str], type_of: Callable[[str], str]) -> str:
        # Column names come from the file; identifiers cannot be bound, so they are quoted (" doubled).
        return ", ".join(
            f"CAST({_quote_ident(raw)} AS {type_of(canon)}) AS {canon}"
            for raw, canon in mapping.items()
            if not canon.startswith("_extra_")
        )

    def fast_select(self, *, path: Path, file: str) -> tuple[str, dict[str, object]]:
        mapping = self._schema(path, file)
        cols = self._select_list(mapping, lambda canon: _TYPES.get(canon, "VARCHAR"))
        src = f"(SELECT {cols} FROM read_parquet($path))"
        return _fast_sql(set(mapping.values()), src), _params({"path": str(path)})

    def careful_select(self, *, path: Path, file: str) -> tuple[str, dict[str, object]]:
        mapping = self._schema(path, file)
        cols = self._select_list(mapping, lambda canon: "VARCHAR")
        src = f"(SELECT row_number() OVER () AS line, {cols} FROM read_parquet($path))"
        return _careful_sql(set(mapping.values()), src), _params({"path": str(path)})

    def parse(self, fp: IO[bytes], *, file: str) -> Iterator[ParsedRow]:
        try:
            pf = pq.ParquetFile(fp)
        except (pa.ArrowException, OSError) as ex:
            raise ImportRejected(f"{file}: not a readable Parquet file ({ex})") from None
        mapping = _columns(pf.schema_arrow.names, file=file)
        line = 0
        for batch in pf.iter_batches(batch_size=65536):
            for rec in batch.to_pylist():
                line += 1
                values = {canon: rec[raw] for raw, canon in mapping.items()}

                def get(col: str, _v: dict[str, object] = values) -> str | None:
                    v = _v.get(col)
                    return None if v is None else v if isinstance(v, str) else str(v)

                yield _row(get, file=file, line=line)
