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
            "Llama 3.1 8B on 1× H100": ("21649.37", "243466.21", "0.88", 1),
            "Llama 3.3 70B FP8 on 2× H100": ("23832.07", "348046.36", "1.26", 1),
            "Hybrid: routine → 8B, hard → GPT-4o": ("26329.37", "491517.23", "1.79", 1),
        }
    )
    assert r.best == snapshot("Llama 3.3 70B on Together")
