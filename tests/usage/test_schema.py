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
    assert {"usage_001_tables", "usage_002_hourly_totals", "usage_003_cache_writes_and_proxy_cache"} <= names
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"imports", "usage_events", "usage_hourly", "import_rejects", "usage_cache_hits"} <= tables


def test_hourly_totals_are_backfilled_for_an_older_store(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    con = connect(db)
    import_file(con, FIXTURES / "generic-csv/usage.csv")
    expected = usage_series(con).to_dict("records")
    # as the store was before usage_002: no hourly totals table, migrations 002 and 003 not applied
    con.execute("DROP TABLE usage_hourly")
    con.execute(
        "DELETE FROM _migrations WHERE name IN ('usage_002_hourly_totals', 'usage_003_cache_writes_and_proxy_cache')"
    )
    con.close()
    con = connect(db)
    assert usage_series(con).to_dict("records") == expected
    assert con.execute("SELECT sum(rows), sum(midnight_rows) FROM usage_hourly").fetchall() == [(4, 0)]


def test_a_store_from_before_cache_writes_gains_the_columns_and_keeps_importing(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    con = connect(db)
    import_file(con, FIXTURES / "generic-csv/usage.csv")
    for table in ("usage_events", "usage_hourly"):
        con.execute(f"ALTER TABLE {table} DROP COLUMN cache_write_5m_tokens")
        con.execute(f"ALTER TABLE {table} DROP COLUMN cache_write_1h_tokens")
    con.execute("DROP TABLE usage_cache_hits")
    con.execute("DELETE FROM _migrations WHERE name = 'usage_003_cache_writes_and_proxy_cache'")
    con.close()
    con = connect(db)
    assert con.execute("SELECT sum(cache_write_5m_tokens), count(*) FROM usage_events").fetchone() == (0, 4)
    result = import_file(con, FIXTURES / "langfuse-observations/generations.json")
    assert result.rows_imported == 2
    assert con.execute("SELECT sum(cache_write_5m_tokens) FROM usage_hourly").fetchone() == (300,)
