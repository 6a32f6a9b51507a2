"""End to end in a real browser: Debian's chromium, headless, against `streamlit run` on a free port.

Set OPENTCO_SCREENSHOT to a path to also keep a screenshot of the Compare page there (the README's
docs/compare.png is made this way).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.dashboard.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """`streamlit run` of the dashboard on a free port; always stopped, even when the test fails."""
    port = _free_port()
    env = {**os.environ, "OPENTCO_DB": str(tmp_path / "opentco.duckdb")}
    log = (tmp_path / "streamlit.log").open("wb")
    cmd = [sys.executable, "-m", "streamlit", "run", "dashboard/serve.py", "--server.port", str(port)]
    cmd += ["--server.headless", "true", "--server.address", "127.0.0.1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"streamlit did not start: {(tmp_path / 'streamlit.log').read_text()[-2000:]}")
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_move_the_volume_slider_and_see_the_verdict_change(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 2100})
            page.goto(server)
            verdict = page.locator(".st-key-verdict")
            expect(verdict).to_contain_text("tokens/month", timeout=60_000)
            expect(page.locator("svg.opentco-chart")).to_have_count(4, timeout=60_000)
            before = verdict.inner_text()
            assert "Switch to" in before and "4.3B tokens/month" in before

            handle = page.locator(".st-key-volume input[type='range']")
            assert handle.get_attribute("aria-valuetext") == "3.0M requests"
            handle.focus()
            for _ in range(4):  # 3M → 5M → 7M → 10M → 15M requests
                page.keyboard.press("ArrowRight")
            expect(handle).to_have_attribute("aria-valuetext", "15.0M requests")
            expect(verdict).not_to_have_text(before, timeout=30_000)
            expect(verdict).to_contain_text("21.8B tokens/month", timeout=30_000)
            after = verdict.inner_text()
            assert after != before
            expect(page.locator("svg.opentco-chart")).to_have_count(4)
            page.wait_for_timeout(500)  # let the last rerun's charts settle before the picture
            shot = tmp_path / "compare.png"
            page.screenshot(path=shot)
            assert shot.stat().st_size > 50_000
            if os.environ.get("OPENTCO_SCREENSHOT"):
                page.goto(server)  # the landing state, for the README
                expect(verdict).to_contain_text("4.3B tokens/month", timeout=60_000)
                expect(page.locator("svg.opentco-chart")).to_have_count(4, timeout=60_000)
                page.wait_for_timeout(2500)
                page.screenshot(path=tmp_path / "landing.png")
                shutil.copyfile(tmp_path / "landing.png", os.environ["OPENTCO_SCREENSHOT"])
        finally:
            browser.close()
