"""Fixtures of the export tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from costmodel.export import to_xlsx
from costmodel.tco import evaluate
from tests.export.helpers import make_usage_db, scenario_cases, usage_rows
from tests.export.recalc import Recalc

_BOOKS: dict[str, Recalc] = {}


@pytest.fixture
def usage_db(tmp_path: Path) -> Path:
    return make_usage_db(tmp_path / "usage.duckdb", usage_rows())


@pytest.fixture(scope="session")
def books(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Recalc]:
    """Each case's workbook, exported and loaded into `formulas` once per worker (loading is the slow part).

    Tests of one case share a worker through `helpers.grouped` (`--dist loadgroup`), so each loads once.
    """
    cases = dict(scenario_cases())

    def get(case_id: str) -> Recalc:
        if case_id not in _BOOKS:
            scenario = cases[case_id]
            _BOOKS[case_id] = Recalc(to_xlsx(scenario, result=evaluate(scenario)), tmp_path_factory.mktemp(case_id))
        return _BOOKS[case_id]

    return get
