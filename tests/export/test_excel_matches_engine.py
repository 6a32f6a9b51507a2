"""The workbook, recomputed independently, equals the engine to the cent: every KPI and every monthly figure.

`formulas` (a Python re-implementation of Excel's calculation) recomputes the saved file from its inputs;
nothing the exporter computed survives except the input cells.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from costmodel.demo import DEMO
from costmodel.export import to_xlsx
from costmodel.scenario import CloudGpuOption, CostLens, OnPremOption, Scenario
from costmodel.tco import ScenarioResult, evaluate
from tests.export.helpers import grouped as _grouped
from tests.export.helpers import scenario_cases
from tests.export.recalc import Recalc, mismatches

CASES = dict(scenario_cases())


@pytest.mark.parametrize("case_id", [_grouped(c) for c in CASES])
def test_every_kpi_and_month_equals_the_engine(case_id: str, books: Callable[[str], Recalc]) -> None:
    book = books(case_id)
    solution = book.solve()
    assert mismatches(solution, evaluate(CASES[case_id])) == []
    # and no formula anywhere in the workbook computes to an Excel error (#VALUE!, #NAME?, #DIV/0! …)
    errors = []
    for ws in openpyxl.load_workbook(book.path).worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    v = solution.cell(ws.title, c.coordinate)
                    if not isinstance(v, int | float | str) or str(v).startswith("#"):
                        errors.append(f"{ws.title}!{c.coordinate} {c.value} → {v!r}")
    assert errors == []


def test_the_cases_cover_every_kind_of_cost() -> None:
    """The scenarios above exercise what the issue lists, so the equality test means something."""
    assert DEMO in CASES  # the dashboard's demo scenario
    kinds = {o.kind for s in CASES.values() for o in s.options}
    assert kinds == {"api", "managed", "cloud_gpu", "on_prem", "hybrid"}
    opts = [o for s in CASES.values() for o in s.options]
    assert any(isinstance(o, CloudGpuOption) and o.scale_to_zero for o in opts)
    assert any(isinstance(o, OnPremOption) and o.amortisation_years * 12 < 36 for o in opts)  # purchases roll off
    assert any(s.workload.cached_input_share and s.workload.batch_share for s in CASES.values())
    assert any(s.workload.monthly_growth_pct < 0 for s in CASES.values())
    assert any(s.api_price_change_pct_per_year and s.gpu_price_change_pct_per_year for s in CASES.values())
    assert any(s.currency != "USD" for s in CASES.values())
    results = [evaluate(s) for s in CASES.values()]
    assert any(m.capex_cash_usd and m.month > 1 for r in results for o in r.options for m in o.months)
    assert any(o.api is not None and o.api.tiered for r in results for o in r.options)
    assert any(v is None for r in results for o in r.options for v in o.break_even_tokens_per_month.values())
    assert any(o.payback_month is None for r in results for o in r.options if o.name != r.baseline)


INPUT_CHANGES = [
    # (case, input name, new cell value, the same change made to the scenario)
    ("api-bill-10k-50k", "wl_requests_per_month", 5_500_000, lambda s: _set(s.workload, "requests_per_month", 5.5e6)),
    ("api-bill-10k-50k", "o3_usd_per_gpu_hour", 3.1, lambda s: _set(s.options[2], "usd_per_gpu_hour", Decimal("3.1"))),
    ("api-bill-10k-50k", "wl_cached_input_share", 0.5, lambda s: _pinned(s, "cached_input_share", 0.5)),
    ("internal-search-rag", "o3_server_capex_usd", 350_000, lambda s: _set(s.options[2], "server_capex_usd", 350_000)),
    ("internal-search-rag", "fin_discount_rate", 0.15, lambda s: _set(s, "discount_rate_pct_per_year", 15.0)),
    # growth moves the peak, and the engine may then pick another replica shape; the workbook holds the shape
    ("code-assistant", "wl_monthly_growth", 0.01, lambda s: _pinned(s, "monthly_growth_pct", 1.0)),
    (
        "code-assistant",
        "o4_replica_output_tok_s",
        900.0,
        lambda s: _measured(s, 3, 900.0),
    ),
    ("owned-servers-hybrid", "o3_amortisation_years", 2.75, lambda s: _set(s.options[2], "amortisation_years", 2.75)),
    (
        "owned-servers-hybrid",
        "o5_tc2_on_open",
        False,
        lambda s: _set(s.options[4].task_classes[1], "on_open_model", False),
    ),
    ("owned-servers-hybrid", "wl_hours_per_day", 20, lambda s: _set(s.workload, "hours_per_day", 20.0)),
    ("owned-servers-hybrid", "o1_discount", 0.3, lambda s: _set(s.options[0], "discount_pct", 30.0)),
    ("shrinking-short", "o1_min_replicas", 3, lambda s: _set(s.options[0], "min_replicas", 3)),
    ("every-cost-line", "fin_lens_cash", True, lambda s: _set(s, "cost_lens", CostLens.CASH)),
    ("every-cost-line", "fin_tax_rate", 0.0, lambda s: _set(s, "tax_rate_pct", 0.0)),
    ("every-cost-line", "o3_commit_nodes", 9, lambda s: _set(s.options[2].commitment, "committed_nodes", 9)),
    ("every-cost-line", "o5_resale_share", 0.4, lambda s: _set(s.options[4], "resale_pct_at_horizon", 40.0)),
    ("every-cost-line", "o2_output_mult", 1.1, lambda s: _set(s.options[1], "output_token_multiplier", 1.1)),
]


def _set(obj: object, field: str, value: object) -> None:
    setattr(obj, field, value)


def _measured(s: Scenario, k: int, tokens_per_s: float) -> None:
    """A measured replica speed, on the shape the workbook holds (a measurement belongs to one shape)."""
    rep = evaluate(s, with_break_even=False, with_uncertainty=False).options[k].replica
    assert rep is not None
    _set(s.options[k], "gpus_per_replica", rep.gpus_per_replica)
    _set(s.options[k], "measured_output_tokens_per_s", tokens_per_s)


def _pinned(s: Scenario, field: str, value: object) -> None:
    """Change a workload field the throughput model or the shape choice also reads (the prompt-cache share
    shortens self-hosted prefill; growth moves the peak the cheapest shape is chosen for): the workbook keeps
    each replica's shape and speed as inputs, so the engine gets the same figures as measured values, as a
    user re-typing them would."""
    base = evaluate(s, with_break_even=False, with_uncertainty=False)
    for k, o in enumerate(base.options):
        if o.replica is not None:
            _set(s.options[k], "gpus_per_replica", o.replica.gpus_per_replica)
            _set(s.options[k], "measured_output_tokens_per_s", o.replica.output_tokens_per_s)
    _set(s.workload, field, value)


@pytest.mark.parametrize(("case_id", "name", "value", "change"), [_grouped(*c) for c in INPUT_CHANGES])
def test_changing_an_input_cell_recomputes_like_the_engine(
    case_id: str, name: str, value: object, change: Callable[[Scenario], None], books: Callable[[str], Recalc]
) -> None:
    scenario = CASES[case_id]
    book = books(case_id)
    assert name in book.names, f"{name} is not an input of {case_id}"
    changed = scenario.model_copy(deep=True)
    change(changed)
    changed = Scenario.model_validate(changed.model_dump())
    before, after = evaluate(scenario), evaluate(changed)
    assert after.options != before.options  # the change matters
    assert mismatches(book.solve({name: value, **_queue_limits(book, after)}), after) == []


def _queue_limits(book: Recalc, result: ScenarioResult) -> dict[str, float]:
    """The queueing limits the engine finds after the change, typed over the exported ones.

    The workbook holds each replica's Erlang C limit as an input computed at export (its note says to re-export
    after changing token counts, the replica speed or targets): a faster replica holds each request for less
    time, so its limit moves, and a user follows the note. Everything downstream must then agree.
    """
    limits = {}
    for k, o in enumerate(result.options, start=1):
        name = f"o{k}_queue_limit_util"
        if o.replica is not None and o.replica.queue is not None and name in book.names:
            limits[name] = o.replica.queue.queue_limit_utilisation
    return limits


def test_an_input_edited_in_the_saved_file_recomputes(tmp_path: Path) -> None:
    """The change made the way a user makes it: open the file, type a value into the named cell, save."""
    import io

    import openpyxl

    scenario = CASES["api-bill-10k-50k"]
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(scenario)))
    ((sheet, ref),) = list(wb.defined_names["wl_requests_per_month"].destinations)
    wb[sheet][ref] = 7_250_000
    buf = io.BytesIO()
    wb.save(buf)
    changed = scenario.model_copy(deep=True)
    changed.workload.requests_per_month = 7_250_000
    assert mismatches(Recalc(buf.getvalue(), tmp_path).solve(), evaluate(changed)) == []


@st.composite
def _frames(draw: st.DrawFn) -> dict[str, float]:
    """A different workload and financial frame, as a user would type them into the Inputs sheet."""
    return {
        "wl_requests_per_month": draw(st.integers(100_000, 40_000_000)),
        "wl_input_tokens_per_request": draw(st.integers(50, 8_000)),
        "wl_output_tokens_per_request": draw(st.integers(10, 1_500)),
        "wl_cached_input_share": draw(st.sampled_from([0.0, 0.15, 0.5, 0.9])),
        "wl_batch_share": draw(st.sampled_from([0.0, 0.3, 1.0])),
        "wl_monthly_growth": draw(st.sampled_from([-0.05, 0.0, 0.04, 0.12])),
        "wl_peak_to_average": draw(st.sampled_from([1.0, 1.7, 4.0])),
        "wl_hours_per_day": draw(st.sampled_from([6.0, 13.5, 24.0])),
        "wl_days_per_week": draw(st.sampled_from([3.0, 5.0, 7.0])),
        "fin_discount_rate": draw(st.sampled_from([0.0, 0.07, 0.2])),
        "fin_api_price_change": draw(st.sampled_from([-0.4, 0.0, 0.1])),
        "fin_gpu_price_change": draw(st.sampled_from([-0.2, 0.0, 0.15])),
    }


_FIELDS = {
    "wl_requests_per_month": ("workload", "requests_per_month", 1),
    "wl_input_tokens_per_request": ("workload", "input_tokens_per_request", 1),
    "wl_output_tokens_per_request": ("workload", "output_tokens_per_request", 1),
    "wl_cached_input_share": ("workload", "cached_input_share", 1),
    "wl_batch_share": ("workload", "batch_share", 1),
    "wl_monthly_growth": ("workload", "monthly_growth_pct", 100),
    "wl_peak_to_average": ("workload", "peak_to_average", 1),
    "wl_hours_per_day": ("workload", "hours_per_day", 1),
    "wl_days_per_week": ("workload", "days_per_week", 1),
    "fin_discount_rate": (None, "discount_rate_pct_per_year", 100),
    "fin_api_price_change": (None, "api_price_change_pct_per_year", 100),
    "fin_gpu_price_change": (None, "gpu_price_change_pct_per_year", 100),
}


@pytest.mark.xdist_group("owned-servers-hybrid")
@given(frame=_frames())
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_workload_typed_into_the_inputs_recomputes_like_the_engine(
    frame: dict[str, float], books: Callable[[str], Recalc]
) -> None:
    """Replica throughput and GPUs per replica are inputs of the workbook: the engine gets the same figures
    (as measured values), since the workbook cannot re-run the throughput model when token counts change."""
    case_id = "owned-servers-hybrid"
    scenario = CASES[case_id]
    data = scenario.model_dump(mode="json")
    base = evaluate(scenario)
    for k, opt in enumerate(scenario.options):
        rep = base.option(opt.name).replica
        if rep is not None:
            data["options"][k]["measured_output_tokens_per_s"] = rep.output_tokens_per_s
            data["options"][k]["gpus_per_replica"] = rep.gpus_per_replica
    for name, value in frame.items():
        part, field, scale = _FIELDS[name]
        (data[part] if part else data)[field] = value * scale
    changed = Scenario.model_validate(data)
    result = evaluate(changed)
    # the workbook also keeps each replica's planned utilisation limit (queueing) as an export-time input
    for o in result.options:
        if o.replica is not None:
            assume(o.replica.queue.utilisation == base.option(o.name).replica.queue.utilisation)
    assert mismatches(books(case_id).solve(frame), result, volumes=False) == []
