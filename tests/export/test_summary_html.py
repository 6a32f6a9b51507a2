"""The one-page executive summary: verdict, KPIs and two charts, self-contained and printable."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from costmodel.demo import PRESETS, preset
from costmodel.export import to_html
from costmodel.export.sanitize import html_text
from costmodel.fmt import money
from costmodel.tco import evaluate


@pytest.mark.parametrize("stem", PRESETS.values())
def test_verdict_kpis_and_two_charts(stem: str) -> None:
    s = preset(stem)
    r = evaluate(s)
    page = to_html(s, result=r)
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert html_text(r.verdict) in page
    assert page.count("<svg") == 2
    assert "Cumulative cost" in page and "Cost per 1M tokens" in page
    for o in r.options:
        assert html_text(o.name) in page
        assert money(o.horizon_usd, currency=s.currency, fx=s.usd_fx_rate) in page
    assert "@page" in page and "A4" in page  # print setup


def test_self_contained_no_network() -> None:
    """The app makes no outbound calls, and neither does the page it hands out."""
    page = to_html(preset("api-bill-10k-50k")).lower()
    for needle in ("<script", "<link", "<iframe", "<img", "src=", "href=", "url(", "@import", "http://", "https://"):
        assert needle not in page, needle


def test_amounts_in_the_scenario_currency() -> None:
    s = preset("api-bill-10k-50k")
    s.currency, s.usd_fx_rate = "EUR", Decimal("0.9")
    page = to_html(s)
    assert "€" in page and "(EUR)" in page
    assert not re.search(r"\$\d", page.replace(html_text(s.name), ""))
