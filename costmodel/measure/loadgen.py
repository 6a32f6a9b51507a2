"""Load generator for any OpenAI-compatible server (vLLM, SGLang, TGI, Ollama, llama.cpp server, LM Studio).

It streams chat completions of a fixed prompt and output length at a sweep of concurrency levels. Each
level keeps `concurrency` requests in flight until its duration or request count runs out, then lets the
requests in flight finish (each bounded by the request timeout). It asks the server for exact lengths
(`max_tokens`, and `min_tokens` / `ignore_eos` where the server accepts them) and for token counts
(`stream_options.include_usage`); where the server reports no usage, tokens are counted as streamed
chunks and the level says its counts are approximate.

Only the standard library is used: one thread per stream and `http.client`, which is plenty for the few
hundred streams a single server takes. A stop event or Ctrl-C ends the sweep at once: open streams are
cut, counted as cancelled (not as errors), and every finished request is kept.

The API key is read from the environment variable the settings name, sent as a bearer token, and never
logged, stored or put in an error message.
"""

from __future__ import annotations

import collections
import dataclasses
import http.client
import json
import math
import os
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, ValidationError, field_validator

from costmodel._base import StrictModel
from costmodel.errors import CostModelError, render_validation_error

__all__ = [
    "EndpointError",
    "LevelResult",
    "LoadSettings",
    "MeasureInputError",
    "RequestTiming",
    "SweepProgress",
    "SweepResult",
    "TokenCountBasis",
    "chat_completions_url",
    "parse_concurrency",
    "resolve_api_key",
    "run_sweep",
]

TokenCountBasis = Literal["server_usage", "approximate"]
"""`server_usage`: every count came from the server's `usage`; `approximate`: some were streamed chunks."""

_MAX_LINE = 1 << 20
_EXCERPT = 300
# Common English words that most BPE vocabularies hold as one token each (with their leading space), so a
# prompt of N of them is close to N tokens; the server's own count is what gets reported.
_WORD_LIST = (
    "time year people way day man thing woman life child world school state family student group country "
    "problem hand part place case week company system program question work number night point home water "
    "room mother area money story fact month lot right study book eye job word business issue side kind "
    "head house service friend father power hour game line end member law car city name team minute idea "
    "body back parent face level office door health person art war history party result change morning "
    "reason girl moment air teacher force education"
)
_WORDS = tuple(_WORD_LIST.split())


class MeasureInputError(CostModelError, ValueError):
    """Benchmark settings that cannot be run (the message names the setting and the fix)."""


class EndpointError(CostModelError):
    """The endpoint cannot be benchmarked: unreachable, refusing the request, or not serving the model."""


def chat_completions_url(endpoint: str) -> str:
    """The chat-completions URL of an endpoint given as a base (`http://host:8000` or `…/v1`) or in full.

    Args:
        endpoint: What the user typed.

    Returns:
        `scheme://host[:port]/…/v1/chat/completions`.

    Raises:
        MeasureInputError: Not an http(s) URL, or credentials / a query string inside it (never echoed).

    Example:
        >>> chat_completions_url("http://localhost:8000")
        'http://localhost:8000/v1/chat/completions'
    """
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MeasureInputError(
            "endpoint must be an http(s) URL of an OpenAI-compatible server, such as http://localhost:8000/v1"
        )
    if parts.username or parts.password or parts.query:
        raise MeasureInputError(
            "endpoint URL must not carry credentials or a query string; put the API key in an environment "
            "variable and name it with --api-key-env"
        )
    path = parts.path.rstrip("/")
    if not path.endswith("/chat/completions"):
        path += "/chat/completions" if path.endswith("/v1") else "/v1/chat/completions"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def parse_concurrency(text: str) -> list[int]:
    """`"1,4,16"` → `[1, 4, 16]`.

    Raises:
        MeasureInputError: Anything but a comma-separated list of positive whole numbers.
    """
    try:
        levels = [int(p) for p in text.replace(" ", "").split(",") if p]
    except ValueError:
        raise MeasureInputError(
            f"concurrency must be whole numbers separated by commas, like 1,4,16 (got {text!r})"
        ) from None
    if not levels:
        raise MeasureInputError("concurrency needs at least one level, like 1,4,16")
    return levels


