"""One store per workspace: what workspace b imports, runs or saves, workspace a's store never holds.

The log below has three requests (by hand: input 100 + 200 + 300 = 600 tokens, output 10 + 20 + 30 = 60).
"""

from __future__ import annotations

import pytest

from costmodel.demo import demo_scenario
from costmodel.errors import ScenarioError
from costmodel.saved_scenarios import load_saved_scenario, save_scenario
from costmodel.store import connect
from costmodel.usage import import_file, import_history, summarize
from costmodel.workspaces import workspace_store_path

LOG = b"""timestamp,model,input_tokens,output_tokens,requests,provider,request_id
2025-03-01T09:00:00Z,gpt-4o,100,10,1,openai,req-1
2025-03-01T10:00:00Z,gpt-4o,200,20,1,openai,req-2
2025-03-02T11:00:00Z,gpt-4o-mini,300,30,1,openai,req-3
"""


@pytest.fixture
def stores(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENTCO_DB", str(tmp_path / "opentco.duckdb"))
    a, b = connect(workspace_store_path("a")), connect(workspace_store_path("b"))
    yield a, b
    a.close()
    b.close()


def test_an_import_of_b_is_invisible_in_a(stores):
    a, b = stores
    res = import_file(b, LOG, file_name="b-usage.csv")
    assert res.rows_imported == 3
    summary_b = summarize(b)
    assert (summary_b.rows, summary_b.input_tokens, summary_b.output_tokens) == (3, 600, 60)
    summary_a = summarize(a)
    assert (summary_a.imports, summary_a.rows, summary_a.input_tokens) == (0, 0, 0)
    assert import_history(a) == []


def test_the_same_file_imports_once_per_workspace_not_once_per_deployment(stores):
    a, b = stores
    first = import_file(b, LOG, file_name="usage.csv")
    again = import_file(b, LOG, file_name="usage.csv")
    other = import_file(a, LOG, file_name="usage.csv")
    assert again.already_imported
    # a's import neither learns that b has the file nor loses rows to b's request ids
    assert (other.already_imported, other.rows_imported, other.rows_duplicate) == (False, 3, 0)
    assert first.sha256 == other.sha256


def test_a_scenario_saved_in_b_cannot_be_opened_from_a(stores):
    a, b = stores
    sid = save_scenario(b, demo_scenario())
    assert load_saved_scenario(b, sid) == demo_scenario()
    with pytest.raises(ScenarioError, match="no saved scenario"):
        load_saved_scenario(a, sid)


def test_the_single_user_store_is_not_a_workspace_store(stores, tmp_path):
    _a, b = stores
    import_file(b, LOG, file_name="usage.csv")
    single = connect(tmp_path / "opentco.duckdb")
    try:
        assert summarize(single).rows == 0
    finally:
        single.close()
