"""The importer interface, its registry and the readers every format shares (CSV rows, JSON documents)."""

from __future__ import annotations

import abc
import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, ClassVar, TypeVar

from costmodel.errors import BadLogRow, ImportRejected, UnknownLogFormat
from costmodel.importers.records import UsageRecord

__all__ = [
    "IMPORTERS",
    "CacheHit",
    "ColumnarImporter",
    "CsvImporter",
    "CsvOrJsonImporter",
    "Extra",
    "Importer",
    "JsonImporter",
    "ParsedRow",
    "Skip",
    "csv_header",
    "detect_format",
    "get_importer",
    "items",
    "iter_json_documents",
    "json_field",
    "parquet_columns",
    "records_of",
    "register",
]


class Skip:
    """A row that is valid but not token usage (a tax line, a failed call, a span): counted, not stored."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class CacheHit(Skip):
    """A request a gateway answered from its own response cache: no provider was called, so it is not provider
    usage. Kept apart (`usage_cache_hits`) and shown as "served from the proxy cache"."""

    __slots__ = ("record",)

    def __init__(self, record: UsageRecord) -> None:
        super().__init__("served from the proxy's response cache")
        self.record = record


class Extra(abc.ABC):
    """Rows for a format's own tables (a metrics file's instances and latency buckets): stored by `store` in the
    import's transaction, after its usage rows, so they come and go with the import."""

    @abc.abstractmethod
    def store(self, con: Any, import_id: int) -> None:
        """Insert the rows (`con` is the import's DuckDB connection, inside its transaction)."""


ParsedRow = UsageRecord | BadLogRow | Skip | Extra
"""What `Importer.parse` yields for each row of the source (and, for some formats, once: an `Extra`)."""


class Importer(abc.ABC):
    """One log format: how to recognise it from its first bytes and how to read it into `UsageRecord`s."""

    name: ClassVar[str]
    """Short id used by `--format` (`openai-usage-api`)."""
    title: ClassVar[str]
    """What a person calls the file."""
    doc_url: ClassVar[str]
    """Public documentation of the format the importer follows."""
    priority: ClassVar[int] = 50
    """Detection order: lower is tried first (catch-all formats such as the generic CSV go last)."""

    @abc.abstractmethod
    def sniff(self, head: bytes, filename: str) -> bool:
        """True when the first bytes of a file (up to 64 KiB, decompressed) look like this format."""

    def sniff_columns(self, columns: list[str]) -> bool:
        """True when a Parquet file with these column names is in this format (its schema sits in the footer,
        so detection reads it rather than the first bytes)."""
        return False

    @abc.abstractmethod
    def parse(self, fp: IO[bytes], *, file: str) -> Iterator[ParsedRow]:
        """Read the whole file: one record, `BadLogRow` or `Skip` per row.

        File-level problems (missing columns, invalid JSON, not UTF-8) are raised as `BadLogRow` or
        `ImportRejected`; row-level problems are yielded so they can be counted and the rest imported.
        """


class ColumnarImporter(Importer):
    """A format DuckDB reads itself (big CSV, Parquet), validated and normalised in SQL for speed.

    Both statements select the columns of `usage_events` (less `import_id`) plus `line`, `reject_column`,
    `reject_reason` and `reject_value`. The fast one may fail on the first bad value (the caller then runs
    the careful one); the careful one never fails on a value and names every bad row.
    """

    @abc.abstractmethod
    def fast_select(self, *, path: Path, file: str) -> tuple[str, dict[str, object]]:
        """Typed read that raises on any bad value; `line` and the reject columns may be NULL."""

    @abc.abstractmethod
    def careful_select(self, *, path: Path, file: str) -> tuple[str, dict[str, object]]:
        """Text read that reports every bad value with its line."""


IMPORTERS: list[Importer] = []
"""Every known format, in detection order (specific formats first, the generic ones last)."""


_I = TypeVar("_I", bound=type[Importer])


