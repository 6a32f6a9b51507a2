"""The process the crash tests kill: imports one file, announcing each step of the import on stdout.

    python -m tests.hardening.crash_child DB FILE [HOLD] [BATCH_ROWS]

Prints `begin`, then `flush` (after each batch the Python parsers insert), `dedup` (every row is in the open
transaction), `rollup` and `commit` (just before the COMMIT statement) as the import reaches them, and `done N`
at the end.
With HOLD naming a step, the process stops there, transaction open, and waits to be killed. BATCH_ROWS makes
the Python parsers insert in smaller batches, so a kill can land between two of them.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import costmodel.usage.ingest as ingest
from costmodel.store import connect


def _say(step: str, hold: str | None) -> None:
    sys.stdout.write(step + "\n")
    sys.stdout.flush()
    if step == hold:
        time.sleep(600)  # the parent kills us here, transaction open


def _announce(fn: Any, step: str, hold: str | None) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if step == "flush":
            out = fn(*args, **kwargs)  # announce after the batch went into the open transaction
            _say(step, hold)
            return out
        _say(step, hold)
        return fn(*args, **kwargs)

    return wrapper


class _Watched:
    """The store cursor, announcing the COMMIT before sending it."""

    def __init__(self, con: Any, hold: str | None) -> None:
        self._con, self._hold = con, hold

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.strip().upper() == "COMMIT":
            _say("commit", self._hold)
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def main() -> None:
    db, path = sys.argv[1], sys.argv[2]
    hold = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None
    if len(sys.argv) > 4:
        ingest._BATCH_ROWS = int(sys.argv[4])
    # the fast SQL path loads the rows inside _import_once; announce after they are in, before the de-dup
    ingest._dedup = _announce(ingest._dedup, "dedup", hold)
    ingest._roll_up = _announce(ingest._roll_up, "rollup", hold)
    ingest._Batch.flush = _announce(ingest._Batch.flush, "flush", hold)
    con = connect(db)
    _say("begin", hold)
    result = ingest.import_file(_Watched(con, hold), path)  # type: ignore[arg-type]
    con.close()
    _say(f"done {result.rows_imported}", hold)


if __name__ == "__main__":
    main()
