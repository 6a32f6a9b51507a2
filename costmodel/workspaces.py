"""Who may see what once sign-in is on: workspace membership, and one store per workspace.

Every import, benchmark run, evaluation and saved scenario belongs to the workspace whose store holds it:
`var/workspaces/<name>.duckdb` beside the single-user store (`workspace_store_path`). Scoping is the choice
of file, made once per session from the signed-in user's workspaces, so every page, URL parameter and
query (including ones written later) sees one workspace's rows and nothing else. No `WHERE workspace = ?`
can be forgotten, an import de-duplicates (file hash, request ids) within its workspace only, and an
admin's deletion stays one transaction in one file.

Membership comes from a TOML file (path in `[opentco] workspaces_file` of `.streamlit/secrets.toml`, or
`$OPENTCO_WORKSPACES`), from an OIDC claim named in that file, or both:

    admins = ["ops@example.com"]         # may read the audit trail and delete imports
    claim = "groups"                     # optional: values of this ID-token claim are workspace names too

    [workspaces]
    finance = ["alice@example.com", "bob@example.com"]
    research = ["carol@example.com"]

Emails compare case-insensitively. Workspace names are lower-case letters, digits, `-` and `_` (they
name files); a claim value is lower-cased and a leading `/` (Keycloak's group path) dropped, and values
that still are not such names are ignored.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, ValidationError, field_validator

from costmodel._base import StrictModel
from costmodel.errors import CostModelError, render_validation_error
from costmodel.store import db_path

__all__ = [
    "Membership",
    "NotAMember",
    "WorkspaceError",
    "check_member",
    "load_membership",
    "stored_workspaces",
    "workspace_store_path",
    "workspaces_dir",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class WorkspaceError(CostModelError):
    """The membership file is missing or wrong, or a workspace name cannot name a store."""


class NotAMember(WorkspaceError):
    """The user asked for a workspace that is not theirs (a crafted URL or a stale selection)."""


def _check_name(name: str, *, where: str) -> str:
    if not _NAME.match(name):
        raise WorkspaceError(
            f"{where}: {name[:70]!r} is not a workspace name; use lower-case letters, digits, '-' and '_' "
            "(at most 63 characters, starting with a letter or digit)"
        )
    return name


class Membership(StrictModel):
    """Who belongs to which workspace, and who administers the deployment."""

    workspaces: dict[str, list[str]] = Field(default_factory=dict)
    """Workspace name → members' email addresses."""
    admins: list[str] = Field(default_factory=list)
    """Email addresses that may read the audit trail of every workspace and delete imports."""
    claim: str | None = None
    """Name of an ID-token claim (e.g. `groups`) whose values are workspace names the user belongs to."""

    @field_validator("workspaces")
    @classmethod
    def _names(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name in value:
            _check_name(name, where="[workspaces]")
        return {name: [m.strip().lower() for m in members] for name, members in value.items()}

    @field_validator("admins")
    @classmethod
    def _admins(cls, value: list[str]) -> list[str]:
        return [m.strip().lower() for m in value]

    def workspaces_of(self, *, email: str | None, claims: Mapping[str, object]) -> list[str]:
        """The workspaces a signed-in user belongs to, sorted (empty: the user sees no data).

        Args:
            email: the user's email address (the `email` claim), any case.
            claims: every claim of the ID token; the one named by `claim` is read when set.
        """
        who = (email or "").strip().lower()
        names = {name for name, members in self.workspaces.items() if who and who in members}
        if self.claim:
            raw = claims.get(self.claim)
            values = [raw] if isinstance(raw, str) else raw if isinstance(raw, list | tuple) else []
            for v in values:
                if isinstance(v, str) and _NAME.match(n := v.strip().lower().lstrip("/")):
                    names.add(n)
        return sorted(names)

    def is_admin(self, email: str | None) -> bool:
        """Whether `email` is in `admins`."""
        return bool(email) and email.strip().lower() in self.admins  # type: ignore[union-attr]


def load_membership(path: str | Path) -> Membership:
    """Read the membership file; a problem raises `WorkspaceError` naming the file, key and fix."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as ex:
        raise WorkspaceError(
            f"workspace membership file {p}: cannot read it ({ex.strerror}); set `[opentco] workspaces_file` in "
            ".streamlit/secrets.toml (or OPENTCO_WORKSPACES) to a readable TOML file"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as ex:
        raise WorkspaceError(f"workspace membership file {p}: not valid TOML ({ex})") from None
    try:
        return Membership.model_validate(data)
    except ValidationError as ex:
        raise WorkspaceError(render_validation_error(ex, source=f"workspace membership file {p}")) from None
    except WorkspaceError as ex:
        raise WorkspaceError(f"workspace membership file {p}: {ex}") from None


def workspaces_dir(base: str | Path | None = None) -> Path:
    """Folder of the workspace stores: `workspaces/` beside the single-user store (`$OPENTCO_DB`'s folder)."""
    return db_path(base).parent / "workspaces"


def workspace_store_path(name: str, *, root: str | Path | None = None) -> Path:
    """The DuckDB file of workspace `name` (under `workspaces_dir()` unless `root` is given)."""
    _check_name(name, where="workspace")
    return (Path(root) if root is not None else workspaces_dir()) / f"{name}.duckdb"


def stored_workspaces(*, root: str | Path | None = None) -> list[str]:
    """Workspaces that have a store on disk, sorted (an admin's view: claim-made ones included)."""
    folder = Path(root) if root is not None else workspaces_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.duckdb") if _NAME.match(p.stem))


def check_member(name: str, allowed: list[str]) -> str:
    """`name` if the user may use it; else `NotAMember` (never says whether the workspace exists)."""
    if name not in allowed:
        raise NotAMember(f"workspace {name[:70]!r} is not one of yours; you can use: {', '.join(allowed) or 'none'}")
    return name