def register(cls: _I) -> _I:
    """Class decorator: add one instance of an importer to `IMPORTERS`."""
    if any(i.name == cls.name for i in IMPORTERS):
        raise ValueError(f"importer {cls.name!r} registered twice")
    IMPORTERS.append(cls())
    IMPORTERS.sort(key=lambda i: i.priority)  # stable: equal priorities keep registration order
    return cls


def get_importer(name: str) -> Importer:
    """The importer called `name`; `UnknownLogFormat` lists the known names otherwise."""
    for imp in IMPORTERS:
        if imp.name == name.strip().lower():
            return imp
    raise UnknownLogFormat(f"unknown format {name!r}; use one of: {', '.join(i.name for i in IMPORTERS)}")


def detect_format(head: bytes, filename: str, *, columns: list[str] | None = None) -> Importer:
    """The first importer whose `sniff` accepts the file's first bytes (for Parquet: its column names).

    >>> detect_format(b"timestamp,model,input_tokens,output_tokens\\n", "x.csv").name
    'generic-csv'

    Args:
        head: the first bytes of the file (decompressed).
        filename: its name (without `.gz`).
        columns: a Parquet file's column names, read from its footer; when None and the head holds the whole
            Parquet file, they are read from the head.

    Raises:
        UnknownLogFormat: no importer recognises the content; the message shows what was seen.
    """
    if head[:4] == b"PAR1":
        cols = columns if columns is not None else parquet_columns(io.BytesIO(head))
        if cols is not None:
            for imp in IMPORTERS:
                if imp.sniff_columns(cols):
                    return imp
    from costmodel.measure.result_files import benchmark_file_hint  # lazy: the measure package is heavier

    if (hint := benchmark_file_hint(head, filename)) is not None:
        raise UnknownLogFormat(hint)  # a benchmark result, not a log: say where it belongs before any importer guesses
    for imp in IMPORTERS:
        if imp.sniff(head, filename):
            return imp
    first = head.split(b"\n", 1)[0][:120].decode("utf-8", "replace").strip()
    raise UnknownLogFormat(
        f"{filename}: not a usage log format OpenTCO knows (first line: {first!r}). Known formats: "
        f"{', '.join(i.name for i in IMPORTERS)}. If detection guessed wrong, name the format (--format NAME, or "
        "the Format list on the Usage logs page), or convert the file to the generic CSV (timestamp, model, "
        "input_tokens, output_tokens, …)."
    )


# ---------------------------------------------------------------- shared readers


def parquet_columns(source: IO[bytes] | Path) -> list[str] | None:
    """Column names of a Parquet file (None when it is not a readable Parquet file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return list(pq.ParquetFile(source).schema_arrow.names)
    except (pa.ArrowException, OSError, ValueError):
        return None


_BULK_COLUMNS = frozenset({"input", "output", "messages", "response", "prompt", "completion", "proxy_server_request"})
"""Prompt and response columns: never stored by any importer, and by far the biggest, so a Parquet read skips them."""


def iter_parquet_rows(fp: IO[bytes], *, file: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, row as a dict) of a Parquet file, read in batches; nested maps and structs become dicts.

    Prompt and response columns (`_BULK_COLUMNS`) are not read at all.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(fp)
        wanted = [n for n in pf.schema_arrow.names if n.strip().lower() not in _BULK_COLUMNS]
        line = 0
        for batch in pf.iter_batches(batch_size=8192, columns=wanted):
            # column by column (several times faster than row by row); maps (Langfuse's usage_details) as dicts, as
            # the JSON export has them, a repeated key keeping the last
            cols = batch.to_pydict(maps_as_pydicts="lossy")
            names = list(cols)
            for values in zip(*cols.values(), strict=True):
                line += 1
                yield line, dict(zip(names, values, strict=True))
    except (pa.ArrowException, OSError, ValueError) as ex:
        raise ImportRejected(f"{file}: not a readable Parquet file ({str(ex)[:200]})") from None


def _text_head(head: bytes) -> str:
    return head.decode("utf-8-sig", "ignore")


def csv_header(head: bytes) -> list[str] | None:
    """Column names of a CSV file's first line (None when the head is not CSV-like)."""
    text = _text_head(head)
    if not text or text.lstrip()[:1] in ("{", "["):
        return None
    line = text.splitlines()[0] if text.splitlines() else ""
    if "," not in line:
        return None
    try:
        row = next(csv.reader([line]))
    except csv.Error:
        return None
    return [c.strip() for c in row]


