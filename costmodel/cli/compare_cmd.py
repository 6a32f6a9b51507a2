"""`opentco compare SCENARIO.json`: every option's cost, the break-even and the verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from costmodel.cli._common import echo_json, user_errors
from costmodel.fmt import money, tokens
from costmodel.scenario import load_scenario
from costmodel.tco import OptionResult, ScenarioResult, evaluate

__all__ = ["register", "result_summary"]


def result_summary(r: ScenarioResult) -> dict[str, object]:
    """The comparison as plain data (the CLI's --json and the tests read the same structure)."""
    s = r.scenario
    return {
        "scenario": s.name,
        "currency": s.currency,
        "usd_fx_rate": s.usd_fx_rate,
        "baseline": r.baseline,
        "lens": s.cost_lens.value,
        "tax_rate_pct": s.tax_rate_pct,
        "best": r.best,
        "recommended": r.recommended,
        "decision": r.decision,
        "verdict": r.verdict,
        "options": [
            {
                "name": o.name,
                "kind": o.kind,
                "description": o.description,
                "basis": o.basis,
                "month1_usd": o.month1_usd,
                "horizon_usd": o.horizon_usd,
                "usd_per_mtok": o.usd_per_mtok,
                "saving_month1_usd": r.saving_month1_usd(o.name),
                "saving_horizon_usd": r.saving_horizon_usd(o.name),
                "break_even_tokens_per_month": o.break_even_tokens_per_month,
                "break_even_month": o.break_even_month,
                "payback_month": o.payback_month,
                "npv_saving_usd": o.npv_saving_usd,
                "npv_cash_saving_usd": o.npv_cash_saving_usd,
                "horizon_cash_usd": o.horizon_cash_usd,
                "horizon_accounting_usd": o.horizon_accounting_usd,
                "replicas_month1": o.fleet_month1[0],
                "gpus_month1": o.fleet_month1[1],
                "replicas_peak": o.fleet_peak[0],
                "gpus_peak": o.fleet_peak[1],
                "gpus_per_replica": o.replica.gpus_per_replica if o.replica else None,
                "planned_utilisation": o.replica.queue.utilisation if o.replica else None,
                "p95_ttft_ms": o.replica.queue.p95_ttft_ms if o.replica else None,
                "throughput_error_band_pct": o.replica.error_band_pct if o.replica else None,
                "alternatives": [{"label": label, "horizon_usd": cost} for label, cost in o.alternatives],
                "uncertainty": o.uncertainty.as_dict() if o.uncertainty else None,
                "accuracy": o.accuracy,
                "usd_per_successful_request": o.usd_per_successful_request,
                "warnings": list(o.warnings),
                "sources": [{"label": x.label, "value": x.value, "source": x.source} for x in o.sources],
            }
            for o in r.options
        ],
    }


def _fleet(o: OptionResult) -> str:
    (r1, g1), (rp, gp) = o.fleet_month1, o.fleet_peak
    return f"{r1} replica(s) / {g1} GPUs in month 1, {rp} / {gp} at peak"


def register(app: typer.Typer) -> None:
    @app.command("compare")
    @user_errors
    def compare_command(
        scenario: Annotated[Path, typer.Argument(help="Scenario JSON file (see data/scenarios/).")],
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """Month-1 cost, horizon total, $/1M tokens, break-even volume, payback and a verdict per option."""
        s = load_scenario(scenario)
        r = evaluate(s)
        if as_json:
            echo_json(result_summary(r))
            return
        cur = {"currency": s.currency, "fx": s.usd_fx_rate}
        typer.echo(f"{s.name}  ({s.horizon_months} months, baseline: {r.baseline}, {s.cost_lens.value} view)\n")
        for o in r.options:
            be = ", ".join(
                f"vs {k}: {tokens(v) if v is not None else 'never'}" for k, v in o.break_even_tokens_per_month.items()
            )
            typer.echo(
                f"- {o.name}  [{o.basis}]\n"
                f"    {o.description}\n"
                f"    month 1 {money(o.month1_usd, **cur)} · {s.horizon_months} months {money(o.horizon_usd, **cur)}"
                f" · {money(o.usd_per_mtok, decimals=2, **cur)}/1M tokens"
                + (f" · payback month {o.payback_month}" if o.payback_month else "")
                + (f"\n    break-even volume (tokens/month) {be}" if be else "")
                + (f"\n    fleet: {_fleet(o)}" if o.fleet_peak[1] else "")
                + (
                    f"\n    P10–P90 {money(o.uncertainty.p10_usd, **cur)} to {money(o.uncertainty.p90_usd, **cur)}"
                    + (
                        f", saving > 0 in {o.uncertainty.p_saving_positive:.0%} of draws"
                        if o.name != r.baseline
                        else ""
                    )
                    if o.uncertainty
                    else ""
                )
                + "".join(f"\n    instead: {label} {money(cost, **cur)}" for label, cost in o.alternatives)
            )
            for w in o.warnings:
                typer.echo(f"    ! {w}")
        typer.echo(f"\nVerdict: {r.verdict}")
