"""`opentco usage fleet`: what the self-hosted fleet (imported Prometheus metrics) costs per million tokens."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from costmodel.cli._common import echo_json, user_errors
from costmodel.cli._store import DB_OPTION
from costmodel.errors import ScenarioError
from costmodel.fleet.report import fleet_report
from costmodel.store import connect

__all__ = ["fleet_cmd"]


@user_errors
def fleet_cmd(
    gpus_per_instance: Annotated[int, typer.Option("--gpus-per-instance", help="GPUs behind each server.")] = 1,
    usd_per_gpu_hour: Annotated[
        float | None, typer.Option("--usd-per-gpu-hour", help="The price you pay per GPU-hour.")
    ] = None,
    gpu: Annotated[
        str | None, typer.Option("--gpu", help="Catalog GPU id (H100-SXM …): price from its cheapest offer.")
    ] = None,
    plan: Annotated[str, typer.Option("--plan", help="on_demand, spot, commit_1yr or commit_3yr.")] = "on_demand",
    people_usd_per_month: Annotated[
        float, typer.Option("--people-usd-per-month", help="Engineering and operations cost of the fleet.")
    ] = 0.0,
    max_running: Annotated[
        int | None, typer.Option("--max-running", help="Servers' batch limit (vLLM --max-num-seqs).")
    ] = None,
    api: Annotated[
        list[str] | None, typer.Option("--api", help="provider/model to price the same tokens at (repeatable).")
    ] = None,
    db: Annotated[Path | None, DB_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Tokens, utilisation, latency and $/1M tokens of the fleet whose metrics were imported, next to APIs."""
    pairs = []
    for a in api or []:
        provider, sep, model = a.partition("/")
        if not sep or not model:
            raise ScenarioError(f"--api {a!r}: write provider/model, e.g. openai/gpt-4o-mini")
        pairs.append((provider, model))
    con = connect(db)
    try:
        r = fleet_report(
            con,
            gpus_per_instance=gpus_per_instance,
            usd_per_gpu_hour=None if usd_per_gpu_hour is None else Decimal(str(usd_per_gpu_hour)),
            gpu_id=gpu,
            plan=plan,
            people_usd_per_month=Decimal(str(people_usd_per_month)),
            max_running=max_running,
            api_models=pairs,
        )
    finally:
        con.close()
    if r is None:
        typer.echo("No fleet metrics imported yet: `opentco import metrics.prom` (vLLM, SGLang or TGI).")
        return
    if as_json:
        echo_json(r.model_dump(mode="python"))
        return
    typer.echo(f"{len(r.instances)} instance(s), {r.first_ts:%Y-%m-%d %H:%M} to {r.last_ts:%Y-%m-%d %H:%M} UTC")
    typer.echo(
        f"tokens: {r.prompt_tokens:,} prompt ({r.prefix_cache_hit_tokens:,} prefix-cache hits), "
        f"{r.generation_tokens:,} generated"
    )
    typer.echo(
        f"cost: {r.gpu_hours:,.1f} GPU-hours × ${r.usd_per_gpu_hour}/GPU-hour = ${r.gpu_cost_usd:,}"
        f" + people ${r.people_cost_usd:,} = ${r.total_cost_usd:,} ({r.price_source})"
    )
    per = f"${r.usd_per_mtok}" if r.usd_per_mtok is not None else "n/a"
    typer.echo(f"self-hosted: {per} per 1M tokens")
    for a in r.api:
        cost = f"${a.usd_per_mtok} per 1M tokens (${a.cost_usd:,})" if a.usd_per_mtok is not None else "not priced"
        typer.echo(f"  {a.provider}/{a.model}: {cost}")
    kv = f"{r.kv_cache_usage_mean:.0%}" if r.kv_cache_usage_mean is not None else "n/a"
    run = f"{r.running_mean:.1f}" if r.running_mean is not None else "n/a"
    util = f" ({r.running_utilisation:.0%} of {r.max_running})" if r.running_utilisation is not None else ""
    ptm = f"{r.peak_to_mean:.2f}" if r.peak_to_mean is not None else "n/a"
    typer.echo(f"utilisation: KV cache {kv} mean; running requests {run} mean{util}; peak ÷ mean hour {ptm}")
    for lat in r.latency:
        typer.echo(f"  {lat.metric}: p50 {lat.p50_s} s, p95 {lat.p95_s} s, p99 {lat.p99_s} s ({lat.observations:,})")
