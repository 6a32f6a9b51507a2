"""The stored calibration (data/calibration_fit.json): fresh against the data, read without fitting, refitted
in-process (and said once) when the data move on, and the one source of the engine's error bands."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import shutil
import statistics
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costmodel import calibration
from costmodel.calibration import (
    FIT_CODE_VERSION,
    FIT_FILE,
    FIT_INPUTS,
    HOLDOUT_FILE,
    REGIMES,
    CalibrationFit,
    band_floors_pct,
    calibrated_efficiency,
    calibration_report,
    error_bands_pct,
    fit_report,
    gpu_error_floors_pct,
    holdout_check,
    published_points,
    release_error_floors_pct,
    runtime_series_errors,
    stored_calibration_fit,
    write_calibration_fit,
)
from costmodel.catalog import catalog
from costmodel.cli import app
from costmodel.throughput import RUNTIME_FAMILIES, Basis, Efficiency, estimate, runtime_release_series

REPO_DATA = Path(__file__).resolve().parents[2] / "data"
REGENERATE = "regenerate it: `opentco catalog calibration --refit --write` (then commit data/calibration_fit.json)"
runner = CliRunner()


def _committed() -> CalibrationFit:
    return CalibrationFit.model_validate_json((REPO_DATA / FIT_FILE).read_bytes())


@pytest.fixture
def data_copy(tmp_path, monkeypatch) -> Path:
    """A private copy of data/ as the data directory (its own caches: they are keyed by directory)."""
    root = tmp_path / "data"
    shutil.copytree(REPO_DATA, root)
    monkeypatch.setenv("OPENTCO_DATA_DIR", str(root))
    return root


@pytest.fixture
def no_fitting(monkeypatch) -> None:
    """Any fit in this test fails it: the stored file must be enough."""

    def refuse(*args: object, **kwargs: object) -> Efficiency:
        raise AssertionError("fit_efficiency called although data/calibration_fit.json is fresh")

    monkeypatch.setattr(calibration, "fit_efficiency", refuse)


def _scale_values(root: Path, engine: str, factor: float) -> None:
    path = root / "published_throughput.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    for r in rows:
        if r["engine"] == engine:
            r["value"] = repr(float(r["value"]) * factor)
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "costmodel.calibration" and r.levelno >= logging.WARNING
    ]


# --- the committed file -----------------------------------------------------------------------------------------------


def test_committed_fit_matches_the_data_files_and_the_code():
    fit = _committed()
    assert fit.fit_code_version == FIT_CODE_VERSION, f"the fit code version moved on; {REGENERATE}"
    assert set(fit.inputs) == set(FIT_INPUTS)
    for name in FIT_INPUTS:
        data = (REPO_DATA / name).read_bytes()
        assert fit.inputs[name].sha256 == hashlib.sha256(data).hexdigest(), f"data/{name} changed; {REGENERATE}"
        assert fit.inputs[name].rows == len(list(csv.DictReader(io.StringIO(data.decode("utf-8")))))
    assert fit.published_rows == fit.inputs["published_throughput.csv"].rows == 892
    assert fit.fitted_rows + len(fit.unresolved_ids) == fit.published_rows
    assert fit.source and fit.as_of <= date(2100, 1, 1)


def test_committed_fit_reproduces_its_errors_with_todays_physics():
    """Predicting every row again with the stored factors gives the stored errors: cheap (no fit), and it fails
    when the throughput physics or the data changed under the stored fit."""
    root = str(REPO_DATA)
    fit = _committed()
    assert list(fit.families) == [f for f in RUNTIME_FAMILIES if f in fit.families]
    assert sum(f.points for f in fit.families.values()) == fit.fitted_rows == fit.overall.points
    for family, fam in fit.families.items():
        pts = calibration._family_points(root, family)
        assert len(pts) == fam.points and len({r.point.source_key for r in pts}) == fam.sources
        assert set(fam.loso_fits) == {r.point.source_key for r in pts}
        eff = Efficiency(**fam.efficiency)
        ins = [abs(calibration._predict(r, eff) / r.point.value - 1) for r in pts]
        out = [
            abs(calibration._predict(r, Efficiency(**fam.loso_fits[r.point.source_key])) / r.point.value - 1)
            for r in pts
        ]
        dflt = [abs(calibration._predict(r, Efficiency()) / r.point.value - 1) for r in pts]
        for stored, errs in ((fam.in_sample, ins), (fam.leave_one_source_out, out), (fam.defaults, dflt)):
            why = f"{family}: the stored errors no longer match the physics; {REGENERATE}"
            assert stored.median_pct == pytest.approx(100 * statistics.median(errs), abs=1e-3), why
            assert stored.mean_pct == pytest.approx(100 * statistics.fmean(errs), abs=1e-3), why
        # the fit is no worse than the defaults on what it saw, and the factors stay physical
        assert fam.in_sample.median_pct <= fam.defaults.median_pct
        assert 0.3 <= fam.efficiency["bandwidth"] <= 1.0 and 0.15 <= fam.efficiency["compute"] <= 0.95


@pytest.mark.parametrize("factor", sorted(calibration._ROWS_MOVED_BY))
def test_a_factor_moves_only_the_rows_the_fit_re_predicts_for_it(factor):
    """The fit re-predicts only `_ROWS_MOVED_BY[factor]` while it searches a factor; any other row must keep its
    prediction whatever the factor's value, or the search would score candidates on stale predictions."""
    moved = calibration._ROWS_MOVED_BY[factor]
    pts = calibration._all_points(str(REPO_DATA))
    base = Efficiency(mla_layer_overhead_us=100.0)  # so the current release's share of it moves DeepSeek's rows
    other = replace(base, **{factor: next(v for v in calibration._GRIDS[factor] if v != getattr(base, factor))})
    kept = [r for r in pts if not moved(r)]
    changed = [r for r in pts if moved(r)]
    assert kept and changed
    for r in kept:
        assert calibration._predict(r, other) == calibration._predict(r, base), (factor, r.point.id)
    assert any(calibration._predict(r, other) != calibration._predict(r, base) for r in changed), factor


