"""The rollup: right totals on every format, the same as the importers', identical on DuckDB and Spark, and
importable (once) by `opentco import`."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from costmodel.rollup import FORMATS, RollupError, RollupResult, rollup
from costmodel.rollup.engines import read_duckdb
from costmodel.rollup.sql import for_engine, rollup_sql
from costmodel.store import connect
from costmodel.usage import import_file

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
MINE = Path(__file__).parent / "fixtures"

CASES: list[tuple[str, Path]] = [
    ("generic", FIXTURES / "generic-csv" / "usage.csv"),
    ("generic", FIXTURES / "generic-parquet" / "usage.parquet"),
    ("generic", MINE / "generic" / "edge_cases.csv"),
    ("litellm-spend-logs", FIXTURES / "litellm-spend-logs" / "spend_logs.csv"),
    ("bedrock-invocation-logs", FIXTURES / "bedrock-invocation-logs" / "model_invocations.jsonl"),
    ("focus", FIXTURES / "focus" / "focus_1_2_genai.csv"),
    ("langfuse", MINE / "langfuse" / "observations_v2.jsonl"),
    ("langfuse", MINE / "langfuse" / "observations_v2.parquet"),
]
"""Every format, and every kind of file it comes as."""
IDS = [f"{name}:{path.name}" for name, path in CASES]
IMPORTED_ALIKE = [case for case in CASES if case[1].parent.parent == FIXTURES]
"""The importers' own fixtures: the rollup must total them exactly as an import does."""


def _spark_ready() -> bool:
    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError:
        return False
    return shutil.which("java") is not None


spark = pytest.mark.skipif(not _spark_ready(), reason="needs pyspark, sqlglot and Java (pip install 'opentco[spark]')")


def _rows(out: Path) -> list[dict[str, Any]]:
    names = (
        "timestamp",
        "provider",
        "model",
        "project",
        "user",
        "input_tokens",
        "cached_input_tokens",
        "output_tokens",
        "requests",
        "cost_usd",
        "source_rows",
        "request_id",
        "day",
    )
    return [dict(zip(names, r, strict=True)) for r in read_duckdb(out)]


def _key(r: dict[str, Any]) -> tuple:
    return (r["timestamp"].strftime("%Y-%m-%d %H"), r["provider"], r["model"], r["project"], r["user"])


def test_every_format_has_a_case() -> None:
    assert {name for name, _ in CASES} == set(FORMATS)


def test_langfuse_blob_export_totals(tmp_path: Path) -> None:
    result = rollup([str(MINE / "langfuse" / "observations_v2.jsonl")], out_dir=str(tmp_path / "out"))
    assert result.format == "langfuse"  # detected from its fields
    assert (result.rows_read, result.rows_skipped, result.rows_duplicate, result.rows_kept) == (6, 1, 1, 3)
    assert result.rows_rejected == {"model: missing": 1}
    rows = {_key(r): r for r in _rows(tmp_path / "out")}
    a = rows[("2025-03-01 09", None, "gpt-4o-mini", "proj-search", "user-a")]
    # obs-1 once (input 900 + 100 cached, output 200) and obs-2 (input 50, output 10 + 5 reasoning)
    assert (a["input_tokens"], a["cached_input_tokens"], a["output_tokens"], a["requests"]) == (1050, 100, 215, 2)
    assert a["cost_usd"] == pytest.approx(0.0002825) and a["source_rows"] == 2 and a["day"] == "2025-03-01"
    b = rows[("2025-03-02 15", None, "claude-3-5-haiku-20241022", "proj-support", "user-b")]
    assert (b["input_tokens"], b["cached_input_tokens"], b["output_tokens"]) == (2800, 500, 400)
    assert len(rows) == 2


