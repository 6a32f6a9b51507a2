"""Engine text made safe for Streamlit markdown, and the tooltips that state where a number comes from."""

from __future__ import annotations

from costmodel.tco import OptionResult, ScenarioResult

__all__ = ["basis_help", "md", "short_basis", "sources_table"]

_MAX_LINE = 400


def md(text: str) -> str:
    """Markdown that shows `text` as written: `$` is not maths, every line break is kept, huge lines are cut.

    Pydantic echoes the rejected input in its message, which for a non-JSON upload is the whole file.
    """
    lines = [ln if len(ln) <= _MAX_LINE else ln[:_MAX_LINE] + " …" for ln in text.splitlines() or [""]]
    return "  \n".join(lines).replace("$", r"\$")


def short_basis(option: OptionResult) -> str:
    """`calibrated estimate`, `measured`, `list price as of 2026-11-25`, `mixed` …"""
    return {"estimated": "estimated", "calibrated": "calibrated estimate"}.get(option.basis, option.basis)


def basis_help(result: ScenarioResult, option: OptionResult) -> str:
    """Tooltip of an option's card: its basis and each input's value, short lines and no commit hashes.

    Where each input comes from (URLs, commits, dates) is in the page's Sources panel and in the workbook.
    """
    lines = [f"**Basis:** {short_basis(option)}", option.description]
    if option.api is not None:
        lines.append(f"List prices as of {option.api.price_date} (genai-prices)")
    for s in option.sources:
        lines.append(f"- {s.label}: {s.value}")
    if option.kind == "hybrid":
        for name in _hybrid_parts(result, option):
            part = result.option(name)
            lines.append(f"- {part.name}: {short_basis(part)}")
    lines += [f"⚠ {w}" for w in option.warnings]
    lines.append("Sources: “Where every input comes from”, below the charts.")
    return md("\n".join(lines))


def sources_table(option: OptionResult) -> str:
    """A markdown table of the option's inputs, values and full sources (commit hashes included)."""
    rows = [(s.label, s.value, s.source) for s in option.sources]
    if option.api is not None and not rows:
        rows.append(("Prices", f"as of {option.api.price_date}", option.api.source))
    if not rows:
        return ""

    def cell(text: str) -> str:
        return md(text).replace("|", "\\|").replace("  \n", " ")

    out = ["| Input | Value | Source |", "|---|---|---|"]
    out += [f"| {cell(a)} | {cell(b)} | {cell(c)} |" for a, b, c in rows]
    return "\n".join(out)


def _hybrid_parts(result: ScenarioResult, option: OptionResult) -> list[str]:
    hybrid = result.scenario.option(option.name)
    return [hybrid.open_option, hybrid.api_option]  # type: ignore[union-attr]
