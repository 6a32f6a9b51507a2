"""Integrity of the GPU price files (data/gpu_prices_*.csv), read as plain CSV.

These tests hold the data to the rules its README states, independently of the loader: every row says
where its number came from, when it was read (``as_of``) and when the provider's price was in force
(``price_date``, never after ``as_of``); flags use one small vocabulary; the per-GPU column is the
instance price divided by the GPU count; and one price date never lists the same priced shape twice,
so "newest price date wins" is well defined for the loader.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"
FLAGS = {"", "anomaly", "suspect", "marketplace"}
PAYMENTS = {"", "none", "partial", "all_upfront"}
FIVE_PLACES = Decimal("0.00001")


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


ON_DEMAND = _rows("gpu_prices_skypilot.csv")
COMMITMENTS = _rows("gpu_prices_commitments.csv")
GPU_IDS = {r["gpu_id"] for r in _rows("gpus.csv")}


def _per_gpu(price: str, count: str) -> Decimal:
    return (Decimal(price) / int(count)).quantize(FIVE_PLACES, rounding=ROUND_HALF_UP)


def _agrees(per_gpu: str, price: str, count: str) -> bool:
    """Per-GPU price equals price / count to 5 decimals (half a unit in the 5th place).

    The older GCP rows sum a host row and an accelerator row and were rounded to 6 significant
    figures before and after dividing, so half a unit in the 6th significant figure is also accepted.
    A wrong GPU count is off by far more than either bound.
    """
    exact = Decimal(price) / int(count)
    err = abs(Decimal(per_gpu) - exact)
    return err <= Decimal("0.000005") or err <= exact * Decimal("0.000005")


@pytest.mark.parametrize(
    ("name", "provider_col", "rows"),
    [("gpu_prices_skypilot.csv", "cloud", ON_DEMAND), ("gpu_prices_commitments.csv", "provider", COMMITMENTS)],
)
def test_every_row_is_sourced_and_dated(name, provider_col, rows):
    assert rows, name
    for line, r in enumerate(rows, start=2):
        where = f"{name} line {line} ({r[provider_col]} {r['instance_type']})"
        assert r["source"].strip(), where
        assert r["price_date_source"].strip(), where
        as_of = date.fromisoformat(r["as_of"])
        price_date = date.fromisoformat(r["price_date"])
        assert price_date <= as_of, where
        assert r["flag"] in FLAGS, where
        assert r["gpu_id"] in GPU_IDS, where


def test_header_keeps_old_columns_and_appends_new_ones():
    with (DATA / "gpu_prices_skypilot.csv").open(encoding="utf-8") as f:
        head = f.readline().strip().split(",")
    assert head[:12] == [
        "cloud",
        "instance_type",
        "accelerator",
        "accelerator_count",
        "region",
        "price_usd_per_hour",
        "spot_price_usd_per_hour",
        "price_usd_per_gpu_hour",
        "source",
        "as_of",
        "notes",
        "gpu_id",
    ]
    assert head[12:] == ["price_date", "price_date_source", "flag"]
    with (DATA / "gpu_prices_commitments.csv").open(encoding="utf-8") as f:
        head = f.readline().strip().split(",")
    assert head[-5:] == ["payment", "term_years", "price_date", "price_date_source", "flag"]


@pytest.mark.parametrize("r", ON_DEMAND, ids=lambda r: f"{r['cloud']}:{r['instance_type']}:{r['price_date']}")
def test_on_demand_per_gpu_price_is_instance_price_over_count(r):
    assert _agrees(r["price_usd_per_gpu_hour"], r["price_usd_per_hour"], r["accelerator_count"])
    if r["as_of"] >= "2026-12-03":  # rows added with the price_date columns use exact half-up rounding
        assert Decimal(r["price_usd_per_gpu_hour"]) == _per_gpu(r["price_usd_per_hour"], r["accelerator_count"])
    assert int(r["accelerator_count"]) >= 1
    if r["spot_price_usd_per_hour"].strip() and r["flag"] != "anomaly":
        # Spot never costs more than on-demand; the one known exception is flagged.
        assert Decimal(r["spot_price_usd_per_hour"]) <= Decimal(r["price_usd_per_hour"])


@pytest.mark.parametrize("r", COMMITMENTS, ids=lambda r: f"{r['provider']}:{r['instance_type']}:{r['plan']}")
def test_commitment_rows_are_consistent(r):
    assert _agrees(r["price_usd_per_gpu_hour"], r["price_usd_per_hour"], r["gpu_count"])
    assert r["payment"] in PAYMENTS
    assert int(r["term_years"]) in {1, 3}
    assert r["plan"].endswith(f"_{r['term_years']}yr")


def test_no_duplicate_keys_within_one_price_date():
    sky = Counter((r["cloud"], r["instance_type"], r["region"], r["price_date"]) for r in ON_DEMAND)
    assert [k for k, n in sky.items() if n > 1] == []
    com = Counter(
        (r["provider"], r["instance_type"], r["region"], r["plan"], r["payment"], r["price_date"]) for r in COMMITMENTS
    )
    assert [k for k, n in com.items() if n > 1] == []


def test_flags_match_the_documented_problem_rows():
    flagged = {(r["cloud"], r["instance_type"], r["region"]): r["flag"] for r in ON_DEMAND if r["flag"]}
    assert flagged[("runpod", "1x_L40S_SECURE", "US")] == "anomaly"
    assert flagged[("runpod", "8x_L40S_SECURE", "US")] == "anomaly"
    assert flagged[("gcp", "a3-highgpu-8g", "us-central1")] == "suspect"
    assert flagged[("gcp", "a2-ultragpu-1g", "us-central1")] == "suspect"
    assert flagged[("gcp", "a2-ultragpu-8g", "us-central1")] == "suspect"
    assert flagged[("azure", "Standard_ND96isr_H100_v5", "eastus")] == "suspect"
    assert ("gcp", "a3-highgpu-8g", "us-east4") not in flagged
    vast = [r for r in ON_DEMAND if r["cloud"] == "vast"]
    assert vast and {r["flag"] for r in vast} == {"marketplace"}
    # Notes written as ANOMALY/SUSPECT carry the matching flag, and only those rows do.
    for r in ON_DEMAND:
        if r["notes"].startswith("ANOMALY"):
            assert r["flag"] == "anomaly"
        elif r["notes"].startswith("SUSPECT"):
            assert r["flag"] == "suspect"
        elif r["cloud"] != "vast":
            assert r["flag"] == ""


def _newest(provider: str, instance: str, region: str) -> dict[str, str]:
    rows = [r for r in ON_DEMAND if (r["cloud"], r["instance_type"], r["region"]) == (provider, instance, region)]
    return max(rows, key=lambda r: r["price_date"])


def test_aws_rows_carry_the_2025_price_cut():
    p5 = [r for r in ON_DEMAND if (r["cloud"], r["instance_type"], r["region"]) == ("aws", "p5.48xlarge", "us-east-1")]
    assert sorted((r["price_date"], r["price_usd_per_hour"]) for r in p5) == [
        ("2023-06-15", "98.32"),
        ("2026-02-09", "55.04"),
    ]
    newest = {
        inst: _newest("aws", inst, "us-east-1")["price_usd_per_gpu_hour"]
        for inst in ("p5.48xlarge", "p5.4xlarge", "p5en.48xlarge", "p4d.24xlarge", "p4de.24xlarge")
    }
    assert newest == {
        "p5.48xlarge": "6.88",
        "p5.4xlarge": "6.88",
        "p5en.48xlarge": "7.912",
        "p4d.24xlarge": "2.74471",
        "p4de.24xlarge": "3.43088",
    }


@pytest.mark.parametrize(
    ("provider", "gpu_id", "counts"),
    [
        ("lambda", "H100-SXM", {1, 2, 4, 8}),
        ("runpod", "H100-SXM", {1, 2, 4, 8}),
        ("runpod", "A100-80GB", {1, 2, 4, 8}),
        ("aws", "H100-SXM", {1, 8}),
        ("nebius", "H100-SXM", {1, 8}),
        ("aws", "L4", {1, 4, 8}),
    ],
)
def test_single_and_multi_gpu_shapes_are_listed(provider, gpu_id, counts):
    listed = {
        int(r["accelerator_count"])
        for r in ON_DEMAND
        if r["cloud"] == provider and r["gpu_id"] == gpu_id and r["flag"] == ""
    }
    assert counts <= listed
