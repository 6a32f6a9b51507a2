"""The container's entrypoint, run without Docker in the image's layout and environment.

No container engine runs here or in CI, so the image itself is never built. These tests run what the image
runs instead: the Dockerfile's final stage is laid out under a temporary root (its COPY instructions, the
package installed the way `pip install .` selects it, the VOLUME folder), its ENV applied with container
paths mapped under that root, and its ENTRYPOINT + CMD and HEALTHCHECK commands started as written. Only
the port and bind address are changed, to a free loopback port.

With `unshare` (root, as on the development machines and CI) a second run also reproduces compose.yaml's
`read_only: true` + `tmpfs: /tmp`: in a private mount namespace the whole filesystem is remounted read-only
except the volume and a tmpfs for /tmp, so anything Streamlit or the app writes elsewhere fails the test.

Every process runs with tests/hardening/netguard on its path, which refuses and records any non-loopback
connection: the image needs no network at run time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import duckdb
import pytest

from tests.deploy.image import ROOT, Dockerfile, DockerIgnore, Instruction, install_like_pip, lay_out
from tests.hardening.browserless import Session, free_port

DOCKERFILE = Dockerfile.parse((ROOT / "Dockerfile").read_text(encoding="utf-8"))
IGNORE = DockerIgnore((ROOT / ".dockerignore").read_text(encoding="utf-8"))
NETGUARD = ROOT / "tests" / "hardening" / "netguard"
FIXTURE = ROOT / "tests" / "fixtures" / "generic-csv" / "usage.csv"

HEALTHY_WITHIN_S = 120.0
"""How long the server may take to answer /_stcore/health: a hang detector, not a speed bound. About 3 s on
an idle 2-core machine; ~40× that leaves room for any load (README, "Team deployment (Docker)")."""
STOP_WITHIN_S = 60.0
"""How long Streamlit may take to exit after SIGTERM (Docker's default grace period is 10 s)."""

# compose.yaml's read_only root with a tmpfs on /tmp, in a private mount namespace. The volume ($2) and the
# test's output folder ($3) are bind-mounted onto themselves first, so they stay writable once / and the
# image root ($1) are remounted read-only. A write into the image must then fail, or the simulation is void.
_READ_ONLY = r"""
set -e
r=$1 data=$2 out=$3
shift 3
mount --bind "$r" "$r"
if [ "$data" != - ]; then mount --bind "$data" "$data"; fi
mount --bind "$out" "$out"
mount -t tmpfs -o size=256m,mode=1777 tmpfs "$r/tmp"
mount -o remount,bind,ro "$r"
mount -o remount,bind,ro /
if touch "$r/app/.probe" 2>/dev/null; then echo "the image root is still writable" >&2; exit 97; fi
exec "$@"
"""


def _can_unshare() -> bool:
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    probe = Path(os.environ.get("TMPDIR", "/tmp"))
    try:
        done = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", 'mount -o remount,bind,ro "$1"', "sh", "/"],
            cwd=probe,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


CAN_UNSHARE = _can_unshare()
needs_unshare = pytest.mark.skipif(not CAN_UNSHARE, reason="needs root and `unshare --mount` to make / read-only")


@dataclass
class Image:
    """The final stage laid out under `root` (which stands for the container's /)."""

    root: Path
    site: Path
    env: dict[str, str]
    out: Path
    read_only: bool = False
    writable_volume: bool = True

    def path(self, container_path: str) -> Path:
        return self.root / container_path.lstrip("/")

    def command(self, argv: list[str]) -> list[str]:
        """A command as the image would run it: `python` is this interpreter, container paths lie under root."""
        mapped = [sys.executable if a == "python" else self._map(a) for a in argv]
        if not self.read_only:
            return mapped
        data = str(self.path(_volume())) if self.writable_volume else "-"
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _READ_ONLY, "sh", str(self.root), data,
                str(self.out), *mapped]  # fmt: skip

    def _map(self, value: str) -> str:
        top = PurePosixPath(value).parts[1:2]
        return str(self.path(value)) if value.startswith("/") and top and self.path("/" + top[0]).exists() else value

    def start(self, log: Path) -> subprocess.Popen[bytes]:
        argv = _exec(DOCKERFILE.one("ENTRYPOINT")) + _exec(DOCKERFILE.one("CMD"))
        with log.open("wb") as out:
            return subprocess.Popen(
                self.command(argv),
                cwd=self.path(DOCKERFILE.one("WORKDIR").rest),
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def healthcheck(self) -> subprocess.CompletedProcess[str]:
        """Run the Dockerfile's HEALTHCHECK command once, as Docker does (inside the container, so read-only too)."""
        kind, *argv = _exec(DOCKERFILE.one("HEALTHCHECK"))
        assert kind == "CMD"
        return subprocess.run(
            self.command(argv),
            cwd=self.path(DOCKERFILE.one("WORKDIR").rest),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env['STREAMLIT_SERVER_PORT']}"


def _exec(ins: Instruction) -> list[str]:
    """The exec-form command of ENTRYPOINT/CMD, or of HEALTHCHECK as ["CMD", …]; the shell form is refused."""
    if ins.keyword == "HEALTHCHECK":
        kind, _, rest = ins.rest.partition(" ")
        argv = json.loads(rest) if rest.startswith("[") else []
        assert kind == "CMD" and argv, f'line {ins.line}: write HEALTHCHECK CMD ["…"] (exec form)'
        return ["CMD", *argv]
    assert ins.exec_form, f"line {ins.line}: write {ins.keyword} as a JSON array (exec form)"
    return ins.exec_form


def _volume() -> str:
    (ins,) = DOCKERFILE.all("VOLUME", stage=DOCKERFILE.final)
    (path,) = json.loads(ins.rest)
    return path


def _image(tmp_path: Path, *, read_only: bool = False) -> Image:
    root = tmp_path / "image"
    lay_out(DOCKERFILE, IGNORE, root)
    site = root / "opt" / "opentco" / "site-packages"
    install_like_pip(site)
    for folder in (_volume(), "/tmp", "/home/opentco", DOCKERFILE.one("WORKDIR").rest):
        (root / folder.lstrip("/")).mkdir(parents=True, exist_ok=True)
    out = tmp_path / "out"
    out.mkdir()
    image = Image(root=root, site=site, env={}, out=out, read_only=read_only)
    # A container starts from its image's environment, not the caller's: the slim base sets PATH and LANG.
    env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}
    env.update({k: image._map(v) for k, v in DOCKERFILE.env().items()})
    env.update(
        STREAMLIT_SERVER_PORT=str(free_port()),  # not 8501: several tests (and engineers) share this machine
        STREAMLIT_SERVER_ADDRESS="127.0.0.1",  # loopback only in tests; the image binds 0.0.0.0
        PYTHONPATH=os.pathsep.join([str(NETGUARD), str(site)]),  # the installed copy, never the repository
        NETGUARD_LOG=str(out / "netguard.log"),
        TMPDIR=str(image.path("/tmp")),  # the image's /tmp (a tmpfs under read_only)
        HOME=str(image.path("/home/opentco")),
    )
    image.env = env
    return image


