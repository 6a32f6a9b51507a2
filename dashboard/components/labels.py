"""Human labels for every scenario field: one map for form labels, tornado bars and error messages.

Users never see a field path such as `costs.engineering_fte`. Each numeric or choice field has a short label
here; its help text is the field's own docstring in `costmodel.scenario` (`field_help`). A field missing
from the map falls back to the first clause of its docstring, and a test checks that no field needs that.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from costmodel.labels import LABELS, OPTION_LABELS, field_label, path_label
from dashboard.components.text import md

__all__ = ["LABELS", "OPTION_LABELS", "field_help", "field_label", "human_errors", "path_label", "quant_label"]


def quant_label(name: str, bits_per_weight: float) -> str:
    """`FP8 W8A8 · 8 bits` for a quantization: short enough for a select box (the long name is in data/)."""
    return f"{name.split(' (')[0]} · {bits_per_weight:g} bits"


def field_help(model: type[BaseModel], name: str) -> str | None:
    """The field's docstring, for a widget's help tooltip."""
    field = model.model_fields.get(name)
    return md(field.description) if field and field.description else None


_MSG_FIXES = (
    (re.compile(r"^Value error, "), ""),
    (re.compile(r"^Input should be "), "must be "),
    (re.compile(r"^Field required$"), "is required"),
    (re.compile(r"^Extra inputs are not permitted$"), "is not a field OpenTCO knows"),
)


def _message(msg: str) -> str:
    for pattern, repl in _MSG_FIXES:
        msg = pattern.sub(repl, msg)
    return msg


def human_errors(ex: ValidationError, data: Mapping[str, Any]) -> str:
    """One line per problem, `label: what is wrong (you entered …)`, for a scenario built from `data`."""
    lines = []
    for err in ex.errors():
        loc = err["loc"]
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) or not loc else f" (you entered {str(got)[:60]})"
        msg = _message(err["msg"])
        lines.append(f"{path_label(data, loc)}: {msg}{shown}" if loc else msg[:1].upper() + msg[1:])
    return "\n".join(lines)