def test_committed_fit_regimes_count_every_fitted_row():
    fit = _committed()
    pts = calibration._all_points(str(REPO_DATA))
    assert list(fit.regimes) == list(REGIMES)
    for g in REGIMES:
        assert fit.regimes[g].points == sum(g in r.regimes for r in pts), g
        assert fit.regimes[g].loso_within_2x <= fit.regimes[g].points
        assert sum(fam.regimes[g].points for fam in fit.families.values() if g in fam.regimes) == fit.regimes[g].points
    # the figures the README quotes (leave-one-source-out median |error| per regime, %)
    assert {g: round(r.loso_median_pct or math.nan, 1) for g, r in fit.regimes.items()} == {
        "single_stream": 10.1,
        "fixed_concurrency": 24.0,
        "max_load": 12.0,
        "long_context": 11.1,
        "moe": 22.7,
        "4bit": 10.1,
        "multi_gpu": 17.9,
        "consumer_apple": 8.3,
    }
    assert fit.overall.points == 875 and fit.overall.loso_median_pct == pytest.approx(11.84, abs=0.05)


# --- reading it -------------------------------------------------------------------------------------------------------


def test_fresh_file_is_read_without_fitting(data_copy, no_fitting, caplog):
    fit = _committed()
    for family, fam in fit.families.items():
        eff = calibrated_efficiency(family)
        assert eff.basis is (Basis.CALIBRATED if fam.calibrated else Basis.ESTIMATED)
        assert {k: getattr(eff, k) for k in fam.efficiency} == fam.efficiency
    server = calibrated_efficiency("server")
    assert server.source == (
        f"fitted to {fit.families['server'].points} published server measurements from "
        f"{fit.families['server'].sources} sources (data/published_throughput.csv)"
    )
    assert (server.bandwidth, server.compute, server.layer_overhead_us) == (0.85, 0.375, 100.0)
    # the per-point report is rebuilt from the stored factors, no refit
    rep = fit_report("mlx")
    assert rep.loso_median_pct == fit.families["mlx"].leave_one_source_out.median_pct
    assert len(rep.per_point) == len(rep.loso_per_point) == fit.families["mlx"].points
    full = calibration_report()
    assert [f.family for f in full.families] == list(fit.families)
    assert len(full.unresolved) == len(fit.unresolved_ids)
    assert _warnings(caplog) == []


def test_cli_prints_the_stored_calibration_without_fitting(data_copy, no_fitting):
    fit = _committed()
    res = runner.invoke(app, ["catalog", "calibration", "--json"])
    assert res.exit_code == 0, res.output
    rows = {(r["table"], r["name"]): r for r in json.loads(res.stdout)}
    assert rows[("family", "server")]["bandwidth_eff"] == fit.families["server"].efficiency["bandwidth"]
    assert rows[("family", "llama.cpp")]["loso_median_pct"] == round(
        fit.families["llama.cpp"].leave_one_source_out.median_pct, 1
    )
    assert rows[("regime", "moe")]["loso_median_pct"] == 22.7
    assert rows[("regime", "all")]["points"] == 875
    h20 = rows[("gpu", "server/H20")]
    assert h20["sources"] == 1 and h20["band_floor_pct"] == h20["in_sample_median_pct"] == 12.5
    assert rows[("gpu", "server/L40S")]["band_floor_pct"] is None  # 3 rows: too few to set a floor
    server = fit.families["server"].efficiency
    assert rows[("family", "server")]["mla_layer_overhead_us"] == server["mla_layer_overhead_us"]
    assert rows[("family", "server")]["tensorrt_compute_factor"] == server["tensorrt_compute_factor"] == 1.4
    assert rows[("family", "server")]["fp4_compute_factor"] == server["fp4_compute_factor"] == 0.7
    assert f"from data/{FIT_FILE}, fitted {fit.as_of}" in res.stderr
    res = runner.invoke(app, ["catalog", "calibration"])
    assert res.exit_code == 0 and res.stdout.splitlines()[0].startswith("table")


