"""`dashboard/serve.py`: every HTML page tells the frontend where the app's root is, so a deep link probes nothing
that fails; nothing else the server sends is touched. (The browser side: tests/dashboard/test_journeys.py.)"""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import pytest

from dashboard.serve import HostConfig, host_config_script

PAGE = b"<!DOCTYPE html><html><head><title>x</title></head><body></body></html>"


def _inner(status: int, content_type: bytes, body: bytes, *, chunks: int = 1):
    """A stand-in for Streamlit's app: answers every request with `body` (gzipped when the client accepts it),
    in `chunks` parts, and records the request it saw."""
    seen: list[dict[str, Any]] = []

    async def app(scope, receive, send) -> None:
        seen.append(scope)
        data = body
        headers = [(b"content-type", content_type)]
        if any(k == b"accept-encoding" and b"gzip" in v for k, v in scope["headers"]):
            data = gzip.compress(body)
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(data)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        step = max(1, len(data) // chunks)
        parts = [data[i : i + step] for i in range(0, len(data), step)] or [b""]
        for k, part in enumerate(parts):
            await send({"type": "http.response.body", "body": part, "more_body": k < len(parts) - 1})

    return app, seen


def _get(app, path: str, *, method: str = "GET", base: str = "") -> tuple[dict, bytes, list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []

    async def send(message) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": method, "path": path, "headers": [(b"accept-encoding", b"gzip, br")]}
    asyncio.run(HostConfig(app, base_url_path=lambda: base)(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start, body, sent


@pytest.mark.parametrize("chunks", [1, 3])
def test_a_deep_link_page_names_the_root(chunks: int) -> None:
    app, seen = _inner(200, b"text/html; charset=utf-8", PAGE, chunks=chunks)
    start, body, _ = _get(app, "/builder")
    script = b'<script>window.__streamlit={BACKEND_BASE_URL:location.origin+"/"}</script>'
    assert body == PAGE.replace(b"<head>", b"<head>" + script)
    assert dict(start["headers"])[b"content-length"] == str(len(body)).encode()
    assert [k for k, _ in seen[0]["headers"]] == []  # asked uncompressed, so the script could be written in


def test_under_a_base_path_the_root_includes_it() -> None:
    assert (
        host_config_script("tco") == b'<script>window.__streamlit={BACKEND_BASE_URL:location.origin+"/tco/"}</script>'
    )
    assert host_config_script("/a/b/") == (
        b'<script>window.__streamlit={BACKEND_BASE_URL:location.origin+"/a/b/"}</script>'
    )
    assert b"</script><" not in host_config_script("x</script><img src=y>")[:-9]  # the path cannot close the tag
    app, _ = _inner(200, b"text/html", PAGE)
    _, body, _ = _get(app, "/tco/builder", base="/tco")
    assert b'location.origin+"/tco/"' in body


@pytest.mark.parametrize(
    ("path", "method", "content_type"),
    [
        ("/_stcore/health", "GET", b"text/plain"),
        ("/builder/_stcore/host-config", "GET", b"application/json"),
        ("/static/js/index.js", "GET", b"text/javascript"),
        ("/media/abc.png", "GET", b"image/png"),
        ("/builder", "POST", b"text/html"),
        ("/favicon.png", "GET", b"image/png"),
    ],
)
def test_everything_else_passes_untouched(path: str, method: str, content_type: bytes) -> None:
    app, seen = _inner(200, content_type, b"<head>not a page</head>")
    _, body, _ = _get(app, path, method=method)
    if path == "/favicon.png":  # a page-like path: asked uncompressed, but not HTML, so not changed
        assert body == b"<head>not a page</head>"
    else:
        assert gzip.decompress(body) == b"<head>not a page</head>"  # compressed as the client asked
        assert seen[0]["headers"] == [(b"accept-encoding", b"gzip, br")]


def test_a_not_modified_answer_stays_empty() -> None:
    app, _ = _inner(304, b"text/html", b"")
    start, body, _ = _get(app, "/builder")
    assert start["status"] == 304 and body == b""
