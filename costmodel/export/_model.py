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
from costmodel.sizing import ReplicaSpec
from costmodel.tco import ScenarioResult
from costmodel.throughput import release_costs_words

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
NO_BREAK_EVEN = "not within"
"""How a break-even volume cell starts when no replica step of its search table pays off ("not within 256
replica steps"): the engine searches up to 2^20 steps, the workbook the rows it holds."""

_MAX_STEPS = 2000  # replica steps a search table holds at most (the engine searches up to 2^20)
_MIN_SEARCH_ROWS = 256
"""Replica steps a search table holds at least, however early the engine's crossings fall (or where it finds
none): an edit typed into the workbook — a price, an amortisation period — moves crossings, and a pair the
engine found never paying off can come into range a hundred steps out."""
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
    negotiated: bool = False
    """True: the user typed per-token prices, which apply to all traffic (batch included)."""


@dataclass
class OptionRefs:
    """Where an option's results live in the workbook (formulas to reference from Summary and charts)."""

    index: int
    name: str
    kind: str
    total_col: str = ""
    """Accounting cost, before tax."""
    cash_col: str = ""
    """Cash out, before tax."""
    cost_col: str = ""
    """Cost in the lens in force, after the tax shield: what KPIs, NPV and payback use."""
    cum_col: str = ""
    cum_cost_col: str = ""
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
            ("fin_lens_cash", "Cash view? (FALSE: accounting view)", s.cost_lens.value == "cash", "TRUE/FALSE",
             Fmt.GENERAL, sc + "cost_lens: cash counts purchases when paid and credits residual value; accounting "
             "amortises"),
            ("fin_tax_rate", "Tax rate for the tax shield", s.tax_rate_pct / 100, "%", Fmt.PCT,
             sc + "tax_rate_pct (0: pre-tax)"),
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
            self._common_inputs(opt, i)
        b.widths(ws, {1: 52, 2: 18, 3: 16, 4: 70, 5: 12, 6: 34})
        ws.freeze_panes = "A4"
        b.print_setup(ws, title_rows="3:3")

    def _api_inputs(self, opt: ApiOption, i: int) -> None:
        facts = _api_facts(opt, self.s)
        self.api_facts[opt.name] = facts
        if facts.negotiated:
            self._negotiated_inputs(opt, i, facts)
            return
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

    def _negotiated_inputs(self, opt: ApiOption, i: int, facts: _ApiFacts) -> None:
        p = facts.price
        self._info("Provider / model", f"{p.provider_name} · {p.model_name}", source=f"{opt.provider}/{opt.model}")
        sc = f"scenario: options[{i - 1}]."
        rates = [
            ("input_usd_per_mtok", "Negotiated price, input tokens", opt.input_usd_per_mtok, p.input_usd_per_mtok),
            ("cached_input_usd_per_mtok", "Negotiated price, cached input tokens", opt.cached_input_usd_per_mtok,
             p.cached_input_usd_per_mtok),
            ("output_usd_per_mtok", "Negotiated price, output tokens", opt.output_usd_per_mtok, p.output_usd_per_mtok),
        ]  # fmt: skip
        for key, label, typed, listed in rates:
            src = sc + key if typed is not None else f"list price (none typed): {p.source}"
            value = typed if typed is not None else listed
            self._inp(f"o{i}_{key}", label, value, "USD/1M tokens", Fmt.USD_RATE, src)
            self.book.define(f"o{i}_batch_{key}", self.ins, f"B{self.in_row - 1}")
        self._inp(
            f"o{i}_discount", "Negotiated discount off these prices", opt.discount_pct / 100, "%", Fmt.PCT,
            sc + "discount_pct",
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
        words = release_costs_words(e.current_release, rep.runtime, e.runtime_family)
        self._info(
            "Serving engine", rep.serving_engine,
            source=f"{sc}runtime; estimated with the {e.runtime_family} family's calibrated factors"
            + (f" and {words} fixed costs per step" if words else ""),
        )  # fmt: skip
        basis = (
            "measured by the user (scenario: measured_output_tokens_per_s)"
            if rep.basis.value == "measured"
            else f"{rep.basis.value} by the OpenTCO throughput model at {rep.concurrency} streams "
            f"meeting the latency targets, ±{rep.error_band_pct:.0f} % from {e.error_band_basis} "
            f"({e.efficiency.source})"
        )
        per_replica = sc + "gpus_per_replica" if opt.gpus_per_replica else "cheapest shape the engine found"
        q = rep.queue
        # fmt: off
        rows: list[_InRow] = [
            ("replica_output_tok_s", "Output tokens/s one replica serves at the latency targets",
             rep.output_tokens_per_s, "tokens/s", Fmt.DEC, basis),
            ("gpus_per_replica", "GPUs per replica", rep.gpus_per_replica, "GPUs", Fmt.INT, per_replica),
            ("min_replicas", "Replicas kept at least (redundancy floor)", opt.min_replicas, "replicas", Fmt.INT,
             sc + "min_replicas"),
            ("spare_replicas", "Spare replicas beyond the peak (N+1)", rep.spare, "replicas", Fmt.INT,
             sc + "n_plus_1"),
            ("target_util", "Target utilisation at the peak hour", opt.target_utilisation, "% of capacity", Fmt.PCT,
             sc + "target_utilisation"),
            ("queue_limit_util", "Highest utilisation meeting p95 TTFT with queueing", q.queue_limit_utilisation,
             "% of capacity", Fmt.PCT,
             f"engine: Erlang C over {rep.concurrency} streams (p95 TTFT {q.p95_ttft_ms:,.0f} ms at plan); re-export "
             "after changing token counts, the replica speed or targets"),
            ("batch_off_peak", "Batch share served off-peak?", opt.batch_off_peak, "TRUE/FALSE", Fmt.GENERAL,
             sc + "batch_off_peak"),
        ]
        if isinstance(opt, CloudGpuOption):
            plan = self.r.option(opt.name).facts.detail
            offer = plan.offer
            self._inputs(rows, prefix=f"o{i}_")
            src = offer.describe()
            self._inp(f"o{i}_usd_per_gpu_hour", "Instance price per GPU-hour", offer.usd_per_gpu_hour,
                      "USD/GPU-hour", Fmt.USD_RATE, src, offer.price_date.isoformat() if offer.price_date else "")
            rows = [
                ("gpus_per_node", f"GPUs per instance ({offer.instance_type})", offer.gpus_per_node, "GPUs", Fmt.INT,
                 "instance shape: whole instances are paid for"),
                ("scale_to_zero", "Scale to zero outside operating hours?", opt.scale_to_zero, "TRUE/FALSE",
                 Fmt.GENERAL, sc + "scale_to_zero"),
            ]
            if plan.commit is not None:
                cp = plan.commit
                rows += [
                    ("commit_nodes", "Committed instances (base load)", cp.nodes, "instances", Fmt.INT,
                     sc + f"commitment.committed_nodes (suggested {cp.suggested_nodes})"),
                    ("commit_usd_per_gpu_hour", "Committed price per GPU-hour", cp.offer.usd_per_gpu_hour,
                     "USD/GPU-hour", Fmt.USD_RATE, cp.offer.describe()),
                    ("commit_term_months", "Commitment term", cp.term_months, "months", Fmt.INT,
                     sc + "commitment.term_years"),
                    ("commit_upfront_share", "Share of a term paid upfront", cp.upfront_share, "%", Fmt.PCT,
                     sc + f"commitment.payment ({cp.payment})"),
                ]
        else:
            tdp_src = rep.gpu.source if rep.gpu.tdp_w else "no published TDP: the power at load"
            rows += [
                ("gpus_per_server", "GPUs per server", opt.gpus_per_server, "GPUs", Fmt.INT, sc + "gpus_per_server"),
                ("server_capex_usd", "Purchase price of one server", opt.server_capex_usd, "USD", Fmt.USD0,
                 sc + "server_capex_usd"),
                ("amortisation_years", "Amortisation period", opt.amortisation_years, "years", Fmt.DEC,
                 sc + "amortisation_years"),
                ("resale_typed", "Resale value typed? (FALSE: book value)", opt.resale_pct_at_horizon is not None,
                 "TRUE/FALSE", Fmt.GENERAL, sc + "resale_pct_at_horizon"),
                ("resale_share", "Resale value at the horizon end", (opt.resale_pct_at_horizon or 0) / 100,
                 "% of purchase price", Fmt.PCT, sc + "resale_pct_at_horizon"),
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
        cs = sc + "costs."
        rows += [
            ("engineering_fte", "Engineers running it", c.engineering_fte, "FTE", Fmt.DEC, cs + "engineering_fte"),
            ("loaded_salary", "Loaded cost of one engineer", c.loaded_salary_usd_per_year, "USD/year", Fmt.USD0,
             cs + "loaded_salary_usd_per_year"),
            ("oncall_fte_per_block", "On-call staff per block of replicas", c.oncall_fte_per_block, "FTE", Fmt.DEC,
             cs + "oncall_fte_per_block"),
            ("replicas_per_oncall_block", "Replicas in one on-call block", c.replicas_per_oncall_block, "replicas",
             Fmt.INT, cs + "replicas_per_oncall_block"),
            ("support_usd_per_month", "Software support contract", c.support_usd_per_month, "USD/month", Fmt.USD,
             cs + "support_usd_per_month"),
            ("monitoring_usd_per_month", "Monitoring and observability", c.monitoring_usd_per_month, "USD/month",
             Fmt.USD, cs + "monitoring_usd_per_month"),
            ("cpu_host_usd_per_replica_month", "CPU host per replica (where the GPU price excludes it)",
             c.cpu_host_usd_per_replica_month, "USD/replica/month", Fmt.USD, cs + "cpu_host_usd_per_replica_month"),
            ("storage_usd_per_month", "Storage", c.storage_usd_per_month, "USD/month", Fmt.USD,
             cs + "storage_usd_per_month"),
            ("network_usd_per_month", "Load balancer and networking", c.network_usd_per_month, "USD/month", Fmt.USD,
             cs + "network_usd_per_month"),
            ("egress_usd_per_gb", "Egress price", c.egress_usd_per_gb, "USD/GB", Fmt.USD_RATE,
             cs + "egress_usd_per_gb"),
            ("egress_bytes_per_output_token", "Bytes sent out per output token", c.egress_bytes_per_output_token,
             "bytes", Fmt.DEC, cs + "egress_bytes_per_output_token (≈4 characters per token, OpenAI help centre)"),
            ("staging_share", "Staging environment, share of the hardware cost", c.staging_share, "%", Fmt.PCT,
             cs + "staging_share"),
            ("interconnect_usd_per_node_month", "Interconnect per node of a multi-node replica",
             c.interconnect_usd_per_node_month, "USD/node/month", Fmt.USD, cs + "interconnect_usd_per_node_month"),
            ("fine_tuning_gpu_hours", "Fine-tuning GPU-hours (month 1)", c.fine_tuning_gpu_hours, "GPU-hours",
             Fmt.DEC, cs + "fine_tuning_gpu_hours"),
            ("fine_tuning_usd_per_gpu_hour", "Fine-tuning price per GPU-hour", c.fine_tuning_usd_per_gpu_hour,
             "USD/GPU-hour", Fmt.USD_RATE, cs + "fine_tuning_usd_per_gpu_hour"),
            ("data_prep_days", "Data preparation (month 1)", c.data_prep_days, "person-days", Fmt.DEC,
             cs + "data_prep_days"),
            ("data_prep_usd_per_day", "Cost of a person-day of data preparation", c.data_prep_usd_per_day,
             "USD/day", Fmt.USD, cs + "data_prep_usd_per_day"),
            ("setup_usd", "Migration and setup (month 1)", c.setup_usd, "USD", Fmt.USD0, cs + "setup_usd"),
        ]
        # fmt: on
        self._inputs(rows, prefix=f"o{i}_")

    def _common_inputs(self, opt: Option, i: int) -> None:
        """Token multipliers and the switch cost, which every option kind has."""
        sc = f"scenario: options[{i - 1}]."
        if isinstance(opt, HybridOption):
            rows: list[_InRow] = []
        else:
            # fmt: off
            rows = [
                ("input_mult", "Input tokens billed per workload input token", opt.input_token_multiplier, "×",
                 Fmt.DEC, sc + "input_token_multiplier"),
                ("output_mult", "Output tokens billed per workload output token", opt.output_token_multiplier, "×",
                 Fmt.DEC, sc + "output_token_multiplier"),
            ]
            # fmt: on
        if opt.name != self.base_name:
            rows.append(
                ("switch_usd", "Evaluation and migration of the switch (month 1)", opt.switch_usd, "USD", Fmt.USD0,
                 sc + "switch_usd")
            )  # fmt: skip
        self._inputs(rows, prefix=f"o{i}_")

    def _switch(self, i: int) -> str:
        return "0" if self.s.options[i - 1].name == self.base_name else f"o{i}_switch_usd"

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

    def _billed_tokens(self, i: int) -> None:
        """Tokens one request bills under option i: the workload's times its multipliers (`api.billed_tokens`)."""
        self._calc(f"o{i}_in_tokens", "Input tokens billed per request",
                   f"=ROUND(wl_input_tokens_per_request*o{i}_input_mult,0)", "tokens", Fmt.INT,
                   "workload input tokens × input multiplier, rounded")  # fmt: skip
        self._calc(f"o{i}_cached_tokens", "Cached input tokens billed per request",
                   f"=ROUND(o{i}_in_tokens*wl_cached_input_share,0)", "tokens", Fmt.INT,
                   "billed input tokens × cached share, rounded")  # fmt: skip
        self._calc(f"o{i}_out_tokens", "Output tokens billed per request",
                   f"=MAX(1,ROUND(wl_output_tokens_per_request*o{i}_output_mult,0))", "tokens", Fmt.INT,
                   "workload output tokens × output multiplier, rounded (at least 1)")  # fmt: skip

    def _api_calc(self, opt: ApiOption, i: int) -> None:
        facts = self.api_facts[opt.name]
        self._billed_tokens(i)
        u, c, o = f"o{i}_in_tokens", f"o{i}_cached_tokens", f"o{i}_out_tokens"
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
        o = f"o{i}_"
        self._billed_tokens(i)
        self._calc(f"{o}out_mult_eff", "Output tokens served per workload output token",
                   f"={o}out_tokens/wl_output_tokens_per_request", "×", "0.0000",
                   "billed output tokens ÷ workload output tokens")  # fmt: skip
        self._calc(f"{o}people_usd_per_month", "People and running costs per month (before on-call)",
                   f"={o}engineering_fte*{o}loaded_salary/12+{o}support_usd_per_month+{o}monitoring_usd_per_month",
                   "USD/month", Fmt.USD, "FTE × loaded salary ÷ 12 + support + monitoring")  # fmt: skip
        self._calc(f"{o}one_off_usd", "One-off costs (month 1)",
                   f"={o}fine_tuning_gpu_hours*{o}fine_tuning_usd_per_gpu_hour+{o}data_prep_days"
                   f"*{o}data_prep_usd_per_day+{o}setup_usd", "USD", Fmt.USD,
                   "fine-tuning GPU-hours × price + data-prep days × day rate + setup")  # fmt: skip
        self._calc(f"{o}planned_util", "Planned utilisation at the peak hour",
                   f"=MIN({o}target_util,{o}queue_limit_util)", "% of capacity", Fmt.PCT,
                   "the lower of the target and the queueing limit")  # fmt: skip
        off = f"IF({o}batch_off_peak,1,0)"
        avail = f"IF({o}scale_to_zero,wl_operating_hours,k_hours_per_month)" if isinstance(
            opt, CloudGpuOption) else "k_hours_per_month"  # fmt: skip
        self._calc(f"{o}avail_hours", "Hours a month replicas run", f"={avail}", "h/month", Fmt.DEC,
                   "operating hours when scaling to zero, else every hour of the month")  # fmt: skip
        self._calc(f"{o}peak_factor", "Peak output tok/s per output token of the month",
                   f"=MAX((1-wl_batch_share*{off})*wl_peak_to_average/(wl_operating_hours*3600),"
                   f"{off}/({o}avail_hours*3600))", "1/s", "0.000E+00",
                   "interactive share × peak-to-average ÷ operating seconds; with batch off-peak, at least the "
                   "month's output spread over the hours replicas run")  # fmt: skip
        self._calc(f"{o}out_per_token", "Output tokens served per workload token",
                   f"=wl_output_tokens_per_request/wl_tokens_per_request*{o}out_mult_eff", "×", "0.0000",
                   "output share of the workload's tokens × output multiplier")  # fmt: skip
        self._calc(f"{o}step_tokens", "Workload tokens per month one more replica carries at peak",
                   f"={o}replica_output_tok_s*{o}planned_util/({o}peak_factor*{o}out_per_token)", "tokens/month",
                   Fmt.INT, "replica tok/s × planned utilisation ÷ (peak factor × output tokens/token)")  # fmt: skip
        self._calc(f"{o}floor", "Replicas kept at least", f"=MAX(0,{o}min_replicas)", "replicas", Fmt.INT,
                   "the redundancy floor")  # fmt: skip
        self._calc(f"{o}egress_usd_per_out_token", "Egress per output token served",
                   f"={o}egress_bytes_per_output_token/1000000000*{o}egress_usd_per_gb", "USD/token", "0.000E+00",
                   "bytes per token ÷ 1e9 × USD/GB")  # fmt: skip
        if isinstance(opt, CloudGpuOption):
            self._calc(f"{o}usd_per_node_hour", "Price of one instance per hour",
                       f"={o}usd_per_gpu_hour*{o}gpus_per_node", "USD/hour", Fmt.USD_RATE,
                       "GPU-hour price × GPUs per instance")  # fmt: skip
            self._calc(f"{o}replicas_per_node", "Replicas one instance holds",
                       f"=INT({o}gpus_per_node/{o}gpus_per_replica)", "replicas", Fmt.INT,
                       "0 when a replica spans several instances")  # fmt: skip
            self._calc(f"{o}nodes_per_replica", "Instances one replica spans",
                       f"=ROUNDUP({o}gpus_per_replica/{o}gpus_per_node,0)", "instances", Fmt.INT,
                       "1 when it fits on one instance")  # fmt: skip
            if self.r.option(opt.name).facts.detail.commit is not None:
                self._calc(f"{o}commit_usd_per_node_hour", "Committed price of one instance per hour",
                           f"={o}commit_usd_per_gpu_hour*{o}gpus_per_node", "USD/hour", Fmt.USD_RATE,
                           "committed GPU-hour price × GPUs per instance")  # fmt: skip
        else:
            self._calc(f"{o}life_months", "Amortisation period", f"={o}amortisation_years*12", "months", Fmt.DEC,
                       "years × 12")  # fmt: skip
            self._calc(f"{o}idle_w", "Power of an idle GPU", f"={o}gpu_tdp_w*{o}gpu_idle_power_share", "W", Fmt.DEC,
                       "TDP × idle share")  # fmt: skip
            self._calc(f"{o}energy_usd_per_out_token", "Energy per output token served (above idle)",
                       f"={o}gpus_per_replica*({o}gpu_load_w-{o}idle_w)/(3600*{o}replica_output_tok_s)/1000"
                       f"*{o}pue*{o}usd_per_kwh", "USD/token", "0.000E+00",
                       "GPUs × (load − idle) W ÷ replica tok/s, in kWh × PUE × $/kWh")  # fmt: skip

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
        switch = self._switch(i)
        if isinstance(opt, ApiOption):
            api = self._api_part(i, None, n, "")
            one = self._mcol("One-off", Fmt.USD, lambda r: f"=IF($A{r}=1,{switch},0)", name=n + "one_off_usd")
            total = cash = self._mcol("Total", Fmt.USD, lambda r: f"={api}{r}+{one}{r}", name=n + "total")
        elif isinstance(opt, CloudGpuOption | OnPremOption):
            cols = self._self_hosted_part(opt, i, None, n, "", switch)
            total, cash = cols["total"], cols["cash"]
        else:
            assert isinstance(opt, HybridOption)
            j, z = self.idx[opt.open_option], self.idx[opt.api_option]
            share = f"o{i}_open_share"
            inner = self.s.option(opt.open_option)
            self._mcol("Requests on the open model", Fmt.INT, lambda r: f"=$B{r}*{share}")
            if isinstance(inner, CloudGpuOption | OnPremOption):
                cols = self._self_hosted_part(inner, j, share, n, "Open: ", switch)
                open_total, open_cash = cols["total"], cols["cash"]
                api = self._api_part(z, f"(1-{share})", n, "API: ")
                total = self._mcol("Total", Fmt.USD, lambda r: f"={open_total}{r}+{api}{r}", name=n + "total")
                cash = total
                if open_cash != open_total:
                    cash = self._mcol("Cash out", Fmt.USD, lambda r: f"={open_cash}{r}+{api}{r}", name=n + "cash")
            else:
                assert isinstance(inner, ApiOption)
                a1 = self._api_part(j, share, None, "Open: ")
                a2 = self._api_part(z, f"(1-{share})", None, "API: ")
                api = self._mcol("API charges", Fmt.USD, lambda r: f"={a1}{r}+{a2}{r}", name=n + "api_usd")
                one = self._mcol("One-off", Fmt.USD, lambda r: f"=IF($A{r}=1,{switch},0)", name=n + "one_off_usd")
                total = cash = self._mcol("Total", Fmt.USD, lambda r: f"={api}{r}+{one}{r}", name=n + "total")
        ref.total_col, ref.cash_col = total, cash
        ref.cost_col = self._mcol(
            "Cost (lens in force)",
            Fmt.USD,
            lambda r: f"=IF(fin_lens_cash,{cash}{r}-fin_tax_rate*{total}{r},{total}{r}*(1-fin_tax_rate))",
            name=n + "cost",
        )
        ref.cum_col = ref.cum_cost_col = self._cumulative("Cumulative cost", ref.cost_col, n + "cum_cost")

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

    def _self_hosted_part(
        self, opt: CloudGpuOption | OnPremOption, p: int, share: str | None, n: str, prefix: str, switch: str
    ) -> dict[str, str]:
        """`costmodel.options.cloud_gpu` / `on_prem` month lines for option `p` on `share` of the traffic."""
        vol = f"*{share}" if share else ""
        o = f"o{p}_"
        L: dict[str, str] = {}
        L["out"] = self._mcol(f"{prefix}Output tokens served", Fmt.INT, lambda r: f"=$D{r}{vol}*{o}out_mult_eff")
        L["peak"] = self._mcol(f"{prefix}Peak output tok/s", Fmt.DEC, lambda r: f"={L['out']}{r}*{o}peak_factor")
        need = f"ROUNDUP({{peak}}/({o}replica_output_tok_s*{o}planned_util)-{_SMALL},0)"
        L["replicas"] = self._mcol(
            f"{prefix}Replicas",
            Fmt.INT,
            lambda r: (
                f"=MAX({o}floor,IF({need.format(peak=L['peak'] + str(r))}>0,"
                f"{need.format(peak=L['peak'] + str(r))}+{o}spare_replicas,{o}spare_replicas))"
            ),
            name=n + "replicas",
        )
        if isinstance(opt, CloudGpuOption):
            L.update(self._cloud_lines(opt, o, n, prefix, L))
        else:
            L.update(self._on_prem_lines(opt, o, n, prefix, L))
        rep = L["replicas"]
        L["people"] = self._mcol(
            f"{prefix}People",
            Fmt.USD,
            lambda r: (
                f"={o}people_usd_per_month+ROUNDUP({rep}{r}/{o}replicas_per_oncall_block,0)"
                f"*{o}oncall_fte_per_block*{o}loaded_salary/12"
            ),
            name=n + "people_usd",
        )
        L["one_off"] = self._mcol(
            f"{prefix}One-off", Fmt.USD, lambda r: f"=IF($A{r}=1,{o}one_off_usd+{switch},0)", name=n + "one_off_usd"
        )
        parts = [L[k] for k in ("compute", "capex", "power", "facility", "infra", "people", "one_off") if k in L]
        L["total"] = self._mcol(
            f"{prefix}Total" if not prefix else f"{prefix}total",
            Fmt.USD,
            lambda r: "=" + "+".join(f"{c}{r}" for c in parts),
            name=n + "total" if not prefix else None,
        )
        adjust = ""
        if "prepaid_am" in L:
            adjust = f"-{L['prepaid_am']}{{r}}+{L['prepaid_cash']}{{r}}"
        if "capex" in L:
            adjust = f"-{L['capex']}{{r}}+{L['capex_cash']}{{r}}-{L['residual']}{{r}}"
        if adjust:
            L["cash"] = self._mcol(
                f"{prefix}Cash out",
                Fmt.USD,
                lambda r: f"={L['total']}{r}" + adjust.format(r=r),
                name=n + "cash" if not prefix else None,
            )
        else:
            L["cash"] = L["total"]
        return L

    def _cloud_lines(self, opt: CloudGpuOption, o: str, n: str, prefix: str, L: dict[str, str]) -> dict[str, str]:
        rep = L["replicas"]
        out: dict[str, str] = {}
        out["nodes"] = self._mcol(
            f"{prefix}Instances needed",
            Fmt.INT,
            lambda r: (
                f"=IF({o}replicas_per_node>=1,ROUNDUP({rep}{r}/{o}replicas_per_node,0),{rep}{r}*{o}nodes_per_replica)"
            ),
        )
        nodes = out["nodes"]
        if self.r.option(opt.name).facts.detail.commit is not None:
            start = self._mcol(
                f"{prefix}Term starts in month",
                Fmt.INT,
                lambda r: f"=INT(($A{r}-1)/{o}commit_term_months)*{o}commit_term_months+1",
            )
            committed = self._mcol(
                f"{prefix}Committed instances",
                Fmt.USD,
                lambda r: (
                    f"={o}commit_nodes*{o}commit_usd_per_node_hour*k_hours_per_month"
                    f"*(1+fin_gpu_price_change)^(({start}{r}-1)/12)"
                ),
            )
            burst = self._mcol(
                f"{prefix}Burst on-demand",
                Fmt.USD,
                lambda r: f"=MAX(0,{nodes}{r}-{o}commit_nodes)*{o}usd_per_node_hour*{o}avail_hours*$G{r}",
            )
            out["compute"] = self._mcol(
                f"{prefix}GPU instances", Fmt.USD, lambda r: f"={committed}{r}+{burst}{r}", name=n + "compute_usd"
            )
            out["prepaid_am"] = self._mcol(
                f"{prefix}Prepaid part (spread)",
                Fmt.USD,
                lambda r: f"={committed}{r}*{o}commit_upfront_share",
                name=n + "prepaid_amortised_usd",
            )
            out["prepaid_cash"] = self._mcol(
                f"{prefix}Paid upfront",
                Fmt.USD,
                lambda r: f"=IF($A{r}={start}{r},{committed}{r}*{o}commit_upfront_share*{o}commit_term_months,0)",
                name=n + "prepaid_cash_usd",
            )
            paid = self._mcol(f"{prefix}Instances paid", Fmt.INT, lambda r: f"=MAX({nodes}{r},{o}commit_nodes)")
        else:
            out["compute"] = self._mcol(
                f"{prefix}GPU instances",
                Fmt.USD,
                lambda r: f"={nodes}{r}*{o}usd_per_node_hour*{o}avail_hours*$G{r}",
                name=n + "compute_usd",
            )
            paid = nodes
        out["gpus"] = self._mcol(
            f"{prefix}GPUs paid", Fmt.INT, lambda r: f"={paid}{r}*{o}gpus_per_node", name=n + "gpus"
        )
        out["util"] = self._mcol(
            f"{prefix}Utilisation",
            Fmt.PCT,
            lambda r: f"=IF({rep}{r}=0,0,{L['out']}{r}/({o}avail_hours*3600)/({rep}{r}*{o}replica_output_tok_s))",
            name=n + "utilisation",
        )
        comp = out["compute"]
        out["infra"] = self._mcol(
            f"{prefix}Infrastructure",
            Fmt.USD,
            lambda r: (
                f"={rep}{r}*{o}cpu_host_usd_per_replica_month+{o}storage_usd_per_month+{o}network_usd_per_month"
                f"+{L['out']}{r}*{o}egress_usd_per_out_token+{o}staging_share*{comp}{r}"
                f"+{rep}{r}*IF({o}nodes_per_replica>1,{o}nodes_per_replica,0)*{o}interconnect_usd_per_node_month"
            ),
            name=n + "infra_usd",
        )
        return out

    def _on_prem_lines(self, opt: OnPremOption, o: str, n: str, prefix: str, L: dict[str, str]) -> dict[str, str]:
        rep = L["replicas"]
        out: dict[str, str] = {}
        first = _FIRST
        out["active"] = self._mcol(f"{prefix}Active GPUs", Fmt.INT, lambda r: f"={rep}{r}*{o}gpus_per_replica")
        out["needed"] = self._mcol(
            f"{prefix}Servers needed",
            Fmt.INT,
            lambda r: (
                f"=IF({o}gpus_per_replica<={o}gpus_per_server,ROUNDUP({out['active']}{r}/{o}gpus_per_server,0),"
                f"{rep}{r}*ROUNDUP({o}gpus_per_replica/{o}gpus_per_server,0))"
            ),
        )
        me = get_column_letter(self.col)  # the column refers to its own previous row
        out["installed"] = self._mcol(
            f"{prefix}Servers installed",
            Fmt.INT,
            lambda r: f"={out['needed']}{r}" if r == first else f"=MAX({me}{r - 1},{out['needed']}{r})",
        )
        inst_col = out["installed"]
        out["bought"] = self._mcol(
            f"{prefix}Servers bought",
            Fmt.INT,
            lambda r: f"={inst_col}{r}" if r == first else f"={inst_col}{r}-{inst_col}{r - 1}",
        )
        inst = self._rng(inst_col)
        out["amortising"] = self._mcol(
            f"{prefix}Servers being amortised",
            Fmt.INT,
            lambda r: f"={inst_col}{r}-IF($A{r}-{o}life_months>=1,INDEX({inst},INT($A{r}-{o}life_months)),0)",
        )
        out["gpus"] = self._mcol(
            f"{prefix}GPUs installed", Fmt.INT, lambda r: f"={inst_col}{r}*{o}gpus_per_server", name=n + "gpus"
        )
        out["util"] = self._mcol(
            f"{prefix}Utilisation",
            Fmt.PCT,
            lambda r: f"=IF({rep}{r}=0,0,{L['out']}{r}/(wl_operating_hours*3600)/({rep}{r}*{o}replica_output_tok_s))",
            name=n + "utilisation",
        )
        out["busy_w"] = self._mcol(
            f"{prefix}Busy W per active GPU",
            Fmt.DEC,
            lambda r: f"={o}idle_w+({o}gpu_load_w-{o}idle_w)*MIN({out['util']}{r},1)",
        )
        out["capex"] = self._mcol(
            f"{prefix}Servers (amortised)",
            Fmt.USD,
            lambda r: f"={out['amortising']}{r}*{o}server_capex_usd/{o}life_months",
            name=n + "capex_usd",
        )
        out["power"] = self._mcol(
            f"{prefix}Power",
            Fmt.USD,
            lambda r: (
                f"=({out['active']}{r}*({out['busy_w']}{r}*wl_operating_hours+{o}idle_w*(k_hours_per_month"
                f"-wl_operating_hours))+({out['gpus']}{r}-{out['active']}{r})*{o}idle_w*k_hours_per_month"
                f"+{inst_col}{r}*{o}server_overhead_w*k_hours_per_month)/1000*{o}pue*{o}usd_per_kwh"
            ),
            name=n + "power_usd",
        )
        out["facility"] = self._mcol(
            f"{prefix}Rack and maintenance",
            Fmt.USD,
            lambda r: (
                f"={inst_col}{r}*{o}rack_usd_per_server_month"
                f"+{inst_col}{r}*{o}server_capex_usd*{o}maintenance_per_year/12"
            ),
            name=n + "facility_usd",
        )
        hw = f"({out['capex']}{{r}}+{out['power']}{{r}}+{out['facility']}{{r}})"
        out["infra"] = self._mcol(
            f"{prefix}Infrastructure",
            Fmt.USD,
            lambda r: (
                f"={rep}{r}*{o}cpu_host_usd_per_replica_month+{o}storage_usd_per_month+{o}network_usd_per_month"
                f"+{L['out']}{r}*{o}egress_usd_per_out_token+{o}staging_share*{hw.format(r=r)}"
                f"+IF({o}gpus_per_replica>{o}gpus_per_server,{rep}{r}*ROUNDUP({o}gpus_per_replica/{o}gpus_per_server,0),0)"
                f"*{o}interconnect_usd_per_node_month"
            ),
            name=n + "infra_usd",
        )
        out["capex_cash"] = self._mcol(
            f"{prefix}Servers paid",
            Fmt.USD,
            lambda r: f"={out['bought']}{r}*{o}server_capex_usd",
            name=n + "capex_cash_usd",
        )
        h = self.h
        book = self._mcol(
            f"{prefix}Book value left at the horizon end",
            Fmt.USD,
            lambda r: (
                f"={out['bought']}{r}*{o}server_capex_usd*MAX(0,1-MIN({o}life_months,{h}-$A{r}+1)/{o}life_months)"
            ),
        )
        books = self._rng(book)
        out["residual"] = self._mcol(
            f"{prefix}Residual value credited",
            Fmt.USD,
            lambda r: (
                f"=IF($A{r}={h},IF({o}resale_typed,{inst_col}{r}*{o}server_capex_usd*{o}resale_share,SUM({books})),0)"
            ),
            name=n + "residual_cash_usd",
        )
        return out

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
                b.value(ws, r, col, f"={m(base.cost_col)}-{m(ref.cost_col)}", Fmt.USD)
                b.value(ws, r, col + 1, f"={m(base.cum_cost_col)}-{m(ref.cum_cost_col)}", Fmt.USD0)
                b.value(ws, r, col + 2, f'=IF({m(ref.cum_cost_col)}<={m(base.cum_cost_col)},$A{r},"")', Fmt.INT)
                b.value(ws, r, col + 3, f'=IF({m(ref.cost_col)}<={m(base.cost_col)},$A{r},"")', Fmt.INT)
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
        """`costmodel.breakeven.break_even_volume` over a search table per (option, API) pair.

        Steady state: month-1 prices, no growth, no one-off costs, accounting view, the shape and instance
        the engine chose. Needing k replicas covers volumes ((k − 1)·step, k·step]; there the option costs a
        fixed F(k) plus `c` per token and the API `a` per token, so the first row whose crossing
        F(k) ÷ (a − c) falls inside its range gives the break-even volume.
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
            "Replica steps searched",
            "Break-even tokens/month",
            "× month-1 volume",
        ]
        b.header_row(ws, top + 1, 1, hdr)
        if not pairs:
            b.text(ws, top + 2, 1, "No self-hosted option or no API option: nothing to break even with.", italic=True)
        searched: dict[str, list[tuple[int, str, str]]] = {}  # inner option prefix → (pair row, rate, title)
        inners: dict[str, CloudGpuOption | OnPremOption] = {}
        rows_for: dict[str, int] = {}
        for k, (opt, i, api, a) in enumerate(pairs):
            r = top + 2 + k
            b.text(ws, r, 1, f"{i}. {opt.name}")
            b.text(ws, r, 2, f"{a}. {api.name}")
            b.value(ws, r, 3, f"=o{a}_usd_per_request/wl_tokens_per_request", Fmt.USD_TINY)
            if isinstance(opt, HybridOption):
                j, z, share = self.idx[opt.open_option], self.idx[opt.api_option], f"o{i}_open_share"
                inner = self.s.option(opt.open_option)
                rate = f"=IF({share}=0,0,(C{r}-o{z}_usd_per_request/wl_tokens_per_request*(1-{share}))/{share})"
            else:
                j, inner = i, opt
                rate = f"=C{r}"
            b.value(ws, r, 4, rate, Fmt.USD_TINY)
            if not isinstance(inner, CloudGpuOption | OnPremOption):
                b.text(ws, r, 5, "n/a (per-token open part)", italic=True)
                continue
            o = f"o{j}_"
            inners[o] = inner
            rows_for[o] = max(rows_for.get(o, 0), self._search_rows(opt, api, inner))
            searched.setdefault(o, []).append((r, b.ref(ws, f"$D${r}"), f"vs {a}. {api.name}" + (
                f" (as part of {i}. {opt.name})" if isinstance(opt, HybridOption) else "")))  # fmt: skip
        ranges: dict[int, str] = {}
        for o, users in searched.items():
            ranges.update(self._search_table(inners[o], o, rows_for[o], users))
        for k, (opt, i, api, a) in enumerate(pairs):
            r = top + 2 + k
            if r not in ranges:
                continue
            ref = self.refs[opt.name]
            scale = f"/o{i}_open_share" if isinstance(opt, HybridOption) else ""
            b.value(ws, r, 5, rows_for[next(o for o, u in searched.items() if any(x[0] == r for x in u))], Fmt.INT)
            # A table holds the steps the engine's answer needed at export (twice over); an input typed later
            # can move the crossing past its last row, so an empty table says how far it looked, not "never".
            vol = f'=IF(COUNT({ranges[r]})=0,"{NO_BREAK_EVEN} "&E{r}&" replica steps",MIN({ranges[r]}){scale})'
            b.value(ws, r, 6, vol, Fmt.TOKENS_MONTH)
            ref.break_even_volume[api.name] = b.define(f"o{i}_be_tokens_vs_o{a}", ws, f"F{r}")
            b.value(ws, r, 7, f'=IF(ISNUMBER(F{r}),F{r}/INDEX(m_tokens,1),"")', Fmt.MULT)

    def _search_rows(self, opt: Option, api: ApiOption, inner: CloudGpuOption | OnPremOption) -> int:
        """Rows (replica steps) of a search table: the engine's answer twice over, within _MAX_STEPS."""
        rep = self._replica(inner)
        step = _step_tokens(self.s, inner, rep)
        v = self.r.option(opt.name).break_even_tokens_per_month.get(api.name)
        share = self.s.option(opt.name).open_share if isinstance(opt, HybridOption) else 1.0
        k = math.ceil(float(v) * share / step) if v is not None and step > 0 else 1
        return max(_MIN_SEARCH_ROWS, min(_MAX_STEPS, 4 * k + 16))

    def _search_table(
        self, opt: CloudGpuOption | OnPremOption, o: str, rows: int, users: list[tuple[int, str, str]]
    ) -> dict[int, str]:
        """One table per self-hosted option: a row per replica step k with its steady fixed cost F(k), and
        one column per API it is compared with, holding the volume where that step pays off (blank if not).

        Returns, per pair row of the Break-even & NPV sheet, the sheet-qualified range of its column.
        """
        b = self.book
        if self.search is None:
            self.search = b.sheet(SEARCH_SHEET)
            b.title(
                self.search,
                "Break-even search",
                subtitle="One row per replica step; the Break-even & NPV sheet takes the first volume found. A pair "
                "reads 'never' if no row pays off (re-export to search further).",
            )
            self.search_col = 1
        ws, col = self.search, self.search_col
        c_k, c_n, c_lo, c_hi, c_fixed = (get_column_letter(col + d) for d in range(5))
        b.text(ws, 4, col, f"{self.s.options[int(o[1:-1]) - 1].name}", bold=True)
        b.text(ws, 5, col, "Rate to beat, net of per-token costs (USD/token)")
        per_token = f"{o}out_per_token*{o}egress_usd_per_out_token"
        if isinstance(opt, OnPremOption):
            energy = f"{o}energy_usd_per_out_token*(1+{o}staging_share)"
            per_token = f"{o}out_per_token*({o}egress_usd_per_out_token+{energy})"
        first = 7
        b.header_row(ws, 6, col, ["Step k", "Replicas", "Volume from", "Volume to", "Fixed cost/month"])
        for k in range(rows):
            r = first + k
            b.value(ws, r, col, 1 if k == 0 else f"={c_k}{r - 1}+1", Fmt.INT)
            b.value(ws, r, col + 1, f"=MAX({o}floor,{c_k}{r}+{o}spare_replicas)", Fmt.INT)
            b.value(ws, r, col + 2, f"=({c_k}{r}-1)*{o}step_tokens", Fmt.TOKENS_MONTH)
            b.value(ws, r, col + 3, f"={c_k}{r}*{o}step_tokens", Fmt.TOKENS_MONTH)
            b.value(ws, r, col + 4, self._fixed_cost(opt, o, f"{c_n}{r}"), Fmt.USD)
        out: dict[int, str] = {}
        for n, (pair_row, rate, title) in enumerate(users):
            c = col + 5 + n
            c_vol = get_column_letter(c)
            b.value(ws, 5, c, f"={rate}-{per_token}", Fmt.USD_TINY)
            net = f"${c_vol}$5"
            b.header_row(ws, 6, c, [f"Pays off at, {title}"])
            for k in range(rows):
                r = first + k
                crossing = f"{c_fixed}{r}/{net}"
                b.value(
                    ws,
                    r,
                    c,
                    f'=IF({net}<=0,"",IF(MAX({c_lo}{r},{crossing})<={c_hi}{r},MAX({c_lo}{r},{crossing}),""))',
                    Fmt.TOKENS_MONTH,
                )
            out[pair_row] = b.ref(ws, f"${c_vol}${first}:${c_vol}${first + rows - 1}")
        widths = {col: 8, col + 1: 9, col + 2: 15, col + 3: 15, col + 4: 14}
        widths.update({col + 5 + n: 16 for n in range(len(users))})
        widths[col + 5 + len(users)] = 3
        b.widths(ws, widths)
        self.search_col += 6 + len(users)
        return out

    def _fixed_cost(self, opt: CloudGpuOption | OnPremOption, o: str, n: str) -> str:
        """Steady monthly cost of `n` replicas that does not vary with volume (month-1 prices)."""
        oncall = f"ROUNDUP({n}/{o}replicas_per_oncall_block,0)*{o}oncall_fte_per_block*{o}loaded_salary/12"
        people = f"{o}people_usd_per_month+{oncall}"
        fixed_infra = f"{n}*{o}cpu_host_usd_per_replica_month+{o}storage_usd_per_month+{o}network_usd_per_month"
        if isinstance(opt, CloudGpuOption):
            nodes = f"IF({o}replicas_per_node>=1,ROUNDUP({n}/{o}replicas_per_node,0),{n}*{o}nodes_per_replica)"
            if self.r.option(opt.name).facts.detail.commit is not None:
                compute = (
                    f"({o}commit_nodes*{o}commit_usd_per_node_hour*k_hours_per_month"
                    f"+MAX(0,{nodes}-{o}commit_nodes)*{o}usd_per_node_hour*{o}avail_hours)"
                )
            else:
                compute = f"({nodes}*{o}usd_per_node_hour*{o}avail_hours)"
            ic = f"{n}*IF({o}nodes_per_replica>1,{o}nodes_per_replica,0)*{o}interconnect_usd_per_node_month"
            return f"={compute}*(1+{o}staging_share)+{fixed_infra}+{ic}+{people}"
        servers = (
            f"IF({o}gpus_per_replica<={o}gpus_per_server,ROUNDUP({n}*{o}gpus_per_replica/{o}gpus_per_server,0),"
            f"{n}*ROUNDUP({o}gpus_per_replica/{o}gpus_per_server,0))"
        )
        hw = (
            f"({servers}*({o}server_capex_usd/{o}life_months+{o}rack_usd_per_server_month"
            f"+{o}server_capex_usd*{o}maintenance_per_year/12)"
            f"+({servers}*{o}gpus_per_server*{o}idle_w+{servers}*{o}server_overhead_w)*k_hours_per_month/1000"
            f"*{o}pue*{o}usd_per_kwh)"
        )
        ic = (
            f"IF({o}gpus_per_replica>{o}gpus_per_server,{n}*ROUNDUP({o}gpus_per_replica/{o}gpus_per_server,0),0)"
            f"*{o}interconnect_usd_per_node_month"
        )
        return f"={hw}*(1+{o}staging_share)+{fixed_infra}+{ic}+{people}"


def _step_tokens(s: Scenario, opt: CloudGpuOption | OnPremOption, rep: ReplicaSpec) -> float:
    """The workbook's `o{i}_step_tokens`, for sizing search tables at export."""
    from costmodel.options._self_hosted import available_hours

    w = s.workload
    off = 1.0 if opt.batch_off_peak else 0.0
    peak_factor = max(
        (1 - w.batch_share * off) * w.peak_to_average / (float(w.operating_hours_per_month) * 3600),
        off / (float(available_hours(opt, w)) * 3600),
    )
    out_mult = rep.estimate.output_tokens / w.output_tokens_per_request
    out_per_token = w.output_tokens_per_request / w.tokens_per_request * out_mult
    return rep.output_tokens_per_s * rep.queue.utilisation / (peak_factor * out_per_token)


def _api_facts(opt: ApiOption, s: Scenario) -> _ApiFacts:
    """List prices, and whether the per-Mtok formula reproduces genai-prices' per-request figures."""
    from costmodel.options.api import billed_tokens
    from costmodel.prices import api_price

    inp, cached, out = billed_tokens(opt, s)
    kw = {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out, "at": s.price_date}
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
    i, c, o = Decimal(inp), Decimal(cached), Decimal(out)
    f_std = ((i - c) * p.input_usd_per_mtok + c * p.cached_input_usd_per_mtok + o * p.output_usd_per_mtok) / mtok
    f_batch = ((i - c) * p.batch_input_usd_per_mtok + c * batch_cached + o * p.batch_output_usd_per_mtok) / mtok
    tol = Decimal("1e-12")
    negotiated = any(
        x is not None for x in (opt.input_usd_per_mtok, opt.cached_input_usd_per_mtok, opt.output_usd_per_mtok)
    )
    live = negotiated or (not p.tiered and abs(f_std - std) <= tol and abs(f_batch - batch) <= tol)
    return _ApiFacts(p, batch_cached, std, batch, live, negotiated)


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
