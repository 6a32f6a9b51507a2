"""No data leaves the machine: the app and every CLI command work with outbound sockets blocked.

Each command runs in a subprocess whose `sitecustomize` (tests/hardening/netguard) refuses any
non-loopback connection or DNS lookup and records the attempt; the test asserts nothing was attempted.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUARD = Path(__file__).parent / "netguard"


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(GUARD), str(ROOT), env.get("PYTHONPATH", "")])
    env["NETGUARD_LOG"] = str(tmp_path / "netguard.log")
    env["OPENTCO_DB"] = str(tmp_path / "guarded.duckdb")
    return env


def _attempts(tmp_path: Path) -> str:
    log = tmp_path / "netguard.log"
    return log.read_text() if log.exists() else ""


def test_guard_itself_blocks_outbound(tmp_path):
    code = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('93.184.216.34', 80), timeout=1)\n"
        "except OSError as e:\n"
        "    print(type(e).__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert "PermissionError" in out.stdout
    assert "93.184.216.34" in _attempts(tmp_path)


FIXTURES = ROOT / "tests" / "fixtures"
CLI_COMMANDS = [
    ["catalog", "gpus"],
    ["catalog", "api", "--search", "gpt-4o"],
    ["estimate", "--model", "llama-3.1-8b", "--gpu", "h100", "--json"],
    ["compare", "data/scenarios/api-bill-10k-50k.json", "--json"],
    ["compare", "data/scenarios/internal-search-rag.json"],
    ["import", *sorted(str(p) for p in (FIXTURES / "litellm-spend-logs").glob("*.csv"))],
    ["usage", "summary", "--json"],
    ["export", "data/scenarios/code-assistant.json", "--xlsx", "{tmp}/case.xlsx", "--html", "{tmp}/case.html"],
]


def _run_cli(tmp_path: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "costmodel.cli", *(a.format(tmp=tmp_path) for a in args)],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize("args", CLI_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_cli_commands_work_offline(tmp_path, args):
    out = _run_cli(tmp_path, args)
    assert out.returncode == 0, out.stderr
    assert _attempts(tmp_path) == ""


def test_gpu_and_measure_fail_cleanly_offline_without_trying_the_network(tmp_path):
    # no NVML here: a clear message and exit 2; the load generator only targets the endpoint it is given
    gpu = _run_cli(tmp_path, ["gpu"])
    assert gpu.returncode == 2 and "NVML" in gpu.stderr
    measure = _run_cli(
        tmp_path,
        [
            "measure",
            "--endpoint",
            f"http://127.0.0.1:{_free_port()}/v1",
            "--model",
            "m",
            "--concurrency",
            "1",
            "--duration",
            "1",
            "--no-power",
        ],
    )
    assert "Traceback" not in measure.stderr
    assert _attempts(tmp_path) == ""


def test_streamlit_usage_statistics_are_off():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["server"]["maxUploadSize"] > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dashboard_serves_offline_and_attempts_no_connection(tmp_path):
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "dashboard/serve.py",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    assert r.read() == b"ok"
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert r.status == 200
        # run every page's script in the guarded process too
        code = (
            "from streamlit.testing.v1 import AppTest\n"
            "import sys\n"
            "at = AppTest.from_file('dashboard/streamlit_app.py', default_timeout=120).run()\n"
            "assert not at.exception, at.exception\n"
            "for p in ['compare', 'builder', 'hardware_fit', 'usage_logs', 'measure', 'business_case']:\n"
            "    at.switch_page(f'app_pages/{p}.py').run()\n"
            "    assert not at.exception, (p, at.exception)\n"
            "print('pages ok')\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=300
        )
        assert "pages ok" in out.stdout, out.stderr[-3000:]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert _attempts(tmp_path) == ""
