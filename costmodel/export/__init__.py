"""Exports of a scenario for people who were not at the dashboard: an Excel business case and a one-page summary.

`to_xlsx` writes a workbook whose every figure is a live formula over labelled inputs; `to_html` writes a
printable, self-contained executive summary. Both take the same scenario and agree with the engine.
"""

from costmodel.export.excel import to_xlsx
from costmodel.export.summary_html import to_html
from costmodel.export.usage import UsageSummary, usage_summary

__all__ = ["UsageSummary", "to_html", "to_xlsx", "usage_summary"]
