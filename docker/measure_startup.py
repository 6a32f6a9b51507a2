"""Time from starting the container's entrypoint to a healthy dashboard, without Docker.

    .venv/bin/python docker/measure_startup.py [--runs 5] [--read-only]

Each run lays the image out afresh (tests/deploy/container.py: the Dockerfile's final stage, its ENV, an
empty volume), starts ENTRYPOINT + CMD, and records three moments: the store created and migrated on the
volume (the entrypoint's own log line), `/_stcore/health` answering "ok" (what Docker's HEALTHCHECK and a
load balancer wait for), and the first page script finished for a browser session (what a person waits
for). The first run pays for a cold page cache; the median is the number to quote. Docker adds its own
container start (typically well under a second) on top; the image was not built here (no engine).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository holds tests/

from tests.deploy.container import can_unshare, stage_image, stop, wait_healthy
from tests.hardening.browserless import Session


def _one(read_only: bool) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory(prefix="opentco-startup-") as tmp:
        image = stage_image(Path(tmp), read_only=read_only)
        log = Path(tmp) / "entrypoint.log"
        proc = image.start(log)
        try:
            healthy_s = wait_healthy(image, proc, log)
            s = Session(image.base_url)
            try:
                s.run("")
                page_s = time.monotonic() - image.started
            finally:
                s.close()
        finally:
            stop(proc)
        m = re.search(r"store ready at \S+ \((\d+) ms\)", log.read_text())
        store_s = int(m[1]) / 1000 if m else float("nan")
        return store_s, healthy_s, page_s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--read-only", action="store_true", help="read-only root + tmpfs /tmp (needs root, unshare)")
    args = ap.parse_args()
    if args.read_only and not can_unshare():
        print("--read-only needs root and `unshare --mount`", file=sys.stderr)
        return 2
    rows = [_one(args.read_only) for _ in range(args.runs)]
    print(f"{'run':>4} {'store ready s':>14} {'healthy s':>10} {'first page s':>13}")
    for i, (a, b, c) in enumerate(rows, 1):
        print(f"{i:>4} {a:>14.2f} {b:>10.2f} {c:>13.2f}")
    cols = list(zip(*rows, strict=True))
    print("median " + "  ".join(f"{statistics.median(c):.2f}" for c in cols), f"(read_only={args.read_only})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
