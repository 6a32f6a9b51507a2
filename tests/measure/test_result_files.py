"""Benchmark result files of other tools, stored as measured runs (values worked out in
tests/fixtures/bench_results/README.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costmodel.errors import UnknownLogFormat
from costmodel.importers import IMPORTERS
from costmodel.measure import (
    BenchFileError,
    ImportFields,
    MeasureInputError,
    import_benchmark_files,
    import_sources,
    latest_measurement,
    list_benchmarks,
    load_benchmark,
    read_benchmark_file,
    sniff_benchmark_file,
)
from costmodel.store import connect
from costmodel.usage import import_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BENCH = FIXTURES / "bench_results"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
VLLM = next((BENCH / "vllm_bench_serve").glob("*.json"))
GUIDELLM = BENCH / "guidellm" / "benchmarks.json"
AIPERF_JSON = BENCH / "aiperf" / "profile_export_aiperf.json"
AIPERF_CSV = BENCH / "aiperf" / "profile_export_aiperf.csv"
GENAI_JSON = BENCH / "genai_perf" / "profile_export_genai_perf.json"
GENAI_CSV = BENCH / "genai_perf" / "profile_export_genai_perf.csv"
ALL = [VLLM, GUIDELLM, AIPERF_JSON, AIPERF_CSV, GENAI_JSON, GENAI_CSV]
GIVEN = ImportFields(model="my-model", gpu="h100", runtime="vllm")


def _read(path: Path, fields: ImportFields = GIVEN, *, name: str | None = None):
    return read_benchmark_file(path.read_bytes(), file_name=name or path.name, fields=fields, now=NOW)


def _count(con: Any, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (VLLM, "vllm-bench-serve"),
        (GUIDELLM, "guidellm"),
        (AIPERF_JSON, "aiperf-json"),
        (AIPERF_CSV, "aiperf-csv"),
        (GENAI_JSON, "genai-perf-json"),
        (GENAI_CSV, "genai-perf-csv"),
    ],
    ids=lambda v: v.name if isinstance(v, Path) else v,
)
def test_each_format_is_told_from_its_content(path: Path, fmt: str) -> None:
    assert sniff_benchmark_file(path.read_bytes()[:65536], path.name) == fmt
    assert sniff_benchmark_file(path.read_bytes()[:65536], "renamed.data") == fmt


def _usage_log_samples() -> list[Path]:
    return [p for imp in IMPORTERS for p in sorted((FIXTURES / imp.name).iterdir()) if p.is_file()]


@pytest.mark.parametrize("path", _usage_log_samples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_usage_log_sample_is_taken_for_a_benchmark_result(path: Path) -> None:
    assert sniff_benchmark_file(path.read_bytes()[:65536], path.name) is None


def test_vllm_bench_serve_levels_as_worked_out_by_hand() -> None:
    result, fmt, version = _read(VLLM, ImportFields(gpu="h100"))
    assert (fmt, version) == ("vllm-bench-serve", None)
    assert result.settings.model == "meta-llama/Llama-3.1-8B-Instruct" and result.server == "vllm"
    assert result.gpu_name == "h100" and result.gpu_indices == [0]
    assert result.started_at == datetime(2026, 11, 30, 14, 25, tzinfo=UTC)
    assert (result.settings.input_tokens, result.settings.output_tokens) == (512, 256)
    [lv] = result.levels
    assert (lv.concurrency, lv.requests_ok, lv.requests_failed, lv.output_tokens) == (8, 200, 0, 51_200)
    assert (lv.start_s, lv.end_s, lv.input_tokens_per_request) == (0.0, 50.0, 512.0)
    assert (lv.output_tokens_per_s, lv.requests_per_s, lv.output_tokens_per_s_per_stream) == (1024.0, 4.0, 128.0)
    assert (lv.ttft_ms_p50, lv.ttft_ms_p95, lv.inter_token_ms_p50, lv.inter_token_ms_p95) == (75.0, 110.0, 7.5, 9.5)
    assert lv.watts_per_gpu is None and result.power_note and "no GPU power" in result.power_note
    assert result.settings.endpoint == "http://unrecorded.invalid/v1/chat/completions"


def test_guidellm_report_gives_one_level_per_benchmark() -> None:
    result, fmt, _ = _read(GUIDELLM, ImportFields(gpu="a100-80gb", runtime="sglang"))
    assert fmt == "guidellm" and result.settings.model == "Qwen/Qwen2.5-7B-Instruct" and result.server == "sglang"
    assert result.started_at == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert result.settings.endpoint == "http://localhost:8000/v1/chat/completions"
    one, four = result.levels
    assert (one.concurrency, one.requests_ok, one.requests_failed, one.output_tokens) == (1, 30, 1, 3_840)
    assert (one.output_tokens_per_s, one.requests_per_s, one.output_tokens_per_s_per_stream) == (64.0, 0.5, 64.0)
    assert (one.ttft_ms_p50, one.ttft_ms_p95, one.inter_token_ms_p50, one.inter_token_ms_p95) == (40, 55, 14.5, 16)
    assert (four.concurrency, four.requests_ok, four.requests_failed, four.output_tokens) == (4, 120, 5, 15_360)
    assert (four.output_tokens_per_s, four.requests_per_s) == (256.0, 2.0)
    assert (four.start_s, four.end_s) == (70.0, 130.0)
    assert (result.settings.input_tokens, result.settings.output_tokens) == (256, 128)


def test_aiperf_json_brings_model_concurrency_gpus_and_power() -> None:
    result, fmt, version = _read(AIPERF_JSON, ImportFields(runtime="tensorrt-llm"))
    assert (fmt, version) == ("aiperf-json", "0.3.0")
    assert result.settings.model == "meta-llama/Llama-3.1-70B-Instruct"
    assert result.gpu_name == "NVIDIA H100 80GB HBM3" and len(result.gpu_indices) == 2
    [lv] = result.levels
    assert (lv.concurrency, lv.requests_ok, lv.output_tokens, lv.output_tokens_per_s) == (16, 800, 240_000, 2400.0)
    assert (lv.ttft_ms_p50, lv.ttft_ms_p95, lv.inter_token_ms_p50, lv.inter_token_ms_p95) == (120, 250, 6.0, 7.5)
    assert lv.output_tokens_per_s_per_stream == 160.0
    assert (lv.mean_power_w, lv.watts_per_gpu, lv.energy_j) == (1020.0, 510.0, 102_000.0)
    assert lv.joules_per_output_token == pytest.approx(0.425)
    assert lv.usd_per_mtok_energy == Decimal("0.019833") and lv.energy_basis == "integrated_power"


def test_aiperf_csv_is_the_same_run_with_the_rest_given() -> None:
    from_json, _, _ = _read(AIPERF_JSON, ImportFields(runtime="vllm"))
    from_csv, fmt, _ = _read(AIPERF_CSV, ImportFields(model="meta-llama/Llama-3.1-70B-Instruct", runtime="vllm"))
    assert fmt == "aiperf-csv" and from_csv.gpu_name == "NVIDIA H100 80GB HBM3" and len(from_csv.gpu_indices) == 2
    keep = {
        "concurrency",
        "requests_ok",
        "output_tokens",
        "output_tokens_per_s",
        "ttft_ms_p95",
        "joules_per_output_token",
    }
    assert from_csv.levels[0].model_dump(include=keep) == from_json.levels[0].model_dump(include=keep)
    assert any("mean in flight" in w for w in from_csv.warnings)  # 16 derived: 8 req/s × 2 s


def test_genai_perf_json_and_csv() -> None:
    result, fmt, _ = _read(GENAI_JSON, ImportFields(gpu="l40s", runtime="vllm"))
    assert fmt == "genai-perf-json" and result.settings.model == "mistralai/Mistral-7B-Instruct-v0.3"
    assert result.settings.endpoint == "http://localhost:8000/v1/chat/completions"
    [lv] = result.levels
    assert (lv.concurrency, lv.requests_ok, lv.output_tokens, lv.end_s) == (10, 40, 6_000, 20.0)
    assert (lv.ttft_ms_p50, lv.ttft_ms_p95, lv.inter_token_ms_p50) == (1050.0, 3349.56, 30.13)
    assert lv.output_tokens_per_s_per_stream == pytest.approx(1000 / 30.35)
    csv_result, fmt, _ = _read(GENAI_CSV, ImportFields(model="m", gpu="l40s", runtime="vllm"))
    [c] = csv_result.levels
    assert fmt == "genai-perf-csv" and (c.concurrency, c.ttft_ms_p50, c.input_tokens_per_request) == (
        13,
        1050.0,
        3000.0,
    )
    given, _, _ = _read(GENAI_CSV, ImportFields(model="m", gpu="l40s", runtime="vllm", concurrency=10))
    assert given.levels[0].concurrency == 10  # what the user says beats what the rates imply


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_stored_and_read_back_unchanged(path: Path) -> None:
    con = connect()
    [run] = import_benchmark_files(con, [(path.name, path.read_bytes())], fields=GIVEN, now=NOW)
    expected, _, _ = _read(path)
    back = load_benchmark(con, benchmark_id=run.benchmark_id)
    assert [lv.model_dump() for lv in back.levels] == [lv.model_dump() for lv in expected.levels]
    assert back.gpu_name == expected.gpu_name and back.settings == expected.settings
    assert import_sources(con)[run.benchmark_id].endswith(path.name)
    assert [b.benchmark_id for b in list_benchmarks(con)] == [run.benchmark_id]


def test_imported_run_is_what_a_scenario_measurement_uses() -> None:
    con = connect()
    import_benchmark_files(con, [(VLLM.name, VLLM.read_bytes())], fields=ImportFields(gpu="H100 SXM"), now=NOW)
    m = latest_measurement(con, model="Llama-3.1-8B-Instruct", gpu="h100")
    assert m is not None and (m.concurrency, m.output_tokens_per_s, m.gpu_count, m.gpu_name) == (8, 1024, 1, "H100 SXM")
    assert latest_measurement(con, model="Llama-3.1-8B-Instruct", gpu="a100") is None


def test_missing_fields_are_named_with_their_flags_and_nothing_is_stored() -> None:
    con = connect()
    with pytest.raises(BenchFileError) as ex:
        import_benchmark_files(con, [(AIPERF_CSV.name, AIPERF_CSV.read_bytes())], now=NOW)
    text = str(ex.value)
    assert text.startswith("profile_export_aiperf.csv: ") and "model" in text and "serving engine" in text
    assert "--model …" in text and "--runtime …" in text and "--gpu" not in text  # the GPU is in the file
    assert _count(con, "benchmarks") == 0


def test_a_file_imports_once() -> None:
    con = connect()
    files = [(VLLM.name, VLLM.read_bytes()), (GUIDELLM.name, GUIDELLM.read_bytes())]
    first = import_benchmark_files(con, files, fields=GIVEN, now=NOW)
    again = import_benchmark_files(con, [("renamed.json", VLLM.read_bytes())], fields=GIVEN, now=NOW)
    assert [r.already_imported for r in first] == [False, False] and again[0].already_imported
    assert again[0].benchmark_id == first[0].benchmark_id and "already imported" in again[0].summary()
    assert (_count(con, "benchmarks"), _count(con, "benchmark_levels"), _count(con, "benchmark_imports")) == (2, 3, 2)
    twice = import_benchmark_files(con, [(AIPERF_JSON.name, AIPERF_JSON.read_bytes())] * 2, fields=GIVEN, now=NOW)
    assert [r.already_imported for r in twice] == [False, True] and _count(con, "benchmarks") == 3


def test_one_bad_file_stores_none_of_the_batch() -> None:
    con = connect()
    bad = json.loads(VLLM.read_text())
    bad["output_throughput"] = "fast"
    files = [(GUIDELLM.name, GUIDELLM.read_bytes()), ("bad.json", json.dumps(bad).encode())]
    with pytest.raises(BenchFileError, match=r"^bad\.json: output_throughput: expected a number, got 'fast'$"):
        import_benchmark_files(con, files, fields=GIVEN, now=NOW)
    assert _count(con, "benchmarks") == 0 and _count(con, "benchmark_imports") == 0


def _vllm_doc(**changes: Any) -> bytes:
    doc = json.loads(VLLM.read_text())
    for key, value in changes.items():
        if value is _DROP:
            doc.pop(key)
        else:
            doc[key] = value
    return json.dumps(doc).encode()


_DROP = object()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"completed": -3}, "completed: negative (-3)"),
        ({"completed": 2.5}, "completed: expected a whole number, got 2.5"),
        ({"duration": 0}, "duration: zero; the run measured nothing"),
        ({"duration": _DROP}, "duration: missing"),
        ({"output_throughput": True}, "output_throughput: expected a number, got True"),
        ({"output_throughput": [1]}, "output_throughput: expected a number, got list"),
        ({"output_throughput": 1e300}, "output_throughput: not a usable number"),
        ({"date": "29991231-000000"}, "date: 2999-12-31 00:00 UTC is not when a benchmark could have run"),
        ({"date": "yesterday-ish"}, "not a date and time"),
        ({"model_id": '=HYPERLINK("http://x")\x00'}, "model_id: "),
        ({"max_concurrency": 5000}, "concurrency: 5000 streams is more than the 1024"),
        ({"max_concurrency": 0}, "concurrency: zero streams"),
        ({"duration": 1e9}, "duration: 1,000,000,000 s is longer than a benchmark runs"),
        ({"total_output_tokens": 10**16}, "total_output_tokens: not a usable number"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_malformed_values_name_file_and_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(BenchFileError) as ex:
        read_benchmark_file(_vllm_doc(**changes), file_name="run.json", fields=GIVEN, now=NOW)
    assert str(ex.value).startswith("run.json: ") and message in str(ex.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"model_id": "m", "num_prompts": 1, "burstiness": 1.0, "completed": ', "invalid JSON at line 1"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"hello,world\n1,2\n", "not a benchmark result file OpenTCO reads"),
        (b'{"benchmarks": [], "type_": "generative_benchmark"}', "benchmarks: no benchmark in the report"),
        (b"Metric,avg,min\nTime to First Token (ms),1,1\n", "request_count: missing"),
        (b"1,2\nMetric,avg,min\nRequest Latency (ms),1,1\n", "not a benchmark result file"),
    ],
)
def test_broken_files_are_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(BenchFileError) as ex:
        read_benchmark_file(data, file_name="x.json", fields=GIVEN, now=NOW)
    assert message in str(ex.value)


def test_rate_based_vllm_run_is_stored_at_its_mean_concurrency() -> None:
    data = _vllm_doc(max_concurrency=None, request_rate=2.0, request_throughput=2.0, mean_e2el_ms=3000.0)
    result, _, _ = read_benchmark_file(data, file_name="rate.json", fields=GIVEN, now=NOW)
    assert result.levels[0].concurrency == 6  # 2 req/s × 3 s in flight
    assert any("mean in flight" in w for w in result.warnings)
    no_latency = _vllm_doc(max_concurrency=None, mean_e2el_ms=_DROP)
    with pytest.raises(BenchFileError, match="--concurrency"):
        read_benchmark_file(no_latency, file_name="rate.json", fields=GIVEN, now=NOW)


def test_older_guidellm_layout() -> None:
    """GuideLLM 0.2 kept the strategy under `args`, the totals beside the metrics and the model under `worker`."""
    doc = json.loads(GUIDELLM.read_text())
    del doc["args"]
    for b in doc["benchmarks"]:
        b["args"] = {"strategy": b.pop("config")["strategy"]}
        b["request_totals"] = b["metrics"].pop("request_totals")
        b["worker"] = {"backend_model": "Qwen/Qwen2.5-7B-Instruct", "backend_target": "http://gpu-box:8000"}
        del b["metrics"]["output_tokens_per_second"]  # then tokens ÷ duration
    result, _, _ = read_benchmark_file(json.dumps(doc).encode(), file_name="old.json", fields=GIVEN, now=NOW)
    assert result.settings.model == "Qwen/Qwen2.5-7B-Instruct"
    assert [(lv.concurrency, lv.output_tokens_per_s) for lv in result.levels] == [(1, 64.0), (4, 256.0)]
    assert result.settings.endpoint == "http://gpu-box:8000/v1/chat/completions"


def test_guidellm_rate_levels_landing_on_one_concurrency_keep_the_faster() -> None:
    doc = json.loads(GUIDELLM.read_text())
    for b, rate in zip(doc["benchmarks"], (1.9, 2.0), strict=True):
        b["config"]["strategy"] = {"type_": "constant", "rate": rate}
        b["metrics"]["request_concurrency"]["successful"]["mean"] = 3.6
    result, _, _ = read_benchmark_file(json.dumps(doc).encode(), file_name="rates.json", fields=GIVEN, now=NOW)
    assert [(lv.concurrency, lv.output_tokens_per_s) for lv in result.levels] == [(4, 256.0)]
    assert any("two levels at 4 streams" in w for w in result.warnings)


def test_credentials_in_the_server_url_are_not_stored() -> None:
    doc = json.loads(GENAI_JSON.read_text())
    doc["input_config"]["url"] = "http://user:sk-secret@host:8000/v1?key=abc"
    result, _, _ = read_benchmark_file(json.dumps(doc).encode(), file_name="g.json", fields=GIVEN, now=NOW)
    assert "secret" not in result.model_dump_json() and result.settings.endpoint.startswith("http://unrecorded")
    doc["input_config"]["url"] = "http://[::1"  # not parseable
    result, _, _ = read_benchmark_file(json.dumps(doc).encode(), file_name="g.json", fields=GIVEN, now=NOW)
    assert result.settings.endpoint.startswith("http://unrecorded")


def test_user_fields_are_validated() -> None:
    with pytest.raises(MeasureInputError, match="gpu_count"):
        ImportFields.from_fields(gpu_count=0)
    assert ImportFields.from_fields(model="  ", gpu=" h100 ").model_dump(exclude_none=True) == {"gpu": "h100"}


def test_the_usage_log_import_says_where_a_result_file_belongs() -> None:
    con = connect()
    for path in ALL:
        with pytest.raises(UnknownLogFormat) as ex:
            import_file(con, path.read_bytes(), file_name=path.name)
        assert f"opentco measure import {path.name}" in str(ex.value) and "Measure page" in str(ex.value)


def test_a_key_typed_as_a_name_is_refused_without_being_echoed() -> None:
    key = "sk-proj-FUZZfuzzFUZZfuzzFUZZfuzz00"
    with pytest.raises(MeasureInputError) as ex:
        ImportFields.from_fields(model=key)
    assert "looks like an API key" in str(ex.value) and key not in str(ex.value)
    doc = json.loads(GENAI_JSON.read_text())
    doc["input_config"]["model"] = [key]
    with pytest.raises(BenchFileError) as ex2:
        read_benchmark_file(json.dumps(doc).encode(), file_name="g.json", fields=GIVEN, now=NOW)
    assert "input_config.model: looks like an API key" in str(ex2.value) and key not in str(ex2.value)
    with pytest.raises(MeasureInputError, match="starts like a spreadsheet formula"):
        ImportFields.from_fields(gpu="@SUM(A1:A9)")


def test_an_impossible_power_reading_is_refused() -> None:
    doc = json.loads(AIPERF_JSON.read_text())
    doc["telemetry_data"]["endpoints"]["localhost:9400"]["gpus"]["gpu_0"]["metrics"]["gpu_power_usage"]["avg"] = 9e6
    with pytest.raises(BenchFileError, match="gpu_power_usage: over 5,000 W for one GPU"):
        read_benchmark_file(json.dumps(doc).encode(), file_name="a.json", fields=GIVEN, now=NOW)


def test_rates_times_counts_beyond_any_run_are_refused() -> None:
    doc = json.loads(GENAI_JSON.read_text())
    doc["request_count"]["avg"] = 1e14
    doc["request_throughput"]["avg"] = 1e12  # over 100 s
    doc["output_sequence_length"]["avg"] = 1e6  # 1e20 tokens: fine one by one, impossible together
    with pytest.raises(BenchFileError, match="more requests or tokens than any benchmark sends"):
        read_benchmark_file(json.dumps(doc).encode(), file_name="g.json", fields=GIVEN, now=NOW)
