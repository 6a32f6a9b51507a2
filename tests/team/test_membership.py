"""Workspace membership from the TOML file and from an OIDC claim; errors name the file and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from costmodel.workspaces import (
    NotAMember,
    WorkspaceError,
    check_member,
    load_membership,
    stored_workspaces,
    workspace_store_path,
)

MEMBERS = """
admins = ["Ops@Example.com"]
claim = "groups"

[workspaces]
finance = ["Alice@Example.com", "bob@example.com"]
research = ["carol@example.com", "bob@example.com"]
"""


@pytest.fixture
def membership(tmp_path: Path):
    path = tmp_path / "workspaces.toml"
    path.write_text(MEMBERS)
    return load_membership(path)


@pytest.mark.parametrize(
    ("email", "claims", "expected"),
    [
        ("alice@example.com", {}, ["finance"]),
        ("ALICE@example.COM", {}, ["finance"]),  # emails compare case-insensitively
        ("bob@example.com", {}, ["finance", "research"]),
        ("dave@example.com", {}, []),  # signed in, but in no workspace: sees no data
        (None, {}, []),
        ("dave@example.com", {"groups": ["/Legal", "finance"]}, ["finance", "legal"]),  # Keycloak-style path
        ("dave@example.com", {"groups": "legal"}, ["legal"]),  # a claim holding one string
        ("dave@example.com", {"groups": ["Not a name!", "../etc", 7]}, []),  # never a file name outside the folder
        ("dave@example.com", {"roles": ["legal"]}, []),  # only the configured claim counts
    ],
)
def test_workspaces_of_a_user(membership, email, claims, expected):
    assert membership.workspaces_of(email=email, claims=claims) == expected


def test_admins_are_matched_case_insensitively(membership):
    assert membership.is_admin("ops@example.com")
    assert not membership.is_admin("alice@example.com")
    assert not membership.is_admin(None)


def test_without_a_claim_only_the_file_counts(tmp_path: Path):
    path = tmp_path / "m.toml"
    path.write_text('[workspaces]\nteam = ["a@x.com"]\n')
    assert load_membership(path).workspaces_of(email="b@x.com", claims={"groups": ["team"]}) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[workspaces\n", "not valid TOML"),
        ('[workspaces]\n"Finance Team" = ["a@x.com"]\n', "'Finance Team' is not a workspace name"),
        ('[workspaces]\nfinance = "a@x.com"\n', "workspaces.finance: Input should be a valid list"),
        ('admin = ["a@x.com"]\n', "admin: Extra inputs are not permitted"),
    ],
)
def test_a_bad_membership_file_says_where_and_why(tmp_path: Path, text, message):
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(WorkspaceError) as ex:
        load_membership(path)
    assert str(path) in str(ex.value)
    assert message in str(ex.value)


def test_a_missing_membership_file_says_how_to_set_it(tmp_path: Path):
    with pytest.raises(WorkspaceError, match=r"cannot read it .*workspaces_file"):
        load_membership(tmp_path / "absent.toml")


def test_each_workspace_has_its_own_store_beside_the_single_user_one(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("OPENTCO_DB", str(tmp_path / "var" / "opentco.duckdb"))
    assert workspace_store_path("finance") == tmp_path / "var" / "workspaces" / "finance.duckdb"
    with pytest.raises(WorkspaceError):
        workspace_store_path("../finance")
    assert stored_workspaces() == []
    (tmp_path / "var" / "workspaces").mkdir(parents=True)
    for name in ("b.duckdb", "a.duckdb", "notes.txt", "Bad Name.duckdb"):
        (tmp_path / "var" / "workspaces" / name).write_bytes(b"")
    assert stored_workspaces() == ["a", "b"]


def test_check_member_refuses_another_workspace():
    assert check_member("a", ["a", "c"]) == "a"
    with pytest.raises(NotAMember, match="not one of yours; you can use: a, c"):
        check_member("b", ["a", "c"])


def test_the_team_engine_never_imports_streamlit():
    code = "import sys, costmodel.workspaces, costmodel.audit; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
