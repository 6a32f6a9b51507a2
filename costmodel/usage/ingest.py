"""Import usage-log files into the store: all of a file or none of it, each file once, each request once.

`import_file` checks the size limits, expands a `.gz` (capped), detects the format, reads the rows (DuckDB
for the generic CSV/Parquet, the format's Python parser otherwise), rejects bad rows with a reason, drops
rows whose request id is already stored, and commits the lot in one transaction together with its line in
`imports`. A file whose content (SHA-256) was imported before is not imported again. Anything that goes
wrong leaves the database exactly as it was, a process killed mid-import included. Imports in one process
take turns (`costmodel.store.writing`): concurrent ones would each miss the other's request ids.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import re
import tempfile
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import duckdb
import pyarrow as pa
from pydantic import Field

from costmodel._base import StrictModel
from costmodel.audit import Actor, AuditAction, record_in_transaction
from costmodel.errors import BadLogRow, ImportRejected
from costmodel.importers import CacheHit, ColumnarImporter, Extra, Importer, Skip, detect_format, get_importer
from costmodel.importers._base import parquet_columns
from costmodel.importers.records import ImportLimits, UsageRecord, redact
from costmodel.store import writing

__all__ = [
    "ImportRecord",
    "ImportResult",
    "RejectedRow",
    "RowsRejected",
    "import_file",
    "import_history",
    "reject_csv",
]

_HEAD_BYTES = 65536
_BATCH_ROWS = 50_000
_HASH_INLINE_BYTES = 256 * 1024**2
"""Files up to this size are hashed before importing (so a repeat is skipped at once); bigger ones are hashed
in a background thread while DuckDB reads them, and a repeat is rolled back at the end."""
_CENT = Decimal("0.00000001")
_EVENT_COLUMNS = (
    "ts, provider, model, input_tokens, cached_input_tokens, output_tokens, requests, reported_cost_usd, "
    "project, user, request_id"
)
"""What every importer provides; the columnar (SQL) ones stop here and the cache-write columns default to 0."""
_RECORD_COLUMNS = _EVENT_COLUMNS + ", cache_write_5m_tokens, cache_write_1h_tokens"


class RejectedRow(StrictModel):
    """One row that was not imported, and why."""

    line: int | None
    """Line in the file (header = line 1) or record number in a JSON document."""
    column: str | None
    """Source column at fault, when one is."""
    reason: str
    value: str | None = None
    """The offending value, truncated (secrets redacted)."""


class ImportResult(StrictModel):
    """What importing one file did."""

    file_name: str
    format: str
    sha256: str
    size_bytes: Annotated[int, Field(ge=0)]
    import_id: int | None
    """Id in `imports`; for a repeat, the id of the earlier import of the same content."""
    already_imported: bool = False
    """True when the same content had been imported before and nothing was done."""
    rows_imported: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    """Rows whose request id was already stored (in this file or an earlier one)."""
    rows_skipped: int = 0
    """Rows that are not token usage (tax or credit lines, failed calls, non-LLM spans, proxy cache hits)."""
    rows_cache_hits: int = 0
    """Of the skipped rows, requests a gateway answered from its own cache (kept apart in `usage_cache_hits`)."""
    rejects: list[RejectedRow] = Field(default_factory=list)
    """The first rejected rows (up to `ImportLimits.max_stored_rejects`)."""

    def reject_csv(self) -> bytes:
        """The rejected rows as CSV (file, line, column, reason, value), UTF-8."""
        return _reject_csv_bytes(self.file_name, self.rejects)

    def summary(self) -> str:
        """One line for people: what was stored and what was not."""
        if self.already_imported:
            return f"{self.file_name}: already imported (import #{self.import_id}); nothing to do"
        parts = [f"{_n(self.rows_imported, 'row')} imported ({self.format})"]
        if self.rows_duplicate:
            parts.append(f"{_n(self.rows_duplicate, 'duplicate request id')} skipped")
        if self.rows_cache_hits:
            parts.append(f"{_n(self.rows_cache_hits, 'request')} served from the proxy cache (kept apart)")
        if self.rows_skipped - self.rows_cache_hits:
            parts.append(f"{_n(self.rows_skipped - self.rows_cache_hits, 'non-usage row')} skipped")
        if self.rows_rejected:
            parts.append(f"{_n(self.rows_rejected, 'row')} rejected")
        return f"{self.file_name}: " + ", ".join(parts)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


class RowsRejected(ImportRejected):
    """Every row of a file was rejected, so nothing was stored; `result` carries the reject file."""

    def __init__(self, result: ImportResult) -> None:
        self.result = result
        first = result.rejects[0] if result.rejects else None
        where = ""
        if first is not None:
            col = f", column {first.column!r}" if first.column else ""
            shown = f" (got {first.value!r})" if first.value not in (None, "") else ""
            where = f"; first: row {first.line}{col}: {first.reason}{shown}"
        super().__init__(
            f"{result.file_name}: all {result.rows_rejected:,} rows rejected, nothing imported{where}. "
            "The reject file lists every row."
        )


class ImportRecord(StrictModel):
    """One line of the import history."""

    id: int
    file_name: str
    sha256: str
    format: str
    size_bytes: int
    row_count: int
    rejected_count: int
    duplicate_count: int
    skipped_count: int
    imported_at: datetime
    """UTC."""


# ---------------------------------------------------------------- reading the upload


@dataclass
class _Source:
    name: str
    """File name as the user gave it (shown in messages)."""
    sniff_name: str
    """Name without `.gz`, for format detection."""
    path: Path
    """The (expanded) content on disk."""
    head: bytes
    size_bytes: int
    _sha: Future[str] | str

    def sha256(self) -> str:
        return self._sha if isinstance(self._sha, str) else self._sha.result()


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fp:
        while chunk := fp.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _gunzip(src: Path, dst: Path, *, file: str, limit: int) -> None:
    written = 0
    try:
        with gzip.open(src, "rb") as zin, dst.open("wb") as out:
            while chunk := zin.read(1 << 20):
                written += len(chunk)
                if written > limit:
                    raise ImportRejected(
                        f"{file}: expands past the {_size(limit)} limit for compressed files; "
                        "split the log or raise the limit"
                    )
                out.write(chunk)
    except (OSError, EOFError, zlib.error) as ex:
        raise ImportRejected(f"{file}: damaged .gz file ({ex}); download it again") from None


@contextlib.contextmanager
def _materialise(source: str | Path | bytes, *, file_name: str | None, limits: ImportLimits) -> Iterator[_Source]:
    with tempfile.TemporaryDirectory(prefix="opentco-import-") as tmp, ThreadPoolExecutor(1) as pool:
        if isinstance(source, bytes):
            name = file_name or "upload"
            size = len(source)
            if size > limits.max_file_bytes:
                raise ImportRejected(_too_big(name, size, limits))
            path = Path(tmp) / "upload"
            path.write_bytes(source)
            sha: Future[str] | str = hashlib.sha256(source).hexdigest()
        else:
            path = Path(source)
            name = file_name or path.name
            try:
                size = path.stat().st_size
            except OSError as ex:
                raise ImportRejected(f"{name}: cannot read the file ({ex.strerror})") from None
            if size > limits.max_file_bytes:
                raise ImportRejected(_too_big(name, size, limits))
            sha = _hash_file(path) if size <= _HASH_INLINE_BYTES else pool.submit(_hash_file, path)
        if size == 0:
            raise ImportRejected(f"{name}: the file is empty")
        with path.open("rb") as fp:
            magic = fp.read(2)
        sniff_name = name
        if magic == b"\x1f\x8b":
            plain = Path(tmp) / "expanded"
            _gunzip(path, plain, file=name, limit=limits.max_expanded_bytes)
            path, sniff_name = plain, re.sub(r"\.gz$", "", name, flags=re.IGNORECASE)
        with path.open("rb") as fp:
            head = fp.read(_HEAD_BYTES)
        if not head.strip(b" \t\r\n\xef\xbb\xbf"):
            raise ImportRejected(f"{name}: the file is empty")
        yield _Source(name=name, sniff_name=sniff_name, path=path, head=head, size_bytes=size, _sha=sha)


def _size(n: int) -> str:
    return f"{n / 1024**2:,.0f} MiB" if n >= 1024**2 else f"{n:,} bytes"


def _too_big(name: str, size: int, limits: ImportLimits) -> str:
    return (
        f"{name}: {_size(size)} is past the {_size(limits.max_file_bytes)} limit for one file; "
        "split it (or gzip it) and import the parts"
    )


# ---------------------------------------------------------------- loading rows


@dataclass
class _Counts:
    rejected: int = 0
    skipped: int = 0
    cache_hits: int = 0


class _Batch:
    """Records collected into columns and inserted as one Arrow table."""

    _SCHEMA = pa.schema(
        [
            ("ts", pa.timestamp("us")),
            ("provider", pa.string()),
            ("model", pa.string()),
            ("input_tokens", pa.int64()),
            ("cached_input_tokens", pa.int64()),
            ("output_tokens", pa.int64()),
            ("requests", pa.int64()),
            ("reported_cost_usd", pa.decimal128(18, 8)),
            ("project", pa.string()),
            ("user", pa.string()),
            ("request_id", pa.string()),
            ("cache_write_5m_tokens", pa.int64()),
            ("cache_write_1h_tokens", pa.int64()),
        ]
    )

    def __init__(self) -> None:
        self.cols: dict[str, list[object]] = {f.name: [] for f in self._SCHEMA}

    def __len__(self) -> int:
        return len(self.cols["ts"])

    def add(self, r: UsageRecord) -> None:
        c = self.cols
        c["ts"].append(r.ts)
        c["provider"].append(r.provider)
        c["model"].append(r.model)
        c["input_tokens"].append(r.input_tokens)
        c["cached_input_tokens"].append(r.cached_input_tokens)
        c["output_tokens"].append(r.output_tokens)
        c["requests"].append(r.requests)
        cost = r.reported_cost_usd
        c["reported_cost_usd"].append(None if cost is None else cost.quantize(_CENT))
        c["project"].append(r.project)
        c["user"].append(r.user)
        c["request_id"].append(r.request_id)
        c["cache_write_5m_tokens"].append(r.cache_write_5m_tokens)
        c["cache_write_1h_tokens"].append(r.cache_write_1h_tokens)

    def flush(self, con: duckdb.DuckDBPyConnection, import_id: int) -> None:
        if not len(self):
            return
        table = pa.table(self.cols, schema=self._SCHEMA)
        con.register("_usage_batch", table)
        try:
            con.execute(
                f"INSERT INTO usage_events ({_RECORD_COLUMNS}, import_id) "
                f"SELECT {_RECORD_COLUMNS}, ? FROM _usage_batch",
                [import_id],
            )
        finally:
            con.unregister("_usage_batch")
        self.cols = {k: [] for k in self.cols}


def _load_records(
    con: duckdb.DuckDBPyConnection,
    importer: Importer,
    src: _Source,
    import_id: int,
    rejects: list[RejectedRow],
    cap: int,
) -> _Counts:
    counts, batch, hits = _Counts(), _Batch(), []
    extras: list[Extra] = []
    with src.path.open("rb") as fp:
        try:
            for item in importer.parse(fp, file=src.name):
                if isinstance(item, UsageRecord):
                    batch.add(item)
                    if len(batch) >= _BATCH_ROWS:
                        batch.flush(con, import_id)
                elif isinstance(item, BadLogRow):
                    counts.rejected += 1
                    if len(rejects) < cap:
                        rejects.append(RejectedRow(line=item.line, column=item.column, reason=item.reason))
                elif isinstance(item, Skip):
                    counts.skipped += 1
                    if isinstance(item, CacheHit):
                        counts.cache_hits += 1
                        hits.append(item.record)
                        if len(hits) >= _BATCH_ROWS:
                            _store_cache_hits(con, hits, import_id)
                            hits = []
                elif isinstance(item, Extra):
                    extras.append(item)
        except RecursionError:
            # `json.loads` of `[[[[…` thousands deep (a hostile file) overflows the parser's recursion limit
            raise ImportRejected(
                f"{src.name}: JSON nested thousands of levels deep; no usage log looks like that, check the file"
            ) from None
    batch.flush(con, import_id)
    _store_cache_hits(con, hits, import_id)
    for extra in extras:
        extra.store(con, import_id)
    return counts


def _store_cache_hits(con: duckdb.DuckDBPyConnection, hits: list[UsageRecord], import_id: int) -> None:
    """Requests a gateway served from its own cache: kept in `usage_cache_hits`, never in `usage_events`."""
    if not hits:
        return
    con.executemany(
        "INSERT INTO usage_cache_hits (ts, provider, model, input_tokens, output_tokens, requests, request_id, "
        "import_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [h.ts, h.provider, h.model, h.input_tokens, h.output_tokens, h.requests, h.request_id, import_id]
            for h in hits
        ],
    )


def _bind(sql: str, params: dict[str, object]) -> dict[str, object]:
    """Only the parameters the statement uses (DuckDB refuses extra named parameters)."""
    return {k: v for k, v in params.items() if re.search(r"\$" + re.escape(k) + r"\b", sql)}


def _load_fast(con: duckdb.DuckDBPyConnection, importer: ColumnarImporter, src: _Source, import_id: int) -> _Counts:
    sql, params = importer.fast_select(path=src.path, file=src.name)
    stmt = (
        f"INSERT INTO usage_events ({_EVENT_COLUMNS}, import_id) SELECT {_EVENT_COLUMNS}, $import_id FROM ({sql}) "
        "WHERE CASE WHEN reject_reason IS NULL THEN TRUE ELSE error('opentco: row rejected') END"
    )
    con.execute(stmt, _bind(stmt, {**params, "import_id": import_id}))
    return _Counts()


def _load_careful(
    con: duckdb.DuckDBPyConnection,
    importer: ColumnarImporter,
    src: _Source,
    import_id: int,
    rejects: list[RejectedRow],
    cap: int,
) -> _Counts:
    sql, params = importer.careful_select(path=src.path, file=src.name)
    stmt = f"CREATE OR REPLACE TEMP TABLE _usage_stage AS {sql}"
    try:
        con.execute(stmt, _bind(stmt, params))
        rejected = con.execute("SELECT count(*) FROM _usage_stage WHERE reject_reason IS NOT NULL").fetchall()[0]
        rows = con.execute(
            "SELECT line, reject_column, reject_reason, reject_value FROM _usage_stage "
            "WHERE reject_reason IS NOT NULL ORDER BY line LIMIT ?",
            [cap],
        ).fetchall()
        rejects.extend(RejectedRow(line=ln, column=c, reason=r, value=v) for ln, c, r, v in rows)
        con.execute(
            f"INSERT INTO usage_events ({_EVENT_COLUMNS}, import_id) SELECT {_EVENT_COLUMNS}, ? FROM _usage_stage "
            "WHERE reject_reason IS NULL",
            [import_id],
        )
    finally:
        # after a failed statement the transaction is aborted and the rollback drops the table anyway
        with contextlib.suppress(duckdb.Error):
            con.execute("DROP TABLE IF EXISTS _usage_stage")
    return _Counts(rejected=int(rejected[0]) if rejected else 0)


def _duckdb_problem(file: str, ex: duckdb.Error) -> ImportRejected:
    msg = str(ex)
    line = re.search(r"Line: (\d+)", msg)
    at = f" (line {line.group(1)})" if line else ""
    if "unicode" in msg.lower() or "utf-8" in msg.lower():
        return ImportRejected(f"{file}: not UTF-8 text{at}; re-export it as UTF-8")
    first = msg.splitlines()[0] if msg else type(ex).__name__
    first = re.sub(r"^[A-Za-z ]*Error: ", "", first)
    return ImportRejected(f"{file}: cannot read the file{at}: {first[:300]}")


# ---------------------------------------------------------------- one import, one transaction


def _dedup(con: duckdb.DuckDBPyConnection, import_id: int) -> int:
    """Delete this import's rows whose request id is already stored or repeats within it; return how many."""
    with_ids, lo, hi = con.execute(
        "SELECT count(request_id), min(ts), max(ts) FROM usage_events WHERE import_id = ?", [import_id]
    ).fetchall()[0]
    if not with_ids:
        return 0
    removed = 0
    others = con.execute("SELECT count(*) FROM imports").fetchall()[0]
    if others and others[0]:
        # Only earlier rows in the same time range can repeat these ids (zone maps prune the rest).
        n = con.execute(
            """
            DELETE FROM usage_events WHERE import_id = $id AND request_id IN (
                SELECT request_id FROM usage_events
                WHERE import_id <> $id AND request_id IS NOT NULL AND ts BETWEEN $lo AND $hi)
            """,
            {"id": import_id, "lo": lo - timedelta(days=1), "hi": hi + timedelta(days=1)},
        ).fetchall()[0]
        removed += int(n[0]) if n else 0
    # Distinct 64-bit hashes prove distinct ids (cheaper than comparing strings); fewer hashes than ids means
    # duplicates or, rarely, a collision, and the exact DELETE below sorts out which.
    dupes = con.execute(
        "SELECT count(request_id) - count(DISTINCT hash(request_id)) FROM usage_events WHERE import_id = ?",
        [import_id],
    ).fetchall()[0]
    if dupes and dupes[0]:
        n = con.execute(
            """
            DELETE FROM usage_events WHERE import_id = $id AND request_id IS NOT NULL AND rowid NOT IN (
                SELECT min(rowid) FROM usage_events WHERE import_id = $id AND request_id IS NOT NULL
                GROUP BY request_id)
            """,
            {"id": import_id},
        ).fetchall()[0]
        removed += int(n[0]) if n else 0
    return removed


