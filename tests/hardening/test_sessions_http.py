"""Browser sessions against a real `streamlit run` on 127.0.0.1, uploading and reading the Usage page at once.

Each session is a websocket client speaking Streamlit's own protocol (tests/hardening/browserless.py): it uploads
through the page's file uploader (upload URL, PUT with the XSRF token, form submit) exactly as a browser does.
All of them upload the same file, then files of their own together with files that share request ids with their
neighbours'. No session may see an error or a traceback, every page must show the same final totals, and the
store must hold every upload once and every request once.
"""

from __future__ import annotations

import threading
import traceback
from collections import Counter

import pytest

from costmodel.fmt import tokens
from costmodel.store import connect
from tests.hardening.browserless import Session, streamlit_server
from tests.hardening.logs import generic_csv, litellm_jsonl, totals

SESSIONS = 8
"""Browser sessions at once (each page run draws three plotly charts: 2 cores); bench/soak_sessions.py holds 20."""

pytestmark = pytest.mark.xdist_group("streamlit-server")


def _files(k: int) -> tuple[list[tuple[str, bytes]], list[int]]:
    own = list(range(10_000 + 500 * k, 10_000 + 500 * k + 150))
    overlap = list(range(30_000 + 60 * k, 30_000 + 60 * k + 120))  # half of it is the next session's too
    files = [
        (f"own-{k}.jsonl", litellm_jsonl(own)) if k % 2 else (f"own-{k}.csv", generic_csv(own)),
        (f"overlap-{k}.csv", generic_csv(overlap)),
    ]
    return files, own + overlap


COMMON = list(range(90_000, 90_300))


def test_browser_sessions_upload_and_read_at_once(tmp_path) -> None:
    db = tmp_path / "served.duckdb"
    plans = {k: _files(k) for k in range(SESSIONS)}
    expected = totals([*COMMON, *(n for _, ids in plans.values() for n in ids)])
    distinct = {data for files, _ in plans.values() for _, data in files} | {generic_csv(COMMON)}
    shown: dict[int, list[list[tuple[str, str]]]] = {k: [] for k in plans}
    problems: list[str] = []
    sessions: dict[int, Session] = {}
    start = threading.Barrier(SESSIONS)

    with streamlit_server(db=db, log=tmp_path / "streamlit.log") as base:

        def browse(k: int) -> None:
            try:
                s = sessions[k] = Session(base)
                s.run()
                start.wait(timeout=120)
                shown[k].append(s.upload([("common.csv", generic_csv(COMMON))]).alerts())
                shown[k].append(s.upload(plans[k][0]).alerts())
                if s.of("exception"):
                    problems.append(f"session {k}: {s.of('exception')[0].message}")
            except BaseException:
                problems.append(f"session {k}: {traceback.format_exc()}")

        threads = [threading.Thread(target=browse, args=(k,)) for k in plans]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert not any(t.is_alive() for t in threads), "a session hung"
        assert problems == []
        finals = {k: s.run().metrics() for k, s in sessions.items()}  # every session reads the page again
        for s in sessions.values():
            s.close()

    # what every session was told: each upload stored or "already imported", never an error
    outcomes = Counter()
    for k, uploads in shown.items():
        for alerts in uploads:
            assert alerts and all(kind == "success" for kind, _ in alerts), (k, alerts)
            for _, text in alerts:
                outcomes["already" if "already imported" in text else "stored"] += 1
    assert outcomes == {"stored": len(distinct), "already": SESSIONS * 3 - len(distinct)}
    # and every one of them now shows the same, right totals
    want = f"{tokens(expected.input_tokens)} / {tokens(expected.output_tokens)}"
    assert {m["Tokens in / out"] for m in finals.values()} == {want}
    assert {m["Requests"] for m in finals.values()} == {f"{expected.rows:,}"}
    # the store: every upload once, every request once, nothing lost
    con = connect(db, read_only=True)
    assert con.execute("SELECT count(*), count(DISTINCT sha256) FROM imports").fetchone() == (len(distinct),) * 2
    assert con.execute(
        "SELECT count(*), count(DISTINCT request_id), sum(input_tokens), sum(output_tokens) FROM usage_events"
    ).fetchone() == (expected.rows, expected.rows, expected.input_tokens, expected.output_tokens)
    con.close()
