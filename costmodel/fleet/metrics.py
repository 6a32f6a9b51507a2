"""Which Prometheus series of vLLM, SGLang and TGI say what: token counters, load gauges, latency histograms.

Names are read from each server's own documentation:
- vLLM (V1 engine, `vllm/v1/metrics/loggers.py`; V0 names kept where V1 renamed them):
  https://docs.vllm.ai/en/stable/usage/metrics/ and
  https://github.com/vllm-project/vllm/blob/main/docs/design/metrics.md
- SGLang: https://docs.sglang.io/references/production_metrics.html
- TGI: https://huggingface.co/docs/text-generation-inference/reference/metrics

A role lists its candidate names in order of preference: a server that exports both a new name and its
deprecated alias (vLLM's `kv_cache_usage_perc` and `gpu_cache_usage_perc`) is counted once, by the first.
Counter names are matched without their `_total` suffix, which the Prometheus client adds on exposition.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "COUNTERS",
    "GAUGES",
    "HISTOGRAMS",
    "PREFIXES",
    "Kind",
    "Role",
    "classify",
    "engine_of",
    "preference",
]


class Role(StrEnum):
    """What a series measures, whatever the server calls it."""

    PROMPT = "prompt_tokens"
    GENERATION = "generation_tokens"
    CACHE_HITS = "prefix_cache_hit_tokens"
    REQUESTS = "requests"
    RUNNING = "running_requests"
    WAITING = "waiting_requests"
    KV_USAGE = "kv_cache_usage"
    TTFT = "ttft_seconds"
    ITL = "itl_seconds"
    E2E = "e2e_seconds"


class Kind(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    BUCKET = "bucket"
    CREATED = "created"


COUNTERS: dict[Role, tuple[str, ...]] = {
    Role.PROMPT: ("vllm:prompt_tokens", "sglang:prompt_tokens", "tgi_request_input_length_sum"),
    Role.GENERATION: ("vllm:generation_tokens", "sglang:generation_tokens", "tgi_request_generated_tokens_sum"),
    # vLLM V1 counts prefix-cache hits in tokens; early V1 releases called it gpu_prefix_cache_hits
    Role.CACHE_HITS: ("vllm:prefix_cache_hits", "vllm:gpu_prefix_cache_hits", "sglang:cached_tokens"),
    Role.REQUESTS: ("vllm:request_success", "sglang:num_requests", "tgi_request_success"),
}
"""Monotonic counters whose increase is usage (TGI has no token counters: its length histograms' `_sum` is one)."""

GAUGES: dict[Role, tuple[str, ...]] = {
    Role.RUNNING: ("vllm:num_requests_running", "sglang:num_running_reqs", "tgi_batch_current_size"),
    Role.WAITING: ("vllm:num_requests_waiting", "sglang:num_queue_reqs", "tgi_queue_size"),
    # a fraction 0–1 of the KV-cache blocks (vLLM) or token slots (SGLang) in use
    Role.KV_USAGE: ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "sglang:token_usage"),
}

HISTOGRAMS: dict[Role, tuple[str, ...]] = {
    Role.TTFT: ("vllm:time_to_first_token_seconds", "sglang:time_to_first_token_seconds"),
    Role.ITL: (
        "vllm:inter_token_latency_seconds",
        "vllm:time_per_output_token_seconds",
        "sglang:inter_token_latency_seconds",
        "sglang:time_per_output_token_seconds",
        "tgi_request_mean_time_per_token_duration",
    ),
    Role.E2E: ("vllm:e2e_request_latency_seconds", "sglang:e2e_request_latency_seconds", "tgi_request_duration"),
}

PREFIXES = ("vllm:", "sglang:", "tgi_")
"""Metric name prefixes of the servers read here (format detection looks for them)."""

_BY_NAME: dict[str, tuple[Role, Kind]] = {}
for _table, _kind in ((COUNTERS, Kind.COUNTER), (GAUGES, Kind.GAUGE)):
    for _role, _names in _table.items():
        for _n in _names:
            _BY_NAME[_n] = (_role, _kind)
for _role, _names in HISTOGRAMS.items():
    for _n in _names:
        _BY_NAME[_n + "_bucket"] = (_role, Kind.BUCKET)


def classify(name: str) -> tuple[Role, Kind, str] | None:
    """(role, kind, base name) of a sample's metric name; None for series OpenTCO does not read.

    >>> classify("vllm:prompt_tokens_total")
    (<Role.PROMPT: 'prompt_tokens'>, <Kind.COUNTER: 'counter'>, 'vllm:prompt_tokens')
    >>> classify("vllm:prompt_tokens_created")[1]
    <Kind.CREATED: 'created'>
    """
    found = _BY_NAME.get(name)
    if found is not None:
        base = name.removesuffix("_bucket") if found[1] is Kind.BUCKET else name
        return found[0], found[1], base
    if name.endswith("_total") and (found := _BY_NAME.get(name[:-6])) is not None and found[1] is Kind.COUNTER:
        return found[0], found[1], name[:-6]
    if name.endswith("_created"):
        base = name[:-8]
        if (found := _BY_NAME.get(base)) is not None and found[1] is Kind.COUNTER:
            return found[0], Kind.CREATED, base
        if (found := _BY_NAME.get(base + "_bucket")) is not None:
            return found[0], Kind.CREATED, base
    return None


def engine_of(name: str) -> str:
    """`vllm`, `sglang` or `tgi` from a metric name."""
    if name.startswith("vllm:"):
        return "vllm"
    if name.startswith("sglang:"):
        return "sglang"
    return "tgi"


def preference(role: Role, base: str) -> int:
    """Rank of a name among its role's candidates (lower wins when a server exports several)."""
    names = COUNTERS.get(role) or GAUGES.get(role) or HISTOGRAMS.get(role) or ()
    return names.index(base) if base in names else len(names)