def _dedup_cache_hits(con: duckdb.DuckDBPyConnection, import_id: int) -> None:
    """Cache hits whose request id is already stored (the same log exported as CSV and JSON) are dropped."""
    con.execute(
        """
        DELETE FROM usage_cache_hits WHERE import_id = $id AND request_id IS NOT NULL AND (
            request_id IN (SELECT request_id FROM usage_cache_hits WHERE import_id <> $id AND request_id IS NOT NULL)
            OR rowid NOT IN (SELECT min(rowid) FROM usage_cache_hits WHERE import_id = $id AND request_id IS NOT NULL
                             GROUP BY request_id))
        """,
        {"id": import_id},
    )


def _redact_labels(con: duckdb.DuckDBPyConnection, import_id: int) -> None:
    """Redact model and provider names that look like an API key (a key pasted into the wrong column).

    Every importer redacts project, user and request id as it reads them, but not every one redacts model and
    provider (the generic CSV/Parquet SQL reads them as they are); both hold a handful of distinct values per
    import, so they are checked here once per value rather than once per row.
    """
    for column in ("model", "provider"):  # fixed identifiers, never user input
        values = con.execute(
            f"SELECT DISTINCT {column} FROM usage_events WHERE import_id = ? AND {column} IS NOT NULL", [import_id]
        ).fetchall()
        for (value,) in values:
            if (label := redact(value)) != value:
                con.execute(
                    f"UPDATE usage_events SET {column} = ? WHERE import_id = ? AND {column} = ?",
                    [label, import_id, value],
                )


