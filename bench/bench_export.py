"""Business-case export speed: a 36-month, 6-option scenario with stored usage logs (target < 2 s on 2 cores).

The timed export is what the CLI and the dashboard do: read the usage store, evaluate the scenario, write
the workbook (sensitivity included) and the one-page summary. Prints a table; never asserts.
Run: python bench/bench_export.py
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl

from costmodel.demo import demo_scenario
from costmodel.export import to_html, to_xlsx, usage_summary
from costmodel.export._values import compute_values, store_values
from costmodel.scenario import OnPremOption, Scenario
from costmodel.tco import evaluate

_MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4.1"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-haiku-4-5"),
    ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
]
_PROJECTS = ["search", "support", "sales", "legal", "internal-tools"]


def _scenario() -> Scenario:
    s = demo_scenario()  # 5 options: API, managed, two cloud GPU, hybrid
    owned = OnPremOption(
        name="Llama 3.3 70B FP8 on an owned 8× H100 server",
        model="llama-3.3-70b",
        quant="fp8",
        gpu="H100-SXM",
        gpus_per_replica=2,
        server_capex_usd=Decimal(280_000),
    )
    return s.model_copy(update={"options": [*s.options, owned], "horizon_months": 36})


def _usage_db(path: Path) -> int:
    """A year of hourly usage buckets for six models and five projects (~52k rows)."""
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE usage_events (ts TIMESTAMP, provider VARCHAR, model VARCHAR, input_tokens BIGINT, "
        "cached_input_tokens BIGINT, output_tokens BIGINT, requests BIGINT, reported_cost_usd DECIMAL(20, 10), "
        "project VARCHAR)"
    )
    models = ", ".join(f"({k}, '{prov}', '{model}')" for k, (prov, model) in enumerate(_MODELS))
    con.execute(
        f"""
        INSERT INTO usage_events
        SELECT TIMESTAMP '2025-11-01' + to_hours(h), prov, model, 90000 + h % 500, 20000, 15000, 60, 0.42,
               list_extract(?, 1 + (h + k) % 5)
        FROM range(24 * 365) t(h), (VALUES {models}) m(k, prov, model)
        """,
        [_PROJECTS],
    )
    (n,) = con.execute("SELECT count(*) FROM usage_events").fetchone()
    con.close()
    return n


def _time(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    s = _scenario()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "usage.duckdb"
        n_rows = _usage_db(db)
        con = duckdb.connect(str(db), read_only=True)
        t0 = time.perf_counter()
        evaluate(s)  # first call loads data files and fits the calibration
        cold = time.perf_counter() - t0

        def fresh() -> Scenario:
            # a changed input defeats every cache on the whole scenario, as a new export would
            w = s.workload.model_copy(update={"requests_per_month": s.workload.requests_per_month * 1.01})
            return s.model_copy(update={"workload": w})

        sizes: dict[str, int] = {}

        def export() -> None:
            sc = fresh()
            usage = usage_summary(con, source=str(db))
            result = evaluate(sc)
            sizes["xlsx"] = len(to_xlsx(sc, result=result, usage=usage))
            sizes["html"] = len(to_html(sc, result=result))

        usage = usage_summary(con)
        assert usage is not None
        result = evaluate(s)
        # the stored-values step alone (issue 13 item 14): compute every formula, write each <v> into the file
        wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(s, result=result, usage=usage)))
        buf = io.BytesIO()
        wb.save(buf)  # openpyxl drops the stored values: the bytes as they were before that step
        plain = buf.getvalue()
        values = compute_values(wb)
        rows = [
            ("usage_summary (DuckDB → monthly by model/project)", _time(lambda: usage_summary(con), 5)),
            ("evaluate (6 options, 36 months, break-even)", _time(lambda: evaluate(fresh()), 5)),
            ("to_xlsx (workbook incl. sensitivity, usage)", _time(lambda: to_xlsx(s, result=result, usage=usage), 5)),
            (f"  of which: compute {len(values):,} formula values", _time(lambda: compute_values(wb), 5)),
            ("  of which: store them beside the formulas", _time(lambda: store_values(plain, values), 5)),
            ("to_html (one-page summary)", _time(lambda: to_html(s, result=result), 5)),
            ("full export: usage + evaluate + xlsx + html (target)", _time(export, 5)),
        ]
        con.close()
    print(
        f"scenario: {len(s.options)} options, {s.horizon_months} months; usage: {n_rows:,} rows, "
        f"{len(usage.by_model)} model-months"
    )
    print(f"cold start (data load + calibration + first evaluate): {cold * 1000:.0f} ms")
    print(f"workbook {sizes['xlsx'] / 1024:.0f} KiB, summary {sizes['html'] / 1024:.0f} KiB\n")
    print(f"{'step':54} {'median s':>9} {'max s':>7}")
    for name, xs in rows:
        print(f"{name:54} {statistics.median(xs):>9.3f} {max(xs):>7.3f}")


if __name__ == "__main__":
    main()
