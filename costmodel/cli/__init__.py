"""`opentco`: the engine from the command line. Each command group lives in its own module."""

from __future__ import annotations

import typer

from costmodel.cli import (
    audit_cmd,
    catalog_cmd,
    compare_cmd,
    estimate_cmd,
    eval_cmd,
    export_cmd,
    measure_cmd,
    rollup_cmd,
    usage_cmd,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="opentco",
    help="What would our LLM workload cost on APIs, managed endpoints, rented GPUs or our own hardware?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (
    catalog_cmd,
    estimate_cmd,
    compare_cmd,
    usage_cmd,
    measure_cmd,
    export_cmd,
    eval_cmd,
    rollup_cmd,
    audit_cmd,
):
    _module.register(app)


def main() -> None:
    app()
