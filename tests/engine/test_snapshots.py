"""The demo scenario's headline table, pinned (genai-prices is pinned too, so these only move on purpose)."""

from __future__ import annotations

from decimal import Decimal

from inline_snapshot import snapshot

from costmodel.demo import demo_scenario
from costmodel.tco import evaluate


def _cents(x: Decimal) -> str:
    return f"{x:.2f}"


def test_demo_tco_table():
    r = evaluate(demo_scenario())
    table = {
        o.name: (_cents(o.month1_usd), _cents(o.horizon_usd), _cents(o.usd_per_mtok), o.months[0].replicas)
        for o in r.options
    }
    assert table == snapshot(
        {
            "GPT-4o (today)": ("15600.00", "826836.74", "3.00", 0),
            "Llama 3.3 70B on Together": ("3828.00", "202893.01", "0.74", 0),
            "Llama 3.1 8B on 1× H100": ("21868.37", "250255.46", "0.91", 1),
            "Llama 3.3 70B FP8 on 2× H100": ("24124.07", "414716.20", "1.51", 1),
            "Hybrid: routine → 8B, hard → GPT-4o": ("26548.37", "498306.48", "1.81", 1),
            "GPT-5 mini": ("2238.00", "118619.27", "0.43", 0),
            "Gemini 2.5 Flash": ("2760.60", "146318.30", "0.53", 0),
        }
    )
    assert r.best == snapshot("GPT-5 mini")
