"""The live part of the workbook: Inputs, Options, Monthly and Break-even & NPV, all Excel formulas.

Every formula here restates one line of `costmodel.tco` (and `costmodel.breakeven`) over named input
cells, so a finance reader can audit it and change any assumption. Facts the engine derives from data
files (a replica's output tokens/s, a GPU-hour price, list prices) enter as labelled inputs with their
source. The tests recompute the saved workbook and hold it to the engine to the cent.

Naming scheme of the defined names (stable, used by the tests and handy in Excel's Name Manager):
`wl_*` workload, `fin_*` financial frame, `k_*` constants, `o{i}_*` option i (1-based, scenario order),
`o{i}_m_*` that option's monthly ranges, `m_*` the shared monthly ranges.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from costmodel.export._book import Book, Fmt
from costmodel.prices import ApiPrice, request_cost_usd
from costmodel.scenario import (
    HOURS_PER_MONTH,
    ApiOption,
    CloudGpuOption,
    HybridOption,
    OnPremOption,
    Option,
    Scenario,
)
from costmodel.sizing import ReplicaSpec, resolve_gpu_price
from costmodel.tco import ScenarioResult

__all__ = [
    "BE_SHEET",
    "INPUTS_SHEET",
    "MONTHLY_SHEET",
    "NEVER",
    "NO_BREAK_EVEN",
    "OPTIONS_SHEET",
    "SEARCH_SHEET",
    "Model",
    "OptionRefs",
    "build_model",
]

INPUTS_SHEET = "Inputs"
OPTIONS_SHEET = "Options"
MONTHLY_SHEET = "Monthly"
BE_SHEET = "Break-even & NPV"
SEARCH_SHEET = "Break-even search"
NEVER = "not within horizon"
"""What payback and break-even month cells show when the option never catches up with the baseline."""
NO_BREAK_EVEN = "never"
"""What a break-even volume cell shows when the option never gets cheaper than the API."""

_MAX_STEPS = 2000  # costmodel.breakeven._MAX_STEPS: replica steps searched before giving up
_FIRST = 5  # first month row of the Monthly sheet
_SMALL = "0.000000001"  # costmodel.sizing.ReplicaSpec.replicas_for: ceil(x - 1e-9); `formulas` reads no 1E-9


_InRow = tuple[str, str, object, str, str, str]
"""An input row: (name, label, value, unit, number format, source — relative to the scenario, or absolute)."""


@dataclass
class _ApiFacts:
    price: ApiPrice
    batch_cached_usd_per_mtok: Decimal
    std_usd_per_request: Decimal
    batch_usd_per_request: Decimal
    live: bool
    """True: the per-request price is a formula over per-Mtok prices; False: the engine's figure is an input."""


@dataclass
class OptionRefs:
    """Where an option's results live in the workbook (formulas to reference from Summary and charts)."""

    index: int
    name: str
    kind: str
    total_col: str = ""
    cash_col: str = ""
    cum_col: str = ""
    cum_cash_col: str = ""
    payback: str = ""
    break_even_month: str = ""
    npv: str = ""
    break_even_volume: dict[str, str] = field(default_factory=dict)
    """API option name → cell holding the break-even volume against it."""


@dataclass
class Model:
    """What the Summary and the charts need from the live sheets."""

    first_row: int
    last_row: int
    options: list[OptionRefs]
    baseline: OptionRefs