class LoadSettings(StrictModel):
    """What to send and for how long; stored with the results (it holds no secret)."""

    endpoint: str
    """Chat-completions URL of the OpenAI-compatible server (normalised from a base URL)."""
    model: Annotated[str, Field(min_length=1, max_length=300)]
    """Model name as the server knows it (the `model` field of the request)."""
    concurrency_levels: Annotated[list[Annotated[int, Field(ge=1, le=1024)]], Field(min_length=1, max_length=32)] = (
        Field(default_factory=lambda: [1, 4, 16])
    )
    """Streams kept in flight at each level, run in this order."""
    input_tokens: Annotated[int, Field(ge=1, le=1_000_000)] = 512
    """Prompt length asked for, tokens (approximate: the server's count is reported)."""
    output_tokens: Annotated[int, Field(ge=1, le=100_000)] = 256
    """Completion length asked for, tokens."""
    duration_s_per_level: Annotated[float, Field(gt=0, le=86_400)] | None = None
    """Seconds each level starts new requests for. Empty: 30 s, or a 600 s cap when `max_requests_per_level` is set."""
    max_requests_per_level: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    """Requests each level sends at most."""
    request_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 120.0
    """A request not finished this long after it was sent is cut and counted as an error."""
    api_key_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    """Name of the environment variable holding the API key (the key itself is never stored)."""
    fixed_length_hints: bool = True
    """Also send `min_tokens` and `ignore_eos` so every answer has exactly `output_tokens` (dropped if refused)."""

    @field_validator("endpoint")
    @classmethod
    def _normalise_endpoint(cls, v: str) -> str:
        return chat_completions_url(v)

    @field_validator("concurrency_levels")
    @classmethod
    def _unique_levels(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v):
            raise ValueError("concurrency levels repeat; list each level once")
        return v

    @property
    def level_duration_s(self) -> float:
        """Seconds each level starts requests for: the duration set, else 30 s, or 600 s when a request count
        bounds the level instead."""
        if self.duration_s_per_level is not None:
            return self.duration_s_per_level
        return 600.0 if self.max_requests_per_level else 30.0

    @classmethod
    def from_fields(cls, **fields: Any) -> LoadSettings:
        """Validate settings typed by a user, turning failures into `MeasureInputError` lines."""
        endpoint = fields.get("endpoint")
        if isinstance(endpoint, str):
            chat_completions_url(endpoint)  # first, so a URL with a key inside is never echoed in an error
        try:
            return cls(**fields)
        except ValidationError as ex:
            raise MeasureInputError(render_validation_error(ex, source="measure")) from None


def resolve_api_key(settings: LoadSettings) -> str | None:
    """The API key from the environment variable the settings name (`None` when they name none).

    Raises:
        MeasureInputError: The variable is named but not set.
    """
    if settings.api_key_env is None:
        return None
    key = os.environ.get(settings.api_key_env)
    if not key:
        raise MeasureInputError(f"environment variable {settings.api_key_env} (named by --api-key-env) is not set")
    return key


