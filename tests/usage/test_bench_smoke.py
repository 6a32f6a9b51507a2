"""The import benchmark runs end to end on a small file (the 10-million-row run is `python bench/bench_import.py`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_import.py"


def test_bench_runs_and_reports_every_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_import", BENCH)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--rows", "5000", "--repeat", "1", "--dir", str(tmp_path), "--row-insert-sample", "200"]) == 0
    out = capsys.readouterr().out
    labels = (
        "bare DuckDB CTAS",
        "OpenTCO import",
        "pandas read_csv",
        "executemany",
        "daily tokens",
        "hourly tokens",
        "re-pricing",
    )
    assert all(label in out for label in labels), out