# --- the held-out rows ----------------------------------------------------------------------------------------------


def _csv_rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((REPO_DATA / name).read_text(encoding="utf-8"))))


def test_held_out_rows_are_cited_and_never_read_by_the_fit():
    held, fitted = _csv_rows(HOLDOUT_FILE), _csv_rows("published_throughput.csv")
    assert len(held) == 1062 and not {r["id"] for r in held} & {r["id"] for r in fitted}
    assert all(r["source"] and r["as_of"] for r in held)
    assert list(held[0]) == list(fitted[0])  # the same columns: a row moves between the files unchanged
    assert HOLDOUT_FILE not in FIT_INPUTS  # so editing it never makes the stored fit stale


def test_rows_say_where_their_run_put_attention_data_parallel():
    """The column follows each run's stated configuration: SGLang's `--enable-dp-attention`, and every multi-GPU MoE
    cell of TensorRT-LLM's perf overview (its MoE recipe sets `enable_attention_dp: true`); `false` where the
    publication states it off (InferenceX prints a DPA column for every configuration); blank elsewhere."""
    moe = {m.model_id for m in catalog().models if m.is_moe}
    rows = _csv_rows("published_throughput.csv") + _csv_rows(HOLDOUT_FILE)
    for r in rows:
        stated = "--enable-dp-attention" in r["notes"] or (
            r["id"].startswith("trtllm10-") and r["model_id"] in moe and int(r["gpu_count"]) > 1
        )
        stated_off = r["source"].startswith("https://github.com/SemiAnalysisAI/InferenceX;")
        assert r["attention_dp"] == ("true" if stated else "false" if stated_off else ""), r["id"]
    points = {p.id: p for p in published_points()}
    assert points["dstack-dsr1-h200-sxmx8-sglang-c64-3200-800"].attention_dp is True
    assert points["dstack-dsr1-h200-sxmx8-vllm-c64-3200-800"].attention_dp is None


@pytest.mark.parametrize(
    ("engine", "version", "series"),
    [
        ("sglang", "0.5.6.post1", "sglang 0.5"),
        ("vllm", "0.11.0", "vllm 0.11"),
        ("tensorrt-llm", "1.0", "tensorrt-llm 1.0"),
        ("llama.cpp", "b2824", "llama.cpp b2xxx"),
        ("llama.cpp", "8e672ef", "llama.cpp 8e672ef"),
        ("vllm", "", "vllm ?"),
    ],
)
def test_a_row_belongs_to_its_engine_release_series(engine, version, series):
    row = next(p for p in published_points() if p.engine == "vllm").model_dump()
    assert calibration.PublishedPoint(**{**row, "engine": engine, "runtime_version": version}).runtime_series == series


def test_rows_state_the_engine_release_their_publication_names():
    """Where a row's notes name its engine's release, the column holds it; rows of one publication and engine agree
    unless the publication ran several releases (dstack: two SGLang and two vLLM builds; XiongjieDai: one llama.cpp
    build per card)."""
    rows = _csv_rows("published_throughput.csv") + _csv_rows(HOLDOUT_FILE)
    for r in rows:
        v = r["runtime_version"]
        assert v == v.strip() and not v.startswith("v"), r["id"]
        if v:
            assert v.removeprefix("b") in r["notes"], r["id"]  # llama.cpp builds: "build 2824" in the notes
    stated = {r["id"]: r["runtime_version"] for r in rows}
    assert stated["trtllm10-l31-8b-h100-128-128"] == "1.0"
    # the Qwen3 speed benchmark ran its AWQ rows on vLLM 0.7.2 and the rest on SGLang 0.4.6.post1
    qwen3 = [r for r in rows if r["source"].startswith("QwenLM/Qwen3:")]
    ran = {(r["quant_id"].startswith("awq"), r["engine"], r["runtime_version"]) for r in qwen3}
    assert ran == {(True, "vllm", "0.7.2"), (False, "sglang", "0.4.6.post1")}


