"""Chart text a user can read: money ticks as money, enough contrast, one distinct style per option."""

from __future__ import annotations

import json
import re

import pytest

from dashboard.components.charts import (
    PALETTE,
    TEXT_COLOURS,
    money_ticks,
    option_styles,
    short_count,
    short_money,
)
from tests.dashboard.conftest import interactive, page


@pytest.mark.parametrize(
    ("usd", "text"),
    [
        (0.25, "$0.25"),
        (0.5, "$0.50"),
        (0.005, "$0.005"),
        (0, "$0"),
        (2.5, "$2.5"),
        (250, "$250"),
        (10_000, "$10k"),
        (12_500, "$12.5k"),
        (1_200_000, "$1.2M"),
        (3e9, "$3B"),
        (-750_000, "-$750k"),
        (999.9, "$1k"),
    ],
)
def test_money_is_written_as_money(usd, text):
    assert short_money(usd) == text


def test_counts_use_b_for_billion_never_g():
    assert [short_count(v) for v in (500, 1e4, 2.5e6, 1e9, 1e12)] == ["500", "10k", "2.5M", "1B", "1T"]


@pytest.mark.parametrize(
    ("lo", "hi", "log"),
    [
        (0, 0.9, False),
        (0, 830_000, False),
        (520_000, 710_000, False),
        (80, 240_000, True),
        (1e8, 5e10, True),
        (0.002, 0.04, True),
    ],
)
def test_ticks_cover_the_range_with_round_money(lo, hi, log):
    axis = money_ticks(lo, hi, log=log)
    vals, text = axis["tickvals"], axis["ticktext"]
    if log:  # a round tick in the lowest and the highest decade of the range
        assert lo / 1.5 <= vals[0] <= lo * 10 and hi / 10 <= vals[-1] <= hi * 1.5
    else:  # the ticks span the whole range
        assert vals[0] <= lo and vals[-1] >= hi
    assert 2 <= len(vals) <= 16
    assert all(re.fullmatch(r"-?\$\d[\d.]*[kMBT]?", t) for t in text), text
    assert len(set(text)) == len(text)


def _luminance(hex_colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def test_chart_text_has_at_least_4_5_to_1_contrast_on_white():
    for colour in TEXT_COLOURS.values():
        assert (1 + 0.05) / (_luminance(colour) + 0.05) >= 4.5, colour


def test_every_option_has_its_own_style_and_the_baseline_stands_out():
    names = [f"option {i}" for i in range(24)]
    styles = option_styles(names, "option 3")
    assert len({(s.colour, s.dash) for s in styles.values()}) == 24  # no two options alike
    base = styles["option 3"]
    others = [s for n, s in styles.items() if n != "option 3"]
    assert base.dash == "dash" and all(base.width > s.width for s in others)
    assert base.colour not in PALETTE and len(set(PALETTE)) == len(PALETTE)


def test_no_chart_on_compare_or_hardware_fit_writes_an_si_tick(app):
    specs = [json.loads(c.proto.spec) for c in interactive(app).get("plotly_chart")]
    specs += [json.loads(c.proto.spec) for c in page(app, "hardware_fit").get("plotly_chart")]
    for spec in specs:
        for name, axis in spec["layout"].items():
            if not name.startswith(("xaxis", "yaxis")):
                continue
            assert "~s" not in str(axis.get("tickformat", "")), (name, axis)
            for text in axis.get("ticktext", []):
                assert not re.search(r"\d[mµunGP]$", text), text
            assert axis["tickfont"]["color"] == TEXT_COLOURS["tick"]
