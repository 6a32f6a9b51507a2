"""The dashboard as served: `streamlit run dashboard/serve.py` (the router, `streamlit_app.py`, behind one middleware).

Why not `streamlit run dashboard/streamlit_app.py` straight: opened on a deep link such as `/builder`, Streamlit's
frontend does not know where the app's root is, so it guesses. It probes `/builder/_stcore/health` and
`/builder/_stcore/host-config` first (the app might be served under `/builder`), gets two 404s, and only then
tries `/` (`getPossibleBaseUris` in the frontend's connection code: the current path, then its parent). A host
that knows the root says so in `window.__streamlit.BACKEND_BASE_URL`, which the frontend reads before it
connects; with it the frontend probes the root alone. So every HTML page this server sends carries that one
line in its head, and the browser asks for nothing that fails. `st.App` (Streamlit's ASGI entry, which
`streamlit run` detects in this file) is what lets a middleware see the page.

The Docker image serves this file too. Under `st.App`, uvicorn ends a process stopped with SIGTERM by re-raising
the signal after its graceful shutdown (exit status 143, not 0), so docker/entrypoint.py runs the server as a
child and reports the stop it passed on as a clean one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.middleware import Middleware

__all__ = ["HostConfig", "app", "host_config_script"]

Scope = dict[str, Any]
Message = dict[str, Any]


def host_config_script(base_url_path: str) -> bytes:
    """The `<script>` that tells the frontend the app's root: the page's origin plus `server.baseUrlPath`."""
    path = "/" + "".join(f"{part}/" for part in base_url_path.split("/") if part)
    # json.dumps quotes the path for JavaScript; "</" cannot occur in it once escaped, so the tag cannot close early
    quoted = json.dumps(path).replace("</", "<\\/")
    return f"<script>window.__streamlit={{BACKEND_BASE_URL:location.origin+{quoted}}}</script>".encode()


def _base_url_path() -> str:
    return str(st.get_option("server.baseUrlPath") or "")


class HostConfig:
    """ASGI middleware: add `host_config_script` to the head of every HTML page the app sends.

    Only GET requests outside Streamlit's own endpoints (`_stcore`, `static`, `media`, `component` …) can be
    the page; those are asked for uncompressed (the page is 8 kB) so that the script can be written in.
    """

    _NOT_PAGES = ("/_stcore/", "/static/", "/media/", "/component/", "/app/static/")

    def __init__(self, app: Any, *, base_url_path: Any = _base_url_path) -> None:
        self.app = app
        self._base_url_path = base_url_path

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") != "GET" or any(p in path for p in self._NOT_PAGES):
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"accept-encoding"]
        script = host_config_script(self._base_url_path())
        start: Message = {}
        body: list[bytes] = []

        async def write(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            page = b"".join(body)
            headers = start.get("headers", [])
            if dict(headers).get(b"content-type", b"").startswith(b"text/html") and b"<head>" in page:
                page = page.replace(b"<head>", b"<head>" + script, 1)
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(page)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": page})

        await self.app({**scope, "headers": headers}, receive, write)


app = st.App(str(Path(__file__).with_name("streamlit_app.py")), middleware=[Middleware(HostConfig)])
