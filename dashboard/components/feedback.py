"""What a builder form says after Apply: what changed and the new verdict, or what is wrong, by label.

A notice belongs to one form and is shown inside it. An error stays until the scenario changes (the fix was
applied, here or in another form), so a fixed error never lingers; a confirmation shows once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from costmodel.errors import CostModelError
from costmodel.scenario import Scenario
from dashboard.components.engine import checked, result_for
from dashboard.components.labels import path_label
from dashboard.components.text import md
from dashboard.state import get_scenario, scenario_revision, set_scenario

__all__ = ["apply_in_form", "changes", "has_notice", "show_notice"]

_NOTICES = "form_notices"
_MAX_LINES = 8


def _leaves(node: Any, path: tuple[str | int, ...] = ()) -> dict[tuple[str | int, ...], Any]:
    if isinstance(node, dict):
        out: dict[tuple[str | int, ...], Any] = {}
        for k, v in node.items():
            out |= _leaves(v, (*path, k))
        return out
    if isinstance(node, list) and path[-1:] == ("options",):
        out = {}
        for i, v in enumerate(node):
            out |= _leaves(v, (*path, i))
        return out
    return {path: node}


def _shown(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, list):
        return f"{len(value)} rows"
    return str(value)


def changes(before: Scenario, after: Scenario) -> list[str]:
    """`Label: old → new` for every input that differs (options compared by position)."""
    old, new = _leaves(before.model_dump(mode="json")), _leaves(after.model_dump(mode="json"))
    data = after.model_dump(mode="json")
    lines = []
    for path in sorted(old.keys() | new.keys(), key=str):
        a, b = old.get(path), new.get(path)
        if a != b:
            lines.append(f"{path_label(data, path)}: {_shown(a)} → {_shown(b)}")
    if len(lines) > _MAX_LINES:
        lines = [*lines[: _MAX_LINES - 1], f"… and {len(lines) - _MAX_LINES + 1} more"]
    return lines


def apply_in_form(form: str, make: Callable[[], Scenario]) -> bool:
    """Make the edited scenario current if the engine can evaluate it; the form then says what happened.

    Args:
        form: the form's name (`workload`, `frame`, `option-2` …), where the notice is shown.
        make: builds the edited scenario (may raise `ScenarioError` for a rejected value).

    Returns:
        Whether the scenario changed.
    """
    before = get_scenario()
    try:
        scenario = checked(make())
    except CostModelError as ex:
        st.session_state[_NOTICES] = {form: ("error", str(ex), scenario_revision())}
        return False
    lines = changes(before, scenario)
    if not lines:
        st.session_state[_NOTICES] = {form: ("info", "Nothing changed.", scenario_revision())}
        return False
    set_scenario(scenario)
    text = "Applied:\n" + "\n".join(f"- {line}" for line in lines) + f"\n\nNow:\n{result_for(scenario).verdict}"
    st.session_state[_NOTICES] = {form: ("success", text, scenario_revision())}
    return True


def has_notice(form: str) -> bool:
    notice = st.session_state.get(_NOTICES, {}).get(form)
    return notice is not None and notice[2] == scenario_revision()


def show_notice(form: str) -> None:
    """The form's notice, if it still applies (an error is dropped once the scenario has changed)."""
    notices: dict[str, tuple[str, str, int]] = st.session_state.get(_NOTICES, {})
    notice = notices.get(form)
    if notice is None:
        return
    kind, text, rev = notice
    if rev != scenario_revision():
        del notices[form]
        return
    getattr(st, kind)(md(text))
    if kind != "error":
        del notices[form]  # a confirmation shows once