def _roll_up(con: duckdb.DuckDBPyConnection, import_id: int) -> None:
    """Hourly totals of this import (integer hour keys: grouping by them is several times cheaper than date_trunc)."""
    con.execute(
        """
        INSERT INTO usage_hourly (hour, import_id, rows, rows_without_requests, midnight_rows, input_tokens,
                                  cached_input_tokens, output_tokens, requests, reported_cost_usd,
                                  cache_write_5m_tokens, cache_write_1h_tokens)
        SELECT make_timestamp(h * 3600000000), $id, n, n - with_requests, midnight, i, c, o, r, cost, w5, w1
        FROM (
            SELECT epoch_us(ts) // 3600000000 AS h, count(*) AS n, count(requests) AS with_requests,
                   count(*) FILTER (epoch_us(ts) % 86400000000 = 0) AS midnight,
                   sum(input_tokens) AS i, sum(cached_input_tokens) AS c, sum(output_tokens) AS o,
                   sum(requests) AS r, sum(reported_cost_usd) AS cost,
                   sum(cache_write_5m_tokens) AS w5, sum(cache_write_1h_tokens) AS w1
            FROM usage_events WHERE import_id = $id GROUP BY 1)
        """,
        {"id": import_id},
    )


def _previous(con: duckdb.DuckDBPyConnection, sha: str) -> int | None:
    row = next(iter(con.execute("SELECT id FROM imports WHERE sha256 = ?", [sha]).fetchall()), None)
    return int(row[0]) if row else None


