"""Benchmark result files from other tools, stored as measured runs like `opentco measure` stores its own.

Four tools' exports are read, the format told from the content (never from a flag):

- vLLM `vllm bench serve --save-result` JSON: one file per run, one level (its `max_concurrency`), figures as
  `vllm/benchmarks/serve.py` writes them (`completed`, `failed`, `duration`, `total_input_tokens`,
  `total_output_tokens`, `request_throughput`, `output_throughput`, `median_ttft_ms`, `p95_ttft_ms`,
  `mean_tpot_ms` …), https://github.com/vllm-project/vllm/blob/main/vllm/benchmarks/serve.py;
- GuideLLM's JSON report (`benchmarks.json`): one level per benchmark (each concurrency or rate), metrics as
  status distributions (`metrics.output_tokens_per_second.successful.mean` …),
  https://github.com/vllm-project/guidellm/blob/main/src/guidellm/benchmark/schemas/generative/metrics.py;
- NVIDIA AIPerf `profile_export_aiperf.json` / `.csv` and GenAI-Perf `profile_export_genai_perf.json` / `.csv`:
  one level per file, each metric with its unit and statistics (`time_to_first_token: {unit, avg, p50, p95 …}`;
  in CSV a `Metric,avg,min,max,…` table then a `Metric,Value` table), AIPerf's GPU telemetry (power per GPU)
  included, https://github.com/ai-dynamo/aiperf/blob/main/docs/tutorials/working-with-profile-exports.md and
  https://github.com/triton-inference-server/perf_analyzer/tree/main/genai-perf.

Each level becomes a `LevelFigures` row of a `BenchmarkResult`, so every place that reads measured runs (the
Measure and Hardware-fit pages, `opentco estimate` and its `--fit-my-runs`) reads imported ones too. The
model, GPU and serving engine come from the file where it says, otherwise from `ImportFields` the user gives.
The tool, its version and the file's SHA-256 are stored with the run; a file imports once.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import duckdb
from pydantic import Field, ValidationError, field_validator

from costmodel._base import StrictModel
from costmodel.audit import Actor, AuditAction, record_in_transaction
from costmodel.errors import CostModelError, render_validation_error
from costmodel.importers.records import SECRET_PATTERN
from costmodel.measure.benchmark import BenchmarkResult, LevelFigures
from costmodel.measure.energy import CostInputs, energy_usd_per_mtok
from costmodel.measure.loadgen import LoadSettings, MeasureInputError, chat_completions_url
from costmodel.measure.results import insert_run
from costmodel.store import StoreError, writing

__all__ = [
    "BenchFileError",
    "BenchFormat",
    "ImportFields",
    "ImportedRun",
    "benchmark_file_hint",
    "import_benchmark_files",
    "import_sources",
    "read_benchmark_file",
    "sniff_benchmark_file",
]

BenchFormat = Literal["vllm-bench-serve", "guidellm", "aiperf-json", "aiperf-csv", "genai-perf-json", "genai-perf-csv"]
"""Which tool wrote a result file, and as what."""

TOOLS: dict[str, str] = {
    "vllm-bench-serve": "vLLM bench serve",
    "guidellm": "GuideLLM",
    "aiperf-json": "NVIDIA AIPerf",
    "aiperf-csv": "NVIDIA AIPerf",
    "genai-perf-json": "GenAI-Perf",
    "genai-perf-csv": "GenAI-Perf",
}
MAX_FILE_BYTES = 256 * 1024 * 1024
"""A `--save-detailed` vLLM result holds every generated text; larger than this is refused, not read."""
_MAX_LEVELS = 32  # what `LoadSettings` holds
_MAX_CONCURRENCY = 1024
_MAX_DURATION_S = 7 * 86_400.0
_MAX_WATTS_PER_GPU = 5_000.0  # the largest accelerator modules draw about a quarter of this
_MAX_COUNT = 10**15  # tokens or requests of one level: far above any run, far below a BIGINT
_UNRECORDED_ENDPOINT = "http://unrecorded.invalid/v1"  # RFC 2606 `.invalid`: the file names no server
_RUNTIMES = {"vllm", "sglang", "tgi", "lmdeploy", "tensorrt-llm", "trt-llm", "llama.cpp", "deepspeed-mii"}
_TEXT = re.compile(r"^[\w .:/@+()\[\],#-]{1,300}$")
_SECRET = re.compile(SECRET_PATTERN)
_FORMULA_START = ("=", "+", "-", "@")  # a name starting so would run as a formula in a spreadsheet


def _shown(value: object, limit: int = 40) -> str:
    """A value quoted for a message or a stored note: cut short, control characters escaped, keys never shown."""
    text = str(value)
    return "(a value that looks like an API key, not shown)" if _SECRET.search(text) else repr(text[:limit])


def _name_problem(value: str) -> str | None:
    """Why a model / GPU / engine name cannot be stored (None: it can). Never quotes a secret-looking value."""
    if _SECRET.search(value):
        return "looks like an API key or token, not a name; it was not stored"
    if not _TEXT.match(value):
        return f"{value[:60]!r} is not a name OpenTCO can store (control or odd characters)"
    if value.startswith(_FORMULA_START):
        return f"{value[:60]!r} starts like a spreadsheet formula; not a model, GPU or engine name"
    return None


class BenchFileError(CostModelError):
    """A benchmark result file that cannot be stored: which file, which field, why."""

    def __init__(self, *, file: str, field: str | None, reason: str) -> None:
        self.file, self.field, self.reason = file, field, reason
        super().__init__(f"{file}: {field}: {reason}" if field else f"{file}: {reason}")


class ImportFields(StrictModel):
    """What the user says about a result file; the file's own statement wins where it makes one."""

    model: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    """Model that was served (a catalog name or Hugging Face id), when the file does not say."""
    gpu: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    """GPU type it ran on (`h100`, `NVIDIA L40S` …), when the file does not say."""
    gpu_count: Annotated[int, Field(ge=1, le=64)] | None = None
    """GPUs of the replica (default: those the file read power from, else 1)."""
    runtime: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._+-]+$")] | None = None
    """Serving engine (vllm, sglang, tensorrt-llm, tgi, llama.cpp …), when the file does not say."""
    concurrency: Annotated[int, Field(ge=1, le=_MAX_CONCURRENCY)] | None = None
    """Streams in flight, for a file that records neither its concurrency nor what to derive it from."""

    @field_validator("model", "gpu")
    @classmethod
    def _plain_name(cls, v: str | None) -> str | None:
        if v is not None and (problem := _name_problem(v)):
            raise ValueError(problem)
        return v

    @classmethod
    def from_fields(cls, **fields: Any) -> ImportFields:
        """Validate fields typed by a user (blank text counts as not given)."""
        clean = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in fields.items()}
        try:
            return cls(**clean)
        except ValidationError as ex:  # not `render_validation_error`: it would echo a key typed as a name
            lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}" for e in ex.errors()]
            raise MeasureInputError("; ".join(lines)) from None


