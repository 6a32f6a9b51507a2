"""Per-session state shared by the pages: the current scenario and the usage store.

The scenario lives in `st.session_state` (per user); the DuckDB connection is one per process and store
(`st.cache_resource`; with sign-in on, the store is the session's active workspace's) and every use takes
its own cursor, because a DuckDB connection is not thread-safe and every Streamlit session runs in its own
thread.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import streamlit as st

import costmodel.saved_scenarios  # noqa: F401  # registers its table's migration before the store is opened
from costmodel.demo import DEMO, demo_scenario
from costmodel.scenario import Scenario
from costmodel.store import StoreError, connect
from dashboard.components.team import store_path

__all__ = [
    "flash",
    "get_preset",
    "get_scenario",
    "scenario_revision",
    "set_preset",
    "set_scenario",
    "show_flash",
    "store_cursor",
    "store_cursor_at",
    "try_store_cursor",
]

_KEY = "scenario"
_REV = "scenario_rev"
_PRESET = "scenario_preset"
_FLASH = "flash_messages"


def get_scenario() -> Scenario:
    """The scenario this browser session is looking at (the demo one until the user changes it)."""
    if _KEY not in st.session_state:
        st.session_state[_KEY] = demo_scenario()
        st.session_state.setdefault(_PRESET, DEMO)
    return st.session_state[_KEY]


def set_scenario(scenario: Scenario) -> None:
    """Replace the current scenario; every page reads it on its next run."""
    st.session_state[_KEY] = scenario
    st.session_state[_REV] = scenario_revision() + 1


def scenario_revision() -> int:
    """Counts `set_scenario` calls; editors key their widgets by it so they show the new scenario's values."""
    return st.session_state.get(_REV, 0)


def get_preset() -> str | None:
    """File stem of the built-in scenario the current one started from (None: uploaded or built from scratch)."""
    return st.session_state.get(_PRESET)


def set_preset(stem: str | None) -> None:
    st.session_state[_PRESET] = stem


def flash(kind: str, text: str) -> None:
    """Queue a message for the next run of the page (callbacks run before the page draws anything)."""
    st.session_state.setdefault(_FLASH, []).append((kind, text))


def show_flash() -> None:
    """Show and forget the queued messages (`kind` is `error`, `warning`, `info` or `success`)."""
    for kind, text in st.session_state.pop(_FLASH, []):
        getattr(st, kind)(text)


@st.cache_resource(max_entries=32)  # one per workspace store when sign-in is on (`dashboard.components.team`)
def _connection(path: str) -> duckdb.DuckDBPyConnection:
    return connect(path)


def store_cursor() -> duckdb.DuckDBPyConnection:
    """A cursor of the process-wide store connection, for this thread only (never share it).

    When the store cannot be opened (damaged, read-only, held by another process) the page says which file and
    how to fix it, and stops there: pages that never ask for the store keep working. The failure is not cached,
    so the next run tries again once the file is fixed.
    """
    return store_cursor_at(store_path())


def store_cursor_at(path: Path) -> duckdb.DuckDBPyConnection:
    """`store_cursor` on a given store (the admin page reads every workspace's)."""
    try:
        return _connection(str(path)).cursor()
    except StoreError as ex:
        st.error(str(ex), icon=":material/database:")
        st.stop()


def try_store_cursor() -> duckdb.DuckDBPyConnection | None:
    """Like `store_cursor`, but a store that cannot be opened gives None (the caller says what is missing)."""
    try:
        return _connection(str(store_path())).cursor()
    except StoreError:
        return None
