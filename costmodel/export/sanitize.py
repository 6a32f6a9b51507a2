"""Neutralise text that came from users or logs before it goes into a workbook or an HTML page.

A spreadsheet cell whose text starts with `=`, `+`, `-`, `@`, a tab or a carriage return can be taken for a
formula (by Excel when the user edits the cell, by CSV-minded tools, by LibreOffice on import): the classic
formula- or CSV-injection. Every user- or log-supplied string therefore goes through `write_text`, which
stores it as a string cell (never a formula), marks formula-like values with Excel's *quote prefix* (so the
text stays text even when the cell is edited) and encodes the characters XML cannot carry with the
OOXML `_xHHHH_` escape, so Excel shows exactly what the user typed.
"""

from __future__ import annotations

import re

from openpyxl.cell.cell import Cell

__all__ = ["FORMULA_TRIGGERS", "html_text", "is_formula_like", "write_text", "xlsx_text"]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat text as a formula (OWASP CSV-injection list)."""

# XML 1.0 forbids these control characters; `\r` is legal but parsers turn it into `\n`, so it is escaped too.
_UNSAFE_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]")
# Text that already looks like an OOXML escape must itself be escaped, or Excel would decode it.
_LOOKS_ESCAPED = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet could read `text` as a formula."""
    return text.startswith(FORMULA_TRIGGERS)


def xlsx_text(text: str) -> str:
    """`text` as an OOXML string: `_xHHHH_`-escape what XML cannot hold, so Excel decodes it to the original."""
    text = _LOOKS_ESCAPED.sub(r"_x005F_\1", text)
    return _UNSAFE_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def write_text(cell: Cell, text: str) -> Cell:
    """Store user or log text in `cell` as a string, never as a formula.

    Args:
        cell: the openpyxl cell to fill.
        text: the untrusted text (scenario, option, model or project name, log field …).

    Returns:
        The cell, holding a string (`data_type == 's'`); formula-like text also gets Excel's quote prefix.
    """
    cell.value = xlsx_text(text)
    cell.data_type = "s"  # assigning a str starting with "=" makes openpyxl write a formula: undo that
    if is_formula_like(text):
        cell.quotePrefix = True
    return cell


def html_text(text: str) -> str:
    """Untrusted text for an HTML page: markup escaped, control characters dropped."""
    import html

    return html.escape(_CONTROL.sub("", text), quote=True)
