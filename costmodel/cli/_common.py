"""What every command shares: user errors become a message and exit code 2, never a traceback."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

import typer

from costmodel.errors import CostModelError

__all__ = ["echo_json", "user_errors"]

P = ParamSpec("P")
R = TypeVar("R")


def user_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Show `CostModelError`s as `error: …` on stderr and exit 2 (bad input); let real bugs surface."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except CostModelError as ex:
            typer.echo(f"error: {ex}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def _default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return float(o)
    if hasattr(o, "isoformat"):
        return o.isoformat()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def echo_json(obj: Any) -> None:
    """Print one JSON document on stdout (Decimals as numbers, dates as ISO strings)."""
    sys.stdout.write(json.dumps(obj, default=_default, indent=2) + "\n")