class ImportedRun(StrictModel):
    """What importing one file did."""

    file_name: str
    """The file as the user named it."""
    benchmark_id: int
    """Stored run (the earlier one when the file was imported before)."""
    format: BenchFormat
    """Detected format."""
    tool: str
    """Tool that wrote it."""
    tool_version: str | None
    """Its version, when the file records it."""
    sha256: str
    """Hash of the file's bytes (what makes a second import a no-op)."""
    already_imported: bool
    """The same file was stored before; nothing new was written."""
    model: str
    """Model stored."""
    gpu_name: str
    """GPU stored."""
    gpu_count: int
    """GPUs of the replica."""
    levels: list[LevelFigures]
    """Levels stored (empty when already imported)."""
    warnings: list[str] = Field(default_factory=list)
    """What to know about the figures (derived values, clock of the file …)."""

    def summary(self) -> str:
        if self.already_imported:
            return f"{self.file_name}: already imported as benchmark #{self.benchmark_id}; nothing new stored"
        streams = ", ".join(str(lv.concurrency) for lv in self.levels)
        best = max(lv.output_tokens_per_s for lv in self.levels)
        version = f" {self.tool_version}" if self.tool_version else ""
        return (
            f"{self.file_name}: {self.tool}{version} result stored as benchmark #{self.benchmark_id} "
            f"(measured): {self.model} on {self.gpu_count}× {self.gpu_name}, {len(self.levels)} level(s) at "
            f"{streams} streams, best {best:,.1f} output tok/s"
        )


# ----------------------------------------------------------------------------------------- detection


def sniff_benchmark_file(head: bytes, filename: str = "") -> BenchFormat | None:
    """The result-file format that the first bytes of a file show (None: not a result file this knows).

    Example:
        >>> sniff_benchmark_file(b'{"date": "20250101-000000", "backend": "vllm", "model_id": "m", '
        ...                      b'"num_prompts": 10, "burstiness": 1.0, "max_concurrency": 4}')
        'vllm-bench-serve'
    """
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:65536].decode("utf-8", "replace")
    name = filename.lower()
    if text.startswith("{"):
        if _has_keys(text, "model_id", "num_prompts", "burstiness"):
            return "vllm-bench-serve"
        if _has_keys(text, "benchmarks") and re.search(r'"(generative_benchmark|scheduler_metrics|run_stats)"', text):
            return "guidellm"
        if re.search(r'"(time_to_first_token|request_throughput|output_token_throughput)"\s*:\s*\{', text):
            # AIPerf stamps its exports with `aiperf_version` / `schema_version`; GenAI-Perf does not.
            aiperf = _has_keys(text, "aiperf_version") or _has_keys(text, "schema_version") or "aiperf" in name
            return "aiperf-json" if aiperf else "genai-perf-json"
        return None
    first = text.split("\n", 1)[0].strip().lower().replace(" ", "")
    if first.startswith("metric,avg,") and re.search(r"(?im)^\s*\"?(time to first token|request latency)", text):
        if "genai_perf" in name or "genai-perf" in name:
            return "genai-perf-csv"
        if "aiperf" in name or ",p1," in first or first.endswith(",std"):
            return "aiperf-csv"
        return "genai-perf-csv"
    return None


def _has_keys(text: str, *keys: str) -> bool:
    return all(re.search(rf'"{re.escape(k)}"\s*:', text) for k in keys)


def benchmark_file_hint(head: bytes, filename: str) -> str | None:
    """What to tell a user who gave a benchmark result file to the usage-log import (None: not one).

    The log importers would call such a file an unknown format, or worse read it as logs; this says where it
    belongs instead.
    """
    fmt = sniff_benchmark_file(head, filename)
    if fmt is None:
        return None
    return (
        f"{filename}: this is a benchmark result of {TOOLS[fmt]} ({fmt}), not a usage log. Import it as a measured "
        f"run with `opentco measure import {filename}` or on the Measure page (Import benchmark results)."
    )


# ----------------------------------------------------------------------------------------- reading


@dataclasses.dataclass
class _Level:
    concurrency: int | None
    duration_s: float
    requests_ok: int
    requests_failed: int
    input_tokens_per_request: float | None
    output_tokens: int
    output_tokens_per_s: float
    requests_per_s: float
    ttft_ms_p50: float | None = None
    ttft_ms_p95: float | None = None
    itl_ms_p50: float | None = None
    itl_ms_p95: float | None = None
    per_stream: float | None = None
    start_offset_s: float | None = None
    derived_concurrency: int | None = None
    """Mean requests in flight (Little's law), used only when neither the file nor the user gives a concurrency."""
    derived_note: str | None = None


