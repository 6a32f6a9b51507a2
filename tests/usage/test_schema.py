"""The usage tables come from migrations; a store made before the hourly totals existed is backfilled."""

from __future__ import annotations

from pathlib import Path

from costmodel.store import connect
from costmodel.usage import import_file, usage_series

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_migrations_create_the_tables_once(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    connect(db).close()
    con = connect(db)  # a second open applies nothing again
    names = {r[0] for r in con.execute("SELECT name FROM _migrations").fetchall()}
    assert {"usage_001_tables", "usage_002_hourly_totals"} <= names
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"imports", "usage_events", "usage_hourly", "import_rejects"} <= tables


def test_hourly_totals_are_backfilled_for_an_older_store(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    con = connect(db)
    import_file(con, FIXTURES / "generic-csv/usage.csv")
    expected = usage_series(con).to_dict("records")
    # as the store was before usage_002: no hourly totals table, migration not applied
    con.execute("DROP TABLE usage_hourly")
    con.execute("DELETE FROM _migrations WHERE name = 'usage_002_hourly_totals'")
    con.close()
    con = connect(db)
    assert usage_series(con).to_dict("records") == expected
    assert con.execute("SELECT sum(rows), sum(midnight_rows) FROM usage_hourly").fetchall() == [(4, 0)]
