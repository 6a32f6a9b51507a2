"""Errors the engine raises for users to read.

Only these are caught at the edges (CLI, dashboard) and shown as messages; anything else is a bug and
must surface as one. Every message says what was wrong and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pydantic import ValidationError

__all__ = [
    "BadLogRow",
    "CostModelError",
    "DataFileError",
    "ImportRejected",
    "MeasurementUnavailable",
    "ScenarioError",
    "UnknownLogFormat",
    "UnknownName",
    "render_validation_error",
]


class CostModelError(Exception):
    """Base of every error meant to be shown to the user as is."""


class UnknownName(CostModelError, LookupError):
    """A model, GPU, quantization, provider or price plan name that is not in the catalog."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(set(known))
        self.kind, self.name = kind, name
        self.suggestions = difflib.get_close_matches(name.lower(), [k.lower() for k in known], n=5, cutoff=0.4)
        # map lowercase suggestions back to their spelling in the catalog
        spelled = {k.lower(): k for k in known}
        self.suggestions = [spelled[s] for s in self.suggestions]
        hint = f" Did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"Unknown {kind} {name!r}.{hint} (`opentco catalog` lists all {len(known)}.)")


class UnknownRuntime(CostModelError, LookupError):
    """A serving engine the throughput estimate does not model (a typo would otherwise run as the default)."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        known = list(known)
        self.name = name
        close = difflib.get_close_matches(name.lower().split()[0] if name.split() else name, known, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        super().__init__(
            f"Unknown serving engine {name!r}.{hint} The estimate models {', '.join(known)} "
            "(a release may follow the name: 'sglang 0.5.6')."
        )


class ScenarioError(CostModelError, ValueError):
    """A scenario that cannot be evaluated: inconsistent options, impossible values, bad JSON."""


class DataFileError(CostModelError):
    """A curated file under data/ is malformed (file, row and column named)."""


class UnknownLogFormat(CostModelError):
    """An uploaded usage log whose format no importer recognises."""


class BadLogRow(CostModelError):
    """One row of a usage log that cannot be imported."""

    def __init__(self, *, file: str, line: int, column: str | None, reason: str) -> None:
        self.file, self.line, self.column, self.reason = file, line, column, reason
        where = f"{file}, row {line}" + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {reason}")


class ImportRejected(CostModelError):
    """A whole file refused before anything was stored (too big, empty, not UTF-8, bomb …)."""


class MeasurementUnavailable(CostModelError):
    """NVML, a GPU or the permission to read it is missing; the rest of the product keeps working."""


def render_validation_error(ex: ValidationError, *, source: str = "scenario") -> str:
    """Turn a pydantic error into `field: message (got value)` lines a person can act on."""
    lines = []
    for err in ex.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        got = err.get("input")
        text = repr(got)
        # a whole uploaded file can be the "input" of a JSON error: show its start, not all of it
        shown = "" if isinstance(got, dict | list) else f" (got {text[:80] + '…' if len(text) > 80 else text})"
        lines.append(f"{source}: {loc}: {err['msg']}{shown}")
    return "\n".join(lines)
