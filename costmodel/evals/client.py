"""One target's chat client: streaming or not, retries with backoff, a timeout, and the numbers a run keeps.

Built on httpx (the `httpx2` distribution that genai-prices already installs, so no new dependency) rather
than the `openai` package: the run needs the raw stream to time the first token, has to read servers
that only nearly follow OpenAI's format (usage missing, `reasoning_content`, content as a list of parts,
an `error` object with status 200), and keeps its own retry loop so that `Retry-After` is honoured with
an injectable sleep and every failure becomes a short message. The openai client would add two packages
and its own retries on top, and raise on the odd responses a local server sends.

Retried: HTTP 408, 409, 425, 429 and 5xx (waiting at least `Retry-After` / `retry-after-ms` when sent, else
exponential backoff with full jitter), connection errors, timeouts, malformed JSON and streams cut short.
Not retried: other 4xx; 401, 403 and 404 are `fatal` (wrong key or model: the runner stops that target).
The API key goes out as a bearer token; it is removed from any text a server sends back before that text
reaches an error message.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import json
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2

from costmodel.evals.targets import Target

__all__ = ["CallFailed", "ChatClient", "Completion"]

_RETRY_STATUS = {408, 409, 425, 429}
_FATAL_STATUS = {401, 403, 404}
_EXCERPT = 240


@dataclasses.dataclass(slots=True)
class Completion:
    """One answer and what it cost."""

    text: str
    ttft_ms: float | None
    """Time to the first streamed token (None when not streamed)."""
    latency_ms: float
    """Request start to last byte, of the attempt that succeeded."""
    input_tokens: int | None
    output_tokens: int | None
    reasoning_tokens: int | None
    """As the server reports them; None when it reports no usage."""
    attempts: int


class CallFailed(Exception):
    """A request that failed for good (retries used up, or an error not worth retrying)."""

    def __init__(self, message: str, *, attempts: int, fatal: bool = False) -> None:
        super().__init__(message)
        self.attempts, self.fatal = attempts, fatal


class _Retry(Exception):
    def __init__(self, message: str, *, retry_after_s: float | None = None, immediate: bool = False) -> None:
        super().__init__(message)
        self.retry_after_s, self.immediate = retry_after_s, immediate


class ChatClient:
    """Chat completions against one target; one instance per target per run (it holds the connection pool)."""

    def __init__(
        self,
        target: Target,
        *,
        concurrency: int,
        timeout_s: float,
        max_retries: int,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        retry_after_max_s: float = 120.0,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        rng: random.Random | None = None,
    ) -> None:
        self.target = target
        self._key = target.api_key()
        self._timeout_s, self._max_retries = timeout_s, max_retries
        self._backoff_base_s, self._backoff_max_s, self._retry_after_max_s = (
            backoff_base_s,
            backoff_max_s,
            retry_after_max_s,
        )
        self._sleep = sleep or asyncio.sleep
        self._clock = clock
        self._rng = rng or random.Random(0)
        self._stream_options = True
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        self._http = httpx2.AsyncClient(
            headers=headers,
            timeout=httpx2.Timeout(timeout_s),
            limits=httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self.waits_s: list[float] = []
        """Every backoff wait taken (for the run's log and the tests)."""

    async def aclose(self) -> None:
        await self._http.aclose()

    def _safe(self, text: str) -> str:
        text = " ".join(text.split())[:_EXCERPT]
        return text.replace(self._key, "[key]") if self._key else text

    async def complete(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float) -> Completion:
        """Send one chat; retry what is worth retrying.

        Raises:
            CallFailed: the last error, with the number of attempts made (never the key).
        """
        attempt = 0
        while True:
            attempt += 1
            body: dict[str, Any] = {
                "model": self.target.model,
                "messages": messages,
                "max_tokens": max_tokens,
                "temperature": temperature,
            }
            if self.target.stream:
                body["stream"] = True
                if self._stream_options:
                    body["stream_options"] = {"include_usage": True}
            try:
                async with asyncio.timeout(self._timeout_s):
                    done = await self._attempt(body)
                done.attempts = attempt
                return done
            except CallFailed as ex:
                ex.attempts = attempt
                raise
            except _Retry as ex:
                last, wait_hint, immediate = str(ex), ex.retry_after_s, ex.immediate
            except TimeoutError:
                last, wait_hint, immediate = f"timed out after {self._timeout_s:g} s", None, False
            except httpx2.TimeoutException:
                last, wait_hint, immediate = f"timed out after {self._timeout_s:g} s", None, False
            except httpx2.TransportError as ex:
                last, wait_hint, immediate = f"connection failed ({type(ex).__name__})", None, False
            if attempt > self._max_retries:
                raise CallFailed(f"{last} (after {attempt} attempts)", attempts=attempt)
            if immediate:
                continue
            backoff = self._rng.uniform(0, min(self._backoff_max_s, self._backoff_base_s * 2 ** (attempt - 1)))
            wait = backoff if wait_hint is None else max(min(wait_hint, self._retry_after_max_s), backoff)
            self.waits_s.append(wait)
            await self._sleep(wait)

    async def _attempt(self, body: dict[str, Any]) -> Completion:
        start = self._clock()
        async with self._http.stream("POST", self.target.chat_url, json=body) as resp:
            if resp.status_code != 200:
                await self._refuse(resp, body)
            kind = resp.headers.get("content-type", "")
            if body.get("stream") and "json" not in kind.lower():
                return await self._read_stream(resp, start)
            raw = await resp.aread()
        return self._read_json(raw, start)

    async def _refuse(self, resp: httpx2.Response, body: dict[str, Any]) -> None:
        status = resp.status_code
        try:
            text = (await resp.aread()).decode("utf-8", "replace")
        except httpx2.HTTPError:
            text = ""
        message = f"HTTP {status}" + (f": {self._safe(text)}" if text.strip() else "")
        if status == 400 and "stream_options" in body and "stream_options" in text:
            self._stream_options = False  # an older server that rejects the usage option: ask without it
            raise _Retry(message, immediate=True)
        if status in _RETRY_STATUS or status >= 500:
            raise _Retry(message, retry_after_s=_retry_after(resp.headers))
        raise CallFailed(message, attempts=0, fatal=status in _FATAL_STATUS)

    def _read_json(self, raw: bytes, start: float) -> Completion:
        end = self._clock()
        try:
            doc = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _Retry(f"malformed JSON response: {self._safe(raw.decode('utf-8', 'replace'))!r}") from None
        if not isinstance(doc, dict):
            raise _Retry("malformed response: not a JSON object")
        if doc.get("error"):
            raise _Retry(f"error in response: {self._safe(json.dumps(doc['error']))}")
        choices = doc.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise _Retry("malformed response: no choices")
        message = choices[0].get("message") or {}
        text = _content(message.get("content") if isinstance(message, dict) else None)
        inp, out, reasoning = _usage(doc.get("usage"))
        return Completion(text, None, (end - start) * 1000, inp, out, reasoning, 0)

    async def _read_stream(self, resp: httpx2.Response, start: float) -> Completion:
        parts: list[str] = []
        first: float | None = None
        usage: Any = None
        finished = False
        done = False
        async for line in resp.aiter_lines():
            if done:
                if line.strip():
                    break  # a server that keeps talking after [DONE]: stop listening (the connection is dropped)
                continue  # read to the end of the body, so the connection goes back to the pool
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                finished = done = True
                continue
            try:
                chunk = json.loads(payload)
            except json.JSONDecodeError:
                raise _Retry(f"malformed JSON in the stream: {self._safe(payload)!r}") from None
            if not isinstance(chunk, dict):
                raise _Retry("malformed stream chunk: not a JSON object")
            if chunk.get("error"):
                raise _Retry(f"error in stream: {self._safe(json.dumps(chunk['error']))}")
            if chunk.get("usage"):
                usage = chunk["usage"]
            for choice in chunk.get("choices") or []:
                if not isinstance(choice, dict):
                    continue
                delta = choice.get("delta") or {}
                if isinstance(delta, dict):
                    piece = _content(delta.get("content"))
                    if first is None and (piece or delta.get("reasoning_content") or delta.get("reasoning")):
                        first = self._clock()
                    if piece:
                        parts.append(piece)
                if choice.get("finish_reason"):
                    finished = True
        end = self._clock()
        if not finished:
            raise _Retry("the stream ended before the answer finished")
        inp, out, reasoning = _usage(usage)
        ttft = None if first is None else (first - start) * 1000
        return Completion("".join(parts), ttft, (end - start) * 1000, inp, out, reasoning, 0)


def _content(value: Any) -> str:
    """Message content as text: a string, or the text parts of a list (as some servers send)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(p.get("text", "") for p in value if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


def _usage(usage: Any) -> tuple[int | None, int | None, int | None]:
    if not isinstance(usage, dict):
        return None, None, None
    details = usage.get("completion_tokens_details")
    reasoning = _int(details.get("reasoning_tokens")) if isinstance(details, dict) else None
    return _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens")), reasoning


def _retry_after(headers: httpx2.Headers) -> float | None:
    """Seconds the server asks to wait: `retry-after-ms`, `Retry-After` seconds or an HTTP date."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
