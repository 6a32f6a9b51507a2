"""Small scenario builders shared by the engine tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from costmodel.scenario import ApiOption, CloudGpuOption, Scenario, SelfHostCosts, Workload

NO_PEOPLE = SelfHostCosts(engineering_fte=0, setup_usd=Decimal(0))


def workload(**kw: Any) -> Workload:
    base: dict[str, Any] = dict(
        requests_per_month=1_000_000, input_tokens_per_request=1000, output_tokens_per_request=200, peak_to_average=1
    )
    base.update(kw)
    return Workload(**base)


def api(name: str = "gpt-4o", **kw: Any) -> ApiOption:
    return ApiOption(name=name, provider=kw.pop("provider", "openai"), model=kw.pop("model", "gpt-4o"), **kw)


def gpu_option(name: str = "8b-h100", **kw: Any) -> CloudGpuOption:
    base: dict[str, Any] = dict(
        name=name, model="llama-3.1-8b", gpu="H100-SXM", quant="bf16", usd_per_gpu_hour=Decimal("2.50"), costs=NO_PEOPLE
    )
    base.update(kw)
    return CloudGpuOption(**base)


def scenario(*options: Any, **kw: Any) -> Scenario:
    kw.setdefault("workload", workload())
    kw.setdefault("price_date", "2026-11-25")
    return Scenario(options=list(options), **kw)