class _Builder:
    def __init__(self, book: Book, scenario: Scenario, result: ScenarioResult) -> None:
        self.book, self.s, self.r = book, scenario, result
        self.h = scenario.horizon_months
        self.last = _FIRST + self.h - 1
        self.idx = {o.name: i for i, o in enumerate(scenario.options, start=1)}
        self.base_name = result.baseline
        self.refs = {o.name: OptionRefs(index=i, name=o.name, kind=o.kind) for o, i in self._enum()}
        self.api_facts: dict[str, _ApiFacts] = {}
        self.ins = book.sheet(INPUTS_SHEET)
        self.opt = book.sheet(OPTIONS_SHEET)
        self.mon = book.sheet(MONTHLY_SHEET)
        self.be = book.sheet(BE_SHEET)
        self.search: Worksheet | None = None
        self.search_col = 1
        self.in_row = 4
        self.opt_row = 4

    def _enum(self) -> list[tuple[Option, int]]:
        return [(o, i) for i, o in enumerate(self.s.options, start=1)]

    # ================================================================== Inputs

    def _inp(self, name: str, label: str, value: object, unit: str, fmt: str, source: str, as_of: str = "") -> None:
        """One input row: label, value (styled as an input, named `name`), unit, source, as-of, the name."""
        ws, r, b = self.ins, self.in_row, self.book
        b.text(ws, r, 1, label)
        b.style_input(b.value(ws, r, 2, value, fmt))
        b.text(ws, r, 3, unit)
        b.text(ws, r, 4, source)
        b.text(ws, r, 5, as_of)
        b.text(ws, r, 6, name).font = Font(color="808080", size=9)
        b.define(name, ws, f"B{r}")
        self.in_row += 1

    def _inputs(self, rows: list[_InRow], *, prefix: str = "") -> None:
        """Input rows `(name, label, value, unit, format, source)`, each name prefixed with `prefix`."""
        for name, label, value, unit, fmt, src in rows:
            self._inp(prefix + name, label, value, unit, fmt, src)

    def _info(self, label: str, value: str, *, source: str = "", as_of: str = "") -> None:
        """A context row: shown with its source, not an input (changing it needs a re-export)."""
        ws, r, b = self.ins, self.in_row, self.book
        b.text(ws, r, 1, label)
        b.style_info(b.text(ws, r, 2, value))
        b.text(ws, r, 4, source)
        b.text(ws, r, 5, as_of)
        self.in_row += 1

    def _in_section(self, text: str) -> None:
        self.in_row += 1
        self.book.section(self.ins, self.in_row, text, width=6)
        self.in_row += 1

    def inputs(self) -> None:
        s, w, b, ws = self.s, self.s.workload, self.book, self.ins
        b.title(
            ws,
            "Inputs: every assumption of the case",
            subtitle="Blue cells on yellow are inputs: change one and every sheet recomputes. "
            "Grey italics are context (changing them needs a re-export).",
        )
        b.header_row(ws, 3, 1, ["Input", "Value", "Unit", "Source / basis", "As of", "Defined name"])
        b.text(ws, 4, 1, "Scenario")
        b.style_info(b.text(ws, 4, 2, s.name))
        self.in_row = 5
        self._in_section("Workload")
        wl, sc = "scenario: workload.", "scenario: "
        # fmt: off
        self._inputs([
            ("requests_per_month", "Requests in month 1", w.requests_per_month, "requests/month", Fmt.INT,
             wl + "requests_per_month"),
            ("input_tokens_per_request", "Input tokens per request (cached part included)",
             w.input_tokens_per_request, "tokens", Fmt.INT, wl + "input_tokens_per_request"),
            ("output_tokens_per_request", "Output tokens per request", w.output_tokens_per_request, "tokens",
             Fmt.INT, wl + "output_tokens_per_request"),
            ("cached_input_share", "Share of input tokens read from the prompt cache", w.cached_input_share,
             "% of input", Fmt.PCT, wl + "cached_input_share"),
            ("batch_share", "Share of traffic sent at batch rates", w.batch_share, "% of requests", Fmt.PCT,
             wl + "batch_share"),
            ("monthly_growth", "Request growth per month", w.monthly_growth_pct / 100, "%/month", Fmt.PCT2,
             wl + "monthly_growth_pct"),
            ("peak_to_average", "Peak hour ÷ mean hour of operation", w.peak_to_average, "×", Fmt.DEC,
             wl + "peak_to_average"),
            ("hours_per_day", "Hours of operation per day", w.hours_per_day, "h/day", Fmt.DEC,
             wl + "hours_per_day"),
            ("days_per_week", "Days of operation per week", w.days_per_week, "days/week", Fmt.DEC,
             wl + "days_per_week"),
        ], prefix="wl_")
        # fmt: on
        why = (
            "sets each replica's output tokens/s (the engine's estimate below, made for these token counts and "
            "targets: it stays as is when they change here; re-export or type a measured figure)"
        )
        self._info("Latency target: time to first token", f"{w.latency.ttft_ms:g} ms", source=why)
        self._info(
            "Latency target: output tokens/s per user", f"{w.latency.output_tokens_per_s_per_user:g}", source=why
        )

        self._in_section("Financial frame")
        self._info("Horizon", f"{s.horizon_months} months", source="one row per month on the Monthly sheet")
        # fmt: off
        self._inputs([
            ("fin_discount_rate", "Discount rate for NPV", s.discount_rate_pct_per_year / 100, "%/year", Fmt.PCT2,
             sc + "discount_rate_pct_per_year"),
            ("fin_api_price_change", "Change of per-token API prices", s.api_price_change_pct_per_year / 100,
             "%/year", Fmt.PCT2, sc + "api_price_change_pct_per_year"),
            ("fin_gpu_price_change", "Change of GPU-hour prices", s.gpu_price_change_pct_per_year / 100, "%/year",
             Fmt.PCT2, sc + "gpu_price_change_pct_per_year"),
            ("fin_usd_fx_rate", f"{s.currency} per US dollar (for display)", s.usd_fx_rate, f"{s.currency}/USD",
             Fmt.DEC4, sc + "usd_fx_rate"),
            ("k_hours_per_month", "Hours in a month", HOURS_PER_MONTH, "h", Fmt.INT,
             "8760 h ÷ 12, the month every hourly price is multiplied by"),
        ])
        # fmt: on
        self._info("Currency of every amount", "USD", source=f"amounts in {s.currency}: USD × the rate above")

        for opt, i in self._enum():
            self._in_section(f"Option {i}: {opt.name}")
            self._info("Kind", opt.kind)
            self._info("Description", self.r.option(opt.name).description)
            sc = f"scenario: options[{i - 1}]."
            if isinstance(opt, ApiOption):
                self._api_inputs(opt, i)
            elif isinstance(opt, CloudGpuOption | OnPremOption):
                self._self_hosted_inputs(opt, i)
            else:
                assert isinstance(opt, HybridOption)
                self._info("Open-model part", opt.open_option, source=f"option {self.idx[opt.open_option]}")
                self._info("API part", opt.api_option, source=f"option {self.idx[opt.api_option]}")
                for k, tc in enumerate(opt.task_classes, start=1):
                    src = f"task_classes[{k - 1}]"
                    # fmt: off
                    self._inputs([
                        (f"tc{k}_share", f"Task class '{tc.name}': share of requests", tc.share, "% of requests",
                         Fmt.PCT, f"{sc}{src}.share"),
                        (f"tc{k}_on_open", f"Task class '{tc.name}': on the open model?", tc.on_open_model,
                         "TRUE/FALSE", Fmt.GENERAL, f"{sc}{src}.on_open_model"),
                    ], prefix=f"o{i}_")
                    # fmt: on
        b.widths(ws, {1: 52, 2: 18, 3: 16, 4: 70, 5: 12, 6: 34})
        ws.freeze_panes = "A4"
        b.print_setup(ws, title_rows="3:3")

    def _api_inputs(self, opt: ApiOption, i: int) -> None:
        facts = _api_facts(opt, self.s)
        self.api_facts[opt.name] = facts
        p = facts.price
        as_of = p.price_date.isoformat() + (f" (price in force since {p.effective_from})" if p.effective_from else "")
        self._info("Provider / model", f"{p.provider_name} · {p.model_name}", source=f"{opt.provider}/{opt.model}")
        rates = [
            ("input_usd_per_mtok", "List price, input tokens", p.input_usd_per_mtok),
            ("cached_input_usd_per_mtok", "List price, cached input tokens", p.cached_input_usd_per_mtok),
            ("output_usd_per_mtok", "List price, output tokens", p.output_usd_per_mtok),
            ("batch_input_usd_per_mtok", "Batch price, input tokens", p.batch_input_usd_per_mtok),
            ("batch_cached_input_usd_per_mtok", "Batch price, cached input tokens", facts.batch_cached_usd_per_mtok),
            ("batch_output_usd_per_mtok", "Batch price, output tokens", p.batch_output_usd_per_mtok),
        ]
        if facts.live:
            for key, label, v in rates:
                self._inp(f"o{i}_{key}", label, v, "USD/1M tokens", Fmt.USD_RATE, p.source, as_of)
        else:
            for _, label, v in rates:
                self._info(label, f"${v}/1M tokens (base tier)", source=p.source, as_of=as_of)
            why = "tiered price (rises with prompt length)" if p.tiered else "not a plain per-token price"
            src = f"{p.source}; {why}: re-export after changing token counts"
            self._inp(
                f"o{i}_std_usd_per_request_in", "Price of one request, standard (genai-prices)",
                facts.std_usd_per_request, "USD/request", Fmt.USD_TINY, src, as_of,
            )  # fmt: skip
            self._inp(
                f"o{i}_batch_usd_per_request_in", "Price of one request, batch (genai-prices)",
                facts.batch_usd_per_request, "USD/request", Fmt.USD_TINY, src, as_of,
            )  # fmt: skip
        self._inp(
            f"o{i}_discount", "Negotiated discount off list price", opt.discount_pct / 100, "%", Fmt.PCT,
            f"scenario: options[{i - 1}].discount_pct",
        )  # fmt: skip

    def _self_hosted_inputs(self, opt: CloudGpuOption | OnPremOption, i: int) -> None:
        rep = self._replica(opt)
        sc = f"scenario: options[{i - 1}]."
        e = rep.estimate
        gpu_as_of = rep.gpu.as_of.isoformat()
        self._info(
            "Model", f"{rep.model.name} ({rep.model.total_params_b:g}B parameters)", source=rep.model.source,
            as_of=rep.model.as_of.isoformat(),
        )  # fmt: skip
        self._info("GPU", f"{rep.gpu.name}, {rep.gpu.memory_gb:g} GB", source=rep.gpu.source, as_of=gpu_as_of)
        self._info("Quantization", rep.quant.name, source=rep.quant.source, as_of=rep.quant.as_of.isoformat())
        basis = (
            "measured by the user (scenario: measured_output_tokens_per_s)"
            if rep.basis.value == "measured"
            else f"{rep.basis.value} by the OpenTCO throughput model at {rep.concurrency} streams "
            f"meeting the latency targets ({e.efficiency.source})"
        )
        per_replica = sc + "gpus_per_replica" if opt.gpus_per_replica else "fewest GPUs the model fits on (engine)"
        # fmt: off
        rows: list[_InRow] = [
            ("replica_output_tok_s", "Output tokens/s one replica serves at the latency targets",
             rep.output_tokens_per_s, "tokens/s", Fmt.DEC, basis),
            ("gpus_per_replica", "GPUs per replica", rep.gpus_per_replica, "GPUs", Fmt.INT, per_replica),
            ("min_replicas", "Replicas kept at least (redundancy floor)", opt.min_replicas, "replicas", Fmt.INT,
             sc + "min_replicas"),
        ]
        if isinstance(opt, CloudGpuOption):
            usd, src, row = resolve_gpu_price(opt, rep.gpu)
            self._inputs(rows, prefix=f"o{i}_")
            self._inp(f"o{i}_usd_per_gpu_hour", "Price per GPU-hour", usd, "USD/GPU-hour", Fmt.USD_RATE, src,
                      row.as_of.isoformat() if row else "")
            rows = [("scale_to_zero", "Scale to zero outside operating hours?", opt.scale_to_zero, "TRUE/FALSE",
                     Fmt.GENERAL, "scale_to_zero")]
        else:
            tdp_src = rep.gpu.source if rep.gpu.tdp_w else "no published TDP: the power at load"
            rows += [
                ("gpus_per_server", "GPUs per server", opt.gpus_per_server, "GPUs", Fmt.INT, sc + "gpus_per_server"),
                ("server_capex_usd", "Purchase price of one server", opt.server_capex_usd, "USD", Fmt.USD0,
                 sc + "server_capex_usd"),
                ("amortisation_years", "Amortisation period", opt.amortisation_years, "years", Fmt.DEC,
                 sc + "amortisation_years"),
                ("gpu_tdp_w", "GPU board power (TDP)", rep.gpu.tdp_w or rep.watts_per_gpu_at_load, "W", Fmt.INT,
                 tdp_src),
                ("gpu_load_w", "GPU power at full load", rep.watts_per_gpu_at_load, "W", Fmt.INT, rep.watts_basis),
                ("gpu_idle_power_share", "Idle GPU power, share of TDP", opt.gpu_idle_power_share, "% of TDP",
                 Fmt.PCT, sc + "gpu_idle_power_share"),
                ("server_overhead_w", "Server power beyond its GPUs", opt.server_overhead_watts, "W", Fmt.INT,
                 sc + "server_overhead_watts"),
                ("pue", "Facility PUE", opt.pue, "×", Fmt.DEC, sc + "pue"),
                ("usd_per_kwh", "Electricity price", opt.usd_per_kwh, "USD/kWh", Fmt.USD_RATE, sc + "usd_per_kwh"),
                ("rack_usd_per_server_month", "Rack / colocation per server", opt.rack_usd_per_server_month,
                 "USD/server/month", Fmt.USD, sc + "rack_usd_per_server_month"),
                ("maintenance_per_year", "Maintenance and spares per year", opt.maintenance_pct_per_year / 100,
                 "% of capex/year", Fmt.PCT, sc + "maintenance_pct_per_year"),
            ]
        c = opt.costs
        rows += [
            ("engineering_fte", "Engineers running it", c.engineering_fte, "FTE", Fmt.DEC,
             sc + "costs.engineering_fte"),
            ("loaded_salary", "Loaded cost of one engineer", c.loaded_salary_usd_per_year, "USD/year", Fmt.USD0,
             sc + "costs.loaded_salary_usd_per_year"),
            ("support_usd_per_month", "Support contract", c.support_usd_per_month, "USD/month", Fmt.USD,
             sc + "costs.support_usd_per_month"),
            ("monitoring_usd_per_month", "Monitoring and observability", c.monitoring_usd_per_month, "USD/month",
             Fmt.USD, sc + "costs.monitoring_usd_per_month"),
            ("fine_tuning_gpu_hours", "Fine-tuning GPU-hours (month 1)", c.fine_tuning_gpu_hours, "GPU-hours",
             Fmt.DEC, sc + "costs.fine_tuning_gpu_hours"),
            ("fine_tuning_usd_per_gpu_hour", "Fine-tuning price per GPU-hour", c.fine_tuning_usd_per_gpu_hour,
             "USD/GPU-hour", Fmt.USD_RATE, sc + "costs.fine_tuning_usd_per_gpu_hour"),
            ("data_prep_days", "Data preparation (month 1)", c.data_prep_days, "person-days", Fmt.DEC,
             sc + "costs.data_prep_days"),
            ("data_prep_usd_per_day", "Cost of a person-day of data preparation", c.data_prep_usd_per_day,
             "USD/day", Fmt.USD, sc + "costs.data_prep_usd_per_day"),
            ("setup_usd", "Migration and setup (month 1)", c.setup_usd, "USD", Fmt.USD0, sc + "costs.setup_usd"),
        ]
        # fmt: on
        self._inputs(rows, prefix=f"o{i}_")

    def _replica(self, opt: CloudGpuOption | OnPremOption) -> ReplicaSpec:
        rep = self.r.option(opt.name).replica
        assert rep is not None, opt.name
        return rep

    # ================================================================== Options (derived, per option)

    def _calc(self, name: str | None, label: str, formula: str, unit: str, fmt: str, note: str = "") -> str:
        ws, r, b = self.opt, self.opt_row, self.book
        b.text(ws, r, 1, label)
        b.value(ws, r, 2, formula, fmt)
        b.text(ws, r, 3, unit)
        b.text(ws, r, 4, note)
        if name:
            b.define(name, ws, f"B{r}")
        self.opt_row += 1
        return f"B{r}"

    def _opt_section(self, text: str) -> None:
        self.opt_row += 1
        self.book.section(self.opt, self.opt_row, text, width=4)
        self.opt_row += 1

    def options(self) -> None:
        b, ws = self.book, self.opt
        b.title(ws, "Options: each option's cost build-up", subtitle="Every value is a formula over the Inputs sheet.")
        b.header_row(ws, 3, 1, ["Item", "Value", "Unit", "How it is computed"])
        self.opt_row = 4
        self._opt_section("Workload and financial frame")
        self._calc(
            "wl_operating_hours",
            "Operating hours per month",
            "=k_hours_per_month*wl_hours_per_day/24*wl_days_per_week/7",
            "h/month",
            Fmt.DEC,
            "hours in a month × hours per day ÷ 24 × days per week ÷ 7",
        )
        self._calc(
            "wl_tokens_per_request",
            "Tokens per request",
            "=wl_input_tokens_per_request+wl_output_tokens_per_request",
            "tokens",
            Fmt.INT,
            "input + output",
        )
        x = "wl_input_tokens_per_request*wl_cached_input_share"
        self._calc(
            "wl_cached_input_tokens",
            "Cached input tokens per request",
            f"=ROUND({x},0)",
            "tokens",
            Fmt.INT,
            "input tokens × cached share, rounded half up (as the engine does)",
        )
        self._calc(
            "fin_monthly_discount_rate",
            "Monthly discount rate",
            "=(1+fin_discount_rate)^(1/12)-1",
            "%/month",
            "0.0000%",
            "(1 + yearly rate)^(1/12) − 1",
        )
        for opt, i in self._enum():
            self._opt_section(f"Option {i}: {opt.name}")
            if isinstance(opt, ApiOption):
                self._api_calc(opt, i)
            elif isinstance(opt, CloudGpuOption | OnPremOption):
                self._self_hosted_calc(opt, i)
            else:
                assert isinstance(opt, HybridOption)
                terms = "+".join(
                    f"o{i}_tc{k}_share*IF(o{i}_tc{k}_on_open,1,0)" for k in range(1, len(opt.task_classes) + 1)
                )
                self._calc(
                    f"o{i}_open_share",
                    "Share of requests on the open model",
                    f"={terms}",
                    "% of requests",
                    Fmt.PCT,
                    "sum of the shares of the task classes routed to the open model",
                )
            self._month1_buildup(opt, i)
        b.widths(ws, {1: 50, 2: 18, 3: 16, 4: 80})
        ws.freeze_panes = "A4"
        b.print_setup(ws, title_rows="3:3")

    def _api_calc(self, opt: ApiOption, i: int) -> None:
        facts = self.api_facts[opt.name]
        u, c, o = "wl_input_tokens_per_request", "wl_cached_input_tokens", "wl_output_tokens_per_request"
        if facts.live:
            self._calc(
                f"o{i}_std_usd_per_request",
                "Price of one request, standard",
                f"=(({u}-{c})*o{i}_input_usd_per_mtok+{c}*o{i}_cached_input_usd_per_mtok"
                f"+{o}*o{i}_output_usd_per_mtok)/1000000",
                "USD/request",
                Fmt.USD_TINY,
                "(uncached input × input price + cached × cached price + output × output price) ÷ 1M",
            )
            self._calc(
                f"o{i}_batch_usd_per_request",
                "Price of one request, batch",
                f"=(({u}-{c})*o{i}_batch_input_usd_per_mtok+{c}*o{i}_batch_cached_input_usd_per_mtok"
                f"+{o}*o{i}_batch_output_usd_per_mtok)/1000000",
                "USD/request",
                Fmt.USD_TINY,
                "the same at batch prices",
            )
        else:
            self._calc(
                f"o{i}_std_usd_per_request",
                "Price of one request, standard",
                f"=o{i}_std_usd_per_request_in",
                "USD/request",
                Fmt.USD_TINY,
                "genai-prices per-request figure (Inputs)",
            )
            self._calc(
                f"o{i}_batch_usd_per_request",
                "Price of one request, batch",
                f"=o{i}_batch_usd_per_request_in",
                "USD/request",
                Fmt.USD_TINY,
                "genai-prices per-request figure (Inputs)",
            )
        self._calc(
            f"o{i}_usd_per_request",
            "Price of one request, batch mix and discount applied",
            f"=((1-wl_batch_share)*o{i}_std_usd_per_request+wl_batch_share*o{i}_batch_usd_per_request)"
            f"*(1-o{i}_discount)",
            "USD/request",
            Fmt.USD_TINY,
            "(standard × (1 − batch share) + batch × batch share) × (1 − discount); × API price trend monthly",
        )
        self._calc(
            None,
            "Effective price per 1M tokens (month 1)",
            f"=o{i}_usd_per_request/wl_tokens_per_request*1000000",
            "USD/1M tokens",
            Fmt.USD_RATE,
            "price per request ÷ tokens per request",
        )

    def _self_hosted_calc(self, opt: CloudGpuOption | OnPremOption, i: int) -> None:
        self._calc(
            f"o{i}_people_usd_per_month",
            "People and running costs per month",
            f"=o{i}_engineering_fte*o{i}_loaded_salary/12+o{i}_support_usd_per_month+o{i}_monitoring_usd_per_month",
            "USD/month",
            Fmt.USD,
            "FTE × loaded salary ÷ 12 + support + monitoring",
        )
        self._calc(
            f"o{i}_one_off_usd",
            "One-off costs (month 1)",
            f"=o{i}_fine_tuning_gpu_hours*o{i}_fine_tuning_usd_per_gpu_hour+o{i}_data_prep_days"
            f"*o{i}_data_prep_usd_per_day+o{i}_setup_usd",
            "USD",
            Fmt.USD,
            "fine-tuning GPU-hours × price + data-prep days × day rate + setup",
        )
        self._calc(
            f"o{i}_step_tokens",
            "Tokens per month one replica carries at peak",
            f"=o{i}_replica_output_tok_s*wl_operating_hours*3600/wl_peak_to_average"
            f"*wl_tokens_per_request/wl_output_tokens_per_request",
            "tokens/month",
            Fmt.INT,
            "replica output tok/s × operating seconds ÷ peak-to-average × tokens per output token",
        )
        self._calc(
            f"o{i}_floor",
            "Replicas in the first step (break-even search)",
            f"=MAX(1,o{i}_min_replicas)",
            "replicas",
            Fmt.INT,
            "the redundancy floor, at least one",
        )
        if isinstance(opt, CloudGpuOption):
            self._calc(
                f"o{i}_paid_hours",
                "GPU-hours paid per GPU per month",
                f"=IF(o{i}_scale_to_zero,wl_operating_hours,k_hours_per_month)",
                "h/month",
                Fmt.DEC,
                "operating hours when scaling to zero, else every hour of the month",
            )
            self._calc(
                f"o{i}_usd_per_replica_month",
                "Cost of one replica per month (month-1 prices)",
                f"=o{i}_gpus_per_replica*o{i}_usd_per_gpu_hour*o{i}_paid_hours",
                "USD/month",
                Fmt.USD,
                "GPUs per replica × GPU-hour price × paid hours",
            )
        else:
            self._calc(
                f"o{i}_life_months",
                "Amortisation period",
                f"=o{i}_amortisation_years*12",
                "months",
                Fmt.DEC,
                "years × 12",
            )
            self._calc(
                f"o{i}_idle_w",
                "Power of an idle GPU",
                f"=o{i}_gpu_tdp_w*o{i}_gpu_idle_power_share",
                "W",
                Fmt.DEC,
                "TDP × idle share",
            )
            self._calc(
                f"o{i}_usd_per_server_month",
                "Fixed cost of one server per month (steady state)",
                f"=(o{i}_gpus_per_server*o{i}_idle_w+o{i}_server_overhead_w)*k_hours_per_month/1000*o{i}_pue"
                f"*o{i}_usd_per_kwh+o{i}_rack_usd_per_server_month+o{i}_server_capex_usd*o{i}_maintenance_per_year"
                f"/12+o{i}_server_capex_usd/o{i}_life_months",
                "USD/month",
                Fmt.USD,
                "idle power of all its GPUs and overhead, rack, maintenance and amortised capex",
            )
            self._calc(
                f"o{i}_usd_per_token_energy",
                "Energy cost per token served (above idle)",
                f"=o{i}_gpus_per_replica*(o{i}_gpu_load_w-o{i}_idle_w)/(3600*o{i}_replica_output_tok_s)/1000"
                f"*o{i}_pue*o{i}_usd_per_kwh*wl_output_tokens_per_request/wl_tokens_per_request",
                "USD/token",
                "0.000E+00",
                "(load − idle) W per output token, × PUE × $/kWh",
            )

    def _month1_buildup(self, opt: Option, i: int) -> None:
        """Month-1 figures of the option, pulled from the Monthly sheet."""
        b = self.book
        names = [
            ("api_usd", "API / per-token charges"),
            ("compute_usd", "Rented GPU-hours"),
            ("capex_usd", "Servers (amortised)"),
            ("power_usd", "Power"),
            ("facility_usd", "Rack, colocation and maintenance"),
            ("people_usd", "People and running costs"),
            ("one_off_usd", "One-off costs"),
            ("total", "Total, month 1"),
        ]
        for key, label in names:
            full = f"o{i}_m_{key}"
            if full in b.names:
                self._calc(None, f"Month 1: {label}", f"=INDEX({full},1)", "USD", Fmt.USD, "from the Monthly sheet")
        self._calc(
            None,
            "Cost per 1M tokens over the horizon",
            f"=o{i}_usd_per_mtok",
            "USD/1M tokens",
            Fmt.USD_RATE,
            "horizon cost ÷ horizon tokens × 1M",
        )

    # ================================================================== Monthly

    def monthly(self) -> None:
        b, ws = self.book, self.mon
        b.title(
            ws,
            "Monthly projection (USD)",
            subtitle="One row per month: volume with growth, price trends and every option's cost, all formulas.",
        )
        self.col = 1
        self._mcol("Month", Fmt.INT, lambda r: r - _FIRST + 1, name="m_month")
        self._mcol(
            "Requests",
            Fmt.INT,
            lambda r: f"=wl_requests_per_month*(1+wl_monthly_growth)^($A{r}-1)",
            name="m_requests",
        )
        self._mcol("Input tokens", Fmt.INT, lambda r: f"=$B{r}*wl_input_tokens_per_request", name="m_input_tokens")
        self._mcol("Output tokens", Fmt.INT, lambda r: f"=$B{r}*wl_output_tokens_per_request", name="m_output_tokens")
        self._mcol("Tokens", Fmt.INT, lambda r: f"=$C{r}+$D{r}", name="m_tokens")
        self._mcol(
            "API price factor",
            "0.0000",
            lambda r: f"=(1+fin_api_price_change)^(($A{r}-1)/12)",
            name="m_api_trend",
        )
        self._mcol(
            "GPU price factor",
            "0.0000",
            lambda r: f"=(1+fin_gpu_price_change)^(($A{r}-1)/12)",
            name="m_gpu_trend",
        )
        self._group_header("Volume and price trends", 1, self.col - 1)
        for opt, i in self._enum():
            start = self.col
            self._option_columns(opt, i)
            self._group_header(f"{i}. {opt.name}", start, self.col - 1)
        for c in range(1, self.col):
            ws.column_dimensions[get_column_letter(c)].width = 8 if c == 1 else 14
        ws.row_dimensions[4].height = 45
        ws.freeze_panes = f"B{_FIRST}"
        b.print_setup(ws, title_rows=f"3:{_FIRST - 1}")

    def _group_header(self, text: str, c1: int, c2: int) -> None:
        ws = self.mon
        cell = self.book.text(ws, 3, c1, text, bold=True)
        cell.alignment = Alignment(horizontal="center")
        if c2 > c1:
            ws.merge_cells(start_row=3, start_column=c1, end_row=3, end_column=c2)

    def _mcol(self, header: str, fmt: str, fn: Callable[[int], object], *, name: str | None = None) -> str:
        ws, b = self.mon, self.book
        col = self.col
        letter = get_column_letter(col)
        b.header_row(ws, 4, col, [header])
        for r in range(_FIRST, self.last + 1):
            b.value(ws, r, col, fn(r), fmt)
        if name:
            b.define(name, ws, f"{letter}{_FIRST}:{letter}{self.last}")
        self.col += 1
        return letter

    def _rng(self, letter: str) -> str:
        return f"${letter}${_FIRST}:${letter}${self.last}"

    def _option_columns(self, opt: Option, i: int) -> None:
        ref = self.refs[opt.name]
        n = f"o{i}_m_"
        if isinstance(opt, ApiOption):
            cost = self._api_part(i, None, n, "")
            ref.total_col = ref.cash_col = cost
            self.book.define(n + "total", self.mon, f"{cost}{_FIRST}:{cost}{self.last}")
        elif isinstance(opt, CloudGpuOption):
            cols = self._cloud_part(i, None, n, "")
            ref.total_col = ref.cash_col = self._mcol(
                "Total",
                Fmt.USD,
                lambda r: f"={cols['compute']}{r}+{cols['people']}{r}+{cols['one_off']}{r}",
                name=n + "total",
            )
        elif isinstance(opt, OnPremOption):
            cols = self._on_prem_part(i, None, n, "")
            ref.total_col = cols["total"]
            ref.cash_col = self._mcol(
                "Cash out",
                Fmt.USD,
                lambda r: f"={cols['total']}{r}-{cols['capex']}{r}+{cols['capex_cash']}{r}",
                name=n + "cash",
            )
        else:
            assert isinstance(opt, HybridOption)
            j, z = self.idx[opt.open_option], self.idx[opt.api_option]
            share = f"o{i}_open_share"
            inner = self.s.option(opt.open_option)
            self._mcol("Requests on the open model", Fmt.INT, lambda r: f"=$B{r}*{share}")
            if isinstance(inner, CloudGpuOption):
                cols = self._cloud_part(j, share, n, "Open: ")
                open_total = self._mcol(
                    "Open: total", Fmt.USD, lambda r: f"={cols['compute']}{r}+{cols['people']}{r}+{cols['one_off']}{r}"
                )
                open_cash = open_total
            elif isinstance(inner, OnPremOption):
                cols = self._on_prem_part(j, share, n, "Open: ")
                open_total = cols["total"]
                open_cash = self._mcol(
                    "Open: cash out",
                    Fmt.USD,
                    lambda r: f"={cols['total']}{r}-{cols['capex']}{r}+{cols['capex_cash']}{r}",
                )
            else:
                assert isinstance(inner, ApiOption)
                open_total = open_cash = self._api_part(j, share, None, "Open: ")
            api = self._api_part(z, f"(1-{share})", n if not isinstance(inner, ApiOption) else None, "API: ")
            if isinstance(inner, ApiOption):
                self._mcol("API charges", Fmt.USD, lambda r: f"={open_total}{r}+{api}{r}", name=n + "api_usd")
            ref.total_col = self._mcol("Total", Fmt.USD, lambda r: f"={open_total}{r}+{api}{r}", name=n + "total")
            ref.cash_col = ref.total_col
            if open_cash != open_total:
                ref.cash_col = self._mcol("Cash out", Fmt.USD, lambda r: f"={open_cash}{r}+{api}{r}", name=n + "cash")
        ref.cum_col = ref.cum_cash_col = self._cumulative("Cumulative", ref.total_col, n + "cum_total")
        if ref.cash_col != ref.total_col:
            ref.cum_cash_col = self._cumulative("Cumulative cash", ref.cash_col, n + "cum_cash")

    def _cumulative(self, header: str, of: str, name: str) -> str:
        me = get_column_letter(self.col)
        return self._mcol(
            header, Fmt.USD0, lambda r: f"={of}{r}" if r == _FIRST else f"={me}{r - 1}+{of}{r}", name=name
        )

    def _api_part(self, p: int, share: str | None, n: str | None, prefix: str) -> str:
        """Per-token charges of option `p`'s prices on `share` of the requests (None: all of them)."""
        vol = f"*{share}" if share else ""
        return self._mcol(
            f"{prefix}API charges",
            Fmt.USD,
            lambda r: f"=$B{r}{vol}*o{p}_usd_per_request*$F{r}",
            name=f"{n}api_usd" if n else None,
        )

    def _replica_columns(self, o: str, vol: str, n: str, prefix: str) -> dict[str, str]:
        """Peak output tokens/s and the replicas it needs (`ReplicaSpec.replicas_for`), for every self-hosted kind."""
        L: dict[str, str] = {}
        L["peak"] = self._mcol(
            f"{prefix}Peak output tok/s", Fmt.DEC, lambda r: f"=$D{r}{vol}/(wl_operating_hours*3600)*wl_peak_to_average"
        )
        L["replicas"] = self._mcol(
            f"{prefix}Replicas",
            Fmt.INT,
            lambda r: f"=MAX({o}min_replicas,ROUNDUP({L['peak']}{r}/{o}replica_output_tok_s-{_SMALL},0))",
            name=n + "replicas",
        )
        return L

    def _people_columns(self, o: str, n: str, prefix: str) -> dict[str, str]:
        """People every month and one-off costs in month 1 (`SelfHostCosts`), for every self-hosted kind."""
        return {
            "people": self._mcol(
                f"{prefix}People", Fmt.USD, lambda r: f"={o}people_usd_per_month", name=n + "people_usd"
            ),
            "one_off": self._mcol(
                f"{prefix}One-off", Fmt.USD, lambda r: f"=IF($A{r}=1,{o}one_off_usd,0)", name=n + "one_off_usd"
            ),
        }

    def _cloud_part(self, p: int, share: str | None, n: str, prefix: str) -> dict[str, str]:
        """`costmodel.tco._cloud_month` for option `p` on `share` of the traffic."""
        vol = f"*{share}" if share else ""
        L: dict[str, str] = {}
        o = f"o{p}_"
        L.update(self._replica_columns(o, vol, n, prefix))
        L["gpus"] = self._mcol(
            f"{prefix}GPUs", Fmt.INT, lambda r: f"={L['replicas']}{r}*{o}gpus_per_replica", name=n + "gpus"
        )
        L["util"] = self._mcol(
            f"{prefix}Utilisation",
            Fmt.PCT,
            lambda r: (
                f"=IF({L['replicas']}{r}=0,0,$D{r}{vol}/({o}paid_hours*3600)"
                f"/({L['replicas']}{r}*{o}replica_output_tok_s))"
            ),
            name=n + "utilisation",
        )
        L["compute"] = self._mcol(
            f"{prefix}GPU-hours",
            Fmt.USD,
            lambda r: f"={L['gpus']}{r}*{o}usd_per_gpu_hour*{o}paid_hours*$G{r}",
            name=n + "compute_usd",
        )
        L.update(self._people_columns(o, n, prefix))
        return L

    def _on_prem_part(self, p: int, share: str | None, n: str, prefix: str) -> dict[str, str]:
        """`costmodel.tco._on_prem_months` for option `p` on `share` of the traffic."""
        vol = f"*{share}" if share else ""
        L: dict[str, str] = {}
        o = f"o{p}_"
        first = _FIRST
        L.update(self._replica_columns(o, vol, n, prefix))
        L["active"] = self._mcol(f"{prefix}Active GPUs", Fmt.INT, lambda r: f"={L['replicas']}{r}*{o}gpus_per_replica")
        L["needed"] = self._mcol(
            f"{prefix}Servers needed", Fmt.INT, lambda r: f"=ROUNDUP({L['active']}{r}/{o}gpus_per_server,0)"
        )
        me = get_column_letter(self.col)  # the column refers to its own previous row
        L["installed"] = self._mcol(
            f"{prefix}Servers installed",
            Fmt.INT,
            lambda r: f"={L['needed']}{r}" if r == first else f"=MAX({me}{r - 1},{L['needed']}{r})",
        )
        L["bought"] = self._mcol(
            f"{prefix}Servers bought",
            Fmt.INT,
            lambda r: f"={L['installed']}{r}" if r == first else f"={L['installed']}{r}-{L['installed']}{r - 1}",
        )
        inst = self._rng(L["installed"])
        L["amortising"] = self._mcol(
            f"{prefix}Servers being amortised",
            Fmt.INT,
            lambda r: f"={L['installed']}{r}-IF($A{r}-{o}life_months>=1,INDEX({inst},INT($A{r}-{o}life_months)),0)",
        )
        L["gpus"] = self._mcol(
            f"{prefix}GPUs installed", Fmt.INT, lambda r: f"={L['installed']}{r}*{o}gpus_per_server", name=n + "gpus"
        )
        L["util"] = self._mcol(
            f"{prefix}Utilisation",
            Fmt.PCT,
            lambda r: (
                f"=IF({L['replicas']}{r}=0,0,$D{r}{vol}/(wl_operating_hours*3600)"
                f"/({L['replicas']}{r}*{o}replica_output_tok_s))"
            ),
            name=n + "utilisation",
        )
        L["busy_w"] = self._mcol(
            f"{prefix}Busy W per active GPU",
            Fmt.DEC,
            lambda r: f"={o}idle_w+({o}gpu_load_w-{o}idle_w)*MIN({L['util']}{r},1)",
        )
        L["capex"] = self._mcol(
            f"{prefix}Servers (amortised)",
            Fmt.USD,
            lambda r: f"={L['amortising']}{r}*{o}server_capex_usd/{o}life_months",
            name=n + "capex_usd",
        )
        L["power"] = self._mcol(
            f"{prefix}Power",
            Fmt.USD,
            lambda r: (
                f"=({L['active']}{r}*({L['busy_w']}{r}*wl_operating_hours+{o}idle_w*(k_hours_per_month"
                f"-wl_operating_hours))+({L['gpus']}{r}-{L['active']}{r})*{o}idle_w*k_hours_per_month"
                f"+{L['installed']}{r}*{o}server_overhead_w*k_hours_per_month)/1000*{o}pue*{o}usd_per_kwh"
            ),
            name=n + "power_usd",
        )
        L["facility"] = self._mcol(
            f"{prefix}Rack and maintenance",
            Fmt.USD,
            lambda r: (
                f"={L['installed']}{r}*{o}rack_usd_per_server_month"
                f"+{L['installed']}{r}*{o}server_capex_usd*{o}maintenance_per_year/12"
            ),
            name=n + "facility_usd",
        )
        L.update(self._people_columns(o, n, prefix))
        L["total"] = self._mcol(
            f"{prefix}Total" if not prefix else f"{prefix}total",
            Fmt.USD,
            lambda r: f"={L['capex']}{r}+{L['power']}{r}+{L['facility']}{r}+{L['people']}{r}+{L['one_off']}{r}",
            name=n + "total" if not prefix else None,
        )
        L["capex_cash"] = self._mcol(
            f"{prefix}Servers paid",
            Fmt.USD,
            lambda r: f"={L['bought']}{r}*{o}server_capex_usd",
            name=n + "capex_cash_usd",
        )
        return L

    # ================================================================== KPIs, break-even and NPV

    def break_even(self) -> None:
        b, ws, mon = self.book, self.be, self.mon
        b.title(
            ws,
            "Break-even, payback and NPV",
            subtitle="Cash view: servers count when paid for. NPV uses Excel's NPV over the monthly cash saving.",
        )
        base = self.refs[self.base_name]
        others = [(o, i) for o, i in self._enum() if o.name != self.base_name]
        row = 4
        b.text(ws, row, 1, "Baseline (savings are measured against it)")
        b.style_info(b.text(ws, row, 2, self.base_name))
        row += 1
        b.text(ws, row, 1, "Monthly discount rate")
        b.value(ws, row, 2, "=fin_monthly_discount_rate", "0.0000%")
        row += 2
        b.section(ws, row, "Payback, break-even month and NPV per option", width=7)
        row += 1
        b.header_row(
            ws,
            row,
            1,
            [
                "Option",
                "NPV of cash saving",
                "Payback month",
                "Break-even month",
                "Saving, month 1",
                "Saving over the horizon",
            ],
        )
        table_row = row + 1
        # the monthly cash-flow table sits below the two summary tables
        cf_top = table_row + len(others) + 4 + self._pairs_count() + 4
        cf_first = cf_top + 3
        cf_last = cf_first + self.h - 1
        b.section(ws, cf_top, "Monthly cash saving against the baseline (the flows NPV discounts)", width=7)
        b.header_row(ws, cf_top + 2, 1, ["Month"])
        for r in range(cf_first, cf_last + 1):
            b.value(ws, r, 1, f"={b.ref(mon, 'A' + str(r - cf_first + _FIRST))}", Fmt.INT)
        col = 2
        for k, (opt, i) in enumerate(others):
            ref = self.refs[opt.name]
            c_sav, _, c_pay, c_be = (get_column_letter(col + d) for d in range(4))
            b.text(ws, cf_top + 1, col, f"{i}. {opt.name}", bold=True)
            ws.merge_cells(start_row=cf_top + 1, start_column=col, end_row=cf_top + 1, end_column=col + 3)
            b.header_row(ws, cf_top + 2, col, ["Cash saving", "Cumulative saving", "Paid back?", "Cheaper?"])
            for r in range(cf_first, cf_last + 1):
                mr = r - cf_first + _FIRST
                m = lambda c, mr=mr: b.ref(mon, f"{c}{mr}")  # noqa: E731
                b.value(ws, r, col, f"={m(base.cash_col)}-{m(ref.cash_col)}", Fmt.USD)
                b.value(ws, r, col + 1, f"={m(base.cum_cash_col)}-{m(ref.cum_cash_col)}", Fmt.USD0)
                b.value(ws, r, col + 2, f'=IF({m(ref.cum_cash_col)}<={m(base.cum_cash_col)},$A{r},"")', Fmt.INT)
                b.value(ws, r, col + 3, f'=IF({m(ref.total_col)}<={m(base.total_col)},$A{r},"")', Fmt.INT)
            rng = {c: f"${c}${cf_first}:${c}${cf_last}" for c in (c_sav, c_pay, c_be)}
            r = table_row + k
            b.text(ws, r, 1, f"{i}. {opt.name}")
            ref.npv = b.define(f"o{i}_npv_saving_usd", ws, f"B{r}")
            b.value(ws, r, 2, f"=NPV(fin_monthly_discount_rate,{rng[c_sav]})", Fmt.USD0)
            ref.payback = b.define(f"o{i}_payback_month", ws, f"C{r}")
            b.value(ws, r, 3, f'=IF(COUNT({rng[c_pay]})=0,"{NEVER}",MIN({rng[c_pay]}))', Fmt.INT)
            ref.break_even_month = b.define(f"o{i}_break_even_month", ws, f"D{r}")
            b.value(ws, r, 4, f'=IF(COUNT({rng[c_be]})=0,"{NEVER}",MIN({rng[c_be]}))', Fmt.INT)
            b.value(ws, r, 5, f"=o{i}_saving_month1_usd", Fmt.USD0)
            b.value(ws, r, 6, f"=o{i}_saving_horizon_usd", Fmt.USD0)
            col += 4
        b.text(
            ws,
            table_row + len(others),
            1,
            "Payback: first month whose cumulative cash cost is at or below the baseline's. Break-even month: first "
            "month whose monthly cost is at or below the baseline's.",
            italic=True,
        )
        self._break_even_volumes(table_row + len(others) + 2)
        b.widths(ws, {1: 44, 2: 18, 3: 16, 4: 16, 5: 16, 6: 18, 7: 18})
        for c in range(8, max(col, 8) + 1):
            ws.column_dimensions[get_column_letter(c)].width = 15
        ws.freeze_panes = "B4"
        # print: the cash-flow table starts a page and repeats its option and column headers on the next ones
        b.print_setup(ws, title_rows=f"{cf_top + 1}:{cf_top + 2}", break_before=cf_top)

    def _pairs(self) -> list[tuple[Option, int, ApiOption, int]]:
        apis = [(o, i) for o, i in self._enum() if type(o) is ApiOption]
        return [
            (o, i, a, k)  # type: ignore[misc]
            for o, i in self._enum()
            if isinstance(o, CloudGpuOption | OnPremOption | HybridOption)
            for a, k in apis
        ]

    def _pairs_count(self) -> int:
        return len(self._pairs())

    def _break_even_volumes(self, top: int) -> None:
        """`costmodel.breakeven.break_even_volume` in closed form (cloud) or over a search table (on-prem).

        Steady state: month-1 prices, no growth, no one-off costs. Below `n` replicas the API costs `a` per
        token; a self-hosted option costs its fixed part (per replica or per server) plus `c` per token. The
        break-even volume is the lowest volume whose replica step already pays for itself.
        """
        b, ws = self.book, self.be
        pairs = self._pairs()
        b.section(
            ws, top, "Break-even volume: tokens per month from which the option costs no more than the API", width=7
        )
        hdr = [
            "Option",
            "Against API",
            "API price per token",
            "Rate the open part must beat",
            "Replicas at break-even",
            "Break-even tokens/month",
            "× month-1 volume",
        ]
        b.header_row(ws, top + 1, 1, hdr)
        if not pairs:
            b.text(ws, top + 2, 1, "No self-hosted option or no API option: nothing to break even with.", italic=True)
        for k, (opt, i, api, a) in enumerate(pairs):
            r = top + 2 + k
            ref = self.refs[opt.name]
            b.text(ws, r, 1, f"{i}. {opt.name}")
            b.text(ws, r, 2, f"{a}. {api.name}")
            b.value(ws, r, 3, f"=o{a}_usd_per_request/wl_tokens_per_request", Fmt.USD_TINY)
            if isinstance(opt, HybridOption):
                j, z, share = self.idx[opt.open_option], self.idx[opt.api_option], f"o{i}_open_share"
                inner = self.s.option(opt.open_option)
                rate = f"=IF({share}=0,0,(C{r}-o{z}_usd_per_request/wl_tokens_per_request*(1-{share}))/{share})"
                scale = f"/{share}"
            else:
                j, inner, scale = i, opt, ""
                rate = f"=C{r}"
            b.value(ws, r, 4, rate, Fmt.USD_TINY)
            o = f"o{j}_"
            if isinstance(inner, CloudGpuOption):
                d = f"({o}step_tokens*D{r}-{o}usd_per_replica_month)"
                n_formula = (
                    f'=IF(OR(C{r}<=0,D{r}<=0),"{NO_BREAK_EVEN}",IF({d}>0,MAX({o}floor,ROUNDUP({o}people_usd_per_month'
                    f'/{d},0)),IF({o}floor*{d}>={o}people_usd_per_month,{o}floor,"{NO_BREAK_EVEN}")))'
                )
                fixed = f"(E{r}*{o}usd_per_replica_month+{o}people_usd_per_month)"
                net = f"D{r}"
            elif isinstance(inner, OnPremOption):
                net = f"(D{r}-{o}usd_per_token_energy)"
                flags = self._search_table(
                    o, b.ref(ws, f"$D${r}"), self._search_rows(opt, api, inner), f"{i}. {opt.name} vs {a}. {api.name}"
                )
                n_formula = f'=IF(OR(C{r}<=0,{net}<=0,COUNT({flags})=0),"{NO_BREAK_EVEN}",MIN({flags}))'
                servers = f"ROUNDUP(E{r}*{o}gpus_per_replica/{o}gpus_per_server,0)"
                fixed = f"({servers}*{o}usd_per_server_month+{o}people_usd_per_month)"
            else:
                b.text(ws, r, 5, "n/a (per-token open part)", italic=True)
                continue
            b.value(ws, r, 5, n_formula, Fmt.INT)
            vol = (
                f'=IF(ISNUMBER(E{r}),IF(E{r}>{_MAX_STEPS},"{NO_BREAK_EVEN}",MAX(IF(E{r}>{o}floor,(E{r}-1)*{o}step_tokens,0),'
                f'{fixed}/{net}){scale}),"{NO_BREAK_EVEN}")'
            )
            b.value(ws, r, 6, vol, Fmt.TOKENS_MONTH)
            ref.break_even_volume[api.name] = b.define(f"o{i}_be_tokens_vs_o{a}", ws, f"F{r}")
            b.value(ws, r, 7, f'=IF(ISNUMBER(F{r}),F{r}/INDEX(m_tokens,1),"")', Fmt.MULT)

    def _search_rows(self, opt: Option, api: ApiOption, inner: OnPremOption) -> int:
        """Rows (server counts) of an on-prem search table: the engine's answer twice over, within 2000 replicas."""
        w = self.s.workload
        rep = self._replica(inner)
        g, gps = rep.gpus_per_replica, inner.gpus_per_server
        floor = max(1, inner.min_replicas)
        step = rep.output_tokens_per_s * float(w.operating_hours_per_month) * 3600 / w.peak_to_average
        step *= w.tokens_per_request / w.output_tokens_per_request
        v = self.r.option(opt.name).break_even_tokens_per_month.get(api.name)
        share = self.s.option(opt.name).open_share if isinstance(opt, HybridOption) else 1.0
        n = math.ceil(float(v) * share / step) if v is not None and step > 0 else floor
        first, answer, cap = (math.ceil(x * g / gps) for x in (floor, max(n, floor), _MAX_STEPS))
        return max(1, min(cap - first + 1, max(16, 2 * (answer - first) + 8)))

    def _search_table(self, o: str, rate: str, rows: int, title: str) -> str:
        """On-prem break-even: one row per server count S, with the first replica count n that pays off.

        Replicas n need S = ⌈n × GPUs per replica ÷ GPUs per server⌉ servers, so cost steps with S, not
        with n, and there is no closed form. Within one server count the cost is fixed, so the first n of
        that block with `(S × cost per server + people) ÷ net rate ≤ n × tokens per replica` pays off; the
        first such n over all S is the answer. Returns the (sheet-qualified) range of those n.
        """
        b = self.book
        if self.search is None:
            self.search = b.sheet(SEARCH_SHEET)
            b.title(
                self.search,
                "Break-even search for owned servers",
                subtitle="One row per server count; the Break-even & NPV sheet takes the smallest replica count "
                "found. A pair reads 'never' if no row pays off (re-export to search further).",
            )
            self.search_col = 1
        ws, col = self.search, self.search_col
        srv, lo, hi, flag = (get_column_letter(col + d) for d in range(4))
        b.text(ws, 4, col, title, bold=True)
        b.text(ws, 5, col, "Rate to beat, net of energy (USD/token)")
        b.value(ws, 5, col + 3, f"={rate}-{o}usd_per_token_energy", Fmt.USD_TINY)
        net = f"${flag}$5"
        b.header_row(ws, 6, col, ["Servers S", "Replicas from", "Replicas to", "First n that pays off"])
        first = 7
        per = f"{o}gpus_per_server/{o}gpus_per_replica"
        for k in range(rows):
            r = first + k
            start = f"=ROUNDUP({o}floor*{o}gpus_per_replica/{o}gpus_per_server,0)" if k == 0 else f"={srv}{r - 1}+1"
            b.value(ws, r, col, start, Fmt.INT)
            b.value(ws, r, col + 1, f"=MAX({o}floor,INT(({srv}{r}-1)*{per})+1)", Fmt.INT)
            b.value(ws, r, col + 2, f"=INT({srv}{r}*{per})", Fmt.INT)
            need = f"ROUNDUP(({srv}{r}*{o}usd_per_server_month+{o}people_usd_per_month)/({net}*{o}step_tokens),0)"
            b.value(ws, r, col + 3, f'=IF(MAX({lo}{r},{need})<={hi}{r},MAX({lo}{r},{need}),"")', Fmt.INT)
        b.widths(ws, {col: 11, col + 1: 11, col + 2: 11, col + 3: 14, col + 4: 3})
        self.search_col += 5
        return b.ref(ws, f"${flag}${first}:${flag}${first + rows - 1}")


