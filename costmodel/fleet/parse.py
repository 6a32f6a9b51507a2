"""Read Prometheus samples of inference servers: `/metrics` scrapes (text exposition) and `query_range` exports.

Text exposition format (https://prometheus.io/docs/instrumenting/exposition_formats/): one sample a line,
`name{label="value",…} value [timestamp_ms]`, `#` lines are comments. A scrape carries no time unless its samples
have timestamps, so several scrapes in one file are told apart by a comment holding the scrape time, written by
whoever saved them, e.g. `echo "# scrape_time $(date -u +%FT%TZ)"; curl -s host:8000/metrics`. Accepted: `# <time>`
or `# scrape_time <time>` (ISO 8601 or Unix seconds), optionally followed by `instance=<name>`.

`query_range` JSON (https://prometheus.io/docs/prometheus/latest/querying/api/#range-queries):
`{"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {…}, "values": [[t, "v"], …]}]}}`;
also accepted: an instant query (`"vector"`, `"value": [t, "v"]`), several responses in a JSON array or JSON lines
(a month at 15 s is more than Prometheus' 11,000 points per query, so exports come in pieces).

Why a small parser rather than `prometheus_client.parser`: that parser drops comments (so the scrape-time lines
above), builds a Python object per sample, and is not a dependency today; the grammar needed here is small. The
`query_range` reader finds each series' `values` array and converts its numbers with Arrow's CSV reader in one call,
then checks the rest of the document with the standard JSON parser: a month of 15-second samples is millions of
pairs, which `json.loads` would turn into millions of Python lists.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from costmodel.errors import BadLogRow, ImportRejected
from costmodel.fleet.metrics import PREFIXES, Kind, Role, classify
from costmodel.importers._base import _Utf8Reader, iter_json_documents
from costmodel.importers.records import redact

__all__ = ["SeriesKey", "SeriesSet", "parse_query_range", "parse_text", "sniff_query_range", "sniff_text"]

_MODEL_LABELS = ("model_name", "model", "model_id")
_INSTANCE_LABELS = ("instance", "pod", "hostname", "host")
_DROPPED = frozenset({"__name__", "le", *_MODEL_LABELS, *_INSTANCE_LABELS})
UNNAMED_MODEL = "(unnamed model)"
"""Model of series that carry no `model_name` label (TGI serves one model and does not label it)."""


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """One time series: what it measures, where, for which model, and its remaining labels."""

    role: Role
    kind: Kind
    base: str
    """Metric name without `_total`, `_bucket` or `_created`."""
    instance: str
    model: str
    labels: tuple[tuple[str, str], ...]
    """The other labels (`finished_reason`, `engine` …), sorted: different ones are different series."""
    le: float | None = None
    """Upper bound of a histogram bucket."""


@dataclass
class SeriesSet:
    """Samples gathered per series, in chunks (a series may come in several pieces)."""

    chunks: dict[SeriesKey, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    rejected: list[BadLogRow] = field(default_factory=list)

    def add(self, key: SeriesKey, t: np.ndarray, v: np.ndarray) -> None:
        self.chunks.setdefault(key, []).append((t, v))

    def series(self) -> Iterator[tuple[SeriesKey, np.ndarray, np.ndarray]]:
        """(key, times in Unix seconds ascending and unique, values) of each series; a repeated time keeps its last
        value (the same scrape or export read twice)."""
        for key, parts in self.chunks.items():
            t = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
            v = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
            ok = np.isfinite(t) & np.isfinite(v)  # NaN is Prometheus' staleness marker, not a value
            t, v = t[ok], v[ok]
            if len(t) > 1 and not bool(np.all(t[1:] > t[:-1])):
                order = np.argsort(t, kind="stable")
                t, v = t[order], v[order]
                last = np.append(t[1:] != t[:-1], True)
                t, v = t[last], v[last]
            if len(t):
                yield key, t, v


def _key(name: str, labels: dict[str, str], *, default_instance: str) -> SeriesKey | None:
    found = classify(name)
    if found is None:
        return None
    role, kind, base = found
    model = next((labels[k] for k in _MODEL_LABELS if labels.get(k)), UNNAMED_MODEL)
    instance = next((labels[k] for k in _INSTANCE_LABELS if labels.get(k)), default_instance)
    le: float | None = None
    if kind is Kind.BUCKET:
        try:
            le = float(labels.get("le", ""))
        except ValueError:
            return None
    rest = tuple(sorted((k, v) for k, v in labels.items() if k not in _DROPPED))
    return SeriesKey(role, kind, base, _label(instance), _label(model), rest, le)


@functools.lru_cache(maxsize=4096)
def _label(value: str) -> str:
    """A stored name: an API key pasted into a label is redacted (as every importer does), long text cut."""
    return (redact(value) or value)[:300]


def _stem(file: str) -> str:
    return PurePath(file).name.split(".")[0] or file


# ---------------------------------------------------------------- text exposition format

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\\n]|\\.)*)"\s*(?:,|(?=\}))')
_CLOSE = re.compile(r"\s*\}")
_TIME_COMMENT = re.compile(
    r"#\s*(?:(?:scrape[_ ]?time|scraped[_ ]at|timestamp|time)\s*[:=]?\s*)?(\S+)(?:\s+instance=(\S+))?\s*",
    re.IGNORECASE,
)
_UNESCAPE = re.compile(r"\\(.)")


def sniff_text(head: bytes) -> bool:
    """A scrape of vLLM, SGLang or TGI: a sample or `# TYPE` line of one of their metrics near the top."""
    text = head.decode("utf-8", "ignore")
    if text.lstrip()[:1] in ("{", "["):
        return False
    pattern = r"(?m)^(?:# (?:TYPE|HELP) )?(?:" + "|".join(re.escape(p) for p in PREFIXES) + r")[a-zA-Z0-9_:]*[{ ]"
    return re.search(pattern, text) is not None


def _when(text: str) -> float | None:
    """Unix seconds of an ISO 8601 time or a Unix timestamp (seconds, or milliseconds when that large)."""
    try:
        x = float(text)
    except ValueError:
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
    if not np.isfinite(x) or x <= 0:
        return None
    return x / 1000 if x > 1e11 else x


def _labels(text: str) -> tuple[dict[str, str], int] | None:
    """The label set at the start of `text` (which begins with `{`) and where it ends; None when malformed."""
    out: dict[str, str] = {}
    pos = 1
    while True:
        if (close := _CLOSE.match(text, pos)) is not None:
            return out, close.end()
        m = _LABEL.match(text, pos)
        if m is None:
            return None
        out[m.group(1)] = _UNESCAPE.sub(lambda e: "\n" if e.group(1) == "n" else e.group(1), m.group(2))
        pos = m.end()


def parse_text(fp: IO[bytes], *, file: str) -> SeriesSet:
    """Samples of one or many `/metrics` scrapes; lines of other metrics are passed over.

    Raises:
        ImportRejected: samples without a time (no timestamp and no scrape-time comment before them).
    """
    out = SeriesSet()
    acc: dict[SeriesKey, tuple[list[float], list[float]]] = {}
    known: dict[str, bool] = {}
    now: float | None = None
    instance = _stem(file)
    untimed = 0
    line_no = 0
    for raw in _Utf8Reader(fp, file):
        line_no += 1
        line = raw.strip()
        if not line:
            continue
        if line[0] == "#":
            if line[1:].lstrip()[:4] in ("HELP", "TYPE", "UNIT", "EOF"):
                continue
            m = _TIME_COMMENT.fullmatch(line)
            if m is not None and (t := _when(m.group(1))) is not None:
                now = t
                instance = m.group(2) or instance
            continue
        nm = _NAME.match(line)
        if nm is None:
            out.rejected.append(BadLogRow(file=file, line=line_no, column=None, reason="not a metric sample line"))
            continue
        name = nm.group(0)
        wanted = known.get(name)
        if wanted is None:
            wanted = known[name] = classify(name) is not None
        if not wanted:
            continue
        rest = line[nm.end() :]
        labels: dict[str, str] | None = {}
        if rest[:1] == "{":
            found = _labels(rest)
            labels, rest = (found[0], rest[found[1] :]) if found else (None, "")
        rest = rest.split(" # ", 1)[0]  # an OpenMetrics exemplar
        parts = rest.split()
        if labels is None or len(parts) not in (1, 2):
            out.rejected.append(
                BadLogRow(file=file, line=line_no, column=name, reason="expected name{labels} value [timestamp]")
            )
            continue
        try:
            value = float(parts[0])
        except ValueError:
            out.rejected.append(
                BadLogRow(file=file, line=line_no, column=name, reason=f"value {parts[0][:40]!r} is not a number")
            )
            continue
        t = _when(parts[1]) if len(parts) == 2 else now
        if t is None:
            if len(parts) == 2:
                out.rejected.append(
                    BadLogRow(file=file, line=line_no, column=name, reason=f"bad timestamp {parts[1][:40]!r}")
                )
            else:
                untimed += 1
            continue
        key = _key(name, labels, default_instance=instance)
        if key is None:
            out.rejected.append(BadLogRow(file=file, line=line_no, column="le", reason="bucket bound is not a number"))
            continue
        ts, vs = acc.setdefault(key, ([], []))
        ts.append(t)
        vs.append(value)
    if untimed and not acc:
        raise ImportRejected(
            f"{file}: the scrape has no time: add a line `# scrape_time 2025-03-01T10:00:00Z` before each scrape "
            "(or save it with sample timestamps, or export it with Prometheus' query_range API)"
        )
    for key, (ts, vs) in acc.items():
        out.add(key, np.asarray(ts, dtype=np.float64), np.asarray(vs, dtype=np.float64))
    return out


# ---------------------------------------------------------------- query_range JSON

_SERIES = re.compile(rb'"metric"\s*:\s*(\{[^{}]*\})\s*,\s*"(values?)"\s*:\s*\[')
_PLACEHOLDER = "@@opentco-span-"


def sniff_query_range(head: bytes) -> bool:
    """A Prometheus query API answer (matrix or vector) about vLLM, SGLang or TGI series."""
    text = head.decode("utf-8", "ignore")
    if text.lstrip("\ufeff \t\r\n")[:1] not in ("{", "["):
        return False
    if not re.search(r'"resultType"\s*:\s*"(matrix|vector)"', text) and not re.search(r'"values"\s*:\s*\[\s*\[', text):
        return False
    return re.search(r'"__name__"\s*:\s*"(?:' + "|".join(re.escape(p) for p in PREFIXES) + ")", text) is not None


_CSV_READ = pacsv.ReadOptions(column_names=["t", "v"], block_size=1 << 22)
_CSV_CONVERT = pacsv.ConvertOptions(column_types={"t": pa.float64(), "v": pa.float64()})


def _pairs(data: bytes, start: int, end: int) -> tuple[np.ndarray, np.ndarray] | None:
    """`[t,"v"],[t,"v"],…` (the bytes `data[start:end]`) as (times, values); None when it is anything else.

    Each pair becomes a CSV line (`t,"v"`) read by Arrow's multi-threaded CSV reader: the numbers of a month of
    15-second samples are parsed in a fraction of the time Python or `numpy.fromstring` take. Values Arrow reads as
    null (`NaN`, Prometheus' staleness marker) become NaN and are dropped with the other non-finite values.
    """
    if end - start < 2 or data[start] != ord("[") or data[end - 1] != ord("]"):
        return None
    body = data[start + 1 : end - 1].replace(b"],[", b"\n")  # one copy of a month of samples, not two
    try:
        table = pacsv.read_csv(io.BytesIO(body), read_options=_CSV_READ, convert_options=_CSV_CONVERT)
    except (pa.ArrowException, ValueError):
        return None
    return table.column(0).to_numpy(zero_copy_only=False), table.column(1).to_numpy(zero_copy_only=False)


def parse_query_range(fp: IO[bytes], *, file: str) -> SeriesSet:
    """Samples of every vLLM, SGLang or TGI series in one or several `query_range` (or instant query) answers.

    Raises:
        ImportRejected: an answer with `"status": "error"`, or a document that is not a query answer.
        BadLogRow: invalid JSON (line named).
    """
    data = fp.read()
    spans: list[tuple[np.ndarray, np.ndarray] | None] = []
    pieces: list[bytes] = []
    pos = 0
    for m in _SERIES.finditer(data):
        if m.start() < pos:
            continue
        start = m.end()
        if m.group(2) == b"value":
            end = data.find(b"]", start)
            inner = data[start : end + 1] if end >= 0 else b""
            arr = _pairs(b"[" + inner, 0, len(inner) + 1) if end >= 0 else None
            stop = end + 1
        else:
            end = data.find(b"]]", start)
            stop = end + 2
            # a pretty-printed or empty array is not pairs up to `]]`: Arrow refuses it and the JSON reader reads it
            arr = _pairs(data, start, end + 1) if end >= 0 else None
        if end < 0 or arr is None:
            continue  # left in place: the JSON reader below reads it (and names the error, if any)
        pieces.append(data[pos : m.start(2) - 1])
        pieces.append(b'"' + m.group(2) + b'": "' + _PLACEHOLDER.encode() + str(len(spans)).encode() + b'"')
        spans.append(arr)
        pos = stop
    pieces.append(data[pos:])
    skeleton = b"".join(pieces) if spans else data
    del data
    out = SeriesSet()
    default_instance = _stem(file)
    for line, doc in iter_json_documents(io.BytesIO(skeleton), file=file, limit_bytes=512 * 1024**2):
        for answer in doc if isinstance(doc, list) else [doc]:
            for n, item in enumerate(_results(answer, file=file, line=line), start=1):
                _read_result(out, item, spans, file=file, line=line, n=n, default_instance=default_instance)
    return out


def _results(answer: Any, *, file: str, line: int) -> list[Any]:
    if not isinstance(answer, dict):
        raise ImportRejected(f"{file}: line {line}: expected a Prometheus query answer (a JSON object)")
    if answer.get("status") == "error":
        why = str(answer.get("error") or answer.get("errorType") or "no reason given")[:200]
        raise ImportRejected(f"{file}: line {line}: Prometheus answered with an error: {why}")
    body = answer.get("data", answer)
    if not isinstance(body, dict) or not isinstance(body.get("result"), list):
        raise ImportRejected(
            f"{file}: line {line}: no `data.result` list; export the answer of /api/v1/query_range as it comes"
        )
    return body["result"]


def _read_result(
    out: SeriesSet,
    item: Any,
    spans: list[tuple[np.ndarray, np.ndarray] | None],
    *,
    file: str,
    line: int,
    n: int,
    default_instance: str,
) -> None:
    where = f"result {n}" if line == 1 else f"result {n} of the answer at line {line}"
    metric = item.get("metric") if isinstance(item, dict) else None
    if not isinstance(metric, dict) or not all(isinstance(v, str) for v in metric.values()):
        out.rejected.append(BadLogRow(file=file, line=line, column="metric", reason=f"{where}: no label set"))
        return
    name = metric.get("__name__")
    if not isinstance(name, str):
        out.rejected.append(
            BadLogRow(
                file=file,
                line=line,
                column="__name__",
                reason=f"{where}: series without a metric name (export the raw counter, not rate() or sum())",
            )
        )
        return
    key = _key(name, metric, default_instance=default_instance)
    if key is None:
        return
    raw = item.get("values", item.get("value"))
    if isinstance(raw, str) and raw.startswith(_PLACEHOLDER):
        arr = spans[int(raw[len(_PLACEHOLDER) :])]
    else:
        arr = _slow_pairs(raw if "values" in item else [raw])
    if arr is None:
        out.rejected.append(
            BadLogRow(file=file, line=line, column="values", reason=f'{where} ({name}): expected [[time, "value"], …]')
        )
        return
    out.add(key, *arr)


def _slow_pairs(raw: Any) -> tuple[np.ndarray, np.ndarray] | None:
    if not isinstance(raw, list):
        return None
    rows: list[tuple[float, float]] = []
    for p in raw:
        if not (isinstance(p, list) and len(p) == 2 and isinstance(p[1], str)):
            return None
        t, v = p
        if isinstance(t, bool) or not isinstance(t, int | float):
            return None
        try:
            rows.append((float(t), float(v)))
        except ValueError:
            return None
    arr = np.asarray(rows, dtype=np.float64).reshape(len(rows), 2)
    return arr[:, 0].copy(), arr[:, 1].copy()
