"""Built-in example scenarios (data/scenarios/*.json): the dashboard's demo and its presets."""

from __future__ import annotations

from functools import cache

from costmodel.catalog import data_dir
from costmodel.scenario import Scenario, load_scenario

__all__ = ["DEMO", "PRESETS", "demo_scenario", "preset"]

DEMO = "api-bill-10k-50k"
PRESETS: dict[str, str] = {
    "$10k–$50k/month API bill": "api-bill-10k-50k",
    "Customer-service triage": "customer-service-triage",
    "Document classification / extraction": "document-extraction",
    "Internal search (RAG)": "internal-search-rag",
    "Code assistant": "code-assistant",
}
"""Preset label → file stem under data/scenarios/."""


@cache
def _load(stem: str, root: str) -> Scenario:
    return load_scenario(f"{root}/scenarios/{stem}.json")


def preset(stem: str) -> Scenario:
    """A built-in scenario by file stem (a fresh copy: callers may change it)."""
    return _load(stem, str(data_dir())).model_copy(deep=True)


def demo_scenario() -> Scenario:
    """The scenario the dashboard opens with."""
    return preset(DEMO)
