"""The load generator against a real local streaming server whose timing and counts are known."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest

from costmodel.errors import CostModelError
from costmodel.measure import (
    EndpointError,
    LoadSettings,
    MeasureInputError,
    SweepProgress,
    chat_completions_url,
    parse_concurrency,
    resolve_api_key,
    run_sweep,
)
from tests.measure.stub_openai import StubServer


def _settings(stub: StubServer, **kw: object) -> LoadSettings:
    fields: dict[str, object] = dict(
        endpoint=stub.url,
        model="stub-model",
        concurrency_levels=[1],
        input_tokens=40,
        output_tokens=20,
        max_requests_per_level=4,
        duration_s_per_level=10.0,
        request_timeout_s=10.0,
    )
    fields.update(kw)
    return LoadSettings(**fields)  # type: ignore[arg-type]


def test_figures_match_the_server_timing(stub: StubServer) -> None:
    stub.behaviour.ttft_s, stub.behaviour.tokens_per_s = 0.10, 100.0
    ticks: list[SweepProgress] = []
    result = run_sweep(_settings(stub, concurrency_levels=[1, 4], max_requests_per_level=8), on_tick=ticks.append)

    assert result.server is not None and result.server.startswith("stub / StubLLM/1.0")
    assert result.fixed_length_hints_accepted is True and not result.stopped_early and result.warnings == []
    one, four = result.levels
    request_s = 0.10 + 19 / 100.0  # first token after 100 ms, then 19 more at 10 ms each
    for level, rounds in ((one, 8), (four, 2)):
        assert level.requests_ok == 8 and level.requests_failed == level.requests_cancelled == 0
        assert level.output_tokens == 8 * 20 and level.token_count_basis == "server_usage"
        assert level.input_tokens_per_request == 33  # the stub counts the prompt's words: 28 + 5 of preamble
        # the server waits 100 ms; the rest is the client, on a shared CI machine (p95 gets some slack)
        assert 100.0 <= level.ttft_ms_p50 <= 115.0  # type: ignore[operator]
        assert 100.0 <= level.ttft_ms_p95 <= 160.0  # type: ignore[operator]
        assert level.inter_token_ms_p50 == pytest.approx(10.0, rel=0.03)
        assert level.output_tokens_per_s_per_stream == pytest.approx(100.0, rel=0.03)
        assert level.duration_s == pytest.approx(rounds * request_s, rel=0.06)
        expected_tps = level.concurrency * 20 / request_s
        assert level.output_tokens_per_s == pytest.approx(expected_tps, rel=0.06)
        assert level.requests_per_s == pytest.approx(level.concurrency / request_s, rel=0.06)
    assert four.start_s >= one.end_s
    # progress: levels in order, fraction rising to the end, live rate near the real one
    assert [t.level_index for t in ticks] == sorted(t.level_index for t in ticks)
    assert ticks[-1].fraction_done > 0.5 and all(0 <= t.fraction_done <= 1 for t in ticks)
    live = max(t.output_tokens_per_s_recent for t in ticks if t.concurrency == 4)
    assert 150 < live <= 4 * 100 * 1.15  # 4 streams at 100 tok/s at most, less while waiting for first tokens


def test_request_carries_lengths_usage_and_key(stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_KEY", "sk-test-secret-123")
    settings = _settings(stub, api_key_env="STUB_KEY", max_requests_per_level=1)
    run_sweep(settings, api_key=resolve_api_key(settings))
    headers, body = stub.requests[-1]
    assert headers["Authorization"] == "Bearer sk-test-secret-123"
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == body["min_tokens"] == 20 and body["ignore_eos"] is True
    assert "sk-test-secret-123" not in settings.model_dump_json()


def test_no_usage_means_approximate_counts(stub: StubServer) -> None:
    stub.behaviour.usage, stub.behaviour.chunk_tokens = False, 2
    result = run_sweep(_settings(stub, max_requests_per_level=2))
    (level,) = result.levels
    assert level.token_count_basis == "approximate" and level.input_tokens_per_request is None
    assert level.output_tokens == 2 * 10  # 20 tokens in chunks of two: ten chunks counted per answer
    assert any("approximate" in w for w in result.warnings)


def test_server_refusing_length_hints_is_measured_without_them(stub: StubServer) -> None:
    stub.behaviour.reject_hints = True
    result = run_sweep(_settings(stub, max_requests_per_level=2))
    assert result.fixed_length_hints_accepted is False
    assert result.levels[0].requests_ok == 2 and result.levels[0].requests_failed == 0
    assert all("min_tokens" not in body for _, body in stub.requests[-2:])
    assert "refused min_tokens" in result.warnings[0]


def test_errors_are_counted_by_kind(stub: StubServer) -> None:
    stub.behaviour.fail_every = 3  # requests 3, 6, 9 … fail; request 1 is the preflight
    (level,) = run_sweep(_settings(stub, concurrency_levels=[2], max_requests_per_level=9)).levels
    assert level.requests_ok + level.requests_failed == 9
    assert level.requests_failed == 3 and level.errors == {"HTTP 500": 3}
    assert level.first_error is not None and level.first_error.startswith("HTTP 500")
    assert level.output_tokens == level.requests_ok * 20


def test_preflight_timeout_is_bounded(stub: StubServer) -> None:
    stub.behaviour.hang_s = 2.0
    started = time.monotonic()
    with pytest.raises(EndpointError, match=r"no complete answer within 0\.4 s"):
        run_sweep(_settings(stub, request_timeout_s=0.4))
    assert time.monotonic() - started < 1.5


def test_timeouts_during_a_level_are_errors(stub: StubServer) -> None:
    # the 8-token preflight takes 0.05 + 7/20 = 0.40 s and passes; the 20-token requests need 1.0 s
    stub.behaviour.ttft_s, stub.behaviour.tokens_per_s = 0.05, 20.0
    settings = _settings(stub, concurrency_levels=[2], max_requests_per_level=2, request_timeout_s=0.7)
    started = time.monotonic()
    (level,) = run_sweep(settings).levels
    assert time.monotonic() - started < 3.0  # bounded by the timeouts, not left hanging
    assert level.errors == {"timeout": 2} and level.requests_ok == 0
    assert level.output_tokens == 0 and level.output_tokens_per_s == 0 and level.ttft_ms_p50 is None
    assert "raise --timeout" in (level.first_error or "")


def test_cut_stream_is_an_error(stub: StubServer) -> None:
    settings = _settings(stub, max_requests_per_level=2, output_tokens=20)
    stub.behaviour.cut_after_chunks = 10  # preflight asks 8 tokens: it completes; the level's 20 don't
    (level,) = run_sweep(settings).levels
    assert level.requests_failed == 2 and level.errors == {"stream ended early": 2}


@pytest.mark.parametrize(
    ("status", "match"),
    [(401, "api-key-env"), (403, "api-key-env"), (404, "serves the model 'stub-model'"), (503, "HTTP 503")],
)
def test_preflight_errors_say_what_to_do(stub: StubServer, status: int, match: str) -> None:
    stub.behaviour.status = status
    with pytest.raises(EndpointError, match=match):
        run_sweep(_settings(stub))


def test_unreachable_endpoint() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    settings = LoadSettings(endpoint=f"http://127.0.0.1:{port}", model="m", max_requests_per_level=1)
    with pytest.raises(EndpointError, match=r"connection refused.*is the server running"):
        run_sweep(settings)


def test_stop_event_ends_a_level_with_partial_results(stub: StubServer) -> None:
    stub.behaviour.tokens_per_s = 50.0  # 20 tokens: ~0.43 s per request
    settings = _settings(stub, concurrency_levels=[4, 16], max_requests_per_level=None, duration_s_per_level=30.0)
    stop = threading.Event()
    threading.Timer(1.2, stop.set).start()
    started = time.monotonic()
    result = run_sweep(settings, stop=stop)
    assert time.monotonic() - started < 5.0  # stopped at 1.2 s, not after the 30 s level
    assert result.stopped_early and result.stop_reason == "stopped by the user"
    (level,) = result.levels  # the second level never started
    assert level.requests_ok >= 4 and level.requests_failed == 0 and 1 <= level.requests_cancelled <= 4
    assert level.output_tokens == 20 * level.requests_ok


def test_ctrl_c_keeps_partial_results(stub: StubServer, ctrl_c_delivered: None) -> None:
    stub.behaviour.tokens_per_s = 50.0
    settings = _settings(stub, concurrency_levels=[2], max_requests_per_level=None, duration_s_per_level=30.0)
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
    result = run_sweep(settings)
    assert result.stopped_early and result.stop_reason == "stopped by Ctrl-C"
    assert result.levels[0].requests_ok >= 2 and 1 <= result.levels[0].requests_cancelled <= 2


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("http://localhost:8000", "http://localhost:8000/v1/chat/completions"),
        ("http://localhost:8000/v1/", "http://localhost:8000/v1/chat/completions"),
        ("https://api.example.com/v1/chat/completions", "https://api.example.com/v1/chat/completions"),
        ("http://gpu-box:11434/api", "http://gpu-box:11434/api/v1/chat/completions"),
    ],
)
def test_endpoint_normalised(given: str, url: str) -> None:
    assert chat_completions_url(given) == url


@pytest.mark.parametrize(
    "endpoint", ["http://user:sk-secret@host/v1", "http://host/v1?api-key=sk-secret", "ftp://host/sk-secret"]
)
def test_endpoint_with_secret_is_refused_without_echo(endpoint: str) -> None:
    with pytest.raises(MeasureInputError) as info:
        LoadSettings.from_fields(endpoint=endpoint, model="m")
    assert "sk-secret" not in str(info.value)


def test_settings_errors_name_the_field() -> None:
    with pytest.raises(MeasureInputError, match=r"concurrency_levels.*repeat"):
        LoadSettings.from_fields(endpoint="http://h", model="m", concurrency_levels=[1, 1])
    with pytest.raises(MeasureInputError, match="output_tokens"):
        LoadSettings.from_fields(endpoint="http://h", model="m", output_tokens=0)
    with pytest.raises(MeasureInputError, match="api_key_env"):
        LoadSettings.from_fields(endpoint="http://h", model="m", api_key_env="not a name")
    assert issubclass(MeasureInputError, CostModelError)


def test_every_level_is_bounded() -> None:
    assert LoadSettings(endpoint="http://h", model="m").level_duration_s == 30.0
    assert LoadSettings(endpoint="http://h", model="m", max_requests_per_level=5).level_duration_s == 600.0
    assert LoadSettings(endpoint="http://h", model="m", duration_s_per_level=2.5).level_duration_s == 2.5


def test_parse_concurrency() -> None:
    assert parse_concurrency("1, 4,16") == [1, 4, 16]
    for bad in ("", "1,x", "two"):
        with pytest.raises(MeasureInputError, match="concurrency"):
            parse_concurrency(bad)


def test_missing_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    settings = LoadSettings(endpoint="http://h", model="m", api_key_env="NO_SUCH_KEY_VAR")
    with pytest.raises(MeasureInputError, match="NO_SUCH_KEY_VAR"):
        resolve_api_key(settings)
    assert resolve_api_key(LoadSettings(endpoint="http://h", model="m")) is None