def json_keys_present(head: bytes, *keys: str) -> bool:
    """True when every `"key"` appears in the head of a JSON (or JSON-lines) file."""
    text = _text_head(head).lstrip()
    if text[:1] not in ("{", "["):
        return False
    return all(re.search(r'"' + re.escape(k) + r'"\s*:', text) for k in keys)


class _Utf8Reader(io.TextIOBase):
    """Decode UTF-8 strictly, turning a decoding error into an `ImportRejected` naming the line."""

    def __init__(self, fp: IO[bytes], file: str) -> None:
        self._fp, self._file, self._line = fp, file, 1
        self._dec = codecs.getincrementaldecoder("utf-8-sig")("strict")

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        chunk = self._fp.read(65536 if size is None or size < 0 else max(size, 1))
        try:
            text = self._dec.decode(chunk, final=not chunk)
        except UnicodeDecodeError as ex:
            good = chunk[: ex.start].count(b"\n")
            raise ImportRejected(
                f"{self._file}: not UTF-8 text (invalid byte at line {self._line + good}); re-export it as UTF-8"
            ) from None
        self._line += text.count("\n")
        return text

    def __iter__(self) -> Iterator[str]:
        # Only the new chunk is split; the pieces of an unfinished line wait in a list and are joined once
        # its newline arrives, so a file without line breaks (minified JSON) is read in linear time.
        pending: list[str] = []
        while True:
            chunk = self.read(65536)
            if not chunk:
                break
            *lines, rest = chunk.split("\n")
            if lines:
                pending.append(lines[0])
                yield "".join(pending) + "\n"
                for ln in lines[1:]:
                    yield ln + "\n"
                pending = []
            if rest:
                pending.append(rest)
        if pending:
            yield "".join(pending)


class CsvImporter(Importer):
    """A CSV export read row by row; subclasses name their columns and map one row to a record."""

    required: ClassVar[tuple[str, ...]]
    """Columns that must be in the header (matched case-insensitively)."""
    signature: ClassVar[tuple[str, ...]]
    """Columns whose presence identifies the format."""

    def sniff(self, head: bytes, filename: str) -> bool:
        cols = {c.lower() for c in csv_header(head) or []}
        return all(s.lower() in cols for s in self.signature)

    def sniff_columns(self, columns: list[str]) -> bool:
        cols = {c.strip().lower() for c in columns}
        return all(s.lower() in cols for s in self.signature)

    @abc.abstractmethod
    def row(self, get: Callable[[str], Any], *, file: str, line: int) -> ParsedRow:
        """Turn one row into a record; `get(column)` returns the cell (None when the column is absent)."""

    def parse(self, fp: IO[bytes], *, file: str) -> Iterator[ParsedRow]:
        magic = fp.read(4)
        fp.seek(0)
        if magic == b"PAR1":
            yield from self._parse_parquet(fp, file=file)
            return
        reader = csv.reader(_Utf8Reader(fp, file))
        try:
            header = next(reader)
        except StopIteration:
            raise ImportRejected(f"{file}: the file is empty") from None
        except csv.Error as ex:
            raise BadLogRow(file=file, line=1, column=None, reason=f"unreadable CSV header: {ex}") from None
        index = {name.strip().lower(): i for i, name in enumerate(header)}
        missing = [c for c in self.required if c.lower() not in index]
        if missing:
            raise BadLogRow(
                file=file,
                line=1,
                column=missing[0],
                reason=f"missing column(s) {', '.join(missing)} required by the {self.title} format "
                f"(header has: {', '.join(h.strip() for h in header[:20])})",
            )
        width = len(header)
        line = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as ex:
                raise BadLogRow(file=file, line=reader.line_num, column=None, reason=f"unreadable CSV: {ex}") from None
            line = reader.line_num
            if not cells or cells == [""]:
                continue
            if len(cells) != width:
                yield BadLogRow(
                    file=file,
                    line=line,
                    column=None,
                    reason=f"expected {width} columns, found {len(cells)} (truncated or unquoted comma?)",
                )
                continue

            def get(col: str, _cells: list[str] = cells) -> str | None:
                i = index.get(col.lower())
                return None if i is None else _cells[i]

            yield self.row(get, file=file, line=line)

    def _parse_parquet(self, fp: IO[bytes], *, file: str) -> Iterator[ParsedRow]:
        """The same rows from a Parquet file (exports offered as CSV or Parquet share their column names)."""
        first = True
        for line, row in iter_parquet_rows(fp, file=file):
            if first:
                names = {k.strip().lower() for k in row}
                missing = [c for c in self.required if c.lower() not in names]
                if missing:
                    raise BadLogRow(
                        file=file,
                        line=1,
                        column=missing[0],
                        reason=f"missing column(s) {', '.join(missing)} required by the {self.title} format",
                    )
                first = False
            yield self.row(_getter(row), file=file, line=line)