def import_file(
    con: duckdb.DuckDBPyConnection,
    source: str | Path | bytes,
    *,
    file_name: str | None = None,
    format_name: str | None = None,
    limits: ImportLimits | None = None,
    actor: Actor | None = None,
) -> ImportResult:
    """Import one usage-log file (plain or .gz) in one transaction.

    Args:
        con: an open store connection (`costmodel.store.connect()`); its session time zone is set to UTC.
        source: a path, or the file's bytes (an upload).
        file_name: the name shown in messages and the history (default: the path's name).
        format_name: an importer name (`opentco import --format`); None detects the format from the content.
        limits: size limits (default `ImportLimits()`).
        actor: who imports, with sign-in on: the audit line is written in the import's own transaction, so
            the trail holds it exactly when the rows are stored (a repeat of a stored file writes none).

    Returns:
        Counts of imported, rejected, duplicate and skipped rows, and the first rejected rows.

    Raises:
        UnknownLogFormat: no importer recognises the file.
        ImportRejected: the file as a whole is refused (too big, empty, not UTF-8, damaged, every row bad).
        BadLogRow: the file's structure is wrong (missing column, invalid JSON), naming line and column.
    """
    limits = limits or ImportLimits()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    with _materialise(source, file_name=file_name, limits=limits) as src:
        columns = parquet_columns(src.path) if src.head[:4] == b"PAR1" else None
        importer = (
            get_importer(format_name) if format_name else detect_format(src.head, src.sniff_name, columns=columns)
        )
        # One import at a time per process, from the hash check to the commit: DuckDB's snapshots would let
        # two concurrent imports each miss the other's file hash and request ids and store both (see
        # costmodel.store). Expanding and hashing the upload above stay concurrent.
        with writing():
            if isinstance(src._sha, str) and (prev := _previous(con, src._sha)) is not None:
                return _repeat(src, importer, prev)
            import_id = int(con.execute("SELECT nextval('imports_id_seq')").fetchall()[0][0])
            attempts: list[bool] = [False, True] if isinstance(importer, ColumnarImporter) else [True]
            for careful in attempts:
                try:
                    return _import_once(con, importer, src, limits, import_id=import_id, careful=careful, actor=actor)
                except duckdb.Error as ex:
                    if not careful:
                        continue  # a bad value in the fast typed read: redo it row by row
                    raise _duckdb_problem(src.name, ex) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _repeat(src: _Source, importer: Importer, prev: int) -> ImportResult:
    return ImportResult(
        file_name=src.name,
        format=importer.name,
        sha256=src.sha256(),
        size_bytes=src.size_bytes,
        import_id=prev,
        already_imported=True,
    )


