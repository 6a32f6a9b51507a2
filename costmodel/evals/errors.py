"""Errors of the evaluation engine that users read (the CLI and the Quality page show them as they are)."""

from __future__ import annotations

from costmodel.errors import CostModelError

__all__ = ["BadTaskLine", "EvalInputError", "EvalRunError"]


class EvalInputError(CostModelError, ValueError):
    """A task set, target or setting that cannot be used; the message names it and says how to fix it."""


class BadTaskLine(CostModelError):
    """One line of a task set that cannot be used: `file:line:field: reason`. The other lines still run."""

    def __init__(self, *, file: str, line: int, field: str | None, reason: str) -> None:
        self.file, self.line, self.field, self.reason = file, line, field, reason
        super().__init__(f"{file}:{line}:{field or '-'}: {reason}")


class EvalRunError(CostModelError):
    """A stored run that does not exist, or a target label that is not in it."""