def _wait_healthy(image: Image, proc: subprocess.Popen[bytes], log: Path) -> float:
    """Seconds from start until /_stcore/health answers "ok"; fails at once if the process exits."""
    started = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(f"{image.base_url}/_stcore/health", timeout=5) as r:
                if r.read() == b"ok":
                    return time.monotonic() - started
        except OSError:
            pass
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.25)  # the poll interval; returns at once if the entrypoint died
        if proc.returncode is not None:
            pytest.fail(f"the entrypoint exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if time.monotonic() - started > HEALTHY_WITHIN_S:
            pytest.fail(f"not healthy after {HEALTHY_WITHIN_S:.0f} s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.terminate()  # SIGTERM, as `docker stop` sends it
    try:
        return proc.wait(timeout=STOP_WITHIN_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.mark.parametrize("read_only", [False, pytest.param(True, marks=needs_unshare)], ids=["rw", "read-only-root"])
def test_entrypoint_serves_the_installed_dashboard(tmp_path, read_only, record_property):
    image = _image(tmp_path, read_only=read_only)
    db = image.path(DOCKERFILE.env()["OPENTCO_DB"])
    assert db.parent == image.path(_volume()), "OPENTCO_DB must lie on the VOLUME"
    before = _files(image.root)
    log = tmp_path / "entrypoint.log"
    proc = image.start(log)
    try:
        healthy_after_s = _wait_healthy(image, proc, log)
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
            s.run("usage_logs")
            data = FIXTURE.read_bytes()
            alerts = s.upload([(FIXTURE.name, data)]).alerts()
            assert not s.of("exception"), s.of("exception")[0].message
        finally:
            s.close()
        assert alerts[0] == ("success", "usage.csv: 4 rows imported (generic-csv)"), alerts
    finally:
        rc = _stop(proc)
    text = log.read_text()
    assert rc == 0, text[-3000:]
    assert "Stopping..." in text

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
    assert f"serving {image.site / 'dashboard' / 'streamlit_app.py'}" in text
    after = {f for f in _files(image.root) if not f.startswith(("data/", "tmp/"))}
    assert after == {f for f in before if not f.startswith(("data/", "tmp/"))}
    assert not (image.out / "netguard.log").exists(), (image.out / "netguard.log").read_text()

    # once the server is gone the healthcheck says so
    gone = image.healthcheck()
    assert gone.returncode == 1
    assert f"unhealthy: {image.base_url}/_stcore/health" in gone.stderr


@needs_unshare
def test_unwritable_volume_stops_the_container_with_the_fix(tmp_path):
    image = _image(tmp_path, read_only=True)
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
    image = _image(tmp_path)  # its port is free and nothing was started on it
    check = image.healthcheck()
    assert check.returncode == 1
    assert check.stderr.startswith(f"unhealthy: {image.base_url}/_stcore/health: ")


def test_other_commands_run_with_the_image_environment(tmp_path):
    image = _image(tmp_path)
    entry = _exec(DOCKERFILE.one("ENTRYPOINT"))
    code = "import os, costmodel.store as s; print(s.db_path(), os.environ['STREAMLIT_BROWSER_GATHER_USAGE_STATS'])"
    done = subprocess.run(
        image.command([*entry, sys.executable, "-c", code]), env=image.env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(image.path("/data/opentco.duckdb")), "false"]

    missing = subprocess.run(
        image.command([*entry, "no-such-command"]), env=image.env, capture_output=True, text=True, timeout=120
    )
    assert missing.returncode == 1
    assert "opentco: no such command in the image: no-such-command" in missing.stderr
