"""The container's entrypoint, run without Docker in the image's layout and environment.

No container engine runs here or in CI, so the image itself is never built. These tests run what the image
runs instead (tests/deploy/container.py): the final stage laid out under a temporary root, its ENV mapped
onto it, its ENTRYPOINT + CMD and HEALTHCHECK started as written, on a free loopback port.

With `unshare` (root, as on the development machines and CI) the main test runs a second time under
compose.yaml's `read_only: true` + `tmpfs: /tmp`: in a private mount namespace the whole filesystem is
remounted read-only except the volume and a tmpfs for /tmp, so anything Streamlit or the app writes
elsewhere fails. Every process runs behind tests/hardening/netguard: the image needs no network at run time.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import urllib.request
from pathlib import Path

import duckdb
import pytest

from tests.deploy.container import (
    DOCKERFILE,
    can_unshare,
    exec_argv,
    stage_image,
    stop,
    volume,
    wait_healthy,
)
from tests.deploy.image import ROOT
from tests.hardening.browserless import Session

FIXTURE = ROOT / "tests" / "fixtures" / "generic-csv" / "usage.csv"
SIGN_IN_ONLY = {"admin"}
"""Pages the router lists only for a signed-in admin (sign-in is off here; tests/team runs them)."""
PAGES = [
    stem
    for stem, rest in re.findall(r'_page\("(\w+)\.py"([^)]*)\)', (ROOT / "dashboard" / "streamlit_app.py").read_text())
    if "default=True" not in rest  # the default page has the empty URL name: run("")
    and stem not in SIGN_IN_ONLY
]
"""The dashboard's other pages by URL name (the file's stem), as its router lists them."""

needs_unshare = pytest.mark.skipif(not can_unshare(), reason="needs root and `unshare --mount` to make / read-only")


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.mark.parametrize("read_only", [False, pytest.param(True, marks=needs_unshare)], ids=["rw", "read-only-root"])
def test_entrypoint_serves_the_installed_dashboard(tmp_path, read_only, record_property):
    image = stage_image(tmp_path, read_only=read_only)
    db = image.path(DOCKERFILE.env()["OPENTCO_DB"])
    assert db.parent == image.path(volume()), "OPENTCO_DB must lie on the VOLUME"
    before = _files(image.root)
    log = tmp_path / "entrypoint.log"
    proc = image.start(log)
    try:
        healthy_after_s = wait_healthy(image, proc, log)
        record_property("healthy_after_s", round(healthy_after_s, 2))
        print(f"entrypoint start → healthy: {healthy_after_s:.2f} s (read_only={read_only})")

        check = image.healthcheck()
        assert check.returncode == 0, check.stderr

        with urllib.request.urlopen(image.base_url + "/", timeout=30) as r:
            page = r.read().decode()
        assert r.status == 200
        assert '<div id="root">' in page and "<title>Streamlit</title>" in page

        # The page scripts run: the default page renders its verdict from the curated data ($OPENTCO_DATA_DIR),
        # and an upload is imported (its temporary files go to /tmp) into the store on the volume.
        s = Session(image.base_url)
        try:
            s.run("")
            assert not s.of("exception"), s.of("exception")[0].message
            assert "Month-1 cost" in s.metrics()
            assert PAGES, "the router's pages were not found: update PAGES"
            for page in PAGES:  # every page finds what it reads in the installed layout
                s.run(page)
                assert not s.of("exception"), f"{page}: {s.of('exception')[0].message}"
            s.run("usage_logs")
            data = FIXTURE.read_bytes()
            alerts = s.upload([(FIXTURE.name, data)]).alerts()
            assert not s.of("exception"), s.of("exception")[0].message
        finally:
            s.close()
        assert alerts[0] == ("success", "usage.csv: 4 rows imported (generic-csv)"), alerts
    finally:
        rc = stop(proc)
    text = log.read_text()
    assert rc == 0, text[-3000:]
    assert "opentco: the server stopped on SIGTERM" in text

    # the store was created by the entrypoint on the volume, and holds the upload
    assert f"opentco: store ready at {db} " in text
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT file_name, sha256, row_count FROM imports").fetchall() == [
            ("usage.csv", hashlib.sha256(data).hexdigest(), 4)
        ]
        assert con.execute("SELECT count(*) FROM usage_events").fetchone() == (4,)
    finally:
        con.close()

    # Streamlit served the installed copy, and nothing outside the volume and /tmp was written
    assert f"serving {image.site / 'dashboard' / 'serve.py'}" in text
    after = {f for f in _files(image.root) if not f.startswith(("data/", "tmp/"))}
    assert after == {f for f in before if not f.startswith(("data/", "tmp/"))}
    assert not (image.out / "netguard.log").exists(), (image.out / "netguard.log").read_text()

    # once the server is gone the healthcheck says so
    gone = image.healthcheck()
    assert gone.returncode == 1
    assert f"unhealthy: {image.base_url}/_stcore/health" in gone.stderr


@needs_unshare
def test_unwritable_volume_stops_the_container_with_the_fix(tmp_path):
    image = stage_image(tmp_path, read_only=True)
    image.writable_volume = False  # as if /data were a read-only mount, or a volume the uid cannot write
    log = tmp_path / "entrypoint.log"
    proc = image.start(log)
    rc = proc.wait(timeout=120)
    text = log.read_text()
    db = image.path(DOCKERFILE.env()["OPENTCO_DB"])
    assert rc == 1, text
    assert f"opentco: cannot open the usage database {db}" in text
    assert "read-only: make it writable" in text
    assert f"runs as uid {os.getuid()}" in text
    assert "serving" not in text  # Streamlit never started


def test_healthcheck_fails_when_nothing_listens(tmp_path):
    image = stage_image(tmp_path)  # its port is free and nothing was started on it
    check = image.healthcheck()
    assert check.returncode == 1
    assert check.stderr.startswith(f"unhealthy: {image.base_url}/_stcore/health: ")


def test_other_commands_run_with_the_image_environment(tmp_path):
    image = stage_image(tmp_path)
    entry = exec_argv(DOCKERFILE.one("ENTRYPOINT"))
    code = "import os, costmodel.store as s; print(s.db_path(), os.environ['STREAMLIT_BROWSER_GATHER_USAGE_STATS'])"
    done = subprocess.run(
        image.command([*entry, "python", "-c", code]), env=image.env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(image.path("/data/opentco.duckdb")), "false"]

    missing = subprocess.run(
        image.command([*entry, "no-such-command"]), env=image.env, capture_output=True, text=True, timeout=120
    )
    assert missing.returncode == 1
    assert "opentco: no such command in the image: no-such-command" in missing.stderr


def test_the_supervisor_passes_on_the_servers_own_end():
    """Only a stop this process passed on is a clean 0; the server's own exit status and any other signal that
    ended it are reported as they are (128 + N, as a shell reports a signal)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("opentco_entrypoint", ROOT / "docker" / "entrypoint.py")
    assert spec is not None and spec.loader is not None
    entrypoint = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(entrypoint)
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    assert entrypoint.serve([sys.executable, "-c", "raise SystemExit(3)"]) == 3
    killed = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    assert entrypoint.serve([sys.executable, "-c", killed]) == 137
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == handlers  # put back as they were
