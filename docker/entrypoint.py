#!/usr/bin/env python3
"""What the OpenTCO container runs: prepare the store on its volume, then hand the process to Streamlit.

    entrypoint.py                  open (create, migrate) the store at $OPENTCO_DB, then exec the dashboard
    entrypoint.py health           exit 0 only if Streamlit's /_stcore/health answers "ok" (the HEALTHCHECK)
    entrypoint.py COMMAND [ARG…]   exec any other command, e.g. `opentco usage summary`, with the same env

Why a script rather than `streamlit run` straight from the Dockerfile:
- The store is opened once *before* the server starts, so a volume the non-root user cannot write, or a
  damaged file, stops the container at once with the store's own message (which names the file and the fix)
  instead of a healthy-looking dashboard whose every page then fails.
- `pip install .` puts the dashboard in site-packages, not under the working directory; the script finds
  the installed `dashboard/serve.py` through the import system, so the image needs no source tree.
- The HEALTHCHECK needs an HTTP client and the slim image has no curl or wget; Python's urllib is there.
  Keeping that check here lets tests/deploy run exactly what Docker runs.

Port, bind address and the rest of Streamlit's settings come from Streamlit's own `STREAMLIT_*`
environment variables (set in the Dockerfile), which override `.streamlit/config.toml`
(https://docs.streamlit.io/develop/api-reference/configuration/config.toml).

The dashboard is served through `dashboard/serve.py` (deep links probe nothing; see its docstring), which runs
on uvicorn. uvicorn stops gracefully on SIGTERM and then re-raises the signal, so the server dies *of* it
(status 143) even after a clean shutdown. So this script stays as the container's main process and runs the
server as its child (`serve`): it passes SIGTERM and SIGINT on, waits, and reports a stop it passed on as
status 0 (a clean `docker stop`), any other end with the server's own status.

Only the standard library and the installed `opentco` package are used; nothing here reaches the network
except the health check's request to the local server.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from http.client import HTTPException

__all__ = ["health", "health_url", "main", "prepare_store", "serve", "streamlit_argv"]

HEALTH_TIMEOUT_S = 5.0
"""How long one health probe waits for an answer; Docker's own `--timeout` should be longer."""


def health_url() -> str:
    """The loopback URL of Streamlit's health endpoint, on the port and base path the server was given."""
    port = os.environ.get("STREAMLIT_SERVER_PORT", "8501")
    base = os.environ.get("STREAMLIT_SERVER_BASE_URL_PATH", "").strip("/")
    return f"http://127.0.0.1:{port}/{base + '/' if base else ''}_stcore/health"


def health() -> int:
    """Exit status for Docker's HEALTHCHECK: 0 when the server answers "ok", else 1 with the reason on stderr."""
    url = health_url()
    try:
        with urllib.request.urlopen(url, timeout=HEALTH_TIMEOUT_S) as r:
            body = r.read()
    except (OSError, HTTPException) as ex:  # refused, timed out, HTTP error status, garbled reply
        print(f"unhealthy: {url}: {ex}", file=sys.stderr)
        return 1
    if body.strip() != b"ok":
        print(f"unhealthy: {url} answered {body[:80]!r}", file=sys.stderr)
        return 1
    return 0


def prepare_store() -> str:
    """Open the store once (creating the file and applying migrations), then close it for the dashboard.

    Returns:
        The store's path.

    Raises:
        SystemExit: the store cannot be opened or written; the message says which file and what to do.
    """
    from costmodel.store import StoreError, connect, db_path

    path = db_path()
    try:
        connect(path).close()
    except StoreError as ex:
        uid = os.getuid() if hasattr(os, "getuid") else "?"
        raise SystemExit(f"opentco: {ex} (this process runs as uid {uid}; the volume must be writable by it)") from None
    return str(path)


def streamlit_argv() -> list[str]:
    """The command that serves the installed dashboard (settings come from `STREAMLIT_*` and config.toml)."""
    spec = importlib.util.find_spec("dashboard.serve")
    if spec is None or spec.origin is None:
        raise SystemExit("opentco: the dashboard package is not installed (pip install . in the image build)")
    return [sys.executable, "-m", "streamlit", "run", spec.origin]


def serve(args: list[str]) -> int:
    """Run the server as a child until it ends; SIGTERM and SIGINT are passed on to it.

    Returns:
        0 when the server ended of a signal this process passed on (the stop that was asked for), else the
        server's exit status (128 + N if it died of another signal N).
    """
    child = subprocess.Popen(args, start_new_session=True)  # only what is passed on reaches it, once
    passed: set[int] = set()

    def pass_on(signum: int, frame: object) -> None:
        passed.add(signum)
        if child.poll() is None:
            child.send_signal(signum)

    before = {sig: signal.signal(sig, pass_on) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        rc = child.wait()
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
    if rc < 0 and -rc in passed:
        print(f"opentco: the server stopped on {signal.Signals(-rc).name}", file=sys.stderr, flush=True)
        return 0
    return 128 - rc if rc < 0 else rc


def main(argv: list[str]) -> int:
    """Dispatch on the first argument: nothing or `dashboard`, `health`, or any other command to exec."""
    if argv[:1] == ["health"]:
        return health()
    if argv and argv[0] != "dashboard":
        exe = shutil.which(argv[0])
        if exe is None:
            raise SystemExit(f"opentco: no such command in the image: {argv[0]}")
        os.execv(exe, argv)
    started = time.monotonic()
    db = prepare_store()
    args = streamlit_argv()
    print(
        f"opentco: store ready at {db} ({(time.monotonic() - started) * 1000:.0f} ms); serving {args[-1]}",
        file=sys.stderr,
        flush=True,
    )
    return serve(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
