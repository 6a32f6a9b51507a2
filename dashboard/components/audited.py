"""Audit-trail hooks for pages: imports, downloads and deletions are recorded when sign-in is on.

With sign-in off every function here does nothing and `download_button` is `st.download_button` as it was:
the single-user app has no one to name in a trail.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from costmodel.audit import Actor, AuditAction, record, sha256_of
from dashboard.components.team import current_user
from dashboard.state import store_cursor

__all__ = ["actor", "audit", "download_button"]


def actor() -> Actor | None:
    """The signed-in user in the active workspace, for an import to write its audit line in its own
    transaction (None with sign-in off)."""
    user = current_user()
    return None if user is None else Actor(who=user.email, workspace=user.active)


def audit(action: AuditAction, *, subject: str, sha256: str | None = None, rows: int | None = None) -> None:
    """Add a line to the active workspace's trail, naming the signed-in user (no-op with sign-in off)."""
    user = current_user()
    if user is None:
        return
    record(
        store_cursor(), action=action, who=user.email, workspace=user.active, subject=subject, sha256=sha256, rows=rows
    )


def download_button(label: str, data: bytes, file_name: str, mime: str, **kwargs: Any) -> bool:
    """`st.download_button` that records the download (file name, SHA-256 of the bytes) when clicked."""
    if current_user() is not None:
        kwargs["on_click"] = audit
        kwargs["args"] = (AuditAction.EXPORT,)
        kwargs["kwargs"] = {"subject": file_name, "sha256": sha256_of(data)}
    return st.download_button(label, data, file_name, mime, **kwargs)
