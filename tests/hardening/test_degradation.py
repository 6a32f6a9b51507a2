"""When something is missing or broken, the user reads what and how to fix it, and the rest keeps working.

A model genai-prices does not know (in a scenario, in a log), a damaged or read-only database, a database held
by another process, NVML failing in the middle of a run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pynvml
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from costmodel.measure import LoadSettings, run_benchmark
from costmodel.scenario import ApiOption, CloudGpuOption, Scenario
from costmodel.store import StoreError, connect
from costmodel.usage import import_file, summarize
from tests.hardening.cli import opentco
from tests.hardening.logs import generic_csv
from tests.measure.fake_pynvml import FakePynvml, counter_skew_s
from tests.measure.stub_openai import StubServer

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "dashboard" / "streamlit_app.py"
PAGES = ["compare", "builder", "hardware_fit", "usage_logs", "measure", "business_case"]


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()  # the store connection follows OPENTCO_DB, which each test points elsewhere


def _cli_process(*args: str, prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    """`opentco` in a process of its own (to hold a lock against this one, or to run without privileges)."""
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "costmodel.cli", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _texts(at: AppTest, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


# ---------------------------------------------------------------- models genai-prices does not know


def test_a_scenario_with_an_unknown_model_says_which_and_the_app_keeps_working(tmp_path) -> None:
    scenario = Scenario(
        options=[
            ApiOption(name="API", provider="openai", model="gpt-4o-minii"),
            CloudGpuOption(name="Rented", model="llama-3.1-8b", gpu="h100"),
        ]
    )
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["scenario"] = scenario
    at.run()
    assert not at.exception
    (message,) = _texts(at, "error")
    assert "Unknown openai model 'gpt-4o-minii'" in message and "Did you mean: gpt-4o-mini" in message
    for name in PAGES[1:]:
        at.switch_page(f"app_pages/{name}.py").run()
        assert not at.exception, (name, at.exception)
    (tmp_path / "s.json").write_text(scenario.model_dump_json())
    out = opentco("compare", str(tmp_path / "s.json"))
    assert out.returncode == 2 and "Unknown openai model 'gpt-4o-minii'" in out.stderr and "gpt-4o-mini" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_log_with_unknown_models_keeps_their_tokens_and_lists_them() -> None:
    data = (
        b"timestamp,model,input_tokens,output_tokens,provider\n"
        b"2025-03-01T10:00:00Z,gpt-4o,1000,100,openai\n"
        b"2025-03-01T11:00:00Z,gpt-9-imaginary,2000,200,openai\n"
        b"2025-03-01T12:00:00Z,house-model-v3,4000,400,\n"
    )
    con = connect()
    import_file(con, data, file_name="mixed.csv")
    s = summarize(con)
    con.close()
    assert (s.rows, s.input_tokens, s.output_tokens) == (3, 7000, 700)  # nothing dropped
    assert any("gpt-9-imaginary" in m for m in s.unknown_models) and any(
        "house-model-v3" in m for m in s.unknown_models
    )
    assert {m.model for m in s.by_model} == {"gpt-4o", "gpt-9-imaginary", "house-model-v3"}
    assert s.recomputed_cost_usd > 0  # the known model is still priced
    out = opentco("usage", "summary")
    assert out.returncode == 0 and "models genai-prices does not price (kept, not costed)" in out.stdout
    assert "gpt-9-imaginary" in out.stdout
    at = AppTest.from_file(str(ROOT / "dashboard" / "app_pages" / "usage_logs.py"), default_timeout=60).run()
    assert not at.exception
    (warning,) = _texts(at, "warning")
    assert "cannot price these models (their tokens are kept)" in warning and "house-model-v3" in warning


# ---------------------------------------------------------------- a damaged database


def _damage(db: Path, how: str) -> None:
    con = connect(db)
    import_file(con, generic_csv(range(30_000)), file_name="earlier.csv")
    con.execute("CHECKPOINT")
    con.close()
    size = db.stat().st_size
    with db.open("r+b") as fp:
        if how == "header":
            fp.write(os.urandom(8192))
        elif how == "blocks":  # the catalog opens; the table data fails its checksums
            fp.seek(size // 2)
            fp.write(os.urandom(size // 4))
        else:
            fp.truncate(size // 3)


@pytest.mark.parametrize("how", ["header", "blocks", "truncated"])
def test_a_damaged_database_names_the_file_and_the_fix_and_other_pages_work(tmp_path, monkeypatch, how) -> None:
    db = tmp_path / "damaged.duckdb"
    _damage(db, how)
    monkeypatch.setenv("OPENTCO_DB", str(db))
    fix = f"mv {db} {db}.damaged"
    with pytest.raises(StoreError) as err:
        connect(db)
    assert str(db) in str(err.value) and fix in str(err.value)
    for args in (["usage", "summary"], ["import", str(ROOT / "tests/fixtures/generic-csv/usage.csv")]):
        out = opentco(*args, "--db", str(db))
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert f"cannot open the usage database {db}" in out.stderr and fix in out.stderr
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception and not _texts(at, "error")  # Compare needs no database
    for name in ("usage_logs", "measure"):
        at.switch_page(f"app_pages/{name}.py").run()
        assert not at.exception, (name, at.exception)
        assert any(str(db) in e and fix in e for e in _texts(at, "error")), (name, _texts(at, "error"))
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception and not _texts(at, "error")
    # the fix works, in the same session: nothing of the failure was cached
    db.rename(db.with_name(db.name + ".damaged"))
    at.switch_page("app_pages/usage_logs.py").run()
    assert not at.exception and not _texts(at, "error")
    assert "No usage imported yet" in _texts(at, "info")[0]


def test_a_database_held_by_another_process_says_so(tmp_path) -> None:
    db = tmp_path / "held.duckdb"
    con = connect(db)  # this process holds the write lock …
    try:
        out = _cli_process("import", str(ROOT / "tests/fixtures/generic-csv/usage.csv"), "--db", str(db))
    finally:
        con.close()
    assert out.returncode == 2 and "Traceback" not in out.stderr  # … so the CLI is told, not crashed
    assert f"cannot open the usage database {db}" in out.stderr and "Another OpenTCO process" in out.stderr
    assert opentco("import", str(ROOT / "tests/fixtures/generic-csv/usage.csv"), "--db", str(db)).returncode == 0


# ---------------------------------------------------------------- a read-only folder


def _unprivileged() -> list[str]:
    """A command prefix under which file permissions apply (root ignores them unless it drops the capability)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a read-only folder cannot be made to refuse writes")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