class LevelResult(StrictModel):
    """What one concurrency level achieved."""

    concurrency: int = Field(ge=1)
    """Streams kept in flight."""
    start_s: float
    """Level start, seconds since the benchmark started."""
    end_s: float
    """When its last request ended, seconds since the benchmark started."""
    requests_ok: int = Field(ge=0)
    """Requests that streamed a complete answer."""
    requests_failed: int = Field(ge=0)
    """Requests that failed (HTTP error, timeout, broken stream)."""
    requests_cancelled: int = Field(ge=0)
    """Requests cut short by a stop (not errors)."""
    errors: dict[str, int] = Field(default_factory=dict)
    """Failures by kind (`HTTP 503`, `timeout`, …)."""
    first_error: str | None = None
    """The first failure's message, for diagnosis."""
    input_tokens_per_request: float | None = None
    """Mean prompt tokens the server counted (empty when it reported no usage)."""
    output_tokens: int = Field(ge=0)
    """Output tokens of the completed requests."""
    token_count_basis: TokenCountBasis
    """Where the output token counts came from."""
    ttft_ms_p50: float | None = None
    """Median time to first token, ms (request sent → first streamed text)."""
    ttft_ms_p95: float | None = None
    """95th-percentile time to first token, ms."""
    inter_token_ms_p50: float | None = None
    """Median inter-token latency, ms (per request: (last − first token time) ÷ (tokens − 1))."""
    inter_token_ms_p95: float | None = None
    """95th-percentile inter-token latency, ms."""
    output_tokens_per_s: float = Field(ge=0)
    """Output tokens per second of all streams together over the level."""
    output_tokens_per_s_per_stream: float | None = None
    """Mean decode speed one user sees, output tokens per second after the first token."""
    requests_per_s: float = Field(ge=0)
    """Completed requests per second."""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class SweepProgress(StrictModel):
    """A snapshot while a sweep runs (passed to `on_tick` a few times a second)."""

    level_index: int
    """0-based index of the level running."""
    levels_total: int
    """Levels in the sweep."""
    concurrency: int
    """Streams of the level running."""
    elapsed_s: float
    """Seconds since the benchmark started."""
    requests_done: int
    """Completed requests of the level running."""
    requests_failed: int
    """Failed requests of the level running."""
    output_tokens_per_s_recent: float
    """Streamed chunks per second over the last second (≈ output tokens/s; exact figures come per level)."""
    fraction_done: float
    """Share of the whole sweep done, 0–1 (by the time and request bounds)."""


class SweepResult(StrictModel):
    """All levels of one sweep and what was learnt about the server."""

    levels: list[LevelResult]
    """One entry per level run (the last may be partial when stopped)."""
    server: str | None = None
    """What the server says it is (`owned_by` of the model, `Server` header)."""
    fixed_length_hints_accepted: bool | None = None
    """Whether the server took `min_tokens` / `ignore_eos` (empty when not sent)."""
    stopped_early: bool = False
    """True when a stop or Ctrl-C ended the sweep before its bounds."""
    stop_reason: str | None = None
    """Why it stopped early."""
    warnings: list[str] = Field(default_factory=list)
    """Things the reader of the figures should know."""


@dataclasses.dataclass(frozen=True, slots=True)
class RequestTiming:
    """One request of a level as the load generator timed it (times in seconds since the benchmark started).

    What a level's figures are computed from, handed out one by one through `run_sweep(on_request=…)`: for
    latency distributions, raw exports, and tests that hold each request to what the server really did. A
    plain slotted dataclass, not a pydantic model: a long level makes hundreds of thousands.
    """

    concurrency: int
    """The level's streams in flight."""
    sent_s: float
    """When the request was about to be sent (before connecting)."""
    first_token_s: float | None
    """When the first streamed text arrived (empty if none did)."""
    last_token_s: float | None
    """When the last streamed text arrived."""
    end_s: float
    """When the request ended (answer complete, failed or cut)."""
    output_tokens: int
    """Output tokens as the level counts them: the server's usage, else streamed chunks."""
    ok: bool
    """A complete answer (neither failed nor cancelled)."""
    cancelled: bool
    """Cut short by a stop."""
    error_kind: str | None
    """The failure's kind (`timeout`, `HTTP 500` …), empty unless it failed."""


@dataclasses.dataclass(slots=True)
class _Request:
    sent_s: float
    end_s: float = 0.0
    status: int | None = None
    first_token_s: float | None = None
    last_token_s: float | None = None
    chunks: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error_kind: str | None = None
    error: str | None = None
    cancelled: bool = False
    server: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.cancelled

    @property
    def tokens(self) -> int:
        return self.completion_tokens if self.completion_tokens is not None else self.chunks

    def fail(self, kind: str, message: str) -> None:
        if self.error is None:
            self.error_kind, self.error = kind, message


@dataclasses.dataclass(frozen=True, slots=True)
class _Target:
    https: bool
    host: str
    port: int
    path: str
    headers: dict[str, str] = dataclasses.field(repr=False)
    secret: str | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def of(cls, url: str, api_key: str | None) -> _Target:
        parts = urlsplit(url)
        https = parts.scheme == "https"
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream", "User-Agent": "opentco"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        return cls(
            https=https,
            host=parts.hostname or "",
            port=parts.port or (443 if https else 80),
            path=parts.path,
            headers=headers,
            secret=api_key,
        )

    def connection(self, timeout_s: float) -> http.client.HTTPConnection:
        if self.https:
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout_s, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout_s)

    def redact(self, text: str) -> str:
        return text.replace(self.secret, "***") if self.secret else text