def test_the_report_gives_the_error_per_engine_release(data_copy, no_fitting):
    series = {e.series: e for e in runtime_series_errors()}
    fit, check = _committed(), holdout_check()
    assert sum(e.fitted_rows for e in series.values()) == fit.fitted_rows
    assert sum(e.holdout_rows for e in series.values()) == len(check.errors)
    assert sum(e.holdout_within_2x for e in series.values()) == check.within_2x()
    assert sum(e.loso_within_2x for e in series.values()) == fit.overall.loso_within_2x
    # SGLang 0.5's fixed costs come from two publications (InferenceX, the SGLang cookbook) that disagree by about
    # a quarter: each predicts the other's runs 25-30 % off (`Efficiency.current_*`); GPUStack's 8 runs are held out
    new = series["sglang 0.5"]
    assert (new.fitted_rows, new.holdout_rows, new.holdout_within_2x) == (109, 8, 8)
    assert new.loso_median_pct == 25.8 and new.holdout_signed_median_pct == 0.4
    # while TensorRT-LLM 1.0's 221 held-out cells, of the release the fit saw 38 cells of, carry almost no bias
    trt = series["tensorrt-llm 1.0"]
    assert (trt.fitted_rows, trt.holdout_rows, trt.holdout_signed_median_pct) == (38, 221, 1.5)
    rows = {
        (r["table"], r["name"]): r for r in json.loads(runner.invoke(app, ["catalog", "calibration", "--json"]).stdout)
    }
    assert rows[("runtime", "sglang 0.5")]["holdout_signed_pct"] == new.holdout_signed_median_pct
    assert rows[("runtime", "vllm 0.6")]["points"] == series["vllm 0.6"].fitted_rows == 139


@pytest.mark.parametrize(
    ("runtime", "series"),
    [
        ("sglang 0.5.6", "sglang 0.5"),
        ("SGLang v0.5.6.post1", "sglang 0.5"),
        ("vLLM 0.11.0", "vllm 0.11"),
        ("vllm-0.6.3", "vllm 0.6"),
        ("TensorRT-LLM v1.0", "tensorrt-llm 1.0"),
        ("llama.cpp b4167", "llama.cpp b4xxx"),
        ("vllm/vllm-openai:v0.11.0", "vllm 0.11"),  # the container image
        ("lmsysorg/sglang:v0.5.6.post1", "sglang 0.5"),
        ("sglang==0.5.6", "sglang 0.5"),  # the pip pin
        ("0.5.6", None),  # a release of no named engine
        ("vllm", None),
        ("llama.cpp (Metal)", None),
        (None, None),
    ],
)
def test_a_runtime_string_names_its_release_series(runtime, series):
    assert runtime_release_series(runtime) == series


def test_an_estimate_on_a_named_release_carries_that_release_s_published_error(data_copy, no_fitting):
    floors = release_error_floors_pct()
    assert floors["sglang 0.5"] == 25.7 and floors["vllm 0.6"] == 8.0  # 109 fitted and 8 held-out runs; 139 rows
    assert "tensorrt-llm 1.2" not in floors  # one row: too few to set a floor
    assert not [s for s in floors if s.endswith(" ?")]  # rows that name no release are no release's evidence
    cat = catalog()
    args = (cat.model("deepseek-r1"), cat.gpu("H100-SXM"), cat.quant("fp8"))
    named = estimate(*args, gpus=8, runtime="sglang 0.5.6")
    bare = estimate(*args, gpus=8, runtime="sglang")
    assert named.output_tokens_per_s == bare.output_tokens_per_s  # the release widens the band, not the figure
    assert named.error_band_pct == 25.7 > bare.error_band_pct
    assert "sglang 0.5 runs" in named.error_band_basis
    # a release the fit is closer on than the regimes leaves the band where they put it
    llama = estimate(cat.model("qwen2.5-7b"), cat.gpu("A100-80GB"), cat.quant("bf16"), runtime="vllm 0.6.3")
    plain = estimate(cat.model("qwen2.5-7b"), cat.gpu("A100-80GB"), cat.quant("bf16"), runtime="vllm")
    assert llama.error_band_pct == plain.error_band_pct > 8.0


