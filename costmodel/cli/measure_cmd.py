"""`opentco gpu` (inventory), `opentco measure` (load sweep with power and energy per token) and
`opentco measure import` (another tool's benchmark result files, stored as measured runs)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from costmodel.cli._common import echo_json, user_errors
from costmodel.cli._store import DB_OPTION, WORKSPACE_OPTION, cli_actor, store_path
from costmodel.measure import (
    BenchmarkResult,
    CostInputs,
    ImportFields,
    LevelResult,
    LoadSettings,
    MeasureInputError,
    import_benchmark_files,
    inventory,
    parse_concurrency,
    run_benchmark,
    save_benchmark,
)
from costmodel.store import connect, db_path

__all__ = ["register"]


@user_errors
def gpu(json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False) -> None:
    """List this machine's NVIDIA GPUs: name, memory, power limit, energy counter, driver and CUDA version."""
    inv = inventory()
    if json_out:
        echo_json(inv.model_dump(mode="json"))
        return
    typer.echo(f"driver {inv.driver_version}, CUDA {inv.cuda_version}")
    for g in inv.gpus:
        limit = f"{g.power_limit_w:.0f} W limit" if g.power_limit_w is not None else "no power limit reported"
        energy = "energy counter" if g.energy_counter_supported else "no energy counter (power is integrated)"
        typer.echo(f"  GPU {g.index}: {g.name}, {g.memory_total_mib / 1024:.1f} GiB, {limit}, {energy}")