def iter_json_documents(fp: IO[bytes], *, file: str, limit_bytes: int) -> Iterator[tuple[int, Any]]:
    """(line, document) pairs: each line of a JSON-lines file, or the one document of a JSON file.

    JSON lines are streamed; a whole JSON document is read into memory only up to `limit_bytes`. Invalid JSON
    raises `BadLogRow` naming the line (a truncated file ends in one).
    """
    reader = _Utf8Reader(fp, file)
    lines = iter(reader)
    first = ""
    first_no = 0
    for first_no, first in enumerate(lines, start=1):  # noqa: B007 - the loop finds the first non-blank line
        if first.strip():
            break
    else:
        raise ImportRejected(f"{file}: the file is empty")
    try:
        doc = json.loads(first)
    except json.JSONDecodeError:
        doc = None
    if doc is not None and isinstance(doc, dict):
        # JSON lines: one document per line.
        yield first_no, doc
        for n, ln in enumerate(lines, start=first_no + 1):
            if not ln.strip():
                continue
            try:
                yield n, json.loads(ln)
            except json.JSONDecodeError as ex:
                raise _bad_json(file, n, ex) from None
        return
    text = [first]
    size = len(first)
    for ln in lines:
        size += len(ln)
        if size > limit_bytes:
            raise ImportRejected(
                f"{file}: a JSON document larger than {limit_bytes // 1024**2} MiB; split it or export JSON lines"
            )
        text.append(ln)
    whole = "".join(text)
    try:
        doc = json.loads(whole)
    except json.JSONDecodeError as ex:
        if ex.msg != "Extra data":
            raise _bad_json(file, first_no - 1 + ex.lineno, ex) from None
        # Several documents one after the other (`cat page1.json page2.json`): each is read in turn.
        yield from _concatenated(whole, file=file, first_line=first_no)
        return
    yield first_no, doc


def _concatenated(text: str, *, file: str, first_line: int) -> Iterator[tuple[int, Any]]:
    """(line, document) of JSON documents written back to back, separated by nothing but white space."""
    decoder = json.JSONDecoder()
    pos, line, size = 0, first_line, len(text)
    while True:
        start = pos
        while pos < size and text[pos] in " \t\r\n":
            pos += 1
        line += text.count("\n", start, pos)
        if pos >= size:
            return
        try:
            doc, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as ex:
            raise _bad_json(file, line + text.count("\n", pos, ex.pos), ex) from None
        yield line, doc
        line += text.count("\n", pos, end)
        pos = end


def _bad_json(file: str, line: int, ex: json.JSONDecodeError) -> BadLogRow:
    return BadLogRow(
        file=file,
        line=line,
        column=None,
        reason=f"invalid JSON: {ex.msg} at character {ex.colno} (is the file truncated?)",
    )


