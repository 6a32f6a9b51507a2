"""A fake OpenAI-compatible chat server with known behaviour, on 127.0.0.1 and a free port.

It answers `POST …/chat/completions`, streaming (server-sent events, chunked HTTP/1.1) or not, as the
request asks. Whether an answer is right is decided per prompt by a seeded hash, so the share of right
answers is known exactly before the run, whatever the order or concurrency. Failures are scripted per
prompt and attempt (429 with Retry-After, 500, malformed JSON, a hang past the client's timeout, a stream
cut short) or for the first N requests of the server (a 429 burst). It records every request (body and
Authorization header) for the tests to inspect.

`python -m tests.evals.fake_openai --latency-ms 50` serves one in its own process (for the benchmark) and
prints `port N` on its first line.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["FakeBehaviour", "FakeServer", "is_right"]


def is_right(prompt: str, *, seed: int, p_right: float) -> bool:
    """The fake's coin for one prompt: right with probability `p_right`, the same on every call."""
    h = int.from_bytes(hashlib.sha256(f"{seed}:{prompt}".encode()).digest()[:8], "big")
    return h / 2**64 < p_right


@dataclasses.dataclass
class FakeBehaviour:
    """How the fake answers; tests set it before a run."""

    answers: dict[str, str] = dataclasses.field(default_factory=dict)
    """Last user message → the right answer (prompts not listed get `wrong_answer`)."""
    p_right: float = 1.0
    seed: int = 0
    wrong_answer: str = "I am not sure."
    variants: bool = False
    """Right answers come back in varied case and with surrounding whitespace."""
    usage: str = "always"
    """`always`, `never`, or `alternate` (usage only on prompts whose hash is even)."""
    reasoning_tokens: int | None = None
    latency_s: float = 0.0
    """Delay before answering each request."""
    burst_429: int = 0
    """The first N requests the server receives get 429."""
    retry_after: str | None = "0.05"
    """Retry-After header of scripted 429s (None: no header)."""
    script: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    """Prompt → failure per attempt: `429`, `500`, `malformed`, `timeout`, `cut`, `error200`, `leak400`, `ok`."""
    always_500: set[str] = dataclasses.field(default_factory=set)
    status: int = 200
    """Answer every request with this status (401, 404 …)."""
    hang_s: float = 3.0
    """How long a `timeout` attempt sleeps before answering."""
    gate: threading.Event | None = None
    """When set, requests after the first `gate_after` wait for the event (to kill a run mid-way)."""
    gate_after: int = 0
    reject_stream_options: bool = False
    """HTTP 400 naming `stream_options` when a request carries it (as some older servers do)."""
    judge: bool = False
    """Grade like a judge: pass when the answer to grade equals the reference (case-insensitive)."""
    judge_reply: str | None = None
    """Reply with this text instead (for unparseable verdicts)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else small writes wait for delayed ACKs (40 ms per answer)
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: bytes, *, kind: str = "application/json", extra: dict[str, str] | None = None):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length))
        fake = self.server.fake
        b = fake.behaviour
        with fake.lock:
            fake.requests.append(body)
            fake.auth.append(self.headers.get("Authorization"))
            number = len(fake.requests)
            prompt = _last_user(body)
            fake.attempts[prompt] = fake.attempts.get(prompt, 0) + 1
            attempt = fake.attempts[prompt]
        if not self.path.endswith("/chat/completions"):
            self._send(404, b'{"error": {"message": "not found"}}')
            return
        if b.gate is not None and number > b.gate_after:
            b.gate.wait()
        if b.latency_s:
            time.sleep(b.latency_s)
        if b.status != 200:
            self._send(b.status, json.dumps({"error": {"message": f"status {b.status}"}}).encode())
            return
        if b.reject_stream_options and "stream_options" in body:
            self._send(400, b'{"error": {"message": "unknown field stream_options"}}')
            return
        if number <= b.burst_429:
            self._send(429, b'{"error": {"message": "rate limited"}}', extra=_retry(b))
            return
        plan = b.script.get(prompt, [])
        mode = plan[attempt - 1] if attempt <= len(plan) else "ok"
        if prompt in b.always_500:
            mode = "500"
        if mode == "429":
            self._send(429, b'{"error": {"message": "slow down"}}', extra=_retry(b))
            return
        if mode == "500":
            self._send(500, b'{"error": {"message": "internal error"}}')
            return
        if mode == "leak400":  # a server that echoes the request's Authorization header in its error
            self._send(
                400, json.dumps({"error": {"message": f"bad auth {self.headers.get('Authorization')}"}}).encode()
            )
            return
        if mode == "error200":
            self._send(200, b'{"error": {"message": "overloaded"}}')
            return
        if mode == "timeout":
            time.sleep(b.hang_s)
        text = self._answer(body, prompt)
        usage = _usage(prompt, text, b)
        if body.get("stream"):
            self._stream(text, usage, body, malformed=mode == "malformed", cut=mode == "cut")
            return
        if mode == "malformed":
            self._send(200, b'{"id": "x", "choices": [{"message": {"content": "oops"')
            return
        doc: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        }
        if usage is not None:
            doc["usage"] = usage
        self._send(200, json.dumps(doc).encode())

    def _answer(self, body: dict[str, Any], prompt: str) -> str:
        b = self.server.fake.behaviour
        if b.judge:
            if b.judge_reply is not None:
                return b.judge_reply
            ref = re.search(r"Reference answer:\n(.*?)\n\nAnswer to grade:\n(.*)\Z", prompt, re.DOTALL)
            ok = ref is not None and ref.group(1).strip().casefold() == ref.group(2).strip().casefold()
            return json.dumps({"verdict": "pass" if ok else "fail", "reason": "compared with the reference"})
        right = b.answers.get(prompt)
        if right is None or not is_right(prompt, seed=b.seed, p_right=b.p_right):
            return b.wrong_answer
        if b.variants:
            h = int(hashlib.sha256(prompt.encode()).hexdigest(), 16)
            return [right.upper(), f"  {right.lower()}\n", f"\t{right.title()} ", right][h % 4]
        return right

    def _stream(self, text: str, usage: dict[str, Any] | None, body: dict[str, Any], *, malformed: bool, cut: bool):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def event(obj: Any) -> None:
            data = ("data: " + (obj if isinstance(obj, str) else json.dumps(obj)) + "\n\n").encode()
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")

        pieces = [text[i : i + 4] for i in range(0, len(text), 4)] or [""]
        for i, piece in enumerate(pieces):
            if malformed and i == 1:
                event('{"choices": [{"delta": {"content": "x"')
                break
            if cut and i == 1:
                break
            event({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
        else:
            event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            opts = body.get("stream_options") or {}
            if usage is not None and opts.get("include_usage"):
                event({"choices": [], "usage": usage})
            event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")


def _retry(b: FakeBehaviour) -> dict[str, str]:
    return {"Retry-After": b.retry_after} if b.retry_after is not None else {}


def _last_user(body: dict[str, Any]) -> str:
    for m in reversed(body.get("messages") or []):
        if m.get("role") == "user":
            return str(m.get("content"))
    return ""


def _usage(prompt: str, text: str, b: FakeBehaviour) -> dict[str, Any] | None:
    if b.usage == "never":
        return None
    if b.usage == "alternate" and int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % 2:
        return None
    usage: dict[str, Any] = {
        "prompt_tokens": len(prompt.split()) + 7,
        "completion_tokens": max(1, len(text.split())),
        "total_tokens": len(prompt.split()) + 7 + max(1, len(text.split())),
    }
    if b.reasoning_tokens is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": b.reasoning_tokens}
    return usage


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 drops SYNs when 32 clients connect at once (1 s retry)
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that cut a request (timeout, Ctrl-C, a run stopped) is part of what is tested
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class FakeServer:
    """Serve in a background thread; `url` is the base to give a target (`http://127.0.0.1:PORT/v1`)."""

    def __init__(self, behaviour: FakeBehaviour | None = None) -> None:
        self.behaviour = behaviour or FakeBehaviour()
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        self.attempts: dict[str, int] = {}
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def prompts_asked(self) -> list[str]:
        with self.lock:
            return [_last_user(r) for r in self.requests]

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.behaviour.gate is not None:
            self.behaviour.gate.set()
        self._httpd.shutdown()
        self._httpd.server_close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--answers", help="JSON file: prompt → right answer")
    args = parser.parse_args()
    answers = json.loads(Path(args.answers).read_text()) if args.answers else {}
    with FakeServer(FakeBehaviour(answers=answers, latency_s=args.latency_ms / 1000)) as fake:
        sys.stdout.write(f"port {fake.url.rsplit(':', 1)[1].split('/')[0]}\n")
        sys.stdout.flush()
        sys.stdin.read()  # serve until the parent closes our stdin


if __name__ == "__main__":
    main()