def test_the_stored_fit_is_scored_on_rows_it_never_saw(data_copy, no_fitting):
    check = holdout_check()
    assert check is not None and check.rows == len(check.errors) == 1062  # all resolve: no unsupported row
    assert check.median_pct() == pytest.approx(9.80, abs=0.05)  # the figure the README quotes
    # outside 2×: two GB200 cells TensorRT-LLM measured below its B200 cells; three first-token latencies of
    # tenstorrent's 16 × H100 SGLang runs (the DLI sweep's FP8 Llama 3 8B at 250 streams on two H100s, +116 % before
    # the older NIM's host time per streamed token, is now within); the Qwen2 speed benchmark's four vLLM 0.4.2 runs
    # of Qwen2-57B-A14B (20 of its rows before the older vLLM's host time per step and AWQ kernel, 10 before its
    # eager decode beyond 8k tokens)
    assert check.within_2x() == 1053
    qwen2 = [e for p, _, e in check.errors if p.id.startswith("qwen2sb-")]
    assert len(qwen2) == 84 and statistics.median(abs(e) for e in qwen2) == pytest.approx(0.0706, abs=5e-4)
    dli = [e for p, _, e in check.errors if p.id.startswith("dlinim-")]
    assert len(dli) == 715 and statistics.median(abs(e) for e in dli) == pytest.approx(0.0920, abs=5e-4)
    rows = {
        (r["table"], r["name"]): r for r in json.loads(runner.invoke(app, ["catalog", "calibration", "--json"]).stdout)
    }
    assert rows[("holdout", "all")]["holdout_median_pct"] == 9.8
    assert rows[("holdout", "server")]["points"] == 990
    # a data directory without the file has nothing to score, and the report says nothing about it
    (data_copy / HOLDOUT_FILE).unlink()
    assert holdout_check() is None
    rows = json.loads(runner.invoke(app, ["catalog", "calibration", "--json"]).stdout)
    assert not [r for r in rows if r["table"] == "holdout"]


def test_refit_flags_belong_to_calibration_only():
    res = runner.invoke(app, ["catalog", "gpus", "--refit"])
    assert res.exit_code == 2 and "apply to `opentco catalog calibration` only" in res.output


# --- when the file no longer holds ------------------------------------------------------------------------------------


def test_edited_csv_is_refitted_in_process_and_said_once(data_copy, caplog, monkeypatch):
    _scale_values(data_copy, "mlx", 0.6)
    calls = []
    real_fit = calibration.fit_efficiency
    monkeypatch.setattr(calibration, "fit_efficiency", lambda *a, **k: calls.append(1) or real_fit(*a, **k))
    assert stored_calibration_fit() is None
    eff = calibrated_efficiency("mlx")
    assert calibrated_efficiency("mlx") is eff and calls == [1]  # fitted once per process
    stored = _committed().families["mlx"].efficiency
    assert eff.basis is Basis.CALIBRATED
    # 40 % slower published Macs: the refit lowers the bandwidth share the stored file holds
    assert eff.bandwidth < stored["bandwidth"]
    (msg,) = _warnings(caplog)
    assert "published_throughput.csv changed" in msg and "--refit --write" in msg
    # the error bands still come from the stored (now stale) file: remeasuring them is the slow report
    assert error_bands_pct()["consumer_apple"] == round(_committed().regimes["consumer_apple"].loso_median_pct, 1)
    calibrated_efficiency("server")
    assert len(_warnings(caplog)) == 1


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda p: p.unlink(), "is missing"),
        (lambda p: p.write_text(p.read_text().replace('"bandwidth"', '"bandwith"', 1)), "cannot be read"),
        (lambda p: p.write_text(p.read_text().replace(FIT_CODE_VERSION, "throughput-v1/fit-0")), "fit code version"),
        (lambda p: p.write_text("{not json"), "cannot be read"),
    ],
)
def test_missing_damaged_or_outdated_file_is_refitted(data_copy, caplog, damage, said):
    damage(data_copy / FIT_FILE)
    eff = calibrated_efficiency("mlx")
    assert (eff.bandwidth, eff.compute) == tuple(
        _committed().families["mlx"].efficiency[k] for k in ("bandwidth", "compute")
    )
    (msg,) = _warnings(caplog)
    assert said in msg


def test_write_round_trip_on_the_mlx_rows(data_copy, monkeypatch):
    """Fitting only the MLX rows stores exactly the MLX family of the committed file (same rows, same code)."""
    path = data_copy / "published_throughput.csv"
    keep = {r.point.id for r in calibration._family_points(str(REPO_DATA), "mlx")}
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    rows = list(csv.DictReader(io.StringIO("".join(lines))))
    header, body = lines[0], lines[1:]
    assert len(body) == len(rows)  # one line per row, so lines can be kept by row
    path.write_text(header + "".join(line for line, r in zip(body, rows, strict=True) if r["id"] in keep))
    written = write_calibration_fit(today=date(2030, 1, 2))
    assert written == data_copy / FIT_FILE
    fit = stored_calibration_fit()
    assert fit is not None and fit.as_of == date(2030, 1, 2) and fit.published_rows == len(keep) == 32
    assert list(fit.families) == ["mlx"]
    assert fit.families["mlx"] == _committed().families["mlx"]
    assert fit.inputs["published_throughput.csv"].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    # read back without fitting; a family with no rows keeps the defaults
    monkeypatch.setattr(calibration, "fit_efficiency", lambda *a, **k: pytest.fail("refitted a fresh file"))
    assert calibrated_efficiency("mlx").bandwidth == fit.families["mlx"].efficiency["bandwidth"]
    assert calibrated_efficiency("server") == Efficiency(source="engineering defaults (only 0 published server points)")