def _fmt(value: float | Decimal | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _level_line(level: LevelResult) -> str:
    return (
        f"concurrency {level.concurrency}: {level.requests_ok} ok, {level.requests_failed} failed, "
        f"{level.output_tokens_per_s:.1f} tok/s, TTFT p50 {_fmt(level.ttft_ms_p50, '.0f')} ms"
    )


def _table(result: BenchmarkResult) -> str:
    head = (
        f"{'conc':>5} {'ok':>6} {'err':>5} {'TTFT p50':>9} {'TTFT p95':>9} {'ITL p50':>8} {'tok/s':>9} "
        f"{'tok/s/str':>9} {'req/s':>7} {'W/GPU':>7} {'J/tok':>8} {'$/Mtok kWh':>10} {'$/Mtok GPU':>10}"
    )
    lines = [head]
    for lv in result.levels:
        lines.append(
            f"{lv.concurrency:>5} {lv.requests_ok:>6} {lv.requests_failed:>5} {_fmt(lv.ttft_ms_p50, '9.1f')} "
            f"{_fmt(lv.ttft_ms_p95, '9.1f')} {_fmt(lv.inter_token_ms_p50, '8.2f')} {lv.output_tokens_per_s:>9.1f} "
            f"{_fmt(lv.output_tokens_per_s_per_stream, '9.1f')} {lv.requests_per_s:>7.2f} "
            f"{_fmt(lv.watts_per_gpu, '7.1f')} {_fmt(lv.joules_per_output_token, '8.4f')} "
            f"{_fmt(lv.usd_per_mtok_energy, '10.4f')} {_fmt(lv.usd_per_mtok_gpu_hours, '10.4f')}"
        )
    return "\n".join(lines)


def _indices(text: str) -> list[int]:
    try:
        return [int(p) for p in text.replace(" ", "").split(",") if p]
    except ValueError:
        raise typer.BadParameter(f"--gpus takes GPU indices separated by commas, like 0,1 (got {text!r})") from None


def _as_json(result: BenchmarkResult, benchmark_id: int | None) -> dict[str, Any]:
    out = result.model_dump(mode="json", exclude={"samples"})
    out["samples_count"] = len(result.samples)
    out["benchmark_id"] = benchmark_id
    return out


@user_errors
def measure(
    ctx: typer.Context,
    endpoint: Annotated[
        str | None, typer.Option(help="OpenAI-compatible server, e.g. http://localhost:8000/v1 (required).")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name as the server knows it (required).")] = None,
    concurrency: Annotated[str, typer.Option(help="Concurrency levels, comma-separated.")] = "1,4,16",
    input_tokens: Annotated[int, typer.Option(help="Prompt length, tokens (approximate).")] = 512,
    output_tokens: Annotated[int, typer.Option(help="Answer length, tokens.")] = 256,
    duration: Annotated[
        float | None,
        typer.Option(help="Seconds each level sends requests for [default: 30, or 600 with --max-requests]."),
    ] = None,
    max_requests: Annotated[int | None, typer.Option(help="Requests per level at most.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds one request may take.")] = 120.0,
    api_key_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the API key (the key is never stored).")
    ] = None,
    usd_per_kwh: Annotated[str, typer.Option(help="Electricity price, USD per kWh.")] = "0.12",
    pue: Annotated[float, typer.Option(help="Power usage effectiveness of the facility.")] = 1.4,
    usd_per_gpu_hour: Annotated[str | None, typer.Option(help="GPU hourly price, USD.")] = None,
    gpus: Annotated[str | None, typer.Option(help="GPU indices the server uses, e.g. 0,1 [default: all].")] = None,
    power: Annotated[bool, typer.Option(help="Sample this machine's GPUs (--no-power when serving elsewhere).")] = True,
    db: Annotated[Path | None, DB_OPTION] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Measure throughput, latency, power and energy per token of a served model; store the run.

    `opentco measure import FILE…` stores result files of vLLM bench serve, GuideLLM, AIPerf or GenAI-Perf instead.
    """
    if ctx.invoked_subcommand is not None:
        return  # `opentco measure import …`: the subcommand does the work
    if endpoint is None or model is None:
        missing = " and ".join(f for f, v in (("--endpoint", endpoint), ("--model", model)) if v is None)
        raise MeasureInputError(f"give {missing} (or `opentco measure import FILE…` to store result files)")
    settings = LoadSettings.from_fields(
        endpoint=endpoint,
        model=model,
        concurrency_levels=parse_concurrency(concurrency),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        duration_s_per_level=duration,
        max_requests_per_level=max_requests,
        request_timeout_s=timeout,
        api_key_env=api_key_env,
    )
    costs = CostInputs.from_text(usd_per_kwh=usd_per_kwh, pue=pue, usd_per_gpu_hour=usd_per_gpu_hour)
    con = connect(db)  # before the run: a locked or unwritable file should fail now, not after minutes
    typer.echo(f"measuring {settings.model} at {settings.endpoint} …", err=True)
    result = run_benchmark(
        settings=settings,
        costs=costs,
        measure_power=power,
        gpu_indices=_indices(gpus) if gpus else None,
        on_level=lambda level: typer.echo("  " + _level_line(level), err=True),
    )
    benchmark_id = save_benchmark(con, result) if result.levels else None
    con.close()
    if json_out:
        echo_json(_as_json(result, benchmark_id))
    else:
        typer.echo(_table(result))
        hw = f"{len(result.gpu_indices)}× {result.gpu_name}" if result.hardware else "GPU not read"
        typer.echo(f"server: {result.server or 'unknown'}; hardware: {hw}")
        for note in [result.power_note, *result.warnings]:
            if note:
                typer.echo(f"note: {note}")
        if benchmark_id is not None:
            typer.echo(f"stored as benchmark #{benchmark_id} in {db_path(db)}")
    if result.stopped_early:
        typer.echo(f"{result.stop_reason}; finished requests were kept", err=True)
        raise typer.Exit(130)


@user_errors
def import_results(
    files: Annotated[
        list[Path], typer.Argument(help="Result files.", exists=True, dir_okay=False, readable=True, show_default=False)
    ],
    model: Annotated[str | None, typer.Option(help="Model served, when the file does not say.")] = None,
    gpu: Annotated[str | None, typer.Option(help="GPU type (h100, NVIDIA L40S …), when the file does not say.")] = None,
    gpu_count: Annotated[
        int | None, typer.Option(min=1, max=64, help="GPUs of the replica (default: from the file, else 1).")
    ] = None,
    runtime: Annotated[
        str | None, typer.Option(help="Serving engine (vllm, sglang, tensorrt-llm …), when the file does not say.")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=1024, help="Streams in flight, when the file does not say.")
    ] = None,
    db: Annotated[Path | None, DB_OPTION] = None,
    workspace: Annotated[str | None, WORKSPACE_OPTION] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Store benchmark result files as measured runs: vLLM `bench serve --save-result` JSON, GuideLLM JSON
    reports, AIPerf and GenAI-Perf profile_export JSON/CSV (the format is detected). All files or none; a file
    imported before is not stored again."""
    fields = ImportFields.from_fields(
        model=model, gpu=gpu, gpu_count=gpu_count, runtime=runtime, concurrency=concurrency
    )
    store = store_path(db, workspace)
    con = connect(store)
    try:
        runs = import_benchmark_files(
            con, [(f.name, f.read_bytes()) for f in files], fields=fields, actor=cli_actor(store)
        )
    finally:
        con.close()
    if json_out:
        echo_json([r.model_dump(mode="json") for r in runs])
        return
    for run in runs:
        typer.echo(run.summary())
        for note in run.warnings[1:]:  # the first says where it came from, as the summary does
            typer.echo(f"  note: {note}")
    typer.echo(f"store: {store}; use a run with `opentco estimate --fit-my-runs` or on the Measure page")


class _MeasureGroup(TyperGroup):
    """`opentco measure` is a command that also has one subcommand, `import`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.invoke_without_command = True
        sub = typer.Typer(add_completion=False)
        sub.command("import")(import_results)
        self.add_command(typer.main.get_command(sub), "import")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("gpu")(gpu)
    app.command("measure", cls=_MeasureGroup)(measure)
