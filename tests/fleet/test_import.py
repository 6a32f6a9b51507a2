"""Metrics files through `import_file`: detection, usage rows equal to the fleet tables, re-imports, bad input."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from costmodel.errors import CostModelError, ImportRejected
from costmodel.fleet.store import SELF_HOSTED, FleetRows
from costmodel.importers import UsageRecord, get_importer
from costmodel.store import connect
from costmodel.usage import RowsRejected, import_file, summarize

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "prometheus-metrics"
ALL = ["vllm_scrapes.prom", "sglang_single.prom", "query_range.json"]


def _tables(con) -> dict[str, list]:
    return {
        t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in ("imports", "usage_events", "fleet_windows", "fleet_hourly", "fleet_latency_buckets")
    }


def test_migration_is_recorded(tmp_path: Path) -> None:
    con = connect(tmp_path / "t.duckdb")
    assert con.execute("SELECT count(*) FROM _migrations WHERE name = 'fleet_001_tables'").fetchone() == (1,)


def test_usage_rows_and_fleet_tables_hold_the_same_tokens(tmp_path: Path) -> None:
    con = connect(tmp_path / "t.duckdb")
    for f in ALL:
        assert import_file(con, FIXTURES / f).format == "prometheus-metrics"
    usage = con.execute(
        "SELECT sum(input_tokens), sum(cached_input_tokens), sum(output_tokens), sum(requests) FROM usage_events "
        "WHERE provider = ?",
        [SELF_HOSTED],
    ).fetchone()
    fleet = con.execute(
        "SELECT sum(prompt_tokens), sum(prefix_cache_hit_tokens), sum(generation_tokens), sum(requests) "
        "FROM fleet_hourly"
    ).fetchone()
    # README totals: 5,500 + 7,200 + 2,600 prompt; 1,400 + 1,000 cached; 2,000 + 3,600 + 1,050 out; 27 + 40 + 14
    assert usage == fleet == (15300, 2400, 6650, 81)
    s = summarize(con)
    assert (s.input_tokens, s.cached_input_tokens, s.output_tokens, s.requests) == (15300, 2400, 6650, 81)


def test_hourly_gauges_and_buckets_of_the_vllm_scrapes(tmp_path: Path) -> None:
    con = connect(tmp_path / "t.duckdb")
    import_file(con, FIXTURES / "vllm_scrapes.prom")
    row = con.execute(
        "SELECT running_mean, running_max, waiting_max, kv_cache_usage_mean, kv_cache_usage_max FROM fleet_hourly "
        "WHERE hour = '2025-03-01 10:00:00'"
    ).fetchone()
    # the V0 alias gpu_cache_usage_perc (0.99) is ignored next to kv_cache_usage_perc
    assert row == pytest.approx((4.0, 6.0, 1.0, 0.7 / 3, 0.35))
    assert con.execute("SELECT le, observations FROM fleet_latency_buckets ORDER BY le").fetchall() == [
        (0.1, 12.0),
        (0.5, 24.0),
        (1.0, 29.0),
        (float("inf"), 30.0),
    ]
    w = con.execute("SELECT instance, resets, gaps, gap_seconds, counted_from_start FROM fleet_windows").fetchall()
    assert w == [("gpu-a:8000", 1, 1, 10800.0, True)]


def test_the_same_file_twice_stores_nothing_new(tmp_path: Path) -> None:
    con = connect(tmp_path / "t.duckdb")
    import_file(con, FIXTURES / "vllm_scrapes.prom")
    before = _tables(con)
    again = import_file(con, FIXTURES / "vllm_scrapes.prom")
    assert again.already_imported and _tables(con) == before


def test_the_same_samples_in_another_file_are_not_counted_twice(tmp_path: Path) -> None:
    con = connect(tmp_path / "t.duckdb")
    import_file(con, FIXTURES / "query_range.json")
    before = {k: v for k, v in _tables(con).items() if k != "imports"}
    # pretty-printed and gzipped: other bytes, same answers (read by the JSON reader, not the fast path)
    pretty = gzip.compress(json.dumps(json.loads((FIXTURES / "query_range.json").read_text()), indent=2).encode())
    result = import_file(con, pretty, file_name="query_range_pretty.json.gz")
    assert (result.rows_imported, result.rows_duplicate) == (0, 4)
    assert {k: v for k, v in _tables(con).items() if k != "imports"} == before


def test_duplicated_answers_in_one_file_count_once() -> None:
    doc = json.loads((FIXTURES / "query_range.json").read_text())
    data = json.dumps(doc * 3).encode()  # the same answers three times, as `cat a.json a.json a.json` gives
    records = [r for r in _parse(data, "x.json") if isinstance(r, UsageRecord)]
    assert sum(r.input_tokens for r in records) == 2600 and len(records) == 4


def _parse(data: bytes, name: str) -> list:
    return list(get_importer("prometheus-metrics").parse(io.BytesIO(data), file=name))


def test_text_labels_escapes_exemplars_and_sample_timestamps() -> None:
    label = b'{model_name="a \\"quoted\\" \\\\ name",instance="h:1"}'
    text = (
        b"# HELP vllm:prompt_tokens_total Number of prefill tokens processed.\n"
        b"# TYPE vllm:prompt_tokens_total counter\n"
        b"vllm:prompt_tokens_total" + label + b" 100 1740819600000\n"
        b"vllm:prompt_tokens_total" + label + b' 250 1740820500000 # {x="y"} 1\n'
    )
    records = [r for r in _parse(text, "m.prom") if isinstance(r, UsageRecord)]
    assert [(r.model, r.input_tokens, r.requests) for r in records] == [('a "quoted" \\ name', 150, None)]


def test_a_scrape_without_time_is_refused_with_how_to_fix_it(tmp_path: Path) -> None:
    text = b'vllm:prompt_tokens_total{model_name="m"} 100\n'
    with pytest.raises(ImportRejected, match="scrape_time"):
        import_file(connect(tmp_path / "t.duckdb"), text, file_name="metrics.prom")


def test_bad_lines_are_rejected_with_line_and_reason() -> None:
    text = (
        b"# scrape_time 2025-03-01T10:00:00Z\n"
        b'vllm:prompt_tokens_total{model_name="m"} 100\n'
        b'vllm:generation_tokens_total{model_name="m"} lots\n'
        b'vllm:prompt_tokens_total{model_name="m" 7\n'
    )
    bad = [str(r) for r in _parse(text, "m.prom") if isinstance(r, CostModelError)]
    assert bad == [
        "m.prom, row 3, column 'vllm:generation_tokens_total': value 'lots' is not a number",
        "m.prom, row 4, column 'vllm:prompt_tokens_total': expected name{labels} value [timestamp]",
    ]


def test_a_prometheus_error_answer_is_shown(tmp_path: Path) -> None:
    doc = {"status": "error", "errorType": "bad_data", "error": "exceeded maximum resolution of 11,000 points"}
    with pytest.raises(ImportRejected, match="exceeded maximum resolution"):
        import_file(
            connect(tmp_path / "t.duckdb"),
            json.dumps([doc, {"data": {"resultType": "matrix", "result": []}}]).encode(),
            file_name="q.json",
            format_name="prometheus-metrics",
        )


def test_an_instant_query_vector_and_a_rate_series(tmp_path: Path) -> None:
    created = {"__name__": "vllm:prompt_tokens_created", "instance": "i:1", "model_name": "m"}
    total = {"__name__": "vllm:prompt_tokens_total", "instance": "i:1", "model_name": "m"}
    doc = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": total, "value": [1740823200, "3600"]},  # 10:00
                {"metric": created, "value": [1740823200, "1740819600"]},  # started 09:00
                {"metric": {"instance": "i:1"}, "value": [1740823200, "5"]},  # rate(...): no metric name
            ],
        },
    }
    result = import_file(connect(tmp_path / "t.duckdb"), json.dumps(doc).encode(), file_name="instant.json")
    # one row: 3,600 tokens counted from the 09:00 start; the rate() series is rejected with how to export it
    assert (result.rows_imported, result.rows_rejected) == (1, 1)
    assert "not rate() or sum()" in result.rejects[0].reason


def test_a_file_of_bad_series_only_is_refused_whole(tmp_path: Path) -> None:
    doc = {"data": {"resultType": "matrix", "result": [{"metric": {"job": "x"}, "values": [[1740823200, "1"]]}]}}
    with pytest.raises(RowsRejected):
        import_file(connect(tmp_path / "t.duckdb"), json.dumps(doc).encode(), format_name="prometheus-metrics")


def test_a_failure_while_storing_leaves_the_store_as_it_was(tmp_path: Path, monkeypatch) -> None:
    con = connect(tmp_path / "t.duckdb")
    before = _tables(con)
    real = FleetRows.store

    def store_then_fail(self, con, import_id):
        real(self, con, import_id)
        raise ImportRejected("disk full (simulated)")

    monkeypatch.setattr(FleetRows, "store", store_then_fail)
    with pytest.raises(ImportRejected, match="simulated"):
        import_file(con, FIXTURES / "vllm_scrapes.prom")
    assert _tables(con) == before


def test_a_key_in_a_label_is_redacted_before_storage(tmp_path: Path) -> None:
    key = "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX0000"
    text = (
        f"# scrape_time 2025-03-01T10:00:00Z instance={key}\n"
        'vllm:prompt_tokens_total{model_name="m"} 100\n'
        "# scrape_time 2025-03-01T10:15:00Z\n"
        'vllm:prompt_tokens_total{model_name="m"} 300\n'
    ).encode()
    con = connect(tmp_path / "t.duckdb")
    import_file(con, text, file_name="m.prom")
    dump = str(_tables(con))
    assert "sk-proj" not in dump and "redacted-" in dump


def test_v1_latency_names_win_over_their_v0_aliases(tmp_path: Path) -> None:
    lines = []
    for t, n in (("2025-03-01T10:00:00Z", 10), ("2025-03-01T10:15:00Z", 30)):
        lines.append(f"# scrape_time {t}")
        lines.append(f'vllm:prompt_tokens_total{{model_name="m"}} {n * 100}')
        for le in ("0.05", "+Inf"):
            lines.append(f'vllm:inter_token_latency_seconds_bucket{{le="{le}",model_name="m"}} {n}')
            lines.append(f'vllm:time_per_output_token_seconds_bucket{{le="{le}",model_name="m"}} {n * 7}')
    con = connect(tmp_path / "t.duckdb")
    import_file(con, ("\n".join(lines) + "\n").encode(), file_name="itl.prom")
    # only the V1 histogram: 30 - 10 = 20 observations in each bucket, none from the V0 alias (140)
    assert con.execute("SELECT metric, le, observations FROM fleet_latency_buckets ORDER BY le").fetchall() == [
        ("itl_seconds", 0.05, 20.0),
        ("itl_seconds", float("inf"), 20.0),
    ]


def test_an_admin_deletion_takes_the_fleet_rows_with_the_import(tmp_path: Path) -> None:
    """`costmodel.audit.delete_import` removes every row an import brought, the fleet tables' included."""
    from costmodel.audit import delete_import

    con = connect(tmp_path / "s.duckdb")
    kept = import_file(con, FIXTURES / "sglang_single.prom").import_id
    gone = import_file(con, FIXTURES / "vllm_scrapes.prom").import_id
    delete_import(con, import_id=gone, who="admin@example.com", workspace="default")
    for table in ("fleet_windows", "fleet_hourly", "fleet_latency_buckets", "usage_events"):
        ids = {r[0] for r in con.execute(f"SELECT DISTINCT import_id FROM {table}").fetchall()}
        assert gone not in ids, table
    assert {r[0] for r in con.execute("SELECT DISTINCT import_id FROM fleet_windows").fetchall()} == {kept}
    con.close()