class JsonImporter(Importer):
    """JSON lines, a JSON array or one JSON document; subclasses walk each document."""

    max_document_bytes: ClassVar[int] = 512 * 1024**2
    """Largest single JSON document read into memory (JSON-lines files are streamed and have no limit)."""

    @abc.abstractmethod
    def rows(self, doc: Any, *, file: str, line: int) -> Iterator[ParsedRow]:
        """Walk one document (`line` is where it starts: its line in JSON lines, 1 for a whole file)."""

    def parse(self, fp: IO[bytes], *, file: str) -> Iterator[ParsedRow]:
        for line, doc in iter_json_documents(fp, file=file, limit_bytes=self.max_document_bytes):
            yield from self.rows(doc, file=file, line=line)


class CsvOrJsonImporter(CsvImporter):
    """A format exported both as CSV and as JSON (an array or JSON lines of objects with the same keys)."""

    def sniff(self, head: bytes, filename: str) -> bool:
        return super().sniff(head, filename) or json_keys_present(head, *self.signature)

    def parse(self, fp: IO[bytes], *, file: str) -> Iterator[ParsedRow]:
        start = fp.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        fp.seek(0)
        if start not in (b"{", b"["):
            yield from super().parse(fp, file=file)
            return
        for line, doc in iter_json_documents(fp, file=file, limit_bytes=JsonImporter.max_document_bytes):
            for n, obj in records_of(doc, line):
                if not isinstance(obj, dict):
                    yield BadLogRow(file=file, line=n, column=None, reason="expected a JSON object per record")
                    continue
                yield self.row(_getter(obj), file=file, line=n)


def _getter(obj: dict[str, Any]) -> Callable[[str], Any]:
    lower = {k.lower(): k for k in obj}

    def get(col: str) -> Any:
        key = col if col in obj else lower.get(col.lower())
        return None if key is None else obj[key]

    return get


def json_field(v: Any) -> Any:
    """A nested JSON value that CSV exports store as text (`{"input": 3}`): parsed, or None if it is not JSON."""
    if isinstance(v, str):
        t = v.strip()
        if t[:1] in ("{", "["):
            try:
                return json.loads(t)
            except json.JSONDecodeError:
                return None
        return None
    return v


def _is_envelope(doc: Any) -> bool:
    """An API page: `{"data": [records…], …}` plus paging fields (`meta`, `total`, `has_more`, `next_page` …)."""
    return isinstance(doc, dict) and isinstance(doc.get("data"), list)


def records_of(doc: Any, line: int) -> Iterator[tuple[int, Any]]:
    """(number, record) of a document that is a record, a list of records, an API page `{"data": [...]}` (Langfuse
    `meta`, LiteLLM `total`/`page`) or a list of such pages; records of pages are numbered 1… across the document.
    """
    pages = doc if isinstance(doc, list) and doc and all(_is_envelope(d) for d in doc) else [doc]
    if not any(_is_envelope(p) for p in pages):
        yield from items(doc, line)
        return
    n = 0
    for page in pages:
        for rec in page["data"]:
            n += 1
            yield n, rec


def items(doc: Any, line: int) -> Iterator[tuple[int, Any]]:
    """(row number, item) of a document that is one record (numbered `line`) or a list of them (numbered 1…)."""
    if isinstance(doc, list):
        yield from enumerate(doc, start=1)
    else:
        yield line, doc


def num(obj: Any, *keys: str) -> Any:
    """The first present, non-null value among `keys` of a dict (None when the object is not a dict)."""
    if not isinstance(obj, dict):
        return None
    for k in keys:
        v = obj.get(k)
        if v is not None:
            return v
    return None


def int_or_zero(v: Any) -> Any:
    """Empty → 0; anything else is left for the record's validation to judge."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return 0
    return v


def add_tokens(*vals: Any) -> Any:
    """Sum token counts that may be empty; a non-numeric part is returned as is so validation rejects it."""
    total = 0
    for v in vals:
        v = int_or_zero(v)
        if isinstance(v, bool):
            return v
        if isinstance(v, int):
            total += v
            continue
        if isinstance(v, float) and v.is_integer():
            total += int(v)
            continue
        if isinstance(v, str):
            s = v.strip()
            if re.fullmatch(r"[+-]?\d+(\.0*)?", s):
                total += int(s.split(".")[0])
                continue
        return v
    return total