@pytest.fixture
def read_only_dir() -> Iterator[Path]:
    # not under tmp_path: pytest makes that 0700, which an unprivileged process could not even enter
    d = Path(tempfile.mkdtemp(prefix="opentco-ro-"))
    d.chmod(0o555)
    try:
        yield d
    finally:
        d.chmod(0o755)
        shutil.rmtree(d)


_PAGES_SCRIPT = """
import json, os, sys
import streamlit as st
from streamlit.testing.v1 import AppTest
out = {}
for db in sys.argv[2:]:
    os.environ["OPENTCO_DB"] = db
    st.cache_resource.clear()
    at = AppTest.from_file(sys.argv[1], default_timeout=120).run()
    compare = [not at.exception, [e.value for e in at.error]]
    at.switch_page("app_pages/usage_logs.py").run()
    out[db] = {"compare": compare, "usage_logs": [not at.exception, [e.value for e in at.error]]}
print(json.dumps(out))
"""


def test_a_read_only_database_folder_gives_a_clear_message(read_only_dir) -> None:
    prefix = _unprivileged()
    fresh = read_only_dir / "var" / "opentco.duckdb"  # a new store would go in a read-only folder
    # existing stores in folders that became read-only: the file too, or only the folder (where the WAL goes)
    stores = [read_only_dir.parent / f"{read_only_dir.name}-{kind}" / "opentco.duckdb" for kind in ("file", "dir")]
    try:
        for db in stores:
            db.parent.mkdir()
            con = connect(db)
            import_file(con, generic_csv(range(100)), file_name="earlier.csv")
            con.close()
            db.parent.chmod(0o555)
        stores[0].chmod(0o444)
        for db in (fresh, *stores):
            out = _cli_process(
                "import", str(ROOT / "tests/fixtures/generic-csv/usage.csv"), "--db", str(db), prefix=prefix
            )
            assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
            assert f"cannot open the usage database {db}" in out.stderr and "read-only" in out.stderr, out.stderr
        page = subprocess.run(
            [*prefix, sys.executable, "-c", _PAGES_SCRIPT, str(APP), *map(str, (fresh, *stores))],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "HOME": tempfile.gettempdir()},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert page.returncode == 0, page.stderr[-3000:]
        shown = json.loads(page.stdout.splitlines()[-1])
        for db in (fresh, *stores):
            assert shown[str(db)]["compare"] == [True, []]
            ok, errors = shown[str(db)]["usage_logs"]
            assert ok and any(str(db) in e and "read-only" in e for e in errors), errors
    finally:
        for db in stores:
            if db.parent.exists():
                db.parent.chmod(0o755)
                shutil.rmtree(db.parent)


