"""Recompute a saved workbook independently (the `formulas` package) and read it back by defined name."""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Mapping
from dataclasses import fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils import range_boundaries
from openpyxl.utils.cell import get_column_letter

from costmodel.export._model import NEVER, NO_BREAK_EVEN
from costmodel.tco import MonthCost, ScenarioResult

CENT = 0.005
"""Half a cent: rounding both figures to cents gives the same number."""

MONEY_FIELDS = tuple(f.name for f in fields(MonthCost) if f.name.endswith("_usd"))
"""Every money line of a month, each held to the workbook's column of the same name."""


class Recalc:
    """A saved workbook loaded into `formulas`; `solve()` recomputes it, optionally with input cells changed."""

    def __init__(self, data: bytes, tmp_path: Path) -> None:
        import formulas

        self.path = tmp_path / "case.xlsx"
        wb = openpyxl.load_workbook(io.BytesIO(data))
        # openpyxl saves formulas without the values stored beside them: `formulas` starts from the inputs alone
        wb.save(self.path)
        self.data = data
        """The workbook as exported (stored values included)."""
        self.names: dict[str, tuple[str, str]] = {}
        for name, dn in wb.defined_names.items():
            ((sheet, ref),) = list(dn.destinations)
            self.names[name] = (sheet, ref.replace("$", ""))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # formulas and its dependencies emit their own deprecation noise
            self.model = formulas.ExcelModel().loads(str(self.path)).finish()

    def key(self, name: str) -> str:
        sheet, cell = self.names[name]
        return f"'[{self.path.name}]{sheet.upper()}'!{cell}"

    def solve(self, inputs: Mapping[str, object] | None = None) -> Solution:
        """Recompute; `inputs` maps input names (`wl_requests_per_month`) to the values typed into their cells."""
        overrides = {self.key(n): v for n, v in (inputs or {}).items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Solution(self, self.model.calculate(inputs=overrides) if overrides else self.model.calculate())


class Solution:
    """Recomputed values, read by defined name or by sheet and cell."""

    def __init__(self, book: Recalc, values: Mapping[str, Any]) -> None:
        self.book, self.values = book, values

    def cell(self, sheet: str, cell: str) -> Any:
        v = self.values[f"'[{self.book.path.name}]{sheet.upper()}'!{cell}"].value
        x = v.ravel()[0] if hasattr(v, "ravel") else v
        return x.item() if hasattr(x, "item") else x

    def __contains__(self, name: str) -> bool:
        return name in self.book.names

    def get(self, name: str) -> Any:
        """A named cell's value, or a named range's values top to bottom."""
        sheet, ref = self.book.names[name]
        if ":" not in ref:
            return self.cell(sheet, ref)
        c1, r1, c2, r2 = range_boundaries(ref)
        return [self.cell(sheet, f"{get_column_letter(c)}{r}") for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]


def close(a: Any, b: Decimal | float | int, *, tol: float = CENT) -> bool:
    return isinstance(a, int | float) and not isinstance(a, bool) and math.isclose(float(a), float(b), abs_tol=tol)


def _not_within(got: Any) -> bool:
    """The workbook's "not within N replica steps": no step of its search table pays off."""
    return isinstance(got, str) and got.startswith(NO_BREAK_EVEN + " ")


def _beyond_the_table(book: Solution, p: str, got: Any, want: Decimal | None) -> bool:
    """The engine crosses at a volume needing more replica steps than the workbook's table holds, and the
    workbook says so ("not within N replica steps"): both are right (a self-hosted option, not a hybrid)."""
    if want is None or not _not_within(got):
        return False
    steps = int(got.split()[2])
    step_tokens = book.get(p + "step_tokens") if p + "step_tokens" in book else None
    return isinstance(step_tokens, int | float) and float(want) > steps * step_tokens


def mismatches(book: Solution, result: ScenarioResult, *, volumes: bool = True) -> list[str]:
    """Every KPI and every monthly figure of the recomputed workbook that differs from the engine's.

    `volumes=False` leaves out break-even volumes (their owned-server search tables are sized at export).
    """
    out: list[str] = []

    def check(label: str, got: Any, want: Decimal | float | int | None, *, tol: float = CENT, text: str = "") -> None:
        if want is None:
            if got != text:
                out.append(f"{label}: workbook {got!r}, engine None ({text!r} expected)")
        elif not close(got, want, tol=tol):
            out.append(f"{label}: workbook {got!r}, engine {float(want)!r}")

    base = result.baseline_result
    for i, o in enumerate(result.options, start=1):
        p = f"o{i}_"
        check(p + "month1_usd", book.get(p + "month1_usd"), o.month1_usd)
        check(p + "horizon_usd", book.get(p + "horizon_usd"), o.horizon_usd)
        check(p + "usd_per_mtok", book.get(p + "usd_per_mtok"), o.usd_per_mtok, tol=1e-9)
        check(p + "saving_month1_usd", book.get(p + "saving_month1_usd"), base.month1_usd - o.month1_usd)
        check(p + "saving_horizon_usd", book.get(p + "saving_horizon_usd"), base.horizon_usd - o.horizon_usd)
        if o.name != result.baseline:
            check(p + "npv_saving_usd", book.get(p + "npv_saving_usd"), o.npv_saving_usd)
            check(p + "payback_month", book.get(p + "payback_month"), o.payback_month, tol=0, text=NEVER)
            check(p + "break_even_month", book.get(p + "break_even_month"), o.break_even_month, tol=0, text=NEVER)
        for k, a in enumerate(result.options, start=1):
            name = f"{p}be_tokens_vs_o{k}"
            if not volumes:
                continue
            if a.name in o.break_even_tokens_per_month:
                want = o.break_even_tokens_per_month[a.name]
                got = book.get(name)
                if want is None:
                    if not _not_within(got):
                        out.append(f"{name}: workbook {got!r}, engine None ('{NO_BREAK_EVEN} N steps' expected)")
                elif not _beyond_the_table(book, p, got, want):
                    check(name, got, want, tol=1e-6 * float(want))
            elif name in book:
                out.append(f"{name}: in the workbook, not in the engine")
        out += _monthly(book, p, o.months, o.monthly_usd())
    return out


def _monthly(book: Solution, p: str, months: tuple[MonthCost, ...], lens_costs: list[Decimal]) -> list[str]:
    out: list[str] = []
    series: dict[str, list[Decimal | float | int]] = {
        f: [getattr(m, f) for m in months] for f in (*MONEY_FIELDS, "replicas", "gpus", "utilisation")
    }
    series["total"] = [m.total_usd for m in months]
    series["cash"] = [m.cash_usd for m in months]
    series["cost"] = list(lens_costs)
    acc = Decimal(0)
    series["cum_cost"] = []
    for x in lens_costs:
        acc += x
        series["cum_cost"].append(acc)
    aliases = {"cash": "total"}
    for field, want in series.items():
        name = p + "m_" + field
        if name not in book and field in aliases:
            name = p + "m_" + aliases[field]
        if name not in book:
            if any(want):
                out.append(f"{name}: missing from the workbook, engine has {want[:3]}…")
            continue
        got = book.get(name)
        if len(got) != len(want):
            out.append(f"{name}: {len(got)} months in the workbook, {len(want)} in the engine")
            continue
        tol = 1e-9 if field == "utilisation" else CENT
        for month, (g, w) in enumerate(zip(got, want, strict=True), start=1):
            if not close(g, w, tol=tol):
                out.append(f"{name}[month {month}]: workbook {g!r}, engine {float(w)!r}")
    return out
