"""Hybrids: route some task classes to an open-model option and keep the rest on an API.

The open part is its own option sized for its share of the traffic (a smaller fleet than the option
alone would need); the API part is billed per token on the rest. Both parts' lines add up month by month.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from costmodel.options.base import ONE, Facts, MonthCost, d
from costmodel.scenario import HybridOption, Scenario

if TYPE_CHECKING:
    import numpy as np

    from costmodel.uncertainty import Draws

__all__ = ["HybridParts", "facts", "months", "simulate"]


@dataclass(frozen=True)
class HybridParts:
    open_facts: Facts
    api_facts: Facts
    open_share: Decimal


def facts(option: HybridOption, scenario: Scenario, *, share: Decimal = ONE) -> Facts:
    from costmodel.options import kind_of

    open_opt, api_opt = scenario.option(option.open_option), scenario.option(option.api_option)
    s = d(option.open_share)
    parts = HybridParts(
        kind_of(open_opt).facts(open_opt, scenario, share=s),
        kind_of(api_opt).facts(api_opt, scenario, share=ONE - s),
        s,
    )
    pct = round(option.open_share * 100)
    classes = ", ".join(f"{t.name} {t.share:.0%}" for t in option.task_classes)
    desc = f"{pct}% of traffic on {option.open_option}, the rest on {option.api_option} ({classes})"
    warns = parts.open_facts.warnings + parts.api_facts.warnings
    return Facts(desc, "mixed", parts.open_facts.sources + parts.api_facts.sources, warns, parts)


def months(option: HybridOption, facts: Facts, scenario: Scenario, *, share: Decimal = ONE) -> list[MonthCost]:
    from costmodel.options import kind_of

    parts: HybridParts = facts.detail
    open_opt, api_opt = scenario.option(option.open_option), scenario.option(option.api_option)
    a = kind_of(open_opt).months(open_opt, parts.open_facts, scenario, share=parts.open_share)
    b = kind_of(api_opt).months(api_opt, parts.api_facts, scenario, share=ONE - parts.open_share)
    return [x.plus(y) for x, y in zip(a, b, strict=True)]


def simulate(
    option: HybridOption, facts: Facts, scenario: Scenario, draws: Draws, *, share: Decimal = ONE
) -> np.ndarray:
    from costmodel.options import kind_of

    parts: HybridParts = facts.detail
    open_opt, api_opt = scenario.option(option.open_option), scenario.option(option.api_option)
    a = kind_of(open_opt).simulate(open_opt, parts.open_facts, scenario, draws, share=parts.open_share)
    b = kind_of(api_opt).simulate(api_opt, parts.api_facts, scenario, draws, share=ONE - parts.open_share)
    return a + b