def test_cli_write_stores_a_fresh_file(data_copy):
    _scale_values(data_copy, "mlx", 0.6)
    path = data_copy / "published_throughput.csv"
    keep = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(keep[0] + "".join(line for line in keep[1:] if ",mlx," in line))
    res = runner.invoke(app, ["catalog", "calibration", "--refit", "--write", "--json"])
    assert res.exit_code == 0, res.output
    assert f"wrote {data_copy / FIT_FILE}" in res.stderr
    fit = stored_calibration_fit()
    assert fit is not None and list(fit.families) == ["mlx"]
    rows = {(r["table"], r["name"]): r for r in json.loads(res.stdout)}
    assert rows[("family", "mlx")]["bandwidth_eff"] == fit.families["mlx"].efficiency["bandwidth"]
    assert fit.families["mlx"].efficiency["bandwidth"] < _committed().families["mlx"].efficiency["bandwidth"]


# --- error bands: one source of truth ---------------------------------------------------------------------------------


def test_error_bands_are_the_stored_leave_one_source_out_figures():
    from costmodel.throughput import ERROR_BAND_PCT

    fit = _committed()
    assert {g: round(r.loso_median_pct, 1) for g, r in fit.regimes.items()} == ERROR_BAND_PCT
    cat = catalog()
    single = estimate(cat.model("llama-3.1-8b"), cat.gpu("L40S"), cat.quant("bf16"))  # too few rows for a floor
    assert single.regimes == ("single_stream",) and single.error_band_pct == ERROR_BAND_PCT["single_stream"]
    moe = estimate(cat.model("mixtral-8x7b"), cat.gpu("H100-SXM"), cat.quant("fp8"), concurrency=8)
    # its widest regime (fixed concurrency 24.0 %, MoE 22.7 %), wider than the H100 rows' 9.0 %
    assert "moe" in moe.regimes and moe.error_band_pct == 24.0
    assert gpu_error_floors_pct()[("server", "H100-SXM")] == 9.0


def test_a_gpu_the_fit_misses_widens_the_band_of_its_estimates():
    fit = _committed()
    h20 = fit.families["server"].gpus["H20"]
    # one publication measured the H20 (the Qwen3 speed benchmark): its in-sample median is the floor, and it sits
    # above every regime the H20's single-stream rows fall in
    assert h20.sources == 1 and h20.points >= 50
    floors = gpu_error_floors_pct()
    assert floors[("server", "H20")] == round(h20.in_sample_median_pct, 1) > error_bands_pct()["single_stream"]
    cat = catalog()
    on_h20 = estimate(cat.model("qwen3-8b"), cat.gpu("H20"), cat.quant("bf16"), runtime="sglang")
    assert on_h20.regimes == ("single_stream",)
    assert on_h20.error_band_pct == floors[("server", "H20")]
    assert on_h20.error_band_basis == "the server fit's median error on H20, fitted or held-out rows"
    # a floor below the estimate's regimes changes nothing: llama.cpp on the RTX A6000 (XiongjieDai's rows)
    on_a6000 = estimate(cat.model("llama-3.1-8b"), cat.gpu("RTX-A6000"), cat.quant("gguf-q4_k_m"))
    assert on_a6000.regimes == ("single_stream", "4bit", "consumer_apple")
    assert floors[("llama.cpp", "RTX-A6000")] < on_a6000.error_band_pct == error_bands_pct()["single_stream"]
    assert on_a6000.error_band_basis == "single_stream regime"
    # held-out rows set a floor too: TensorRT-LLM's held-out Qwen3-30B-A3B and Llama 3.3 70B cells on the RTX PRO
    # 6000 are a median 14 % off where its fitted rows are 5 %, so an estimate there says so
    fitted_only = calibration.band_floors_pct(fit)[("server", "RTX-PRO-6000")]
    on_pro = estimate(cat.model("qwen3-8b"), cat.gpu("RTX-PRO-6000"), cat.quant("fp8"), runtime="sglang")
    assert (
        on_pro.error_band_pct
        == floors[("server", "RTX-PRO-6000")]
        > max(error_bands_pct()["single_stream"], fitted_only)
    )
    assert on_pro.error_band_basis == "the server fit's median error on RTX-PRO-6000, fitted or held-out rows"
    # several publications on one GPU: the floor is their leave-one-source-out median (or the held-out rows')
    h100 = fit.families["server"].gpus["H100-SXM"]
    assert h100.sources >= 2 and floors[("server", "H100-SXM")] >= round(h100.loso_median_pct, 1)
    # too few rows set no floor; a family's floor does not reach another family's estimates
    assert fit.families["server"].gpus["L40S"].points < calibration.GPU_FLOOR_MIN_ROWS
    assert ("server", "L40S") not in floors and ("llama.cpp", "H20") not in floors
    custom = estimate(cat.model("qwen3-8b"), cat.gpu("H20"), cat.quant("bf16"), efficiency=Efficiency())
    assert (custom.error_band_pct, custom.error_band_basis) == (35.0, "uncalibrated factors")  # their own band
    res = CliRunner().invoke(app, ["estimate", "--model", "qwen3-8b", "--gpu", "H20", "--runtime", "sglang"])
    assert res.exit_code == 0, res.output
    assert (
        f"expected error ±{on_h20.error_band_pct:.0f}% (from the server fit's median error on H20, "
        "fitted or held-out rows;" in res.output
    )


