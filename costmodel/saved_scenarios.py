"""Scenarios that travel in a link: compact text for the URL, or a short id for one kept in the store.

A link must rebuild exactly the scenario its sender saw, after a reload or in someone else's browser. Small
scenarios travel whole in the link (`encode_scenario`: the scenario's JSON, zlib-compressed, base64url), so
the link works on any OpenTCO with the same data, and nothing is written anywhere. A scenario too big for a
comfortable URL is kept in the store's `saved_scenarios` table under an id derived from its content
(`save_scenario`), so saving the same scenario twice gives the same id and writes one row.

The full JSON travels, defaults included: a link made today keeps its meaning when a default changes later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import zlib
from datetime import UTC, datetime

import duckdb

from costmodel.errors import ScenarioError
from costmodel.scenario import Scenario
from costmodel.store import migration, writing

__all__ = [
    "MAX_LINK_CHARS",
    "decode_scenario",
    "encode_scenario",
    "load_saved_scenario",
    "save_scenario",
    "scenario_id",
]

MAX_LINK_CHARS = 3000
"""Longest encoded scenario put in a URL; longer ones are saved and linked by id.

Browsers take far longer URLs, but chat tools, mail clients and proxies cut or refuse them well before 8 kB;
the demo scenario encodes to about 1,100 characters.
"""
_MAX_JSON_BYTES = 2_000_000
"""Largest scenario JSON a link may expand to (a 24-option scenario is ~15 kB): refuses zip bombs."""
_ID_CHARS = 12
_ID = re.compile(rf"^[a-z2-7]{{{_ID_CHARS}}}$")
_PREFIX = "1."
"""Version of the encoding, so a later format can still read today's links."""


@migration("scenario_001_saved")
def _scenario_001_saved(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE saved_scenarios (
            id VARCHAR PRIMARY KEY,            -- scenario_id(): from the content, so one row per scenario
            scenario_json VARCHAR NOT NULL,
            saved_at TIMESTAMP NOT NULL        -- UTC, first save
        )
        """
    )


def _canonical(scenario: Scenario) -> str:
    return scenario.model_dump_json()


def encode_scenario(scenario: Scenario) -> str:
    """The scenario as URL-safe text (`1.` + base64url of the zlib-compressed JSON, no padding)."""
    packed = zlib.compress(_canonical(scenario).encode("utf-8"), 9)
    return _PREFIX + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode_scenario(text: str, *, source: str = "link") -> Scenario:
    """The scenario `encode_scenario` wrote; anything else raises `ScenarioError` saying what is wrong.

    Args:
        text: the encoded scenario, as found in the link.
        source: how messages name where the text came from.
    """
    if not text.startswith(_PREFIX):
        raise ScenarioError(f"{source}: the scenario in this link is not in a format this OpenTCO reads")
    body = text[len(_PREFIX) :]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, _MAX_JSON_BYTES)
    except (binascii.Error, ValueError, zlib.error):
        raise ScenarioError(f"{source}: the scenario in this link is damaged (was the link cut short?)") from None
    if inflater.unconsumed_tail:
        raise ScenarioError(f"{source}: the scenario in this link expands beyond {_MAX_JSON_BYTES:,} bytes")
    if not inflater.eof:
        raise ScenarioError(f"{source}: the scenario in this link is cut short (copy the whole link)")
    return Scenario.from_json(raw, source=source)


def scenario_id(scenario: Scenario) -> str:
    """A short id from the scenario's content: 12 base32 characters (60 bits) of its SHA-256."""
    digest = hashlib.sha256(_canonical(scenario).encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:_ID_CHARS]


def save_scenario(con: duckdb.DuckDBPyConnection, scenario: Scenario, *, now: datetime | None = None) -> str:
    """Keep the scenario in the store and return its id (saving it again writes nothing).

    Args:
        con: a cursor of this thread on the store.
        scenario: what to keep.
        now: time of the save (UTC); tests pass a fixed one.
    """
    sid = scenario_id(scenario)
    stamp = (now or datetime.now(UTC)).replace(tzinfo=None)
    with writing():
        con.execute(
            "INSERT INTO saved_scenarios VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
            [sid, _canonical(scenario), stamp],
        )
    return sid


def load_saved_scenario(con: duckdb.DuckDBPyConnection, sid: str) -> Scenario:
    """The scenario saved under `sid`; an unknown or malformed id raises `ScenarioError`."""
    if not _ID.match(sid):
        raise ScenarioError(f"link: {sid[:40]!r} is not a saved-scenario id (12 letters and digits)")
    row = con.execute("SELECT scenario_json FROM saved_scenarios WHERE id = ?", [sid]).fetchone()
    if row is None:
        raise ScenarioError(
            f"link: no saved scenario {sid!r} in this OpenTCO's store; it was saved on another installation "
            "or the store was replaced. Ask the sender for the scenario's JSON file."
        )
    return Scenario.from_json(row[0], source=f"saved scenario {sid}")