class _Sockets:
    """Open sockets of one level, so a stop can cut blocked reads at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.halted = threading.Event()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)
        if self.halted.is_set():
            _cut(sock)

    def discard(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._open.discard(sock)  # type: ignore[arg-type]

    def halt(self) -> None:
        self.halted.set()
        with self._lock:
            for sock in list(self._open):
                _cut(sock)


def _cut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return  # already closed by its reader: nothing to cut


def _excerpt(raw: bytes) -> str:
    text = " ".join(raw.decode("utf-8", errors="replace").split())
    return text[:_EXCERPT] + ("…" if len(text) > _EXCERPT else "")


def _stream_one(
    target: _Target, body: bytes, *, timeout_s: float, sockets: _Sockets, on_chunk: Callable[[], None]
) -> _Request:
    """Send one streaming chat completion and time its tokens."""
    req = _Request(sent_s=time.monotonic())
    deadline = req.sent_s + timeout_s
    conn = target.connection(min(timeout_s, 30.0))
    sock: socket.socket | None = None
    done = finished = False
    try:
        conn.connect()
        sock = conn.sock
        sockets.add(sock)
        conn.request("POST", target.path, body=body, headers=target.headers)
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        resp = conn.getresponse()
        req.status, req.server = resp.status, resp.getheader("Server")
        if resp.status != 200:
            detail = target.redact(_excerpt(resp.read(4096)))
            req.fail(f"HTTP {resp.status}", f"HTTP {resp.status} {resp.reason}: {detail}")
            return req
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
            line = resp.readline(_MAX_LINE)
            if not line:
                break
            if not line.startswith(b"data:"):
                continue  # blank separators, `event:` lines and `:` keep-alive comments
            data = line[5:].strip()
            if data == b"[DONE]":
                done = True
                break
            event = json.loads(data)
            if not isinstance(event, dict):
                raise ValueError("event is not a JSON object")
            if event.get("error"):
                err = event["error"]
                message = err.get("message") if isinstance(err, dict) else err
                req.fail("server error event", f"server sent an error: {target.redact(str(message))[:_EXCERPT]}")
                return req
            for choice in event.get("choices") or ():
                delta = choice.get("delta") or {}
                text = delta.get("content") or delta.get("reasoning_content") or delta.get("reasoning")
                if text:
                    now = time.monotonic()
                    if req.first_token_s is None:
                        req.first_token_s = now
                    req.last_token_s = now
                    req.chunks += 1
                    on_chunk()
                if choice.get("finish_reason"):
                    finished = True
            usage = event.get("usage")
            if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
                req.completion_tokens = usage["completion_tokens"]
                if isinstance(usage.get("prompt_tokens"), int):
                    req.prompt_tokens = usage["prompt_tokens"]
        if sockets.halted.is_set() and not done:
            req.cancelled = True
        elif not (done or finished):
            req.fail("stream ended early", "the server closed the stream before the answer was complete")
    except TimeoutError:
        if sockets.halted.is_set():
            req.cancelled = True
        else:
            req.fail("timeout", f"no complete answer within {timeout_s:g} s (raise --timeout or lower the load)")
    except ConnectionRefusedError:
        req.fail("connection refused", f"connection refused by {target.host}:{target.port}; is the server running?")
    except (OSError, http.client.HTTPException) as ex:
        if sockets.halted.is_set():
            req.cancelled = True
        else:
            req.fail("connection error", f"{type(ex).__name__}: {target.redact(str(ex))[:_EXCERPT]}")
    except (ValueError, AttributeError, TypeError) as ex:  # JSON that is not the chat-completions stream format
        req.fail("bad stream data", f"the stream is not OpenAI chat-completions data: {str(ex)[:_EXCERPT]}")
    finally:
        sockets.discard(sock)
        conn.close()
        req.end_s = time.monotonic()
    return req


def _prompt(words: int, seed: int) -> str:
    # A different word sequence per request, so a server's prefix cache cannot skip the prefill.
    rng = random.Random(seed)
    return "Continue this list of words: " + " ".join(rng.choice(_WORDS) for _ in range(words))


def _body(settings: LoadSettings, *, seed: int, max_tokens: int, hints: bool) -> bytes:
    payload: dict[str, Any] = {
        "model": settings.model,
        "messages": [{"role": "user", "content": _prompt(max(1, settings.input_tokens - 12), seed)}],
        "max_tokens": max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if hints:
        payload["min_tokens"] = max_tokens
        payload["ignore_eos"] = True
    return json.dumps(payload).encode()


def _percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default); `None` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _summarise(concurrency: int, results: list[_Request], *, start: float, end: float, origin: float) -> LevelResult:
    ok = [r for r in results if r.ok]
    failed = [r for r in results if r.error is not None]
    errors = collections.Counter(r.error_kind or "error" for r in failed)
    window = max(end - start, 1e-9)
    ttft = [(r.first_token_s - r.sent_s) * 1000 for r in ok if r.first_token_s is not None]
    itl, speed = [], []
    for r in ok:
        if r.tokens >= 2 and r.first_token_s is not None and r.last_token_s is not None:
            span = r.last_token_s - r.first_token_s
            if span > 0:
                itl.append(span / (r.tokens - 1) * 1000)
                speed.append((r.tokens - 1) / span)
    prompts = [r.prompt_tokens for r in ok if r.prompt_tokens is not None]
    output_tokens = sum(r.tokens for r in ok)
    return LevelResult(
        concurrency=concurrency,
        start_s=start - origin,
        end_s=end - origin,
        requests_ok=len(ok),
        requests_failed=len(failed),
        requests_cancelled=sum(r.cancelled for r in results),
        errors=dict(errors),
        first_error=failed[0].error if failed else None,
        input_tokens_per_request=sum(prompts) / len(prompts) if prompts and len(prompts) == len(ok) else None,
        output_tokens=output_tokens,
        token_count_basis="server_usage" if all(r.completion_tokens is not None for r in ok) else "approximate",
        ttft_ms_p50=_percentile(ttft, 50),
        ttft_ms_p95=_percentile(ttft, 95),
        inter_token_ms_p50=_percentile(itl, 50),
        inter_token_ms_p95=_percentile(itl, 95),
        output_tokens_per_s=output_tokens / window,
        output_tokens_per_s_per_stream=sum(speed) / len(speed) if speed else None,
        requests_per_s=len(ok) / window,
    )


class _Level:
    """One concurrency level: its worker threads, their results, and the controls to stop them."""

    def __init__(
        self, *, settings: LoadSettings, target: _Target, concurrency: int, hints: bool, seed_base: int
    ) -> None:
        self.settings, self.target, self.concurrency, self.hints = settings, target, concurrency, hints
        self.sockets = _Sockets()
        self._lock = threading.Lock()
        self._results: list[_Request] = []
        self._started = 0
        self._chunks = 0
        self._seed_base = seed_base
        self._threads: list[threading.Thread] = []
        self._rates: collections.deque[tuple[float, int]] = collections.deque(maxlen=64)
        self.start_s = 0.0
        self.deadline_s = 0.0

    def start(self) -> None:
        self.start_s = time.monotonic()
        self.deadline_s = self.start_s + self.settings.level_duration_s
        self._rates.append((self.start_s, 0))
        for i in range(self.concurrency):
            t = threading.Thread(target=self._work, name=f"opentco-load-{self.concurrency}-{i}", daemon=True)
            self._threads.append(t)
            t.start()

    def _claim(self) -> int | None:
        with self._lock:
            limit = self.settings.max_requests_per_level
            if self.sockets.halted.is_set() or time.monotonic() >= self.deadline_s:
                return None
            if limit is not None and self._started >= limit:
                return None
            self._started += 1
            return self._started

    def _chunk(self) -> None:
        with self._lock:
            self._chunks += 1

    def _work(self) -> None:
        while (n := self._claim()) is not None:
            body = _body(
                self.settings, seed=self._seed_base + n, max_tokens=self.settings.output_tokens, hints=self.hints
            )
            result = _stream_one(
                self.target,
                body,
                timeout_s=self.settings.request_timeout_s,
                sockets=self.sockets,
                on_chunk=self._chunk,
            )
            with self._lock:
                self._results.append(result)

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def progress(self) -> tuple[int, int, float, float]:
        """(completed, failed, recent chunks/s, share of the level's bounds used)."""
        now = time.monotonic()
        with self._lock:
            done = sum(r.ok for r in self._results)
            failed = sum(r.error is not None for r in self._results)
            chunks, started = self._chunks, self._started
        self._rates.append((now, chunks))
        t0, c0 = next(((t, c) for t, c in self._rates if now - t <= 1.0), self._rates[0])
        rate = (chunks - c0) / (now - t0) if now > t0 else 0.0
        share = (now - self.start_s) / self.settings.level_duration_s
        if self.settings.max_requests_per_level:
            share = max(share, started / self.settings.max_requests_per_level)
        return done, failed, rate, min(share, 1.0)

    def wait(self, timeout_s: float) -> None:
        for t in self._threads:
            t.join(max(timeout_s, 0.0))
            if t.is_alive():
                return

    def halt(self) -> None:
        self.sockets.halt()

    def finish(self) -> None:
        """Wait for the workers; after a halt their sockets are cut, so this returns promptly."""
        for t in self._threads:
            t.join(self.settings.request_timeout_s + 5)

    def requests(self) -> list[_Request]:
        with self._lock:
            return list(self._results)

    def result(self, origin: float) -> LevelResult:
        results = self.requests()
        end = max((r.end_s for r in results), default=time.monotonic())
        return _summarise(self.concurrency, results, start=self.start_s, end=end, origin=origin)


def _timing(concurrency: int, r: _Request, origin: float) -> RequestTiming:
    return RequestTiming(
        concurrency=concurrency,
        sent_s=r.sent_s - origin,
        first_token_s=None if r.first_token_s is None else r.first_token_s - origin,
        last_token_s=None if r.last_token_s is None else r.last_token_s - origin,
        end_s=r.end_s - origin,
        output_tokens=r.tokens,
        ok=r.ok,
        cancelled=r.cancelled,
        error_kind=r.error_kind,
    )


def _server_name(target: _Target, model: str) -> str | None:
    """`owned_by` of the model in `GET …/models` (vllm, sglang, llamacpp …); best effort, never fails."""
    conn = target.connection(5.0)
    try:
        conn.request("GET", target.path.removesuffix("/chat/completions") + "/models", headers=target.headers)
        resp = conn.getresponse()
        if resp.status != 200:
            return None
        listing = json.loads(resp.read(1 << 20))
        for entry in listing.get("data") or ():
            if isinstance(entry, dict) and entry.get("id") == model and entry.get("owned_by"):
                return str(entry["owned_by"])
    except (OSError, http.client.HTTPException, ValueError, AttributeError):
        return None  # the model list is optional: many servers don't have one
    finally:
        conn.close()
    return None


def _preflight(settings: LoadSettings, target: _Target) -> tuple[bool | None, str | None]:
    """One short request that checks address, key and model, and learns whether the length hints pass."""
    hints: bool | None = settings.fixed_length_hints or None
    probe_tokens = min(settings.output_tokens, 8)
    sockets = _Sockets()
    while True:
        body = _body(settings, seed=0, max_tokens=probe_tokens, hints=bool(hints))
        req = _stream_one(target, body, timeout_s=settings.request_timeout_s, sockets=sockets, on_chunk=lambda: None)
        if req.ok:
            break
        if req.status in (400, 422) and hints:
            hints = False  # a strict server that refuses the vLLM-style extras: measure without them
            continue
        url = urlunsplit(("https" if target.https else "http", f"{target.host}:{target.port}", target.path, "", ""))
        if req.status in (401, 403):
            raise EndpointError(
                f"{url} refused the request ({req.error}). Name the variable that holds the API key with --api-key-env."
            )
        if req.status == 404:
            raise EndpointError(
                f"{url} answered 404 ({req.error}). Check the path (OpenAI-compatible servers serve "
                f"/v1/chat/completions) and that the server serves the model {settings.model!r}."
            )
        raise EndpointError(f"cannot benchmark {url}: {req.error}")
    owned_by = _server_name(target, settings.model)
    server = " / ".join(p for p in (owned_by, req.server) if p) or None
    return hints, server


def run_sweep(
    settings: LoadSettings,
    *,
    api_key: str | None = None,
    stop: threading.Event | None = None,
    on_tick: Callable[[SweepProgress], None] | None = None,
    on_level: Callable[[LevelResult], None] | None = None,
    on_boundary: Callable[[], None] | None = None,
    on_request: Callable[[RequestTiming], None] | None = None,
    origin_s: float | None = None,
    tick_s: float = 0.25,
) -> SweepResult:
    """Run every concurrency level of `settings` against the endpoint, one after the other.

    Args:
        settings: Endpoint, model, lengths, levels and bounds.
        api_key: Bearer token (read it with `resolve_api_key`); never stored.
        stop: Set it (from any thread) to end the sweep now; finished requests are kept.
        on_tick: Called on this thread a few times a second with a progress snapshot.
        on_level: Called on this thread with each level's figures as it ends.
        on_boundary: Called on this thread just before each level starts and just after it ends (the
            GPU sampler's `mark`, so each level's energy is read at its exact edges).
        on_request: Called on this thread with each request of a level as the level ends, before `on_level`.
        origin_s: `time.monotonic()` value the reported times count from (default: now).
        tick_s: Seconds between `on_tick` calls.

    Returns:
        Per-level figures; `stopped_early` when a stop or Ctrl-C cut it short.

    Raises:
        EndpointError: The first request already fails (unreachable, refused, unknown model).
    """
    origin = time.monotonic() if origin_s is None else origin_s
    stop = stop or threading.Event()
    target = _Target.of(settings.endpoint, api_key)
    result = SweepResult(levels=[])
    try:
        hints, result.server = _preflight(settings, target)
    except KeyboardInterrupt:
        result.stopped_early, result.stop_reason = True, "stopped by Ctrl-C before the first level"
        return result
    result.fixed_length_hints_accepted = hints
    if settings.fixed_length_hints and not hints:
        result.warnings.append(
            "the server refused min_tokens/ignore_eos, so answers may end before output_tokens; "
            "the counts reported are what was generated"
        )
    total = len(settings.concurrency_levels)
    for index, concurrency in enumerate(settings.concurrency_levels):
        if stop.is_set():
            break
        level = _Level(
            settings=settings, target=target, concurrency=concurrency, hints=bool(hints), seed_base=index * 10_000_000
        )
        if on_boundary is not None:
            on_boundary()
        level.start()
        completed = False
        try:
            while level.running:
                if stop.is_set():
                    level.halt()
                    result.stopped_early, result.stop_reason = True, "stopped by the user"
                if on_tick is not None:
                    done, failed, rate, share = level.progress()
                    on_tick(
                        SweepProgress(
                            level_index=index,
                            levels_total=total,
                            concurrency=concurrency,
                            elapsed_s=time.monotonic() - origin,
                            requests_done=done,
                            requests_failed=failed,
                            output_tokens_per_s_recent=rate,
                            fraction_done=(index + share) / total,
                        )
                    )
                level.wait(tick_s)
            completed = True
        except KeyboardInterrupt:
            stop.set()
            result.stopped_early, result.stop_reason = True, "stopped by Ctrl-C"
        finally:
            if stop.is_set() or not completed:  # a stop, or an exception out of on_tick: cut the streams
                level.halt()
            level.finish()
        if on_boundary is not None:
            on_boundary()
        figures = level.result(origin)
        if on_request is not None:
            for request in level.requests():
                on_request(_timing(concurrency, request, origin))
        result.levels.append(figures)
        if on_level is not None:
            on_level(figures)
    if stop.is_set() and not result.stopped_early:
        result.stopped_early, result.stop_reason = True, "stopped by the user"
    for figures in result.levels:
        if figures.token_count_basis == "approximate":
            result.warnings.append(
                f"concurrency {figures.concurrency}: the server reported no token usage; output tokens are "
                "counted as streamed chunks (approximate)"
            )
    return result
