"""The load generator against a real local streaming server whose timing and counts are known."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import threading

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
from costmodel.measure.loadgen import RequestTiming
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


def _percentile(values: list[float], q: int) -> float:
    """The q-th percentile, linearly interpolated (numpy's default), computed independently of the code under test."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def test_figures_are_the_requests_as_the_server_timed_them(stub: StubServer) -> None:
    """Each level's figures are exactly those of its requests, and each request's times fit what the server did.

    No bound here is a wall-clock guess: the server sends the first token no sooner than 100 ms after it got the
    request and the last no sooner than 290 ms, so a client that timed the right events saw at least that (a
    client that timed the response headers or the empty role chunk sees ~0 ms); the figures are then checked
    against the very timestamps they were computed from.
    """
    stub.behaviour.ttft_s, stub.behaviour.tokens_per_s = 0.10, 100.0
    ticks: list[SweepProgress] = []
    timings: list[RequestTiming] = []
    settings = _settings(stub, concurrency_levels=[1, 4], max_requests_per_level=8)
    result = run_sweep(settings, on_tick=ticks.append, on_request=timings.append)

    assert result.server is not None and result.server.startswith("stub / StubLLM/1.0")
    assert result.fixed_length_hints_accepted is True and not result.stopped_early and result.warnings == []
    one, four = result.levels
    assert four.start_s >= one.end_s
    for level in (one, four):
        assert level.requests_ok == 8 and level.requests_failed == level.requests_cancelled == 0
        assert level.output_tokens == 8 * 20 and level.token_count_basis == "server_usage"
        assert level.input_tokens_per_request == 33  # the stub counts the prompt's words: 28 + 5 of preamble
        mine = [t for t in timings if t.concurrency == level.concurrency]
        assert len(mine) == 8 and all(t.ok and not t.cancelled and t.output_tokens == 20 for t in mine)
        for t in mine:
            assert t.first_token_s is not None and t.last_token_s is not None
            assert level.start_s <= t.sent_s < t.first_token_s < t.last_token_s <= t.end_s <= level.end_s
            assert t.first_token_s - t.sent_s >= 0.10 - 1e-6  # the server held the first token 100 ms
            assert t.last_token_s - t.sent_s >= 0.10 + 19 / 100.0 - 1e-6  # and paced 19 more at 10 ms
        assert level.end_s == max(t.end_s for t in mine)
        ttft_ms = [(t.first_token_s - t.sent_s) * 1000 for t in mine]  # type: ignore[operator]
        spans_s = [t.last_token_s - t.first_token_s for t in mine]  # type: ignore[operator]
        itl_ms = [span / 19 * 1000 for span in spans_s]
        assert level.ttft_ms_p50 == pytest.approx(_percentile(ttft_ms, 50), rel=1e-12)
        assert level.ttft_ms_p95 == pytest.approx(_percentile(ttft_ms, 95), rel=1e-12)
        assert level.inter_token_ms_p50 == pytest.approx(_percentile(itl_ms, 50), rel=1e-12)
        assert level.inter_token_ms_p95 == pytest.approx(_percentile(itl_ms, 95), rel=1e-12)
        assert level.output_tokens_per_s_per_stream == pytest.approx(statistics.mean(19 / s for s in spans_s))
        assert level.output_tokens_per_s == pytest.approx(160 / level.duration_s, rel=1e-12)
        assert level.requests_per_s == pytest.approx(8 / level.duration_s, rel=1e-12)
    # progress: levels in order, fraction and time rising to the end, a live rate once tokens flow
    assert [t.level_index for t in ticks] == sorted(t.level_index for t in ticks)
    assert [t.fraction_done for t in ticks] == sorted(t.fraction_done for t in ticks)
    assert [t.elapsed_s for t in ticks] == sorted(t.elapsed_s for t in ticks)
    assert all(0 <= t.fraction_done <= 1 and t.output_tokens_per_s_recent >= 0 for t in ticks)
    assert any(t.output_tokens_per_s_recent > 0 for t in ticks)


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
    stub.behaviour.hold_from = 1  # never answered while the client waits: it can only come back by timing out
    with pytest.raises(EndpointError, match=r"no complete answer within 0\.4 s"):
        run_sweep(_settings(stub, request_timeout_s=0.4))
    assert not stub.behaviour.released.is_set()


def test_timeouts_during_a_level_are_errors(stub: StubServer) -> None:
    # the preflight (request 1) is answered in ~0.1 s; the level's requests never are while the client waits,
    # so the sweep can only return through their timeouts
    stub.behaviour.hold_from = 2
    settings = _settings(stub, concurrency_levels=[2], max_requests_per_level=2, request_timeout_s=2.0)
    (level,) = run_sweep(settings).levels
    assert not stub.behaviour.released.is_set()
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

    def stop_once_four_are_done(progress: SweepProgress) -> None:  # as a user would, from another thread
        if progress.requests_done >= 4:
            threading.Thread(target=stop.set).start()

    result = run_sweep(settings, stop=stop, on_tick=stop_once_four_are_done)
    assert result.stopped_early and result.stop_reason == "stopped by the user"
    (level,) = result.levels  # the second level never started
    assert level.requests_ok >= 4 and level.requests_failed == 0 and 1 <= level.requests_cancelled <= 4
    assert level.duration_s < settings.level_duration_s  # ended by the stop, not by its 30 s bound
    assert level.output_tokens == 20 * level.requests_ok


def test_ctrl_c_keeps_partial_results(stub: StubServer, ctrl_c_delivered: None) -> None:
    stub.behaviour.tokens_per_s = 50.0
    settings = _settings(stub, concurrency_levels=[2], max_requests_per_level=None, duration_s_per_level=30.0)
    pressed: list[threading.Thread] = []

    def ctrl_c_once_two_are_done(progress: SweepProgress) -> None:  # the signal comes from outside, any time
        if progress.requests_done >= 2 and not pressed:
            pressed.append(threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGINT)))
            pressed[0].start()

    result = run_sweep(settings, on_tick=ctrl_c_once_two_are_done)
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
