"""History re-priced: reported, the list price in force on each row's date, today's list price, and each option."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from costmodel.prices import GENAI_PRICES_VERSION
from costmodel.store import connect
from costmodel.usage import NoUsageData, ReplayMonth, import_file
from costmodel.usage.reprice import reprice

HEADER = "timestamp,model,input_tokens,output_tokens,requests,cost_usd,provider\n"
# genai-prices lists ministral-8b-latest at $0.10 / $0.10 per M until 2025-12-01 and $0.15 / $0.15 from 2025-12-02
LOG = (
    HEADER
    + "2025-11-10T10:00:00Z,ministral-8b-latest,1000000,1000000,10,0.20,mistral\n"  # as listed then
    + "2025-12-10T10:00:00Z,ministral-8b-latest,1000000,1000000,10,0.20,mistral\n"  # the old price after the change
    + "2025-12-11T10:00:00Z,my-finetune,5000,500,1,0.01,\n"  # genai-prices cannot price it
)


@pytest.fixture
def con(tmp_path: Path):
    c = connect(tmp_path / "h.duckdb")
    import_file(c, LOG.encode(), file_name="history.csv")
    yield c
    c.close()


def test_each_month_is_priced_as_reported_in_force_and_today(con) -> None:
    h = reprice(con, today=date(2026, 6, 1))
    assert (h.genai_prices_version, h.today) == (GENAI_PRICES_VERSION, date(2026, 6, 1))
    assert h.unknown_models == ["?/my-finetune"]
    nov, dec = h.months
    assert (nov.month, nov.reported_cost_usd, nov.in_force_cost_usd, nov.today_cost_usd) == (
        date(2025, 11, 1),
        Decimal("0.2"),
        Decimal("0.2"),
        Decimal("0.3"),
    )
    assert (nov.flagged, nov.difference_pct) == (False, 0.0)
    # December reported the old price after the change (and $0.01 for a model with no list price): flagged
    assert (dec.reported_cost_usd, dec.in_force_cost_usd, dec.today_cost_usd) == (
        Decimal("0.21"),
        Decimal("0.3"),
        Decimal("0.3"),
    )
    assert dec.flagged and dec.difference_pct == pytest.approx(-30.0)


def test_today_is_the_date_given(con) -> None:
    before_change = reprice(con, today=date(2025, 11, 30))
    assert [m.today_cost_usd for m in before_change.months] == [Decimal("0.2"), Decimal("0.2")]


def test_replayed_options_join_their_months(con) -> None:
    replayed = [
        ReplayMonth(
            month=date(2025, 12, 1),
            full=False,
            requests=11,
            input_tokens=1_005_000,
            output_tokens=1_000_500,
            reported_cost_usd=Decimal("0.21"),
            cost_usd={"API": Decimal("1.5"), "GPU": Decimal("900")},
        )
    ]
    h = reprice(con, today=date(2026, 6, 1), replayed=replayed)
    assert [m.options_cost_usd for m in h.months] == [{}, {"API": Decimal("1.5"), "GPU": Decimal("900")}]


def test_nothing_imported_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(NoUsageData):
        reprice(connect(tmp_path / "empty.duckdb"), today=date(2026, 1, 1))
