"""Time to first token with more clients than a replica serves at once, and with prompts colliding below that."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from costmodel.catalog import catalog
from costmodel.cli import app
from costmodel.throughput import EstimateMode, _queue_wait_s, estimate

CAT = catalog()
NIM = dict(gpus=2, input_tokens=5000, output_tokens=500, runtime="nvidia-nim 1.8.0")


def _nim(concurrency: int):
    return estimate(CAT.model("llama-3.3-70b"), CAT.gpu("H100-SXM"), CAT.quant("fp8"), concurrency=concurrency, **NIM)


@pytest.mark.parametrize(
    ("clients", "published_ttft_ms"),
    # NVIDIA NIM 1.8.0, Llama-3.3-70b-instruct, "2 x H100 80G", "fp8 TP2", 5000 input / 500 output tokens, AIPerf:
    # https://docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance.md (TTFT column)
    [(100, 7996.25), (150, 34794.22), (250, 88605.32)],
)
def test_clients_beyond_what_memory_admits_wait_for_a_slot_as_nims_published_ttft_shows(clients, published_ttft_ms):
    e = _nim(clients)
    assert e.requested_concurrency == clients and e.concurrency == e.max_concurrency < clients
    assert e.ttft_ms == pytest.approx(published_ttft_ms, rel=0.10)
    # before the wait was modelled the estimate said about 400 ms at every one of these loads
    assert e.queue_wait_ms > 0.9 * (e.ttft_ms - 500)


def test_the_slot_wait_is_littles_law_over_the_requests_in_service():
    e = _nim(250)
    service_s = e.concurrency * e.output_tokens / e.output_tokens_per_s  # in_flight ÷ completions per second
    assert e.queue_wait_ms / 1000 == pytest.approx(service_s * (250 / e.concurrency - 1), rel=1e-9)


def test_below_capacity_only_other_prompts_prefill_delays_a_prompt():
    one, some, more = _nim(1), _nim(5), _nim(50)
    assert one.queue_wait_ms == 0.0
    assert 0 < some.queue_wait_ms < more.queue_wait_ms < more.ttft_ms
    assert more.requested_concurrency == more.concurrency == 50
    # Pollaczek–Khinchine for fixed service times, from the estimate's own prefill and service times
    assert _queue_wait_s(0.4, 40.0, 51, 50) == pytest.approx(0.5 / (2 * 0.5) * 0.4)
    assert _queue_wait_s(0.4, 40.0, 1, 1) == 0.0


def test_max_load_serves_what_memory_admits_with_no_one_waiting_for_a_slot():
    e = estimate(CAT.model("llama-3.3-70b"), CAT.gpu("H100-SXM"), CAT.quant("fp8"), mode=EstimateMode.MAX_LOAD, **NIM)
    assert e.requested_concurrency == e.concurrency == e.max_concurrency
    prefill_only = estimate(CAT.model("llama-3.3-70b"), CAT.gpu("H100-SXM"), CAT.quant("fp8"), concurrency=1, **NIM)
    assert e.queue_wait_ms < e.ttft_ms - prefill_only.ttft_ms + 1e-6


def test_cli_says_how_many_clients_wait_and_how_long():
    args = ["estimate", "--model", "llama-3.3-70b", "--gpu", "H100-SXM", "--gpus", "2", "--quant", "fp8"]
    args += ["--concurrency", "250", "--input-tokens", "5000", "--output-tokens", "500", "--runtime", "nvidia-nim 1.8"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "at 250 clients (" in res.output and "waiting for a slot" in res.output and "of it waiting" in res.output
    res = CliRunner().invoke(app, [*args, "--json"])
    out = json.loads(res.output)
    assert out["requested_concurrency"] == 250 and out["concurrency"] < 250
    assert out["queue_wait_ms"] > 60_000
