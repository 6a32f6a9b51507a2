"""A real OpenAI-compatible streaming server for the tests: tokens at a set rate after a set delay.

It listens on 127.0.0.1 on a free port, answers `POST /v1/chat/completions` with server-sent events
(chunked HTTP/1.1, one token per chunk unless told otherwise) and `GET /v1/models`, and records every
request it receives so tests can check what the client sent.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["StubBehaviour", "StubServer"]


@dataclasses.dataclass
class StubBehaviour:
    """How the stub answers; tests change it between runs."""

    ttft_s: float = 0.05
    """Delay before the first token."""
    tokens_per_s: float = 200.0
    """Per-stream token rate after the first."""
    usage: bool = True
    """Send the `usage` chunk when the client asks for it."""
    chunk_tokens: int = 1
    """Tokens per streamed chunk."""
    status: int = 200
    """Answer every chat request with this status (401, 404, 500 …)."""
    fail_every: int = 0
    """Answer every n-th chat request (counting from 1) with HTTP 500."""
    reject_hints: bool = False
    """HTTP 400 when the request carries `min_tokens` or `ignore_eos` (as OpenAI's own API does)."""
    hold_from: int | None = None
    """Chat requests numbered from this one on (1 = the first) get no answer until `released` is set (for
    timeouts: the client can only come back before that by giving up, however slow the machine)."""
    released: threading.Event = dataclasses.field(default_factory=threading.Event)
    """Set it to let held requests be answered (the server sets it as it shuts down)."""
    cut_after_chunks: int | None = None
    """Close the stream after this many chunks, without `[DONE]`."""
    ignore_max_tokens: int | None = None
    """Stream this many tokens whatever `max_tokens` says."""
    model: str = "stub-model"
    """The one model `GET /v1/models` lists."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "StubLLM/1.0"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _json(self, status: int, obj: object) -> None:
        raw = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        if self.path == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": self.server.behaviour.model, "owned_by": "stub"}]})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def _event(self, obj: object) -> None:
        data = b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_POST(self) -> None:
        received = time.monotonic()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        b = self.server.behaviour
        n = self.server.record(dict(self.headers), body)
        if self.path != "/v1/chat/completions":
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        if b.hold_from is not None and n >= b.hold_from:
            b.released.wait()
        if b.status != 200:
            self._json(b.status, {"error": {"message": f"stub says {b.status}"}})
            return
        if b.fail_every and n % b.fail_every == 0:
            self._json(500, {"error": {"message": "stub failure"}})
            return
        if b.reject_hints and ("min_tokens" in body or "ignore_eos" in body):
            self._json(400, {"error": {"message": "Unrecognized request argument supplied: min_tokens"}})
            return
        tokens = b.ignore_max_tokens or body["max_tokens"]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            self._event({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
            for chunks, i in enumerate(range(0, tokens, b.chunk_tokens), start=1):
                due = received + b.ttft_s + (i + b.chunk_tokens - 1) / b.tokens_per_s
                time.sleep(max(0.0, due - time.monotonic()))
                k = min(b.chunk_tokens, tokens - i)
                self._event({"choices": [{"index": 0, "delta": {"content": "tok " * k}, "finish_reason": None}]})
                if b.cut_after_chunks is not None and chunks >= b.cut_after_chunks:
                    self.wfile.write(b"0\r\n\r\n")
                    self.close_connection = True
                    return
            self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
            if b.usage and (body.get("stream_options") or {}).get("include_usage"):
                prompt = len(body["messages"][-1]["content"].split())
                self._event({"choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": tokens}})
            self._event(b"[DONE]")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client cut the stream (a stop): nothing more to send


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the default backlog of 5 drops bursts of connects (1 s SYN retry → fake TTFT)

    def __init__(self, behaviour: StubBehaviour) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self._lock = threading.Lock()

    def record(self, headers: dict[str, str], body: dict[str, Any]) -> int:
        with self._lock:
            self.requests.append((headers, body))
            return len(self.requests)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that hung up mid-stream is expected in the stop tests


class StubServer:
    """Start with `with StubServer() as stub:`; `stub.url` is its base URL (`http://127.0.0.1:PORT/v1`)."""

    def __init__(self, behaviour: StubBehaviour | None = None) -> None:
        self._server = _Server(behaviour or StubBehaviour())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def behaviour(self) -> StubBehaviour:
        return self._server.behaviour

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def requests(self) -> list[tuple[dict[str, str], dict[str, Any]]]:
        return self._server.requests

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.behaviour.released.set()  # held requests answer (to a client long gone) and their threads end
        self._server.shutdown()
        self._server.server_close()
