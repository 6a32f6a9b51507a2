"""API keys in uploaded logs never reach the store or an export; the measure CLI and page never show the key.

Logs carry secrets in several places: LiteLLM's `api_key` (a hash of the virtual key) and bearer tokens in its
`metadata.headers`, and, in hostile or careless exports, keys pasted into the user, team, request-id, model
or token columns. After importing such files every text column of every table is scanned, the database file
and its WAL are searched byte for byte, and the workbook and reject files are read back.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openpyxl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from costmodel.importers.records import SECRET_PATTERN
from costmodel.store import connect
from costmodel.usage import RowsRejected, import_file
from tests.hardening.cli import Ran, opentco
from tests.measure.fake_pynvml import FakePynvml
from tests.measure.stub_openai import StubServer

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SECRET = re.compile(SECRET_PATTERN)
LITELLM_KEY_HASHES = [
    "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
    "3f1c0e2d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e",
]
PLANTED = [
    "sk-proj-Qx7Lm2Np9Rt4Vw8Yz3Bc6Df1Gh5Jk0",  # in the LiteLLM fixtures' metadata
    "sk-ant-api03-PLANTEDplantedPLANTED0123456789",
    "sk-or-v1-0123456789abcdef0123456789abcdef",
    "AKIAIOSFODNN7EXAMPLE",
    "hf_PLANTEDplantedPLANTEDplanted00",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.c2lnbmF0dXJl",
    "sk-proj-MODELNAMEmodelnameMODEL0000",
]


def _hostile_litellm() -> bytes:
    """LiteLLM spend logs with keys in every column the importer reads, and in the ones it must not."""
    rows = []
    for i, key in enumerate(PLANTED):
        rows.append(
            {
                "request_id": key if i % 2 else f"chatcmpl-secret-{i}",
                "call_type": "acompletion",
                "api_key": LITELLM_KEY_HASHES[i % 2],
                "spend": 0.001,
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "startTime": f"2025-03-0{i + 1}T10:00:00.000Z",
                "model": "gpt-4o",
                "custom_llm_provider": "openai",
                "user": f"Bearer {key}",
                "end_user": key,
                "team_id": key,
                "metadata": {
                    "user_api_key": LITELLM_KEY_HASHES[i % 2],
                    "user_api_key_team_alias": f"Bearer {key}",
                    "headers": {"authorization": f"Bearer {key}", "x-api-key": key},
                },
                "status": "success",
            }
        )
    return "\n".join(json.dumps(r) for r in rows).encode() + b"\n"


def _hostile_generic() -> bytes:
    lines = ["timestamp,model,input_tokens,output_tokens,provider,project,user,request_id"]
    for i, key in enumerate(PLANTED):
        provider = key if i % 2 else "openai"  # a key in the provider and model columns too
        lines.append(f"2025-03-1{i}T10:00:00Z,{PLANTED[-1]},10,5,{provider},{key},Bearer {key},{key}")
        lines.append(f"2025-03-1{i}T11:00:00Z,gpt-4o,{key},5,openai,p,u,bad-{i}")  # rejected: the value is a key
    return ("\n".join(lines) + "\n").encode()


def _import_all(db: Path) -> None:
    con = connect(db)
    for sample in sorted((FIXTURES / "litellm-spend-logs").glob("spend_logs.*")):
        import_file(con, sample)
    import_file(con, _hostile_litellm(), file_name="hostile-litellm.jsonl")
    import_file(con, _hostile_generic(), file_name="hostile.csv")
    with pytest.raises(RowsRejected):  # every row rejected: nothing stored, the rejects only in memory
        import_file(con, b"timestamp,model,input_tokens,output_tokens\n2025-03-01,gpt-4o,Bearer abcdefghijkl,1\n")
    con.close()


def _leaks(text: str) -> list[str]:
    found = [m.group() for m in SECRET.finditer(text)]
    found += [s for s in [*LITELLM_KEY_HASHES, *PLANTED] if s in text]
    return found


def test_no_secret_in_any_text_column_nor_in_the_database_files(tmp_path) -> None:
    db = tmp_path / "s.duckdb"
    _import_all(db)
    con = connect(db, read_only=True)
    text_columns = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND NOT internal AND data_type = 'VARCHAR'"
    ).fetchall()
    assert ("usage_events", "model") in text_columns and ("import_rejects", "value") in text_columns
    scanned = 0
    for table, column in text_columns:
        sql = f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'  # catalog names only
        for (value,) in con.execute(sql).fetchall():
            scanned += 1
            assert not _leaks(value), (table, column, value)
    assert scanned > 20
    redacted = con.execute("SELECT count(*) FROM usage_events WHERE user LIKE 'redacted-%'").fetchone()
    assert redacted and redacted[0] >= len(PLANTED)  # the rows are kept, their keys replaced by a label
    con.close()
    for f in tmp_path.glob("s.duckdb*"):  # the file and any WAL, byte for byte
        raw = f.read_bytes()
        for s in [*LITELLM_KEY_HASHES, *PLANTED]:
            assert s.encode() not in raw, (f.name, s)


def test_no_secret_in_the_exports(tmp_path) -> None:
    db = tmp_path / "s.duckdb"
    _import_all(db)
    log = tmp_path / "hostile.csv"
    log.write_bytes(_hostile_generic())
    out = opentco("import", str(log), "--db", str(tmp_path / "cli.duckdb"), "--rejects-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert not _leaks(out.stdout + out.stderr)
    assert not _leaks((tmp_path / "hostile.csv.rejects.csv").read_text())
    scenario = ROOT / "data" / "scenarios" / "api-bill-10k-50k.json"
    xlsx, html = tmp_path / "x.xlsx", tmp_path / "x.html"
    out = opentco("export", str(scenario), "--xlsx", str(xlsx), "--html", str(html), "--db", str(db))
    assert out.returncode == 0, out.stderr
    book = openpyxl.load_workbook(xlsx)
    cells = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert any("redacted-" in c for c in cells)  # the usage sheet holds the hostile rows, labelled
    assert not _leaks("\n".join(cells))
    assert not _leaks(html.read_text())
    out = opentco("usage", "summary", "--db", str(db), "--json")
    assert out.returncode == 0 and not _leaks(out.stdout + out.stderr)


# ---------------------------------------------------------------- the measure CLI and page

KEY = "sk-proj-MEASUREkeyMEASUREkey123456"


class _EchoKey(BaseHTTPRequestHandler):
    """An endpoint that refuses every request and echoes the key it was sent (as some proxies do)."""

    def log_message(self, *args: object) -> None:
        return

    def _json(self, status: int, obj: object) -> None:
        raw = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        self._json(200, {"object": "list", "data": [{"id": "m", "owned_by": "echo"}]})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        said = self.headers.get("Authorization")
        self._json(401, {"error": {"message": f"Incorrect API key provided: {said}", "key": said}})


@pytest.fixture
def echo_server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _EchoKey)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}/v1"
    srv.shutdown()
    srv.server_close()


def _measure(endpoint: str, db: Path, *extra: str) -> Ran:
    args = ["--endpoint", endpoint, "--model", "stub-model", "--api-key-env", "OPENTCO_TEST_KEY", "--no-power"]
    args += ["--concurrency", "1", "--max-requests", "2", "--input-tokens", "20", "--output-tokens", "5"]
    return opentco("measure", *args, "--db", str(db), *extra, env={"OPENTCO_TEST_KEY": KEY})


def test_measure_cli_never_prints_or_stores_the_key(tmp_path, stub: StubServer, echo_server: str) -> None:
    db = tmp_path / "m.duckdb"
    ok = _measure(stub.url, db)
    assert ok.returncode == 0, ok.stderr
    assert stub.requests and stub.requests[0][0]["Authorization"] == f"Bearer {KEY}"  # it was sent …
    as_json = _measure(stub.url, db, "--json")
    refused = _measure(echo_server, db)  # … and echoed back by this one
    assert refused.returncode == 2 and "refused the request" in refused.stderr
    with_creds = _measure(stub.url.replace("http://", f"http://user:{KEY}@"), db)
    assert with_creds.returncode == 2 and "must not carry credentials" in with_creds.stderr
    for run in (ok, as_json, refused, with_creds):
        assert KEY not in run.stdout + run.stderr
    con = connect(db, read_only=True)
    dump = "".join(str(r) for t in ("benchmarks", "benchmark_levels") for r in con.execute(f"FROM {t}").fetchall())
    con.close()
    assert "OPENTCO_TEST_KEY" in dump and KEY not in dump
    assert all(KEY.encode() not in f.read_bytes() for f in tmp_path.glob("m.duckdb*"))


def test_measure_page_never_shows_or_logs_the_key(
    stub: StubServer, fake_nvml: FakePynvml, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("OPENTCO_TEST_KEY", KEY)
    caplog.set_level("DEBUG")
    at = AppTest.from_file(str(ROOT / "dashboard" / "app_pages" / "measure.py"), default_timeout=30).run()
    at.text_input(key="m_endpoint").input(stub.url)
    at.text_input(key="m_model").input("stub-model")
    at.text_input(key="m_levels").input("1")
    at.number_input(key="m_input").set_value(20)
    at.number_input(key="m_output").set_value(5)
    at.number_input(key="m_max").set_value(2)
    at.text_input(key="m_key_env").input("OPENTCO_TEST_KEY")
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception
    deadline = time.monotonic() + 60
    while "measure_job" in at.session_state and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    assert not at.exception and "measure_job" not in at.session_state
    assert stub.requests and stub.requests[-1][0]["Authorization"] == f"Bearer {KEY}"
    shown = repr(at._tree) + "".join(repr(at.session_state[k]) for k in at.session_state)
    assert "OPENTCO_TEST_KEY" in shown and KEY not in shown  # the variable's name only
    assert KEY not in caplog.text