def _import_once(
    con: duckdb.DuckDBPyConnection,
    importer: Importer,
    src: _Source,
    limits: ImportLimits,
    *,
    import_id: int,
    careful: bool,
    actor: Actor | None = None,
) -> ImportResult:
    rejects: list[RejectedRow] = []
    cap = limits.max_stored_rejects
    con.execute("BEGIN TRANSACTION")
    try:
        if not isinstance(importer, ColumnarImporter):
            counts = _load_records(con, importer, src, import_id, rejects, cap)
        elif careful:
            counts = _load_careful(con, importer, src, import_id, rejects, cap)
        else:
            counts = _load_fast(con, importer, src, import_id)
        sha = src.sha256()
        if (prev := _previous(con, sha)) is not None:
            con.execute("ROLLBACK")
            return _repeat(src, importer, prev)
        _redact_labels(con, import_id)
        duplicates = _dedup(con, import_id)
        if counts.cache_hits:
            _dedup_cache_hits(con, import_id)
        _roll_up(con, import_id)
        stored = con.execute("SELECT count(*) FROM usage_events WHERE import_id = ?", [import_id]).fetchall()[0]
        n_rows = int(stored[0]) if stored else 0
        result = ImportResult(
            file_name=src.name,
            format=importer.name,
            sha256=sha,
            size_bytes=src.size_bytes,
            import_id=import_id,
            rows_imported=n_rows,
            rows_rejected=counts.rejected,
            rows_duplicate=duplicates,
            rows_skipped=counts.skipped,
            rows_cache_hits=counts.cache_hits,
            rejects=rejects,
        )
        if n_rows == 0 and counts.rejected:
            raise RowsRejected(result.model_copy(update={"import_id": None}))
        if n_rows == 0 and not duplicates and not counts.cache_hits:
            what = f" ({counts.skipped:,} rows are not token usage)" if counts.skipped else ""
            raise ImportRejected(f"{src.name}: no usage rows to import{what}")
        con.execute(
            "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                import_id,
                src.name,
                sha,
                importer.name,
                src.size_bytes,
                n_rows,
                counts.rejected,
                duplicates,
                counts.skipped,
                datetime.now(UTC).replace(tzinfo=None),
            ],
        )
        if rejects:
            con.executemany(
                "INSERT INTO import_rejects VALUES (?, ?, ?, ?, ?)",
                [[import_id, r.line, r.column, r.reason, r.value] for r in rejects],
            )
        if actor is not None:
            record_in_transaction(
                con, actor, action=AuditAction.IMPORT, subject=src.name, sha256=sha, rows=n_rows
            )  # fmt: skip
        con.execute("COMMIT")
        return result
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