def _api_facts(opt: ApiOption, s: Scenario) -> _ApiFacts:
    """List prices, and whether the per-Mtok formula reproduces genai-prices' per-request figures."""
    from costmodel.prices import api_price

    w = s.workload
    cached = w.cached_input_tokens_per_request
    kw = {
        "input_tokens": w.input_tokens_per_request,
        "cached_input_tokens": cached,
        "output_tokens": w.output_tokens_per_request,
        "at": s.price_date,
    }
    std = request_cost_usd(opt.provider, opt.model, **kw)  # type: ignore[arg-type]
    batch = request_cost_usd(opt.provider, opt.model, batch=True, **kw)  # type: ignore[arg-type]
    p = api_price(opt.provider, opt.model, at=s.price_date)
    # ApiPrice has no batch cached-input rate: read it as the price of one million cached batch tokens.
    mtok = 1_000_000
    batch_cached = request_cost_usd(
        opt.provider,
        opt.model,
        input_tokens=mtok,
        cached_input_tokens=mtok,
        output_tokens=0,
        at=s.price_date,
        batch=True,
    )
    i, c, o = Decimal(w.input_tokens_per_request), Decimal(cached), Decimal(w.output_tokens_per_request)
    f_std = ((i - c) * p.input_usd_per_mtok + c * p.cached_input_usd_per_mtok + o * p.output_usd_per_mtok) / mtok
    f_batch = ((i - c) * p.batch_input_usd_per_mtok + c * batch_cached + o * p.batch_output_usd_per_mtok) / mtok
    tol = Decimal("1e-12")
    live = not p.tiered and abs(f_std - std) <= tol and abs(f_batch - batch) <= tol
    return _ApiFacts(p, batch_cached, std, batch, live)


def build_model(book: Book, scenario: Scenario, result: ScenarioResult) -> Model:
    """Write Inputs, Options, Monthly, Break-even & NPV (and its search sheet); say where the results are.

    The Summary sheet (written by the caller) defines the per-option KPI names these sheets refer to:
    `o{i}_month1_usd`, `o{i}_horizon_usd`, `o{i}_usd_per_mtok`, `o{i}_saving_month1_usd`, `o{i}_saving_horizon_usd`.
    """
    bld = _Builder(book, scenario, result)
    bld.inputs()
    bld.monthly()
    bld.break_even()
    bld.options()
    if bld.search is not None:
        bld.search.freeze_panes = "A7"
        book.print_setup(bld.search, title_rows="6:6")
    return Model(
        first_row=_FIRST,
        last_row=bld.last,
        options=list(bld.refs.values()),
        baseline=bld.refs[bld.base_name],
    )
