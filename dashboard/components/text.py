"""Engine text made safe for Streamlit markdown, and the tooltips that state where a number comes from."""

from __future__ import annotations

from costmodel.tco import OptionResult, ScenarioResult

__all__ = ["basis_help", "md", "short_basis"]

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
    """Tooltip for every number of an option: its basis, and each input with its source and date."""
    lines = [f"**Basis:** {short_basis(option)}", option.description]
    if option.api is not None:
        lines.append(f"Prices as of {option.api.price_date}: {option.api.source}")
    for s in option.sources:
        lines.append(f"- {s.label}: {s.value} — {s.source}")
    if option.kind == "hybrid":
        for name in _hybrid_parts(result, option):
            part = result.option(name)
            lines.append(f"- {part.name}: {short_basis(part)}" + (f" ({part.api.source})" if part.api else ""))
    lines += [f"⚠ {w}" for w in option.warnings]
    return md("\n".join(lines))


def _hybrid_parts(result: ScenarioResult, option: OptionResult) -> list[str]:
    hybrid = result.scenario.option(option.name)
    return [hybrid.open_option, hybrid.api_option]  # type: ignore[union-attr]
