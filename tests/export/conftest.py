"""Fixtures of the export tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.export.helpers import make_usage_db, usage_rows


@pytest.fixture
def usage_db(tmp_path: Path) -> Path:
    return make_usage_db(tmp_path / "usage.duckdb", usage_rows())
