"""Small scenario builders and model configs shared by the engine tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from costmodel.scenario import ApiOption, CloudGpuOption, Scenario, SelfHostCosts, Workload

NO_PEOPLE = SelfHostCosts(engineering_fte=0, setup_usd=Decimal(0))

DEEPSEEK_V3_CONFIG: dict[str, Any] = {
    "num_hidden_layers": 61,
    "hidden_size": 7168,
    "num_attention_heads": 128,
    "num_key_value_heads": 128,
    "intermediate_size": 18432,
    "moe_intermediate_size": 2048,
    "n_routed_experts": 256,
    "n_shared_experts": 1,
    "num_experts_per_tok": 8,
    "first_k_dense_replace": 3,
    "kv_lora_rank": 512,
    "q_lora_rank": 1536,
    "qk_rope_head_dim": 64,
    "qk_nope_head_dim": 128,
    "v_head_dim": 128,
    "vocab_size": 129280,
}
"""A Hugging Face config.json of DeepSeek-V3's shapes (MLA, 256 routed experts, first 3 layers dense)."""


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
