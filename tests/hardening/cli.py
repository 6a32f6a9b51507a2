"""Run `opentco …` in this process (no interpreter start-up per call) and get what a terminal would show."""

from __future__ import annotations

from dataclasses import dataclass

from typer.testing import CliRunner

from costmodel.cli import app

__all__ = ["Ran", "opentco"]


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def opentco(*args: str, env: dict[str, str] | None = None) -> Ran:
    """`opentco ARGS…`; a traceback (any exception other than the exit) fails the calling test."""
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)