def test_generic_edge_cases(tmp_path: Path) -> None:
    result = rollup([str(MINE / "generic" / "edge_cases.csv")], out_dir=str(tmp_path / "out"))
    assert (result.rows_read, result.rows_skipped, result.rows_duplicate, result.rows_kept) == (10, 0, 1, 4)
    assert result.rows_rejected == {
        "input_tokens: negative token count": 1,
        "timestamp: missing or not ISO 8601": 1,
        "model: missing": 1,
        "input_tokens: not a whole number": 1,
        "cached_input_tokens: more cached tokens than input tokens": 1,
    }
    rows = {_key(r): r for r in _rows(tmp_path / "out")}
    assert set(rows) == {
        ("2025-03-01 08", "openai", "gpt-4o", "p1", "alice"),  # 10:55 at +02:00
        ("2025-03-01 09", "openai", "gpt-4o", "p1", "alice"),  # r-1, once
        ("2025-03-01 09", "aws", "gpt-4o", "p1", None),  # "bedrock" is AWS; no user
        ("2025-03-02 00", "openai", "gpt-4o-mini", "p2", "bob"),  # 23:30 at -01:00: the next UTC day
    }
    eight = rows[("2025-03-01 08", "openai", "gpt-4o", "p1", "alice")]
    assert (eight["input_tokens"], eight["cached_input_tokens"], eight["requests"], eight["cost_usd"]) == (
        200,
        50,
        2,
        0.002,
    )
    assert rows[("2025-03-01 09", "aws", "gpt-4o", "p1", None)]["cost_usd"] is None
    assert rows[("2025-03-02 00", "openai", "gpt-4o-mini", "p2", "bob")]["day"] == "2025-03-02"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["day=2025-03-01", "day=2025-03-02"]


@pytest.mark.parametrize(("name", "path"), IMPORTED_ALIKE, ids=[f"{n}:{p.name}" for n, p in IMPORTED_ALIKE])
def test_totals_equal_what_the_importer_stores(tmp_path: Path, name: str, path: Path) -> None:
    rollup([str(path)], out_dir=str(tmp_path / "out"), format_name=name)
    con = connect(tmp_path / "store.duckdb")
    import_file(con, path)
    stored = con.execute(
        """SELECT strftime(date_trunc('hour', ts), '%Y-%m-%d %H'), provider, model, project, "user",
                  sum(input_tokens), sum(cached_input_tokens), sum(output_tokens), sum(requests), sum(reported_cost_usd)
           FROM usage_events GROUP BY ALL ORDER BY ALL"""
    ).fetchall()
    con.close()
    mine = sorted(
        (
            *_key(r),
            r["input_tokens"],
            r["cached_input_tokens"],
            r["output_tokens"],
            r["requests"],
            None if r["cost_usd"] is None else Decimal(repr(r["cost_usd"])),
        )
        for r in _rows(tmp_path / "out")
    )
    assert mine == [tuple(row) for row in stored]


@pytest.mark.parametrize(("name", "path"), CASES, ids=IDS)
def test_the_sql_transpiles_for_spark(name: str, path: Path) -> None:
    pytest.importorskip("sqlglot")
    fmt = FORMATS[name]
    spark_sql = for_engine(rollup_sql(fmt, list(fmt.columns.values())), "spark")
    assert "GET_JSON_OBJECT" in spark_sql or fmt.name in ("generic", "litellm-spend-logs", "focus")
    assert "SHA2(" in spark_sql and "DATE_TRUNC('HOUR'" in spark_sql


@spark
@pytest.mark.parametrize(("name", "path"), CASES, ids=IDS)
def test_spark_and_duckdb_give_identical_rollups(tmp_path: Path, name: str, path: Path) -> None:
    duck = rollup([str(path)], out_dir=str(tmp_path / "duckdb"), format_name=name)
    spk = rollup([str(path)], out_dir=str(tmp_path / "spark"), format_name=name, engine="spark", master="local[2]")
    assert spk.engine == "spark"
    assert duck.model_dump(exclude={"engine", "out_dir"}) == spk.model_dump(exclude={"engine", "out_dir"})
    assert _rows(tmp_path / "duckdb") == _rows(tmp_path / "spark")
    assert _rows(tmp_path / "spark")  # not two empty folders


def test_the_output_imports_once(tmp_path: Path) -> None:
    source = MINE / "generic" / "edge_cases.csv"
    rollup([str(source)], out_dir=str(tmp_path / "a"))
    rollup([str(source)], out_dir=str(tmp_path / "b"))  # a second run over the same logs
    con = connect(tmp_path / "store.duckdb")
    for run in ("a", "b"):
        for part in sorted((tmp_path / run).rglob("*.parquet")):
            import_file(con, part)
    events = con.execute(
        "SELECT count(*), sum(input_tokens), sum(output_tokens), sum(requests), count(DISTINCT request_id) "
        "FROM usage_events"
    ).fetchone()
    con.close()
    rows = _rows(tmp_path / "a")
    assert events == (
        len(rows),
        sum(r["input_tokens"] for r in rows),
        sum(r["output_tokens"] for r in rows),
        sum(r["requests"] for r in rows),
        len(rows),
    )


