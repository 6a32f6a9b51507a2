"""Shared test setup: no test touches real user data or the network."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path, monkeypatch):
    """Every test gets its own DuckDB file under tmp_path (never var/opentco.duckdb)."""
    monkeypatch.setenv("OPENTCO_DB", str(tmp_path / "opentco.duckdb"))
