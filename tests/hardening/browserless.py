"""A Streamlit client without a browser: the websocket protocol and the upload endpoint, as the frontend uses them.

One `Session` is one browser tab: it opens `/_stcore/stream`, asks the server to run a page, reads back the
elements the script drew, and uploads files the way `st.file_uploader` does (ask for upload URLs over the
websocket, PUT the bytes with the XSRF cookie and header, then rerun with the uploader's state and the form's
submit trigger). Used by the many-sessions test and by bench/soak_sessions.py.
"""

from __future__ import annotations

import http.cookiejar
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

__all__ = ["Session", "free_port", "streamlit_server"]

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(*, db: Path, log: Path, secrets: Path | None = None) -> Iterator[str]:
    """`streamlit run dashboard/serve.py` (as shipped) on a free loopback port, with the project's config (XSRF on).

    `secrets` is a secrets.toml to use instead of the project's (sign-in tests pass one with `[auth]`).
    """
    port = free_port()
    env = {**os.environ, "OPENTCO_DB": str(db), "PYTHONPATH": str(ROOT)}
    args = ["--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"]
    if secrets is not None:
        args += ["--secrets.files", str(secrets)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard/serve.py", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"streamlit did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Session:
    """One browser tab on the app at `base` (http://host:port)."""

    def __init__(self, base: str, *, timeout_s: float = 120) -> None:
        self.base, self.timeout_s = base, timeout_s
        self._cookies = http.cookiejar.CookieJar()
        self._http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self._cookies))
        with self._http.open(f"{base}/_stcore/health", timeout=30) as r:  # sets the XSRF cookie, as for the frontend
            r.read()
        self.xsrf = next((c.value for c in self._cookies if c.name == "_streamlit_xsrf"), None)
        cookie = f"_streamlit_xsrf={self.xsrf}" if self.xsrf else None
        self.ws: ClientConnection = ws_connect(
            base.replace("http://", "ws://") + "/_stcore/stream",
            subprotocols=["streamlit", self.xsrf] if self.xsrf else ["streamlit"],  # type: ignore[list-item]
            additional_headers={"Cookie": cookie, "Origin": base} if cookie else {"Origin": base},
            max_size=None,
            open_timeout=30,
            legacy=True,  # a connection object, closed by close() (not a `with` block)
        )
        self.session_id: str | None = None
        self.elements: dict[tuple[int, ...], Any] = {}
        self.status: int | None = None

    def close(self) -> None:
        self.ws.close()

    def _send(self, msg: BackMsg) -> None:
        self.ws.send(msg.SerializeToString())

    def _recv(self, deadline: float) -> ForwardMsg:
        msg = ForwardMsg()
        msg.ParseFromString(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))  # type: ignore[arg-type]
        if msg.WhichOneof("type") == "new_session":
            self.session_id = msg.new_session.initialize.session_id
        return msg

    def run(self, page: str = "usage_logs", widgets: list[WidgetState] | None = None) -> Session:
        """Run `page` (its URL name) with these widget values, and keep what it drew."""
        msg = BackMsg()
        msg.rerun_script.page_name = page
        if widgets:
            msg.rerun_script.widget_states.widgets.extend(widgets)
        self._send(msg)
        self.elements = {}
        deadline = time.monotonic() + self.timeout_s
        while True:
            f = self._recv(deadline)
            kind = f.WhichOneof("type")
            if kind == "delta" and f.delta.WhichOneof("type") == "new_element":
                self.elements[tuple(f.metadata.delta_path)] = f.delta.new_element
            elif kind == "script_finished":
                self.status = f.script_finished
                if f.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                    return self
                if f.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    raise RuntimeError(f"{page}: the script did not compile")
                # FINISHED_EARLY_FOR_RERUN: the script reruns on its own (st.rerun); keep reading
            elif kind == "page_not_found":
                raise RuntimeError(f"no page {page!r}")

    def of(self, kind: str) -> list[Any]:
        """The elements of one kind (`alert`, `metric`, `exception`, `file_uploader`, `button` …) in page order."""
        return [getattr(e, kind) for _, e in sorted(self.elements.items()) if e.WhichOneof("type") == kind]

    def alerts(self) -> list[tuple[str, str]]:
        names = {1: "error", 2: "warning", 3: "info", 4: "success"}
        return [(names.get(a.format, str(a.format)), a.body) for a in self.of("alert")]

    def metrics(self) -> dict[str, str]:
        return {m.label: m.body for m in self.of("metric")}

    def upload(self, files: list[tuple[str, bytes]]) -> Session:
        """Pick `files` in the page's uploader and press its form's submit button; the page reruns."""
        (uploader,) = self.of("file_uploader")
        submit = next(b for b in self.of("button") if b.is_form_submitter and b.form_id == uploader.form_id)
        request = BackMsg()
        request.file_urls_request.request_id = uuid.uuid4().hex
        request.file_urls_request.session_id = self.session_id or ""
        request.file_urls_request.file_names.extend(name for name, _ in files)
        self._send(request)
        deadline = time.monotonic() + self.timeout_s
        while True:
            f = self._recv(deadline)
            if (
                f.WhichOneof("type") == "file_urls_response"
                and f.file_urls_response.response_id == request.file_urls_request.request_id
            ):
                break
        if f.file_urls_response.error_msg:
            raise RuntimeError(f.file_urls_response.error_msg)
        state = WidgetState(id=uploader.id)
        for (name, data), urls in zip(files, f.file_urls_response.file_urls, strict=True):
            self._put(urls.upload_url, name, data)
            info = state.file_uploader_state_value.uploaded_file_info.add()
            info.name, info.size, info.file_id = name, len(data), urls.file_id
            info.file_urls.CopyFrom(urls)
        return self.run(widgets=[state, WidgetState(id=submit.id, trigger_value=True)])

    def _put(self, url: str, name: str, data: bytes) -> None:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Origin": self.base}
        if self.xsrf:
            headers["X-Xsrftoken"] = self.xsrf
        req = urllib.request.Request(self.base + url, data=body, method="PUT", headers=headers)
        with self._http.open(req, timeout=self.timeout_s) as r:
            if r.status not in (200, 204):
                raise RuntimeError(f"upload of {name} answered {r.status}")