def test_cli(tmp_path: Path) -> None:
    from costmodel.cli import app

    source = MINE / "generic" / "edge_cases.csv"
    out = CliRunner().invoke(app, ["rollup", str(source), "--out", str(tmp_path / "out")])
    assert out.exit_code == 0, out.output
    assert "10 rows read (generic, duckdb): 4 rolled up, 0 not usage, 5 rejected, 1 repeated ids" in out.stdout
    again = CliRunner().invoke(app, ["rollup", str(source), "--out", str(tmp_path / "out")])
    assert again.exit_code == 2 and "output folder is not empty" in again.stderr
    unknown = CliRunner().invoke(app, ["rollup", str(source), "--format", "nope", "--out", str(tmp_path / "x")])
    assert unknown.exit_code == 2 and "unknown format 'nope'" in unknown.stderr


def test_input_errors(tmp_path: Path) -> None:
    with pytest.raises(RollupError, match="mix csv, jsonl"):
        rollup([str(CASES[0][1]), str(CASES[4][1])], out_dir=str(tmp_path / "o"))
    with pytest.raises(RollupError, match="no known log format"):
        rollup([str(FIXTURES / "openrouter-activity" / "openrouter_activity_2025-03-03.csv")], out_dir=str(tmp_path))
    with pytest.raises(RollupError, match="remote inputs are not sniffed"):
        rollup(["s3a://bucket/logs/part-0.parquet"], out_dir=str(tmp_path / "o"), engine="spark")
    with pytest.raises(RollupError, match="use --engine spark"):
        rollup(["s3a://bucket/logs/part-0.parquet"], out_dir=str(tmp_path / "o"), format_name="generic")
    with pytest.raises(RollupError, match="not JSON lines"):
        rollup([str(CASES[4][1])], out_dir=str(tmp_path / "o"), format_name="focus")


def test_result_summary() -> None:
    r = RollupResult(
        format="focus",
        engine="duckdb",
        rows_read=10,
        rows_skipped=2,
        rows_rejected={"x": 1},
        rows_duplicate=0,
        rows_kept=7,
        out_dir="o",
    )
    assert (
        r.summary()
        == "10 rows read (focus, duckdb): 7 rolled up, 2 not usage, 1 rejected, 0 repeated ids; written to o"
    )


def test_import_takes_the_rollup_folder(tmp_path: Path) -> None:
    """`opentco import DIR` imports every day's part once, skips the writers' bookkeeping, and stores nothing new
    when the folder (or a second rollup of the same logs) comes again."""
    from costmodel.cli import app

    out = tmp_path / "out"
    rollup([str(CASES[0][1])], out_dir=str(out))
    parts = sorted(out.rglob("*.parquet"))
    assert len({p.parent for p in parts}) > 1  # several day partitions, so the folder walk is exercised
    (out / "_SUCCESS").write_bytes(b"")  # what Spark leaves beside its parts
    (parts[0].parent / f".{parts[0].name}.crc").write_bytes(b"\x00crc")
    db = tmp_path / "store.duckdb"
    first = CliRunner().invoke(app, ["import", str(out), "--db", str(db)])
    assert first.exit_code == 0, first.output
    lines = first.stdout.strip().splitlines()
    assert len(lines) == len(parts)
    assert all(" imported (generic-parquet)" in line for line in lines)
    assert f"{out}/{parts[0].parent.name}/{parts[0].name}:" in lines[0]  # named by its path, not just part-0
    rows = _rows(out)
    con = connect(db)
    stored = con.execute("SELECT count(*), sum(input_tokens), sum(output_tokens) FROM usage_events").fetchone()
    con.close()
    assert stored == (len(rows), sum(r["input_tokens"] for r in rows), sum(r["output_tokens"] for r in rows))

    again = CliRunner().invoke(app, ["import", str(out), "--db", str(db)])
    assert again.exit_code == 0 and again.stdout.count("already imported") == len(parts)
    rollup([str(CASES[0][1])], out_dir=str(tmp_path / "second"))
    rerun = CliRunner().invoke(app, ["import", str(tmp_path / "second"), "--db", str(db)])
    assert rerun.exit_code == 0, rerun.output
    con = connect(db)
    assert con.execute("SELECT count(*) FROM usage_events").fetchone() == (len(rows),)
    con.close()

    (tmp_path / "empty" / "day=2024-01-01").mkdir(parents=True)
    (tmp_path / "empty" / "_SUCCESS").write_bytes(b"")
    empty = CliRunner().invoke(app, ["import", str(tmp_path / "empty"), "--db", str(db)])
    assert empty.exit_code == 2 and "holds no file to import" in empty.stderr
