"""Per-session state shared by the pages: the current scenario and the usage store.

The scenario lives in `st.session_state` (per user); the DuckDB connection is one per process
(`st.cache_resource`) and every use takes its own cursor, because a DuckDB connection is not thread-safe
and every Streamlit session runs in its own thread.
"""

from __future__ import annotations

import duckdb
import streamlit as st

from costmodel.demo import demo_scenario
from costmodel.scenario import Scenario
from costmodel.store import connect, db_path

__all__ = ["get_scenario", "set_scenario", "store_cursor"]

_KEY = "scenario"


def get_scenario() -> Scenario:
    """The scenario this browser session is looking at (the demo one until the user changes it)."""
    st.session_state.setdefault(_KEY, demo_scenario())
    return st.session_state[_KEY]


def set_scenario(scenario: Scenario) -> None:
    """Replace the current scenario; every page reads it on its next run."""
    st.session_state[_KEY] = scenario


@st.cache_resource(max_entries=4)
def _connection(path: str) -> duckdb.DuckDBPyConnection:
    return connect(path)


def store_cursor() -> duckdb.DuckDBPyConnection:
    """A cursor of the process-wide store connection, for this thread only (never share it)."""
    return _connection(str(db_path())).cursor()
