"""`opentco compare SCENARIO.json`: every option's cost, the break-even and the verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from costmodel.cli._common import echo_json, user_errors
from costmodel.fmt import money, tokens
from costmodel.scenario import load_scenario
from costmodel.tco import ScenarioResult, evaluate

__all__ = ["register", "result_summary"]


def result_summary(r: ScenarioResult) -> dict[str, object]:
    """The comparison as plain data (the CLI's --json and the tests read the same structure)."""
    s = r.scenario
    return {
        "scenario": s.name,
        "currency": s.currency,
        "usd_fx_rate": s.usd_fx_rate,
        "baseline": r.baseline,
        "best": r.best,
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
                "replicas_month1": o.months[0].replicas,
                "gpus_month1": o.months[0].gpus,
                "warnings": list(o.warnings),
                "sources": [{"label": x.label, "value": x.value, "source": x.source} for x in o.sources],
            }
            for o in r.options
        ],
    }


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
        typer.echo(f"{s.name}  ({s.horizon_months} months, baseline: {r.baseline})\n")
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
            )
            for w in o.warnings:
                typer.echo(f"    ! {w}")
        typer.echo(f"\nVerdict: {r.verdict}")
