"""Stored benchmark runs: save one, list them, read one back, and pick the measurement a scenario uses.

`latest_measurement` is what the cost model and the Hardware-fit page call: the newest run of a model on a
GPU type, reduced to the level that serves the most tokens per second while meeting the latency targets.
`apply_measurement` copies it into a self-hosted option of a scenario (basis "measured").
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from typing import Any

import duckdb

from costmodel._base import StrictModel
from costmodel.errors import ScenarioError
from costmodel.measure.benchmark import BenchmarkResult, LevelFigures
from costmodel.measure.energy import CostInputs, EnergyBasis
from costmodel.measure.loadgen import LoadSettings, TokenCountBasis
from costmodel.measure.nvml import Inventory
from costmodel.measure.sampler import GpuSample
from costmodel.scenario import CloudGpuOption, LatencyTargets, OnPremOption, Scenario
from costmodel.store import StoreError

__all__ = [
    "BenchmarkSummary",
    "Measurement",
    "apply_measurement",
    "gpu_matches",
    "insert_run",
    "latest_measurement",
    "list_benchmarks",
    "load_benchmark",
    "measurement_of",
    "save_benchmark",
]

_LEVEL_COLUMNS = [name for name in LevelFigures.model_fields if name != "errors"]  # `errors` is stored as JSON
_SAMPLE_COLUMNS = [f.name for f in dataclasses.fields(GpuSample)]
# Words in GPU names that tell form factor or vendor, not which GPU it is (`NVIDIA H100 80GB HBM3` = `h100-sxm`).
_GPU_NOISE = {"nvidia", "tesla", "sxm", "sxm2", "sxm4", "sxm5", "pcie", "hbm", "hbm2", "hbm2e", "hbm3", "hbm3e"}


class BenchmarkSummary(StrictModel):
    """One stored run, for lists."""

    benchmark_id: int
    """Row id in `benchmarks`."""
    started_at: datetime
    """When it started (UTC)."""
    model: str
    """Model name sent to the server."""
    endpoint: str
    """Chat-completions URL (no credentials)."""
    server: str | None
    """What the server said it is."""
    gpu_name: str | None
    """GPU product name (empty when power was not measured)."""
    gpu_count: int
    """GPUs sampled."""
    levels: int
    """Concurrency levels stored."""
    best_output_tokens_per_s: float | None
    """Highest total output tokens/s of any level."""
    stopped_early: bool
    """Cut short by a stop or Ctrl-C."""


class Measurement(StrictModel):
    """One level of one run, as a scenario uses it."""

    benchmark_id: int
    """Row id in `benchmarks`."""
    measured_at: datetime
    """When the run started (UTC)."""
    model: str
    """Model name sent to the server."""
    gpu_name: str | None
    """GPU product name."""
    gpu_count: int
    """GPUs the replica used (those sampled)."""
    concurrency: int
    """Streams in flight at this level."""
    output_tokens_per_s: float
    """Replica throughput, output tokens per second (→ `measured_output_tokens_per_s`)."""
    output_tokens_per_s_per_stream: float | None
    """Decode speed one user saw, tokens per second."""
    ttft_ms_p95: float | None
    """95th-percentile time to first token, ms."""
    watts_per_gpu: float | None
    """Mean power per GPU under this load, watts (→ `measured_watts_per_gpu`)."""
    joules_per_output_token: float | None
    """GPU energy per output token, joules."""
    energy_basis: EnergyBasis | None
    """Energy counter or integrated power."""
    token_count_basis: TokenCountBasis
    """Server-reported or approximate token counts."""
    meets_latency_targets: bool | None = None
    """Whether this level met the targets it was chosen against (empty when none were given)."""


def _naive_utc(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None)


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def save_benchmark(con: duckdb.DuckDBPyConnection, result: BenchmarkResult) -> int:
    """Store a run in one transaction.

    Args:
        con: A connection or cursor of the store (`costmodel.store.connect`).
        result: The run.

    Returns:
        Its `benchmark_id`.

    Raises:
        StoreError: The database refused the write (read-only, locked).
    """
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            benchmark_id = insert_run(con, result)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    except duckdb.Error as ex:
        raise StoreError(f"cannot store the benchmark: {ex}. Check that the database file is writable.") from None
    return benchmark_id


def insert_run(con: duckdb.DuckDBPyConnection, result: BenchmarkResult) -> int:
    """Write a run's rows inside the caller's transaction (`save_benchmark`, and imports of result files).

    Returns:
        Its `benchmark_id`.
    """
    import pyarrow as pa  # only needed when storing: keeps `import costmodel.measure` light

    hw = result.hardware
    row = con.execute(
        """
        INSERT INTO benchmarks (started_at, finished_at, model, endpoint, server, gpu_name, gpu_count,
            gpu_indices_json, driver_version, cuda_version, hardware_json, settings_json, costs_json,
            power_note, fixed_length_hints_accepted, stopped_early, stop_reason, warnings_json)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        RETURNING id
        """,
        [
            _naive_utc(result.started_at),
            _naive_utc(result.finished_at),
            result.settings.model,
            result.settings.endpoint,
            result.server,
            result.gpu_name,
            len(result.gpu_indices),
            json.dumps(result.gpu_indices),
            hw.driver_version if hw else None,
            hw.cuda_version if hw else None,
            hw.model_dump_json() if hw else None,
            result.settings.model_dump_json(),
            result.costs.model_dump_json(),
            result.power_note,
            result.fixed_length_hints_accepted,
            result.stopped_early,
            result.stop_reason,
            json.dumps(result.warnings),
        ],
    ).fetchone()
    if row is None:
        raise StoreError("the database returned no id for the stored benchmark")
    benchmark_id = int(row[0])
    placeholders = ", ".join("?" for _ in range(len(_LEVEL_COLUMNS) + 2))
    columns = ", ".join(["benchmark_id", "errors_json", *_LEVEL_COLUMNS])
    for level in result.levels:
        values = [getattr(level, c) for c in _LEVEL_COLUMNS]
        con.execute(
            f"INSERT INTO benchmark_levels ({columns}) VALUES ({placeholders})",  # column names are fixed
            [benchmark_id, json.dumps(level.errors), *values],
        )
    if result.samples:
        table = pa.table(
            {
                "benchmark_id": pa.array([benchmark_id] * len(result.samples), pa.int64()),
                **{c: [getattr(s, c) for s in result.samples] for c in _SAMPLE_COLUMNS},
            }
        )
        view = f"_opentco_samples_{benchmark_id}"
        con.register(view, table)
        try:
            cols = ", ".join(["benchmark_id", *_SAMPLE_COLUMNS])
            con.execute(f"INSERT INTO benchmark_samples ({cols}) SELECT {cols} FROM {view}")
        finally:
            con.unregister(view)
    return benchmark_id


def _rows(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def list_benchmarks(con: duckdb.DuckDBPyConnection, *, limit: int = 100) -> list[BenchmarkSummary]:
    """Stored runs, newest first.

    Args:
        con: A connection or cursor of the store.
        limit: Runs returned at most.
    """
    cur = con.execute(
        """
        SELECT b.id AS benchmark_id, b.started_at, b.model, b.endpoint, b.server, b.gpu_name, b.gpu_count,
               b.stopped_early, count(l.concurrency) AS levels, max(l.output_tokens_per_s) AS best_output_tokens_per_s
        FROM benchmarks b LEFT JOIN benchmark_levels l ON l.benchmark_id = b.id
        GROUP BY ALL
        ORDER BY b.started_at DESC, b.id DESC
        LIMIT ?
        """,
        [limit],
    )
    return [BenchmarkSummary(**{**r, "started_at": _aware(r["started_at"])}) for r in _rows(cur)]


def _levels(con: duckdb.DuckDBPyConnection, benchmark_id: int) -> list[LevelFigures]:
    cur = con.execute("SELECT * FROM benchmark_levels WHERE benchmark_id = ? ORDER BY start_s", [benchmark_id])
    out = []
    for r in _rows(cur):
        r.pop("benchmark_id")
        out.append(LevelFigures(errors=json.loads(r.pop("errors_json")), **r))
    return out


def load_benchmark(con: duckdb.DuckDBPyConnection, *, benchmark_id: int, with_samples: bool = False) -> BenchmarkResult:
    """Read a stored run back.

    Args:
        con: A connection or cursor of the store.
        benchmark_id: Its id.
        with_samples: Also read the raw GPU samples (can be many).

    Raises:
        StoreError: No run has this id.
    """
    rows = _rows(con.execute("SELECT * FROM benchmarks WHERE id = ?", [benchmark_id]))
    if not rows:
        raise StoreError(f"no stored benchmark #{benchmark_id} (`opentco measure` stores one per run)")
    b = rows[0]
    samples: list[GpuSample] = []
    if with_samples:
        cols = ", ".join(_SAMPLE_COLUMNS)
        cur = con.execute(
            f"SELECT {cols} FROM benchmark_samples WHERE benchmark_id = ? ORDER BY t_s, gpu_index",
            [benchmark_id],
        )
        samples = [GpuSample(*r) for r in cur.fetchall()]
    hardware = Inventory.model_validate_json(b["hardware_json"]) if b["hardware_json"] else None
    return BenchmarkResult(
        started_at=_aware(b["started_at"]),
        finished_at=_aware(b["finished_at"]),
        settings=LoadSettings.model_validate_json(b["settings_json"]),
        costs=CostInputs.model_validate_json(b["costs_json"]),
        server=b["server"],
        hardware=hardware,
        gpu_indices=json.loads(b["gpu_indices_json"]),
        power_note=b["power_note"],
        fixed_length_hints_accepted=b["fixed_length_hints_accepted"],
        levels=_levels(con, benchmark_id),
        samples=samples,
        stopped_early=b["stopped_early"],
        stop_reason=b["stop_reason"],
        warnings=json.loads(b["warnings_json"]),
        gpu_label=None if hardware else b["gpu_name"],
    )


def _gpu_tokens(name: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", name.lower())) - _GPU_NOISE


def gpu_matches(query: str, gpu_name: str) -> bool:
    """Whether a GPU id typed by a user (`h100`, `H100-SXM`, `a100-80gb`) names the NVML product name.

    Every word of the query that says which GPU it is must be in the name; form-factor words (SXM, PCIe,
    HBM3) and the vendor are ignored, memory sizes are not.

    Example:
        >>> gpu_matches("h100-sxm", "NVIDIA H100 80GB HBM3"), gpu_matches("a100-40gb", "NVIDIA A100-SXM4-80GB")
        (True, False)
    """
    wanted = _gpu_tokens(query)
    return bool(wanted) and wanted <= _gpu_tokens(gpu_name)


def _model_key(name: str) -> str:
    return name.strip().lower().removesuffix(":latest").rsplit("/", 1)[-1]


def measurement_of(
    result: BenchmarkResult, *, benchmark_id: int, concurrency: int, latency: LatencyTargets | None = None
) -> Measurement:
    """One level of a run as a `Measurement`.

    Raises:
        ScenarioError: The run has no such level, or the level produced no tokens.
    """
    level = next((lv for lv in result.levels if lv.concurrency == concurrency), None)
    if level is None:
        have = ", ".join(str(lv.concurrency) for lv in result.levels)
        raise ScenarioError(f"benchmark #{benchmark_id} has no concurrency {concurrency} (has: {have})")
    if level.output_tokens_per_s <= 0:
        raise ScenarioError(
            f"benchmark #{benchmark_id} at concurrency {concurrency} produced no tokens "
            f"({level.first_error or 'no request finished'}); pick another level or measure again"
        )
    return Measurement(
        benchmark_id=benchmark_id,
        measured_at=result.started_at,
        model=result.settings.model,
        gpu_name=result.gpu_name,
        gpu_count=len(result.gpu_indices),
        concurrency=level.concurrency,
        output_tokens_per_s=level.output_tokens_per_s,
        output_tokens_per_s_per_stream=level.output_tokens_per_s_per_stream,
        ttft_ms_p95=level.ttft_ms_p95,
        watts_per_gpu=level.watts_per_gpu,
        joules_per_output_token=level.joules_per_output_token,
        energy_basis=level.energy_basis,
        token_count_basis=level.token_count_basis,
        meets_latency_targets=None if latency is None else _meets(level, latency),
    )


def _meets(level: LevelFigures, latency: LatencyTargets) -> bool:
    return (
        level.ttft_ms_p95 is not None
        and level.ttft_ms_p95 <= latency.ttft_ms
        and level.output_tokens_per_s_per_stream is not None
        and level.output_tokens_per_s_per_stream >= latency.output_tokens_per_s_per_user
    )


def latest_measurement(
    con: duckdb.DuckDBPyConnection, *, model: str, gpu: str, latency: LatencyTargets | None = None
) -> Measurement | None:
    """The newest stored measurement of `model` on `gpu`, at its best level.

    The best level is the one with the highest total output tokens/s among those that meet `latency`
    (when given). When no level meets it, the level with the fastest streams is returned with
    `meets_latency_targets=False`, so the caller can show that the targets were missed.

    Args:
        con: A connection or cursor of the store.
        model: Model name as sent to the server or its last path part (`Llama-3.1-8B-Instruct`), any case.
        gpu: GPU id or name (`h100`, `NVIDIA H100 80GB HBM3`); see `gpu_matches`.
        latency: Targets a level must meet.

    Returns:
        The measurement, or `None` when no run of that model on that GPU (with power read) is stored.
    """
    cur = con.execute(
        "SELECT id, model, gpu_name FROM benchmarks WHERE gpu_name IS NOT NULL ORDER BY started_at DESC, id DESC"
    )
    for benchmark_id, run_model, gpu_name in cur.fetchall():
        if _model_key(run_model) != _model_key(model) or not gpu_matches(gpu, gpu_name):
            continue
        result = load_benchmark(con, benchmark_id=benchmark_id)
        usable = [lv for lv in result.levels if lv.output_tokens_per_s > 0]
        if not usable:
            continue
        if latency is None:
            best = max(usable, key=lambda lv: lv.output_tokens_per_s)
        else:
            meeting = [lv for lv in usable if _meets(lv, latency)]
            best = (
                max(meeting, key=lambda lv: lv.output_tokens_per_s)
                if meeting
                else max(usable, key=lambda lv: lv.output_tokens_per_s_per_stream or 0.0)
            )
        return measurement_of(result, benchmark_id=benchmark_id, concurrency=best.concurrency, latency=latency)
    return None


def apply_measurement(scenario: Scenario, *, option: str, measurement: Measurement) -> Scenario:
    """A copy of `scenario` whose self-hosted `option` uses the measured throughput and power.

    Sets `measured_output_tokens_per_s`, `measured_watts_per_gpu` (when power was read) and, when the GPUs
    were counted, `gpus_per_replica` to the number the measured replica used.

    Args:
        scenario: The scenario to change (left as it is).
        option: Name of a cloud-GPU or on-prem option.
        measurement: What to copy in.

    Raises:
        ScenarioError: No such option, or not a self-hosted one.
    """
    target = scenario.option(option)
    if not isinstance(target, CloudGpuOption | OnPremOption):
        raise ScenarioError(
            f"option {option!r} is {target.kind}; a measurement goes into a cloud_gpu or on_prem option"
        )
    data = scenario.model_dump()
    for entry in data["options"]:
        if entry["name"] == option:
            entry["measured_output_tokens_per_s"] = measurement.output_tokens_per_s
            if measurement.watts_per_gpu is not None:
                entry["measured_watts_per_gpu"] = measurement.watts_per_gpu
            if measurement.gpu_count > 0:
                entry["gpus_per_replica"] = measurement.gpu_count
    return Scenario.model_validate(data)
