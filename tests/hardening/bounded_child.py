"""Import files one after the other and report, per file, the wall time and the peak memory it took.

    python -m tests.hardening.bounded_child DB FILE [FILE…]

One JSON line per file on stdout: `file`, `seconds`, `rss_mb` (resident before), `peak_mb` (highest resident
during the import; Linux resets the high-water mark through /proc/self/clear_refs before each file),
`outcome` (`imported N` or the refusal's message). The parent enforces the wall-clock bound by killing it.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

from costmodel.errors import CostModelError
from costmodel.store import connect
from costmodel.usage import import_file


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def main() -> None:
    con = connect(sys.argv[1])
    for name in sys.argv[2:]:
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        rss = _status_mb("VmRSS")
        start = time.perf_counter()
        try:
            outcome = f"imported {import_file(con, Path(name)).rows_imported}"
        except CostModelError as ex:
            outcome = f"refused: {ex}"
        seconds = time.perf_counter() - start
        out = {"file": name, "seconds": seconds, "rss_mb": rss, "peak_mb": _status_mb("VmHWM"), "outcome": outcome}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
    con.close()


if __name__ == "__main__":
    main()
