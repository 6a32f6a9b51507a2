"""Import files one after the other and report, per file, the CPU time and the peak memory it took.

    python -m tests.hardening.bounded_child DB FILE [FILE…]

One JSON line per file on stdout: `file`, `cpu_s` (CPU seconds of the whole process, DuckDB's threads
included), `rss_mb` (resident before), `peak_mb` (highest resident during the import; Linux resets the
high-water mark through /proc/self/clear_refs before each file), `outcome` (`imported N` or the refusal's
message). CPU time, not wall time: it is the work the import did, whatever else the machine was running.
With `BOUNDED_CHILD_CPU_S` set, the kernel ends the process (SIGXCPU) once it has used that many CPU seconds,
so a runaway import is stopped by the same measure it is judged by.
"""

from __future__ import annotations

import gc
import json
import os
import resource
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
    if limit := os.environ.get("BOUNDED_CHILD_CPU_S"):
        seconds = int(float(limit)) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))
    con = connect(sys.argv[1])
    for name in sys.argv[2:]:
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        rss = _status_mb("VmRSS")
        start = time.process_time()
        try:
            outcome = f"imported {import_file(con, Path(name)).rows_imported}"
        except CostModelError as ex:
            outcome = f"refused: {ex}"
        cpu_s = time.process_time() - start
        out = {"file": name, "cpu_s": cpu_s, "rss_mb": rss, "peak_mb": _status_mb("VmHWM"), "outcome": outcome}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
    con.close()


if __name__ == "__main__":
    main()