@dataclasses.dataclass
class _Parsed:
    fmt: BenchFormat
    tool_version: str | None
    model: str | None
    runtime: str | None
    endpoint: str | None
    started_at: datetime | None
    levels: list[_Level]
    gpu_names: list[str] = dataclasses.field(default_factory=list)
    watts_per_gpu: list[float] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)


class _Reader:
    """Typed reads of one file's values; every failure names the file and the field."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, field: str | None, reason: str) -> BenchFileError:
        return BenchFileError(file=self.file, field=field, reason=reason)

    def num(self, value: Any, field: str, *, required: bool = True) -> float | None:
        if value is None or value == "":
            if required:
                raise self.fail(field, "missing; the tool writes it on every run, so the file looks cut or edited")
            return None
        if isinstance(value, bool):
            raise self.fail(field, f"expected a number, got {value!r}")
        if isinstance(value, str):
            try:
                value = float(value.replace(",", "").strip())
            except ValueError:
                raise self.fail(field, f"expected a number, got {_shown(value)}") from None
        if not isinstance(value, int | float):
            raise self.fail(field, f"expected a number, got {type(value).__name__}")
        value = float(value)
        if not math.isfinite(value) or abs(value) > 1e15:
            raise self.fail(field, f"not a usable number ({value!r})")
        if value < 0:
            raise self.fail(field, f"negative ({value:g}); a count, rate or latency cannot be")
        return value

    def count(self, value: Any, field: str, *, required: bool = True) -> int | None:
        v = self.num(value, field, required=required)
        if v is None:
            return None
        if abs(v - round(v)) > 1e-6 * max(1.0, v):
            raise self.fail(field, f"expected a whole number, got {v:g}")
        return round(v)

    def obj(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, f"expected an object, got {type(value).__name__}")
        return value

    def text(self, value: Any, field: str) -> str | None:
        if value is None:
            return None
        if isinstance(value, list) and value:
            value = value[0]
        if not isinstance(value, str) or not value.strip():
            return None
        value = value.strip()
        if problem := _name_problem(value):
            raise self.fail(field, problem)
        return value


def _decode(data: bytes, r: _Reader) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise r.fail(None, f"{len(data):,} bytes is more than the {MAX_FILE_BYTES:,} a result file may have")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as ex:
        raise r.fail(None, f"not UTF-8 text (byte {ex.start}); export the results again") from None


def _load_json(text: str, r: _Reader) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as ex:
        raise r.fail(None, f"invalid JSON at line {ex.lineno}, column {ex.colno}: {ex.msg}") from None
    except RecursionError:
        raise r.fail(None, "JSON nested too deeply to be a result file") from None
    return r.obj(doc, "(top level)")


def _date(value: Any, field: str, r: _Reader, *, now: datetime) -> datetime | None:
    """A timestamp from the file (epoch seconds or ISO text; naive means UTC), bounded to a plausible range."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            t = datetime.fromtimestamp(float(value), UTC)
        elif isinstance(value, str) and re.fullmatch(r"\d{8}-\d{6}", value.strip()):
            t = datetime.strptime(value.strip(), "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
        elif isinstance(value, str):
            t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
        else:
            raise ValueError(type(value).__name__)
    except (ValueError, OverflowError, OSError):
        raise r.fail(field, f"not a date and time: {_shown(value)}") from None
    if t.year < 2015 or t > now + timedelta(days=1):
        raise r.fail(field, f"{t:%Y-%m-%d %H:%M} UTC is not when a benchmark could have run")
    return t


def _path(doc: Any, *keys: str | int) -> Any:
    for k in keys:
        if isinstance(k, int):
            if not isinstance(doc, list) or len(doc) <= k:
                return None
            doc = doc[k]
        else:
            if not isinstance(doc, dict):
                return None
            doc = doc.get(k)
    return doc


# ----------------------------------------------------------------------------------------- vLLM bench serve


def _vllm(doc: dict[str, Any], r: _Reader, *, now: datetime) -> _Parsed:
    completed = r.count(doc.get("completed"), "completed")
    assert completed is not None
    failed = r.count(doc.get("failed"), "failed", required=False)
    prompts = r.count(doc.get("num_prompts"), "num_prompts", required=False)
    if failed is None:  # older versions wrote no `failed`: what was sent and did not complete failed
        failed = max(0, prompts - completed) if prompts is not None else 0
    duration = r.num(doc.get("duration"), "duration")
    assert duration is not None
    if duration <= 0:
        raise r.fail("duration", "zero; the run measured nothing")
    out_total = r.count(doc.get("total_output_tokens"), "total_output_tokens")
    in_total = r.count(doc.get("total_input_tokens"), "total_input_tokens", required=False)
    out_tps = r.num(doc.get("output_throughput"), "output_throughput")
    req_ps = r.num(doc.get("request_throughput"), "request_throughput")
    assert out_total is not None and out_tps is not None and req_ps is not None
    warnings: list[str] = []
    concurrency = r.count(doc.get("max_concurrency"), "max_concurrency", required=False)
    derived, note = None, None
    e2el_ms = r.num(doc.get("mean_e2el_ms"), "mean_e2el_ms", required=False)
    if concurrency is None and e2el_ms:
        derived = max(1, round(req_ps * e2el_ms / 1000))
        note = (
            f"the run set no --max-concurrency (request rate {_shown(doc.get('request_rate'), 20)}): stored at "
            f"{derived} streams, the mean in flight (requests/s × mean latency)"
        )
    tpot = r.num(doc.get("mean_tpot_ms"), "mean_tpot_ms", required=False)
    p95 = r.num(doc.get("p95_ttft_ms"), "p95_ttft_ms", required=False)
    if p95 is None:
        warnings.append("the file has no p95 TTFT (run with --metric-percentiles 50,95,99 to record it)")
    backend = r.text(doc.get("backend"), "backend")
    level = _Level(
        concurrency=concurrency,
        duration_s=duration,
        requests_ok=completed,
        requests_failed=failed,
        input_tokens_per_request=in_total / completed if in_total is not None and completed else None,
        output_tokens=out_total,
        output_tokens_per_s=out_tps,
        requests_per_s=req_ps,
        ttft_ms_p50=r.num(doc.get("median_ttft_ms"), "median_ttft_ms", required=False),
        ttft_ms_p95=p95,
        itl_ms_p50=r.num(doc.get("median_itl_ms"), "median_itl_ms", required=False),
        itl_ms_p95=r.num(doc.get("p95_itl_ms"), "p95_itl_ms", required=False),
        per_stream=1000 / tpot if tpot else None,
        derived_concurrency=derived,
        derived_note=note,
    )
    started = _date(doc.get("date"), "date", r, now=now)
    if started is not None:
        warnings.append("vLLM writes the run's date in the clock of the machine it ran on; read as UTC")
    return _Parsed(
        fmt="vllm-bench-serve",
        tool_version=None,
        model=r.text(doc.get("model_id"), "model_id"),
        runtime=backend.lower() if backend and backend.lower() in _RUNTIMES else None,
        endpoint=None,
        started_at=started,
        levels=[level],
        warnings=warnings,
    )


# ----------------------------------------------------------------------------------------- GuideLLM


def _successful(metrics: dict[str, Any], name: str, r: _Reader, field: str) -> dict[str, Any] | None:
    dist = metrics.get(name)
    if dist is None:
        return None
    got = r.obj(dist, f"{field}.{name}").get("successful")
    return None if got is None else r.obj(got, f"{field}.{name}.successful")


def _guidellm(doc: dict[str, Any], r: _Reader, *, now: datetime) -> _Parsed:
    benches = doc.get("benchmarks")
    if not isinstance(benches, list) or not benches:
        raise r.fail("benchmarks", "no benchmark in the report; the run ended before its first one finished")
    args = doc.get("args") if isinstance(doc.get("args"), dict) else {}
    levels: list[_Level] = []
    warnings: list[str] = []
    starts: list[datetime] = []
    model = r.text(args.get("model"), "args.model")
    target = _url(args.get("target"))
    for i, raw in enumerate(benches):
        f = f"benchmarks[{i}]"
        b = r.obj(raw, f)
        model = model or r.text(_path(b, "worker", "backend_model"), f"{f}.worker.backend_model")
        target = target or _url(_path(b, "worker", "backend_target"))
        m = r.obj(b.get("metrics"), f"{f}.metrics")
        totals = m.get("request_totals") if m.get("request_totals") is not None else b.get("request_totals")
        totals = r.obj(totals, f"{f}.metrics.request_totals")
        ok = r.count(totals.get("successful"), f"{f}.metrics.request_totals.successful")
        errored = r.count(totals.get("errored"), f"{f}.metrics.request_totals.errored", required=False) or 0
        incomplete = r.count(totals.get("incomplete"), f"{f}.metrics.request_totals.incomplete", required=False) or 0
        assert ok is not None
        start = b.get("start_time", _path(b, "scheduler_metrics", "measure_start_time"))
        end = b.get("end_time", _path(b, "scheduler_metrics", "measure_end_time"))
        t0, t1 = _date(start, f"{f}.start_time", r, now=now), _date(end, f"{f}.end_time", r, now=now)
        if t0 is None or t1 is None or t1 <= t0:
            raise r.fail(f"{f}.start_time", "missing, or not before end_time; the benchmark has no duration")
        starts.append(t0)
        duration = (t1 - t0).total_seconds()
        out_count = _successful(m, "output_token_count", r, f"{f}.metrics")
        if out_count is None:
            raise r.fail(f"{f}.metrics.output_token_count", "missing")
        out_total = r.num(out_count.get("total_sum"), f"{f}.metrics.output_token_count.successful.total_sum")
        assert out_total is not None
        rate = _successful(m, "output_tokens_per_second", r, f"{f}.metrics")
        out_tps = r.num(rate.get("mean"), f"{f}.metrics.output_tokens_per_second.successful.mean") if rate else None
        if out_tps is None:
            out_tps = out_total / duration
        rps = _successful(m, "requests_per_second", r, f"{f}.metrics")
        req_ps = r.num(rps.get("mean"), f"{f}.metrics.requests_per_second.successful.mean") if rps else ok / duration
        prompt = _successful(m, "prompt_token_count", r, f"{f}.metrics")
        ttft = _successful(m, "time_to_first_token_ms", r, f"{f}.metrics")
        itl = _successful(m, "inter_token_latency_ms", r, f"{f}.metrics")
        tpot = _successful(m, "time_per_output_token_ms", r, f"{f}.metrics")
        tpot_ms = r.num(tpot.get("mean"), f"{f}.metrics.time_per_output_token_ms.successful.mean") if tpot else None

        def pick(dist: dict[str, Any] | None, name: str, *keys: str, f: str = f) -> float | None:
            where = f"{f}.metrics.{name}.successful.{'.'.join(keys)}"
            return r.num(_path(dist, *keys), where, required=False) if dist else None

        strategy = _path(b, "config", "strategy") or _path(b, "args", "strategy") or {}
        kind = strategy.get("type_") if isinstance(strategy, dict) else None
        if kind == "concurrent":
            conc = r.count(strategy.get("streams"), f"{f}.config.strategy.streams")
        elif kind == "synchronous":
            conc = 1
        else:
            conc = None
        derived, note = None, None
        if conc is None:
            seen = _successful(m, "request_concurrency", r, f"{f}.metrics")
            mean = r.num(seen.get("mean"), f"{f}.metrics.request_concurrency.successful.mean") if seen else None
            if mean is not None:
                derived = max(1, round(mean))
                note = (
                    f"benchmark {i + 1} ({_shown(kind or 'unnamed strategy', 30)}) set a rate, not a concurrency: "
                    f"stored at its mean {mean:.1f} requests in flight"
                )
        levels.append(
            _Level(
                concurrency=conc,
                duration_s=duration,
                requests_ok=ok,
                requests_failed=errored + incomplete,
                input_tokens_per_request=pick(prompt, "prompt_token_count", "mean"),
                output_tokens=round(out_total),
                output_tokens_per_s=out_tps,
                requests_per_s=req_ps or 0.0,
                ttft_ms_p50=pick(ttft, "time_to_first_token_ms", "median"),
                ttft_ms_p95=pick(ttft, "time_to_first_token_ms", "percentiles", "p95"),
                itl_ms_p50=pick(itl, "inter_token_latency_ms", "median"),
                itl_ms_p95=pick(itl, "inter_token_latency_ms", "percentiles", "p95"),
                per_stream=1000 / tpot_ms if tpot_ms else None,
                start_offset_s=(t0 - starts[0]).total_seconds(),
                derived_concurrency=derived,
                derived_note=note,
            )
        )
    return _Parsed(
        fmt="guidellm",
        tool_version=r.text(_path(doc, "metadata", "guidellm_version"), "metadata.guidellm_version"),
        model=model,
        runtime=None,
        endpoint=target,
        started_at=min(starts),
        levels=levels,
        warnings=warnings,
    )


# ----------------------------------------------------------------------------------------- AIPerf / GenAI-Perf

# Metric names of the CSV exports (lower case, unit removed) → the JSON exports' metric tags.
_CSV_TAGS = {
    "time to first token": "time_to_first_token",
    "inter token latency": "inter_token_latency",
    "request latency": "request_latency",
    "output sequence length": "output_sequence_length",
    "num output token": "output_sequence_length",
    "input sequence length": "input_sequence_length",
    "num input token": "input_sequence_length",
    "output token throughput": "output_token_throughput",
    "output token throughput per user": "output_token_throughput_per_user",
    "request throughput": "request_throughput",
    "request count": "request_count",
    "error request count": "error_request_count",
    "benchmark duration": "benchmark_duration",
}
_TO_MS = {"ms": 1.0, "ns": 1e-6, "us": 1e-3, "µs": 1e-3, "s": 1000.0, "sec": 1000.0, "": 1.0}


def _profile_csv(text: str, r: _Reader) -> tuple[dict[str, dict[str, Any]], list[tuple[str, float]]]:
    """The metric tables of an AIPerf / GenAI-Perf CSV as JSON-like `{tag: {unit, avg, p50 …}}`, and GPU power rows."""
    metrics: dict[str, dict[str, Any]] = {}
    gpus: list[tuple[str, float]] = []
    header: list[str] | None = None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as ex:
        raise r.fail(None, f"not a readable CSV: {ex}") from None
    for n, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            header = None
            continue
        if cells[0].lower() in {"metric", "endpoint"}:
            header = [c.lower() for c in cells]
            continue
        if header is None:
            raise r.fail(f"row {n}", "a value row before any `Metric,…` header row")
        if header[0] == "endpoint":  # AIPerf's GPU telemetry table: Endpoint,GPU_Index,GPU_Name,GPU_UUID,Metric,avg…
            values = dict(zip(header, cells, strict=False))
            if values.get("metric", "").lower().startswith("gpu power usage") and values.get("avg"):
                power = r.num(values["avg"], f"row {n}, column avg")
                assert power is not None
                gpus.append((r.text(values.get("gpu_name"), f"row {n}, column GPU_Name") or "", power))
            continue
        match = re.fullmatch(r"(.*?)\s*(?:\(([^)]*)\))?", cells[0])
        name, unit = (match.group(1).lower(), (match.group(2) or "").strip()) if match else (cells[0].lower(), "")
        tag = _CSV_TAGS.get(name)
        if tag is None:
            continue  # metrics OpenTCO does not use (time to second token, goodput …)
        stats = dict(zip(header[1:], cells[1:], strict=False))
        if header[1:2] == ["value"]:
            stats = {"avg": cells[1] if len(cells) > 1 else None}
        metrics[tag] = {"unit": unit, **{k: v for k, v in stats.items() if v != ""}, "_row": n}
    return metrics, gpus


def _stat(metrics: Mapping[str, Any], tag: str, stat: str, r: _Reader, *, latency: bool = False) -> float | None:
    m = metrics.get(tag)
    if m is None:
        return None
    m = r.obj(m, tag)
    where = f"row {m['_row']} ({tag}), column {stat}" if "_row" in m else f"{tag}.{stat}"
    value = r.num(m.get(stat), where, required=False)
    if value is None or not latency:
        return value
    unit = str(m.get("unit") or "").lower()
    if unit not in _TO_MS:
        raise r.fail(where, f"unknown time unit {_shown(unit)} (expected ms, us, ns or s)")
    return value * _TO_MS[unit]


def _find(doc: Any, key: str, depth: int = 0) -> Any:
    """The first value under `key` anywhere in `doc` (config layouts differ between tool versions)."""
    if depth > 8:
        return None
    if isinstance(doc, dict):
        if doc.get(key) is not None:
            return doc[key]
        for v in doc.values():
            if (found := _find(v, key, depth + 1)) is not None:
                return found
    return None


def _profile(
    metrics: Mapping[str, Any],
    r: _Reader,
    *,
    fmt: BenchFormat,
    config: dict[str, Any],
    gpus: list[tuple[str, float]],
    doc: dict[str, Any],
    now: datetime,
) -> _Parsed:
    warnings: list[str] = []
    count = _stat(metrics, "request_count", "avg", r)
    if count is None:
        raise r.fail("request_count", "missing; the export has no request count to turn rates into totals")
    ok = round(count)
    req_ps = _stat(metrics, "request_throughput", "avg", r)
    out_tps = _stat(metrics, "output_token_throughput", "avg", r)
    osl = _stat(metrics, "output_sequence_length", "avg", r)
    if req_ps is None or out_tps is None or osl is None:
        missing = [t for t, v in (("request_throughput", req_ps), ("output_token_throughput", out_tps)) if v is None]
        missing += ["output_sequence_length"] if osl is None else []
        raise r.fail(", ".join(missing), "missing; the export does not hold the throughput of the run")
    duration = _stat(metrics, "benchmark_duration", "avg", r)
    t0 = _date(doc.get("start_time"), "start_time", r, now=now)
    t1 = _date(doc.get("end_time"), "end_time", r, now=now)
    if duration is None and t0 is not None and t1 is not None and t1 > t0:
        duration = (t1 - t0).total_seconds()
    if duration is None:
        if not req_ps:
            raise r.fail("request_throughput", "zero, and the export records no duration")
        duration = ok / req_ps
        warnings.append(f"the export records no duration: {duration:.1f} s is request count ÷ requests/s")
    if duration <= 0:
        raise r.fail("benchmark_duration", "zero; the run measured nothing")
    itl_avg = _stat(metrics, "inter_token_latency", "avg", r, latency=True)
    per_user = _stat(metrics, "output_token_throughput_per_user", "avg", r)
    concurrency = r.count(_find(config, "concurrency"), "input_config.concurrency", required=False)
    if concurrency == 0:
        concurrency = None
    e2e = _stat(metrics, "request_latency", "avg", r, latency=True)
    derived, note = None, None
    if concurrency is None and e2e:
        derived = max(1, round(req_ps * e2e / 1000))
        note = (
            f"the export records no concurrency: stored at {derived} streams, the mean in flight "
            "(requests/s × mean request latency)"
        )
    level = _Level(
        concurrency=concurrency,
        duration_s=duration,
        requests_ok=ok,
        requests_failed=round(_stat(metrics, "error_request_count", "avg", r) or 0),
        input_tokens_per_request=_stat(metrics, "input_sequence_length", "avg", r),
        output_tokens=round(osl * ok),
        output_tokens_per_s=out_tps,
        requests_per_s=req_ps,
        ttft_ms_p50=_stat(metrics, "time_to_first_token", "p50", r, latency=True),
        ttft_ms_p95=_stat(metrics, "time_to_first_token", "p95", r, latency=True),
        itl_ms_p50=_stat(metrics, "inter_token_latency", "p50", r, latency=True),
        itl_ms_p95=_stat(metrics, "inter_token_latency", "p95", r, latency=True),
        per_stream=per_user if per_user else (1000 / itl_avg if itl_avg else None),
        derived_concurrency=derived,
        derived_note=note,
    )
    model = _find(config, "model_names") or _find(config, "model") or _path(config, "models", "items", 0, "name")
    url = _find(config, "url") or _find(config, "urls")
    if t0 is not None:
        warnings.append(f"{TOOLS[fmt]} writes its start time in the clock of the machine it ran on; read as UTC")
    names = [n for n, _ in gpus if n]
    return _Parsed(
        fmt=fmt,
        tool_version=r.text(doc.get("aiperf_version"), "aiperf_version"),
        model=r.text(model, "input_config.model"),
        runtime=None,
        endpoint=_url(url),
        started_at=t0,
        levels=[level],
        gpu_names=names,
        watts_per_gpu=[w for _, w in gpus],
        warnings=warnings,
    )


def _telemetry(doc: dict[str, Any], r: _Reader) -> list[tuple[str, float]]:
    """(GPU name, mean power W) per GPU from AIPerf's `telemetry_data` (DCGM readings during the run)."""
    out: list[tuple[str, float]] = []
    endpoints = _path(doc, "telemetry_data", "endpoints")
    if not isinstance(endpoints, dict):
        return out
    for ep, data in endpoints.items():
        gpus = _path(data, "gpus")
        if not isinstance(gpus, dict):
            continue
        for key, g in gpus.items():
            f = f"telemetry_data.endpoints[{_shown(ep)}].gpus[{_shown(key, 20)}]"
            power = _path(g, "metrics", "gpu_power_usage", "avg")
            if power is None:
                continue
            watts = r.num(power, f"{f}.metrics.gpu_power_usage.avg")
            assert watts is not None
            out.append((r.text(_path(g, "gpu_name"), f"{f}.gpu_name") or "", watts))
    return out


def _parse(data: bytes, file_name: str, *, now: datetime) -> _Parsed:
    r = _Reader(file_name)
    text = _decode(data, r)
    fmt = sniff_benchmark_file(data[:65536], file_name)
    if fmt is None:
        first = text.lstrip().split("\n", 1)[0][:80]
        raise r.fail(
            None,
            f"not a benchmark result file OpenTCO reads (first line: {_shown(first, 80)}). It reads vLLM `bench serve "
            "--save-result` JSON, GuideLLM JSON reports, and AIPerf or GenAI-Perf profile_export JSON/CSV.",
        )
    if fmt.endswith("-csv"):
        metrics, gpus = _profile_csv(text, r)
        return _profile(metrics, r, fmt=fmt, config={}, gpus=gpus, doc={}, now=now)
    doc = _load_json(text, r)
    if fmt == "vllm-bench-serve":
        return _vllm(doc, r, now=now)
    if fmt == "guidellm":
        return _guidellm(doc, r, now=now)
    config = doc.get("input_config") if isinstance(doc.get("input_config"), dict) else {}
    return _profile(doc, r, fmt=fmt, config=config, gpus=_telemetry(doc, r), doc=doc, now=now)


# ----------------------------------------------------------------------------------------- to a stored run


def _url(value: Any) -> str | None:
    """A server URL as the file has it (checked, and never echoed, by `_endpoint`: it may carry a key)."""
    if isinstance(value, list) and value:
        value = value[0]
    return value.strip() if isinstance(value, str) and value.strip() else None


def _endpoint(url: str | None, warnings: list[str]) -> str:
    if url:
        full = url if "://" in url else f"http://{url}"
        try:
            if len(full) <= 2000 and re.fullmatch(r"[\x21-\x7e]+", full):
                return chat_completions_url(full)
        except (MeasureInputError, ValueError):
            pass
        warnings.append(
            "the server URL in the file is not a plain http(s) URL, or carries credentials or a query; not stored"
        )
    return _UNRECORDED_ENDPOINT


def read_benchmark_file(
    data: bytes, *, file_name: str, fields: ImportFields | None = None, now: datetime | None = None
) -> tuple[BenchmarkResult, BenchFormat, str | None]:
    """Read one result file into the run it describes (nothing is stored).

    Args:
        data: The file's bytes.
        file_name: Its name, for messages (and a hint of the tool when the content alone cannot tell).
        fields: What the user says about the run, for what the file leaves out.
        now: The current time (UTC), injected by tests; bounds the dates a file may carry.

    Returns:
        The run, the detected format and the tool's version (None when the file does not record it).

    Raises:
        BenchFileError: Not a result file, malformed (file, field and reason named), or model / GPU / engine /
            concurrency neither in the file nor given.
    """
    fields = fields or ImportFields()
    now = now or datetime.now(UTC)
    p = _parse(data, file_name, now=now)
    r = _Reader(file_name)
    tool = TOOLS[p.fmt]
    warnings = list(p.warnings)
    gpu_names = sorted(set(p.gpu_names))
    gpu_from_file = gpu_names[0] if len(gpu_names) == 1 else (f"mixed: {', '.join(gpu_names)}" if gpu_names else None)
    choices = {
        "model": (p.model, fields.model, "--model"),
        "GPU": (gpu_from_file, fields.gpu, "--gpu"),
        "serving engine": (p.runtime, fields.runtime, "--runtime"),
    }
    chosen: dict[str, str] = {}
    missing: dict[str, str] = {}
    for what, (from_file, given, flag) in choices.items():
        if from_file and given and from_file.lower() != given.lower():
            warnings.append(f"the file names the {what} {from_file!r}; that was stored, not {given!r}")
        if value := from_file or given:
            chosen[what] = value
        else:
            missing[what] = flag
    for lv in p.levels:  # the file's concurrency, else the user's, else the mean in flight the file implies
        if lv.concurrency is None and fields.concurrency is not None:
            lv.concurrency = fields.concurrency
        elif lv.concurrency is None and lv.derived_concurrency is not None:
            lv.concurrency = lv.derived_concurrency
            warnings.append(lv.derived_note or "")
    if any(lv.concurrency is None for lv in p.levels):
        missing["concurrency"] = "--concurrency"
    if missing:
        flags = " ".join(f"{flag} …" for flag in missing.values())
        raise r.fail(
            None,
            f"this {tool} result does not say the {', '.join(missing)}; give it: `opentco measure import {flags} "
            f"{file_name}`, or fill the fields of the same names on the Measure page",
        )
    # One level per concurrency: GuideLLM rate sweeps can land two rates on the same mean concurrency.
    by_conc: dict[int, _Level] = {}
    for lv in p.levels:
        assert lv.concurrency is not None
        if lv.concurrency > _MAX_CONCURRENCY:
            raise r.fail("concurrency", f"{lv.concurrency} streams is more than the {_MAX_CONCURRENCY} OpenTCO stores")
        if lv.concurrency < 1:
            raise r.fail("concurrency", "zero streams; a run needs at least one request in flight")
        if lv.duration_s > _MAX_DURATION_S:
            raise r.fail("duration", f"{lv.duration_s:,.0f} s is longer than a benchmark runs (a week at most)")
        if lv.output_tokens > _MAX_COUNT or lv.requests_ok + lv.requests_failed > _MAX_COUNT:
            raise r.fail("request_count", "more requests or tokens than any benchmark sends; the file is damaged")
        kept = by_conc.get(lv.concurrency)
        if kept is not None:
            warnings.append(
                f"two levels at {lv.concurrency} streams; kept the one with more output tokens/s "
                f"({max(kept.output_tokens_per_s, lv.output_tokens_per_s):,.1f})"
            )
            if kept.output_tokens_per_s >= lv.output_tokens_per_s:
                continue
        by_conc[lv.concurrency] = lv
    levels = sorted(by_conc.values(), key=lambda lv: (lv.start_offset_s or 0.0, lv.concurrency or 0))
    if len(levels) > _MAX_LEVELS:
        raise r.fail("benchmarks", f"{len(levels)} levels; OpenTCO stores at most {_MAX_LEVELS} per run")
    if any(w > _MAX_WATTS_PER_GPU for w in p.watts_per_gpu):
        raise r.fail("gpu_power_usage", f"over {_MAX_WATTS_PER_GPU:,.0f} W for one GPU; not a power reading")
    gpu_count = fields.gpu_count or len(p.watts_per_gpu) or 1
    if fields.gpu_count and p.watts_per_gpu and fields.gpu_count != len(p.watts_per_gpu):
        warnings.append(
            f"the file read power from {len(p.watts_per_gpu)} GPU(s); the replica is stored with the "
            f"{fields.gpu_count} given"
        )
    costs = CostInputs()
    figures: list[LevelFigures] = []
    clock = 0.0
    for lv in levels:
        start = lv.start_offset_s if lv.start_offset_s is not None else clock
        clock = start + lv.duration_s
        power: dict[str, Any] = {}
        if p.watts_per_gpu:
            total_w = sum(p.watts_per_gpu)
            energy = total_w * lv.duration_s
            power = dict(
                mean_power_w=total_w,
                watts_per_gpu=total_w / len(p.watts_per_gpu),
                energy_j=energy,
                energy_basis="integrated_power",
            )
            if lv.output_tokens > 0:
                jpt = energy / lv.output_tokens
                power["joules_per_output_token"] = jpt
                power["usd_per_mtok_energy"] = energy_usd_per_mtok(
                    joules_per_token=jpt, usd_per_kwh=costs.usd_per_kwh, pue=costs.pue
                )
        try:
            figure = LevelFigures(
                concurrency=lv.concurrency,
                start_s=start,
                end_s=clock,
                requests_ok=lv.requests_ok,
                requests_failed=lv.requests_failed,
                requests_cancelled=0,
                errors={"failed (per the tool)": lv.requests_failed} if lv.requests_failed else {},
                input_tokens_per_request=lv.input_tokens_per_request,
                output_tokens=lv.output_tokens,
                token_count_basis="approximate",
                ttft_ms_p50=lv.ttft_ms_p50,
                ttft_ms_p95=lv.ttft_ms_p95,
                inter_token_ms_p50=lv.itl_ms_p50,
                inter_token_ms_p95=lv.itl_ms_p95,
                output_tokens_per_s=lv.output_tokens_per_s,
                output_tokens_per_s_per_stream=lv.per_stream,
                requests_per_s=lv.requests_per_s,
                **power,
            )
        except ValidationError as ex:  # a value the checks above let through: still the file's fault
            raise r.fail(None, render_validation_error(ex, source="result file")) from None
        figures.append(figure)
    ok_total = sum(lv.requests_ok for lv in levels)
    out_total = sum(lv.output_tokens for lv in levels)
    inputs = [lv.input_tokens_per_request for lv in levels if lv.input_tokens_per_request]
    started = p.started_at
    if started is None:
        started = now
        warnings.append("the file records no start time: stored with the time of the import")
    try:
        settings = LoadSettings(
            endpoint=_endpoint(p.endpoint, warnings),
            model=chosen["model"],
            concurrency_levels=[lv.concurrency for lv in figures],
            input_tokens=min(1_000_000, max(1, round(sum(inputs) / len(inputs)))) if inputs else 1,
            output_tokens=min(100_000, max(1, round(out_total / ok_total))) if ok_total else 1,
            fixed_length_hints=False,
        )
    except ValidationError as ex:
        raise r.fail(None, render_validation_error(ex, source="result file")) from None
    version = f" {p.tool_version}" if p.tool_version else " (version not recorded in the file)"
    try:
        result = BenchmarkResult(
            started_at=started,
            finished_at=started + timedelta(seconds=max(f.end_s for f in figures)),
            settings=settings,
            costs=costs,
            server=chosen["serving engine"].lower(),
            gpu_indices=list(range(gpu_count)),
            gpu_label=chosen["GPU"],
            power_note=None if p.watts_per_gpu else "power not measured: the result file holds no GPU power",
            fixed_length_hints_accepted=None,
            levels=figures,
            warnings=[f"imported from {file_name}: {tool}{version} result (basis: measured)", *warnings],
        )
    except ValidationError as ex:
        raise r.fail(None, render_validation_error(ex, source="result file")) from None
    return result, p.fmt, p.tool_version


# ----------------------------------------------------------------------------------------- storing


def import_benchmark_files(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[tuple[str, bytes]],
    *,
    fields: ImportFields | None = None,
    now: datetime | None = None,
    actor: Actor | None = None,
) -> list[ImportedRun]:
    """Store result files as measured runs, all or none, each file once.

    Every file is read and checked before anything is written; then all are stored in one transaction. A
    file stored before (same SHA-256) is reported with its earlier run and not stored again.

    Args:
        con: A connection or cursor of the store.
        files: (name, bytes) of each file.
        fields: What the user says about the runs (model, GPU, engine …) where the files do not say.
        now: The current time (UTC), injected by tests.
        actor: Who imports, with sign-in on: each newly stored file's audit line is written in the same
            transaction as its run.

    Returns:
        One outcome per file, in order.

    Raises:
        BenchFileError: A file is not a result file, is malformed, or lacks a field nobody gave.
        StoreError: The database refused the write; nothing was stored.
    """
    now = now or datetime.now(UTC)
    read = []
    for name, data in files:
        result, fmt, version = read_benchmark_file(data, file_name=name, fields=fields, now=now)
        read.append((name, hashlib.sha256(data).hexdigest(), result, fmt, version))
    out: list[ImportedRun] = []
    with writing():
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                stored: dict[str, int] = {}
                for name, sha, result, fmt, version in read:
                    row = con.execute("SELECT benchmark_id FROM benchmark_imports WHERE sha256 = ?", [sha]).fetchone()
                    prev = int(row[0]) if row else stored.get(sha)
                    if prev is None:
                        prev = insert_run(con, result)
                        con.execute(
                            "INSERT INTO benchmark_imports VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [prev, sha, name, fmt, TOOLS[fmt], version, now.astimezone(UTC).replace(tzinfo=None)],
                        )
                        stored[sha] = prev
                        again = False
                        if actor is not None:
                            record_in_transaction(
                                con, actor, action=AuditAction.IMPORT, subject=name, sha256=sha,
                                rows=len(result.levels),
                            )  # fmt: skip
                    else:
                        again = True
                    out.append(
                        ImportedRun(
                            file_name=name,
                            benchmark_id=prev,
                            format=fmt,
                            tool=TOOLS[fmt],
                            tool_version=version,
                            sha256=sha,
                            already_imported=again,
                            model=result.settings.model,
                            gpu_name=result.gpu_name or "",
                            gpu_count=len(result.gpu_indices),
                            levels=[] if again else result.levels,
                            warnings=[] if again else result.warnings,
                        )
                    )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        except duckdb.Error as ex:
            raise StoreError(f"cannot store the imported runs: {ex}. Nothing was stored.") from None
    return out


def import_sources(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    """`benchmark_id` → "GuideLLM 0.4.0, benchmarks.json" for every run that came from a result file."""
    rows = con.execute("SELECT benchmark_id, tool, tool_version, file_name FROM benchmark_imports").fetchall()
    return {int(b): f"{tool}{' ' + v if v else ''}, {name}" for b, tool, v, name in rows}
