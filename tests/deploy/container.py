"""The Dockerfile's final stage, laid out and run without Docker: its files, environment and commands.

No container engine runs on the development machines or in CI. `stage_image` lays the final stage out under
a temporary root that stands for the container's / (the context COPYs, the package installed the way
`pip install .` selects it, the VOLUME folder) and maps the Dockerfile's ENV onto it; `Image.start` and
`Image.healthcheck` run its ENTRYPOINT + CMD and HEALTHCHECK as written. Only the port and bind address
change, to a free loopback port. With `read_only=True`, compose.yaml's `read_only: true` + `tmpfs: /tmp` is
reproduced in a private mount namespace (`unshare`, root only). Every process runs with
tests/hardening/netguard on its path, which refuses and records any non-loopback connection.

Used by tests/deploy/test_entrypoint.py and docker/measure_startup.py.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tests.deploy.image import ROOT, Dockerfile, DockerIgnore, Instruction, install_like_pip, lay_out
from tests.hardening.browserless import free_port

__all__ = [
    "DOCKERFILE",
    "HEALTHY_WITHIN_S",
    "IGNORE",
    "STOP_WITHIN_S",
    "Image",
    "can_unshare",
    "exec_argv",
    "stage_image",
    "stop",
    "volume",
    "wait_healthy",
]

DOCKERFILE = Dockerfile.parse((ROOT / "Dockerfile").read_text(encoding="utf-8"))
IGNORE = DockerIgnore((ROOT / ".dockerignore").read_text(encoding="utf-8"))
NETGUARD = ROOT / "tests" / "hardening" / "netguard"

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


@functools.cache
def can_unshare() -> bool:
    """Whether this process may make a private mount namespace and remount in it (root on Linux)."""
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


@dataclass
class Image:
    """The final stage laid out under `root` (which stands for the container's /)."""

    root: Path
    site: Path
    env: dict[str, str]
    out: Path
    read_only: bool = False
    writable_volume: bool = True
    started: float = 0.0
    """`time.monotonic()` just before the entrypoint was started."""

    def path(self, container_path: str) -> Path:
        return self.root / container_path.lstrip("/")

    def command(self, argv: list[str]) -> list[str]:
        """A command as the image would run it: `python` is this interpreter, container paths lie under root."""
        mapped = [sys.executable if a == "python" else self.map_path(a) for a in argv]
        if not self.read_only:
            return mapped
        data = str(self.path(volume())) if self.writable_volume else "-"
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _READ_ONLY, "sh", str(self.root), data,
                str(self.out), *mapped]  # fmt: skip

    def map_path(self, value: str) -> str:
        """`value` under root if it is a path into the laid-out image (/app/…, /data/…), else unchanged."""
        top = PurePosixPath(value).parts[1:2]
        return str(self.path(value)) if value.startswith("/") and top and self.path("/" + top[0]).exists() else value

    def start(self, log: Path) -> subprocess.Popen[bytes]:
        argv = exec_argv(DOCKERFILE.one("ENTRYPOINT")) + exec_argv(DOCKERFILE.one("CMD"))
        with log.open("wb") as out:
            self.started = time.monotonic()
            return subprocess.Popen(
                self.command(argv),
                cwd=self.path(DOCKERFILE.one("WORKDIR").rest),
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def healthcheck(self) -> subprocess.CompletedProcess[str]:
        """Run the Dockerfile's HEALTHCHECK command once, as Docker does (inside the container, so read-only too)."""
        kind, *argv = exec_argv(DOCKERFILE.one("HEALTHCHECK"))
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


def exec_argv(ins: Instruction) -> list[str]:
    """The exec-form command of ENTRYPOINT/CMD, or of HEALTHCHECK as ["CMD", …]; the shell form is refused."""
    if ins.keyword == "HEALTHCHECK":
        kind, _, rest = ins.rest.partition(" ")
        argv = json.loads(rest) if rest.startswith("[") else []
        assert kind == "CMD" and argv, f'line {ins.line}: write HEALTHCHECK CMD ["…"] (exec form)'
        return ["CMD", *argv]
    assert ins.exec_form, f"line {ins.line}: write {ins.keyword} as a JSON array (exec form)"
    return ins.exec_form


def volume() -> str:
    """The one VOLUME of the final stage."""
    (ins,) = DOCKERFILE.all("VOLUME", stage=DOCKERFILE.final)
    (path,) = json.loads(ins.rest)
    return path


def stage_image(tmp_path: Path, *, read_only: bool = False) -> Image:
    """Lay the final stage out under `tmp_path/image`, with its ENV mapped onto that root and a free port."""
    root = tmp_path / "image"
    lay_out(DOCKERFILE, IGNORE, root)
    site = root / "opt" / "opentco" / "site-packages"
    install_like_pip(site)
    # the volume, /tmp (a tmpfs in compose.yaml), the user's home (useradd --create-home) and the WORKDIR
    for folder in (volume(), "/tmp", "/home/opentco", DOCKERFILE.one("WORKDIR").rest):
        (root / folder.lstrip("/")).mkdir(parents=True, exist_ok=True)
    out = tmp_path / "out"
    out.mkdir()
    image = Image(root=root, site=site, env={}, out=out, read_only=read_only)
    # A container starts from its image's environment, not the caller's: the slim base sets PATH and LANG.
    env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}
    env.update({k: image.map_path(v) for k, v in DOCKERFILE.env().items()})
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


def wait_healthy(image: Image, proc: subprocess.Popen[bytes], log: Path) -> float:
    """Seconds from `image.start` until /_stcore/health answers "ok"; fails at once if the process exits."""
    started = image.started
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
            raise RuntimeError(f"the entrypoint exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if time.monotonic() - started > HEALTHY_WITHIN_S:
            raise RuntimeError(f"not healthy after {HEALTHY_WITHIN_S:.0f} s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as `docker stop` sends it; the exit status, or TimeoutExpired (after SIGKILL) if it hangs."""
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout=STOP_WITHIN_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
