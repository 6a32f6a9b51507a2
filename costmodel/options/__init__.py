"""One module per option kind; `kind_of(option)` returns the module that owns its cost lines.

Adding a kind means adding a module with `facts`, `months` and `simulate` and registering it here.
"""

from __future__ import annotations

from types import ModuleType

from costmodel.options import api, cloud_gpu, hybrid, on_prem
from costmodel.options.base import Facts, MonthCost, SourceLine
from costmodel.scenario import Option

__all__ = ["KINDS", "Facts", "MonthCost", "SourceLine", "kind_of"]

KINDS: dict[str, ModuleType] = {
    "api": api,
    "managed": api,
    "cloud_gpu": cloud_gpu,
    "on_prem": on_prem,
    "hybrid": hybrid,
}
"""Option kind (the scenario's `kind` field) → the module that owns its sizing and cost lines."""


def kind_of(option: Option) -> ModuleType:
    return KINDS[option.kind]
