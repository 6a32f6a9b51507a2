"""Sign-in and workspaces for a team deployment; nothing changes unless `.streamlit/secrets.toml` has `[auth]`.

With `[auth]` (Streamlit's OpenID Connect, `st.login`), the router calls `require_sign_in()` before anything
reads the store: a visitor who is not signed in sees only the sign-in button, a signed-in user who belongs
to no workspace sees a message and no data, and everyone else works in one of their workspaces (a sidebar
selector when they have several). `store_path()` then names that workspace's store, so every page and URL
parameter that reads data (`?id=` saved scenarios included) reads that workspace and nothing else
(see `costmodel.workspaces`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit import config
from streamlit.errors import StreamlitAuthError

from costmodel.errors import CostModelError
from costmodel.store import db_path
from costmodel.workspaces import Membership, WorkspaceError, load_membership, workspace_store_path
from dashboard.components.text import md

__all__ = ["TeamUser", "current_user", "membership", "require_sign_in", "sign_in_enabled", "store_path"]

_USER = "team_user"
_ACTIVE = "team_workspace"
_SAVED_LINKS = "link_saved_ids"
"""`dashboard.components.share`'s ids of scenarios saved for links: saved in one workspace's store, so they are
forgotten when the user switches workspace (the scenario is saved again in the new one)."""


@dataclass(frozen=True)
class TeamUser:
    """The signed-in user of this session, as the membership file and the ID token describe them."""

    email: str
    """The verified email address (or `sub:<subject>` when the provider gives none): the audit trail's "who"."""
    workspaces: tuple[str, ...]
    """Sorted; never empty (a user with none is stopped at sign-in)."""
    active: str
    """The workspace whose store every page reads and writes."""
    admin: bool


def sign_in_enabled() -> bool:
    """Whether `.streamlit/secrets.toml` (or `--secrets.files`) configures sign-in (`[auth]`)."""
    return st.secrets.load_if_toml_exists() and "auth" in st.secrets


def membership() -> Membership:
    """The membership file, read on every run: removing someone takes effect at their next click.

    Raises:
        WorkspaceError: no file configured, or it cannot be read or is wrong.
    """
    section = st.secrets.get("opentco", {})
    path = section.get("workspaces_file") if hasattr(section, "get") else None
    path = path or os.environ.get("OPENTCO_WORKSPACES")
    if not path:
        raise WorkspaceError(
            "sign-in is on but no workspace membership file is configured: set `workspaces_file` under "
            "`[opentco]` in .streamlit/secrets.toml (or OPENTCO_WORKSPACES) to a TOML file (see the README)"
        )
    return load_membership(path)


def current_user() -> TeamUser | None:
    """The signed-in user (None when sign-in is off)."""
    return st.session_state.get(_USER) if sign_in_enabled() else None


def store_path() -> Path:
    """The store this session reads and writes: the active workspace's, or the single-user one.

    With sign-in on and nobody signed in this stops the page: there is no store to fall back to.
    """
    if not sign_in_enabled():
        return db_path()
    user = st.session_state.get(_USER)
    if user is None:
        st.stop()
    return workspace_store_path(user.active)


def _sign_out_button() -> None:
    if st.sidebar.button("Sign out", icon=":material/logout:", key="team-sign-out"):
        st.session_state.pop(_USER, None)
        st.logout()


def _workspace_of_link(names: list[str]) -> str | None:
    """Which of the user's workspaces holds the saved scenario a link opens (`?id=`), on a session's first run.

    A teammate's link opens in the workspace it was saved in, when that is one of the user's; in any other
    workspace the id is simply not found (the page says so), so whether it exists elsewhere is never told.
    """
    sid = st.query_params.get("id")
    if not sid or "scenario" in st.session_state:
        return None
    from dashboard.state import store_cursor_at  # here: dashboard.state imports this module

    for name in names:
        found = (
            store_cursor_at(workspace_store_path(name))
            .execute("SELECT count(*) FROM saved_scenarios WHERE id = ?", [sid])
            .fetchone()
        )
        if found and found[0]:
            return name
    return None


def _unreadable_secrets() -> list[str]:
    """Secrets files that exist although Streamlit could not load any: sign-in may be meant but cannot be read."""
    if st.secrets.load_if_toml_exists():
        return []
    return [p for p in config.get_option("secrets.files") if Path(p).is_file()]


def require_sign_in() -> None:
    """Stop the run unless the visitor is signed in and has a workspace; draw who they are in the sidebar."""
    if broken := _unreadable_secrets():
        # fail closed: a typo in secrets.toml must not turn a team deployment into an open single-user one
        st.error(
            f"{', '.join(broken)}: Streamlit cannot read this secrets file (not valid TOML?), so it cannot tell "
            "whether sign-in is on. Fix the file (see the server log for the line), or remove it.",
            icon=":material/error:",
        )
        st.stop()
    if not sign_in_enabled():
        return
    if not st.user.is_logged_in:
        st.session_state.pop(_USER, None)
        st.title("OpenTCO")
        st.write("This OpenTCO is shared by a team: sign in to see your workspace's usage, runs and scenarios.")
        if st.button("Sign in", type="primary", icon=":material/login:", key="team-sign-in"):
            try:
                st.login()
            except StreamlitAuthError as ex:  # a setting missing from [auth], or Authlib not installed
                st.error(
                    f'Sign-in is not set up correctly in .streamlit/secrets.toml: {ex} (README, "Team deployment '
                    'with sign-in", lists every setting)',
                    icon=":material/error:",
                )
        st.stop()
    claims = st.user.to_dict()
    # An address the provider says it has not verified names nobody: membership by email would let anyone who
    # registers that address at the provider into the workspace. The subject still names them in the trail.
    verified = claims.get("email_verified", True) is not False
    email = str(claims.get("email") or "") if verified else ""
    who = email or f"sub:{claims.get('sub', '')}"
    try:
        members = membership()
    except CostModelError as ex:
        st.error(str(ex), icon=":material/group_off:")
        st.stop()
    names = members.workspaces_of(email=email, claims=claims)
    st.sidebar.caption(f"Signed in as **{md(who)}**")
    if not names:
        st.session_state.pop(_USER, None)
        claim = f" or your identity provider's `{members.claim}` claim" if members.claim else ""
        st.warning(
            f"You are signed in as {md(who)}, but you belong to no workspace, so there is no data to show. "
            f"Ask an administrator to add you to one (the workspace membership file{claim}).",
            icon=":material/group_off:",
        )
        _sign_out_button()
        st.stop()
    if (linked := _workspace_of_link(names)) is not None:
        st.session_state[_ACTIVE] = linked
    elif st.session_state.get(_ACTIVE) not in names:
        st.session_state[_ACTIVE] = names[0]  # first sign-in, or the user left the workspace they had open
    if len(names) > 1:
        st.sidebar.selectbox("Workspace", names, key=_ACTIVE)
    else:
        st.sidebar.caption(f"Workspace **{names[0]}**")
    before: TeamUser | None = st.session_state.get(_USER)
    if before is not None and before.active != st.session_state[_ACTIVE]:
        st.session_state.pop(_SAVED_LINKS, None)
    st.session_state[_USER] = TeamUser(
        email=who, workspaces=tuple(names), active=st.session_state[_ACTIVE], admin=members.is_admin(email)
    )
    _sign_out_button()