# ---------------------------------------------------------------- NVML failing mid-run


def _settings(stub: StubServer) -> LoadSettings:
    return LoadSettings(
        endpoint=stub.url,
        model="stub-model",
        concurrency_levels=[1, 2, 4],
        input_tokens=40,
        output_tokens=20,
        duration_s_per_level=0.5,
        request_timeout_s=10,
    )


def test_nvml_lost_mid_run_keeps_partial_results_and_says_so(stub: StubServer, fake_nvml: FakePynvml) -> None:
    def lose_gpu(level) -> None:
        if level.concurrency == 1:
            fake_nvml.read_error = pynvml.NVML_ERROR_GPU_IS_LOST  # every reading from now on fails

    result = run_benchmark(settings=_settings(stub), sample_interval_s=0.02, on_level=lose_gpu)
    assert [lv.concurrency for lv in result.levels] == [1, 2, 4] and all(lv.requests_ok for lv in result.levels)
    first, *after = result.levels
    # measured before the GPU was lost: 300 W, to the few µs by which this run's sample stamps missed their reads
    rel = counter_skew_s(result.samples, watts=300) / first.duration_s + 1e-9
    assert first.watts_per_gpu == pytest.approx(300, rel=rel)
    for lv in after:  # no energy from a fraction of the level divided by all of its tokens
        assert lv.energy_j is None and lv.joules_per_output_token is None and lv.usd_per_mtok_energy is None
        assert lv.output_tokens_per_s > 0  # throughput and latency are kept
    assert any("GPU readings failed during the run (NVML: GPU is lost)" in w for w in result.warnings)
    assert any("no power or energy figures at concurrency 2, 4" in w for w in result.warnings), result.warnings


def test_nvml_errors_mid_run_on_the_measure_page(stub: StubServer, fake_nvml: FakePynvml) -> None:
    at = AppTest.from_file(str(ROOT / "dashboard" / "app_pages" / "measure.py"), default_timeout=30).run()
    at.text_input(key="m_endpoint").input(stub.url)
    at.text_input(key="m_model").input("stub-model")
    at.text_input(key="m_levels").input("1,2")
    at.number_input(key="m_input").set_value(30)
    at.number_input(key="m_output").set_value(10)
    at.number_input(key="m_duration").set_value(1.0)  # the least the form takes
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception
    job = at.session_state["measure_job"]
    deadline = time.monotonic() + 120  # guards against a hang; no bound on speed
    while not job.progress().timeline:  # the sampler is reading and the first level is under way …
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.01)
    fake_nvml.read_error = pynvml.NVML_ERROR_UNKNOWN  # … with 2 s of levels still to go: the GPU fails mid-run
    while "measure_job" in at.session_state:
        assert time.monotonic() < deadline, "the run never ended"
        time.sleep(0.2)
        at.run()
    assert not at.exception
    notes = " ".join(_texts(at, "caption"))
    assert "GPU readings failed during the run (NVML: Unknown Error)" in notes, notes
    table = at.dataframe[-1].value
    assert len(table) == 2 and table["tok/s"].gt(0).all()  # both levels kept
