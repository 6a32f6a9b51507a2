"""Per-token options: proprietary APIs and managed open-model endpoints, priced by genai-prices.

A request's price is genai-prices' own figure (tiers by prompt length included) at the tokens this
option bills — the workload's tokens times the option's token multipliers — mixed between the standard
and batch rates by the batch share, less the negotiated discount. Typed per-token prices replace the
list prices for every request (batch included).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from costmodel.options.base import ONE, ZERO, Facts, MonthCost, SourceLine, d, trend, volume
from costmodel.prices import ApiPrice, api_price, request_cost_usd
from costmodel.scenario import ApiOption, ManagedEndpointOption, Scenario

if TYPE_CHECKING:
    import numpy as np

    from costmodel.uncertainty import Draws

__all__ = ["ApiDetail", "billed_tokens", "facts", "months", "simulate"]


def _round(x: float) -> int:
    return int(Decimal(repr(x)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def billed_tokens(option: ApiOption, scenario: Scenario) -> tuple[int, int, int]:
    """(input, cached input, output) tokens one request bills under this option, rounded half up as Excel's ROUND."""
    w = scenario.workload
    inp = _round(w.input_tokens_per_request * option.input_token_multiplier)
    return inp, _round(inp * w.cached_input_share), _round(w.output_tokens_per_request * option.output_token_multiplier)


@dataclass(frozen=True)
class ApiDetail:
    price: ApiPrice
    usd_per_request: Decimal
    """Price of one request with batch mix, negotiated prices and discount applied (month-1 prices)."""
    negotiated: bool


def _negotiated(option: ApiOption) -> bool:
    return any(
        p is not None for p in (option.input_usd_per_mtok, option.cached_input_usd_per_mtok, option.output_usd_per_mtok)
    )


def usd_per_request(option: ApiOption, scenario: Scenario) -> Decimal:
    """One request's price: batch mix (or typed prices), less the discount."""
    w = scenario.workload
    inp, cached, out = billed_tokens(option, scenario)
    if _negotiated(option):
        p = api_price(option.provider, option.model, at=scenario.price_date)
        rate_in = option.input_usd_per_mtok if option.input_usd_per_mtok is not None else p.input_usd_per_mtok
        rate_c = (
            option.cached_input_usd_per_mtok
            if option.cached_input_usd_per_mtok is not None
            else p.cached_input_usd_per_mtok
        )
        rate_out = option.output_usd_per_mtok if option.output_usd_per_mtok is not None else p.output_usd_per_mtok
        per = ((inp - cached) * rate_in + cached * rate_c + out * rate_out) / Decimal(1_000_000)
    else:

        def price(*, batch: bool) -> Decimal:
            return request_cost_usd(
                option.provider,
                option.model,
                input_tokens=inp,
                cached_input_tokens=cached,
                output_tokens=out,
                at=scenario.price_date,
                batch=batch,
            )

        bs = d(w.batch_share)
        per = price(batch=False)
        if bs > 0:
            per = (ONE - bs) * per + bs * price(batch=True)
    return per * (ONE - d(option.discount_pct) / 100)


def facts(option: ApiOption, scenario: Scenario, *, share: Decimal = ONE) -> Facts:
    p = api_price(option.provider, option.model, at=scenario.price_date)
    kind = "Managed endpoint" if isinstance(option, ManagedEndpointOption) else "API"
    src = [
        SourceLine(
            f"{p.label} prices",
            f"in ${p.input_usd_per_mtok}/Mtok, cached ${p.cached_input_usd_per_mtok}/Mtok, "
            f"out ${p.output_usd_per_mtok}/Mtok"
            + (f", batch ${p.batch_input_usd_per_mtok}/${p.batch_output_usd_per_mtok}" if p.has_batch_rate else ""),
            p.source,
        )
    ]
    warns = [f"{p.label}: price rises with prompt length; tiers applied per request"] if p.tiered else []
    negotiated = _negotiated(option)
    if negotiated:
        src.append(
            SourceLine(
                "Negotiated prices",
                f"in {option.input_usd_per_mtok or 'list'}, cached {option.cached_input_usd_per_mtok or 'list'}, "
                f"out {option.output_usd_per_mtok or 'list'} USD/Mtok (all traffic, batch included)",
                "typed by the user",
            )
        )
    if option.input_token_multiplier != 1 or option.output_token_multiplier != 1:
        src.append(
            SourceLine(
                "Token multipliers",
                f"input ×{option.input_token_multiplier:g}, output ×{option.output_token_multiplier:g}",
                "scenario (tokenizer, verbosity, reasoning tokens)",
            )
        )
    basis = "negotiated price" if negotiated else f"list price as of {p.price_date}"
    detail = ApiDetail(price=p, usd_per_request=usd_per_request(option, scenario), negotiated=negotiated)
    return Facts(f"{kind}: {p.label}", basis, tuple(src), tuple(warns), detail)


def months(option: ApiOption, facts: Facts, scenario: Scenario, *, share: Decimal = ONE) -> list[MonthCost]:
    detail: ApiDetail = facts.detail
    w = scenario.workload
    out = []
    for m in range(1, scenario.horizon_months + 1):
        req, inp, outp = volume(w, m, share)
        cost = req * detail.usd_per_request * trend(scenario.api_price_change_pct_per_year, m)
        out.append(
            MonthCost(month=m, requests=req, input_tokens=inp, output_tokens=outp, api_usd=cost, one_off_usd=ZERO)
        )
    return out


def simulate(option: ApiOption, facts: Facts, scenario: Scenario, draws: Draws, *, share: Decimal = ONE) -> np.ndarray:
    """Monthly cost per draw (draws × months), same lines as `months`."""
    detail: ApiDetail = facts.detail
    cost = draws.requests(scenario) * float(share) * float(detail.usd_per_request) * draws.api_trend(scenario)
    return draws.lens(scenario, cash=cost, accounting=cost)