def test_gpu_floor_rules():
    row = dict(in_sample_median_pct=14.44, loso_median_pct=24.2, default_median_pct=80.0, loso_within_2x=5)
    assert calibration.gpu_band_floor_pct(calibration.RegimeFit(points=5, sources=1, **row)) == 14.4
    assert calibration.gpu_band_floor_pct(calibration.RegimeFit(points=5, sources=2, **row)) == 24.2
    assert calibration.gpu_band_floor_pct(calibration.RegimeFit(points=4, sources=2, **row)) is None


def test_held_out_rows_on_a_gpu_raise_its_floor_where_the_fit_is_wider_of_the_mark_there():
    fit, check = _committed(), holdout_check()
    pro = fit.families["server"].gpus["RTX-PRO-6000"]
    # one publication's 5 fitted RTX PRO 6000 rows miss by 5.2 % in-sample (one source: no leave-one-source-out
    # floor); the 44 held-out ones (TensorRT-LLM's perf-overview cells on 1–8 of them) by 14.1 %
    assert pro.sources == 1 and round(pro.in_sample_median_pct, 1) == 5.2
    assert (
        len(check.of("server", "RTX-PRO-6000")) == 44 and round(check.median_pct("server", "RTX-PRO-6000"), 1) == 14.1
    )
    floors = gpu_error_floors_pct()
    assert floors[("server", "RTX-PRO-6000")] == 14.1 == band_floors_pct(fit, check)[("server", "RTX-PRO-6000")]
    assert band_floors_pct(fit)[("server", "RTX-PRO-6000")] == 5.2  # the fitted rows alone
    cat = catalog()
    args = (cat.model("llama-3.1-8b"), cat.gpu("RTX-PRO-6000"), cat.quant("fp8"))
    on_pro = estimate(*args, gpus=1, mode="max_load", runtime="tensorrt-llm")  # max load 12.0 %, consumer 8.3 %
    assert on_pro.regimes == ("max_load", "consumer_apple") and error_bands_pct()["max_load"] == 12.0
    assert on_pro.error_band_pct == 14.1 and "held-out" in on_pro.error_band_basis
    # the H100's 532 held-out rows (NVIDIA's DLI sweeps of an older NIM, TensorRT-LLM's cells, GPUStack's,
    # tenstorrent's) miss by 8.9 %, closer than its fitted rows' 9.0 % leave-one-source-out: the fitted floor stays
    h100 = fit.families["server"].gpus["H100-SXM"]
    assert round(check.median_pct("server", "H100-SXM"), 1) == 8.9 < round(h100.loso_median_pct, 1) == 9.0
    assert floors[("server", "H100-SXM")] == 9.0
    # held-out rows the fit matches better than its fitted rows leave the fitted floor (the H200's 53 rows, here
    # missed by half as much as they are, against 23.7 % leave-one-source-out over six publications)
    h200 = fit.families["server"].gpus["H200-SXM"]
    closer = replace(check, errors=tuple((p, fam, e / 2) for p, fam, e in check.errors))
    assert closer.median_pct("server", "H200-SXM") < h200.loso_median_pct
    assert band_floors_pct(fit, closer)[("server", "H200-SXM")] == round(h200.loso_median_pct, 1) == 23.7
    assert floors[("server", "H200-SXM")] == 23.7 > round(check.median_pct("server", "H200-SXM"), 1) == 9.2


def test_error_bands_fall_back_to_the_shipped_file(data_copy):
    (data_copy / FIT_FILE).unlink()
    assert error_bands_pct() == {g: round(r.loso_median_pct, 1) for g, r in _committed().regimes.items()}
    assert gpu_error_floors_pct() == band_floors_pct(_committed(), holdout_check(_committed()))


