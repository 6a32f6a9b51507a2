"""Expand folders given to `opentco import` into the files inside them.

Why: `opentco rollup` (DuckDB or Spark) writes `OUT/day=YYYY-MM-DD/*.parquet`, and data lakes hold logs as
folders of parts. Importing a folder means importing each data file in it once, in a stable order, so the
de-duplication by file hash and request id applies exactly as it does for single files. Writers' bookkeeping
files (Spark's `_SUCCESS` and `.crc` checksums, hidden files) are not logs and are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from costmodel.errors import CostModelError

__all__ = ["EmptyFolder", "log_files"]


class EmptyFolder(CostModelError):
    """A folder given as input holds no file that could be a usage log."""


def _is_bookkeeping(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return any(p.startswith((".", "_")) for p in parts) or path.suffix == ".crc"


def log_files(paths: Iterable[Path]) -> list[tuple[Path, str | None]]:
    """Files to import, in order, each with the name to show for it.

    A file given as such keeps its own name (None); a file found in a folder is named by its path from the
    folder given (`out/day=2024-11-01/part-0.parquet`), since every day's part may share one file name.

    Raises:
        EmptyFolder: a folder holds no data file (the message names it), so an empty or mistyped rollup
            output is not silently "imported".
    """
    files: list[tuple[Path, str | None]] = []
    for path in paths:
        if not path.is_dir():
            files.append((path, None))
            continue
        found = sorted(p for p in path.rglob("*") if p.is_file() and not _is_bookkeeping(p, path))
        if not found:
            raise EmptyFolder(
                f"{path}: the folder holds no file to import (hidden, `_SUCCESS` and `.crc` files are skipped)."
            )
        files.extend((p, str(path / p.relative_to(path))) for p in found)
    return files
