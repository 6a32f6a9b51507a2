"""Audit & imports (admins, sign-in on): every workspace's audit trail, and deleting an import with its rows."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from costmodel.audit import ImportNotFound, audit_csv, audit_entries, delete_import
from costmodel.export.sanitize import is_formula_like
from costmodel.usage import import_history
from costmodel.workspaces import stored_workspaces, workspace_store_path
from dashboard.components.team import current_user
from dashboard.state import flash, show_flash, store_cursor_at

user = current_user()
if user is None or not user.admin:  # the router lists this page for admins only; a hand-typed URL lands here too
    st.error("Only administrators can read the audit trail and delete imports.")
    st.stop()

st.title("Audit & imports")
st.caption(
    "Who imported, downloaded or deleted what, and when, in each workspace (newest first), with each file's "
    "SHA-256. Deleting an import removes every row it brought, in one transaction recorded in the trail."
)
show_flash()


def _safe(frame: pd.DataFrame) -> pd.DataFrame:
    """File names and emails come from users: a spreadsheet must not run them (the table's CSV download)."""
    for col in frame.columns:
        if pd.api.types.is_string_dtype(frame[col]) or frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: "'" + v if isinstance(v, str) and is_formula_like(v) else v)
    return frame


names = stored_workspaces()
if not names:
    st.info("No workspace has a store yet: they are created when a member first opens OpenTCO.")
    st.stop()
workspace = st.selectbox("Workspace", names, index=names.index(user.active) if user.active in names else 0)
con = store_cursor_at(workspace_store_path(workspace))

st.subheader(f"Audit trail of workspace {workspace}")
entries = audit_entries(con)
if entries:
    st.dataframe(_safe(pd.DataFrame([e.model_dump() for e in entries])), hide_index=True, key="admin-audit")
    st.download_button(
        "Download the trail (CSV)",
        audit_csv(entries),
        f"opentco-audit-{workspace}.csv",
        "text/csv",
        icon=":material/download:",
        key=f"admin-audit-csv-{workspace}",  # a new element per workspace: never the last one's file
    )
else:
    st.caption("Nothing recorded in this workspace yet.")

st.subheader(f"Imports of workspace {workspace}")
history = import_history(con)
if not history:
    st.caption("No import in this workspace.")
    st.stop()
st.dataframe(_safe(pd.DataFrame([h.model_dump() for h in history])), hide_index=True, key="admin-imports")
choices = {f"#{h.id} {h.file_name} ({h.row_count:,} rows)": h.id for h in history}
pick = st.selectbox("Import to delete", list(choices), key="admin-delete-pick")
sure = st.checkbox("Delete it and every usage row it brought (cannot be undone)", key="admin-delete-sure")
if st.button("Delete import", type="primary", disabled=not sure, key="admin-delete"):
    try:
        entry = delete_import(con, import_id=choices[pick], who=user.email, workspace=workspace)
    except ImportNotFound as ex:  # another admin deleted it a moment ago
        flash("error", str(ex))
    else:
        flash("success", f"Deleted {entry.subject}: {entry.rows:,} usage rows.")
    st.rerun()