# ---------------------------------------------------------------- history and reject files


def import_history(con: duckdb.DuckDBPyConnection) -> list[ImportRecord]:
    """Every import, newest first."""
    rows = con.execute(
        "SELECT id, file_name, sha256, format, size_bytes, row_count, rejected_count, duplicate_count, "
        "skipped_count, imported_at FROM imports ORDER BY id DESC"
    ).fetchall()
    keys = list(ImportRecord.model_fields)
    return [ImportRecord(**dict(zip(keys, r, strict=True))) for r in rows]


def reject_csv(con: duckdb.DuckDBPyConnection, import_id: int) -> bytes:
    """The reject file of an earlier import (the rows kept, up to `ImportLimits.max_stored_rejects`)."""
    name = next(iter(con.execute("SELECT file_name FROM imports WHERE id = ?", [import_id]).fetchall()), None)
    rows = con.execute(
        "SELECT line, column_name, reason, value FROM import_rejects WHERE import_id = ? ORDER BY line", [import_id]
    ).fetchall()
    rejects = [RejectedRow(line=ln, column=c, reason=r, value=v) for ln, c, r, v in rows]
    return _reject_csv_bytes(name[0] if name else f"import {import_id}", rejects)


_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""Same as `costmodel.export.sanitize.FORMULA_TRIGGERS` (not imported: that package pulls in the workbook code)."""


_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _csv_cell(value: object) -> object:
    """A cell a spreadsheet will not run: text starting like a formula gets a leading `'` (OWASP's advice).

    A plain number such as `-5` (a rejected negative token count) is left as it is: it cannot be a formula.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _reject_csv_bytes(file_name: str, rejects: list[RejectedRow]) -> bytes:
    # Every text cell comes from the upload (its name, header, values) and may be a formula aimed at Excel.
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["file", "line", "column", "reason", "value"])
    for r in rejects:
        row = [file_name, r.line, r.column or "", r.reason, redact(r.value) or ""]
        w.writerow([_csv_cell(c) for c in row])
    return out.getvalue().encode()
