"""The dashboard with sign-in on, in AppTest: the gate, the workspace a page reads, the admin page.

`at.secrets` turns sign-in on (an `[auth]` section) and `at.user` plays the signed-in user, as the ID token
would describe them. Workspace b's store is seeded with one import of two requests (input 100 + 200 = 300
tokens) and a saved scenario before the app runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from costmodel.audit import AuditAction, audit_entries, record
from costmodel.demo import demo_scenario
from costmodel.saved_scenarios import save_scenario
from costmodel.store import connect
from costmodel.usage import import_file
from costmodel.workspaces import workspace_store_path
from tests.dashboard.conftest import new_app

LOG = b"""timestamp,model,input_tokens,output_tokens,requests,provider,request_id
2025-03-01T09:00:00Z,gpt-4o,100,10,1,openai,req-1
2025-03-01T10:00:00Z,gpt-4o,200,20,1,openai,req-2
"""
MEMBERS = """
admins = ["ops@x.com"]
claim = "groups"
[workspaces]
a = ["alice@x.com", "ops@x.com"]
c = ["alice@x.com"]
"""


@pytest.fixture
def team(tmp_path: Path):
    members = tmp_path / "workspaces.toml"
    members.write_text(MEMBERS)
    con = connect(workspace_store_path("b"))
    res = import_file(con, LOG, file_name="bravo.csv")
    sid = save_scenario(con, demo_scenario().model_copy(update={"name": "Bravo plan"}))
    record(con, action=AuditAction.IMPORT, who="bob@x.com", workspace="b", subject="bravo.csv", sha256=res.sha256)
    con.close()
    secrets = {
        "auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32},
        "opentco": {"workspaces_file": str(members)},
    }
    return secrets, sid


def _app(secrets, user, *, query=None):
    at = new_app()
    at.secrets = dict(secrets)
    at.user = user
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def _text(at) -> str:
    return "\n".join(
        str(getattr(e, "value", ""))
        for kind in ("markdown", "caption", "info", "warning", "error")
        for e in getattr(at, kind)
    )


def test_a_visitor_who_is_not_signed_in_sees_only_the_sign_in_button(team):
    secrets, _ = team
    at = _app(secrets, {"is_logged_in": False})
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert at.get("plotly_chart") == []  # the Compare page was never drawn


def test_a_sign_in_set_up_wrong_says_so_without_a_traceback(team):
    secrets, _ = team
    at = _app({**secrets, "auth": {"redirect_uri": "http://localhost:8501/oauth2callback"}}, {"is_logged_in": False})
    at.button(key="team-sign-in").click().run()
    assert not at.exception
    assert "Sign-in is not set up correctly in .streamlit/secrets.toml" in at.error[0].value


def test_a_user_in_no_workspace_is_told_so_and_sees_no_data(team):
    secrets, _ = team
    at = _app(secrets, {"is_logged_in": True, "email": "dave@x.com"})
    assert not at.exception
    assert "belong to no workspace" in at.warning[0].value
    assert "`groups` claim" in at.warning[0].value
    assert [b.label for b in at.sidebar.button] == ["Sign out"]


def test_an_unverified_email_names_nobody(team):
    secrets, _ = team
    user = {"is_logged_in": True, "email": "alice@x.com", "email_verified": False, "sub": "s-1"}
    at = _app(secrets, user)
    assert not at.exception
    assert "signed in as sub:s-1, but you belong to no workspace" in at.warning[0].value


def test_a_claim_member_of_b_works_in_b(team):
    secrets, _ = team
    at = _app(secrets, {"is_logged_in": True, "email": "bob@x.com", "groups": ["b"]})
    assert not at.exception
    at.switch_page("app_pages/usage_logs.py").run()
    assert not at.exception
    assert "Import history (1)" in [e.label for e in at.expander]


def test_alice_sees_none_of_b_through_pages_or_the_saved_scenario_link(team):
    secrets, sid = team
    alice = {"is_logged_in": True, "email": "Alice@x.com"}
    at = _app(secrets, alice, query={"id": sid})  # b's saved scenario, by its share link
    assert not at.exception
    assert at.session_state["scenario"].name != "Bravo plan"
    assert any("no saved scenario" in e.value for e in at.warning)
    # two workspaces: a selector, a first
    assert at.sidebar.selectbox[0].options == ["a", "c"]
    assert at.sidebar.selectbox[0].value == "a"
    for ws in ("a", "c"):
        at.sidebar.selectbox[0].set_value(ws).run()
        at.switch_page("app_pages/usage_logs.py").run()
        assert not at.exception
        assert "Import history (0)" in [e.label for e in at.expander]
        assert "bravo.csv" not in _text(at)
    # not an admin: the admin page is not in the navigation, so no URL reaches it
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/admin.py")


def test_a_link_to_a_scenario_saved_in_another_of_her_workspaces_opens_there(team):
    secrets, _ = team
    con = connect(workspace_store_path("c"))
    sid = save_scenario(con, demo_scenario().model_copy(update={"name": "Charlie plan"}))
    con.close()
    at = _app(secrets, {"is_logged_in": True, "email": "alice@x.com"}, query={"id": sid})
    assert not at.exception
    assert at.sidebar.selectbox[0].value == "c"
    assert at.session_state["scenario"].name == "Charlie plan"


def test_an_admin_reads_b_trail_and_deletes_its_import(team):
    secrets, _ = team
    at = _app(secrets, {"is_logged_in": True, "email": "ops@x.com"})
    at.switch_page("app_pages/admin.py").run()
    assert not at.exception
    at.selectbox[0].set_value("b").run()
    trail = at.dataframe[0].value
    assert list(trail["subject"]) == ["bravo.csv"]
    at.checkbox(key="admin-delete-sure").check().run()
    at.button(key="admin-delete").click().run()
    assert not at.exception
    assert any("usage rows" in s.value and "2" in s.value for s in at.success)
    con = connect(workspace_store_path("b"))
    try:
        assert con.execute("SELECT count(*) FROM usage_events").fetchall()[0][0] == 0
        assert [(e.action, e.who, e.rows) for e in audit_entries(con)] == [
            (AuditAction.DELETE, "ops@x.com", 2),
            (AuditAction.IMPORT, "bob@x.com", None),
        ]
    finally:
        con.close()


def test_a_secrets_file_that_cannot_be_read_stops_the_app_rather_than_open_it(tmp_path):
    from streamlit import config

    bad = tmp_path / "secrets.toml"
    bad.write_text('[auth\nredirect_uri = "http://localhost:8501/oauth2callback"\n')
    before = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(bad)])
    try:
        at = new_app().run()
    finally:
        config.set_option("secrets.files", before)
    assert not at.exception
    assert f"{bad}: Streamlit cannot read this secrets file" in at.error[0].value
    assert at.get("plotly_chart") == []