def test_a_first_token_latency_is_fitted_without_an_output_length_and_a_throughput_is_not():
    row = dict(
        id="t", model_id="llama-2-7b", gpu_id="A100-80GB", gpu_count=1, quant_id="fp16", engine="tensorrt-llm",
        concurrency=1, input_tokens=2048, output_tokens=None, source="https://example.org/x", as_of="2024-01-01",
    )  # fmt: skip
    ttft = calibration.PublishedPoint(**row, metric="ttft_ms", value=133.0)
    tput = calibration.PublishedPoint(**row, metric="output_tokens_per_s_total", value=50.0)
    resolved = calibration._resolve(calibration.catalog(), [ttft, tput])
    assert [r.point.metric for r in resolved] == ["ttft_ms"]
    # the six TensorRT-LLM v0.5 batch-1 TTFT rows are among the fitted points
    fitted = {r.point.id for r in calibration._all_points(str(REPO_DATA))}
    assert {i for i in fitted if i.startswith("trtllm05-") and "-ttft-" in i} == {
        "trtllm05-l2-7b-h100-ttft-128",
        "trtllm05-l2-7b-h100-ttft-2048",
        "trtllm05-l2-7b-l40s-ttft-2048",
        "trtllm05-l2-7b-a100-ttft-2048",
        "trtllm05-l2-70b-h100tp4-ttft-2048",
        "trtllm05-l2-70b-a100tp4-ttft-2048",
    }


def test_a_run_that_averaged_fewer_streams_than_its_cap_is_predicted_at_its_average():
    """SGLang's bench_serving prints the streams a run averaged ("Concurrency:", the requests' summed latency over
    the run): the cookbook's `--num-prompts 80 --max-concurrency 16` on DeepSeek-R1 averaged 13.93 as its last
    requests drained, so the row is predicted there, between the whole batches around it."""
    pts = {r.point.id: r for r in calibration._all_points(str(REPO_DATA))}
    r = pts["sglcookbook-dsr1-0528-fp8-b200x8-c16-rand1k"]
    assert (r.point.concurrency, r.point.mean_concurrency) == (16, 13.93)
    eff = calibrated_efficiency("server")

    def at(streams: int) -> float:
        return calibration._predict_at(r, eff, streams)

    assert calibration._predict(r, eff) == pytest.approx(at(13) + 0.93 * (at(14) - at(13)), rel=1e-12)
    assert at(13) < calibration._predict(r, eff) < at(16)
    capped = replace(r, point=r.point.model_copy(update={"mean_concurrency": 16.0}))
    assert calibration._predict(capped, eff) == at(16)  # an average at the cap changes nothing
    # every cookbook row states it; dstack's sweeps averaged 98-100 % of their caps; none exceeds its cap
    rows = published_points()
    assert all(p.mean_concurrency for p in rows if "sgl-cookbook" in p.source)
    dstack = [p.mean_concurrency / p.concurrency for p in rows if p.id.startswith("dstack-")]
    assert len(dstack) == 25 and min(dstack) > 0.975
    assert all(p.concurrency and p.mean_concurrency <= p.concurrency for p in rows if p.mean_concurrency)


def test_fp4_tensor_cores_get_their_own_compute_share():
    cat = catalog()
    m = cat.model("llama-3.3-70b")

    def tput(gpu: str, quant: str, factor: float) -> float:
        eff = Efficiency(fp4_compute_factor=factor)
        e = estimate(m, cat.gpu(gpu), cat.quant(quant), mode="max_load", input_tokens=1000, output_tokens=1000,
                     efficiency=eff)  # fmt: skip
        return e.output_tokens_per_s

    assert tput("B200", "nvfp4", 0.5) < tput("B200", "nvfp4", 1.0)  # FP4 tensor cores: the factor applies
    assert tput("H100-SXM", "nvfp4", 0.5) == tput("H100-SXM", "nvfp4", 1.0)  # dequantized to 16 bits: it does not
    assert tput("B200", "fp8", 0.5) == tput("B200", "fp8", 1.0)
    # fitted to TensorRT-LLM's perf-overview: every dense NVFP4 row within 14 % in-sample (they were 11-35 % fast)
    server = _committed().families["server"]
    assert server.efficiency["fp4_compute_factor"] == 0.7 and "fp4_compute_factor" in server.fitted_params
    eff = calibrated_efficiency("server")
    dense = [
        r
        for r in calibration._family_points(str(REPO_DATA), "server")
        if r.quant.quant_id == "nvfp4" and not r.model.is_moe
    ]
    assert len(dense) == 8
    assert all(abs(calibration._err(calibration._predict(r, eff), r)) < 0.14 for r in dense)
