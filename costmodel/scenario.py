"""The scenario: one workload, any number of ways to run it, and the financial frame around them.

A scenario is the single object that the dashboard, the Excel export and the CLI all evaluate, so the
three agree to the cent. It round-trips through JSON exactly (`Scenario.model_validate_json(s.model_dump_json())`).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator

from costmodel._base import Fraction, Percent, PosFloat, StrictModel, Usd, UsdRate
from costmodel.errors import ScenarioError, render_validation_error
from costmodel.quality import OptionQuality, QualityFloor

__all__ = [
    "ApiOption",
    "CloudGpuOption",
    "Commitment",
    "CostLens",
    "DecisionRules",
    "HybridOption",
    "LatencyTargets",
    "ManagedEndpointOption",
    "OnPremOption",
    "Option",
    "PricePlan",
    "Scenario",
    "SelfHostCosts",
    "TaskClass",
    "Uncertainty",
    "Workload",
    "load_scenario",
]

HOURS_PER_MONTH = Decimal(730)
"""8760 h / 12: the month every hourly price is multiplied by (the convention cloud calculators use)."""

Name = Annotated[str, Field(min_length=1, max_length=120)]


class PricePlan(StrEnum):
    """How rented GPU hours are bought."""

    ON_DEMAND = "on_demand"
    SPOT = "spot"
    COMMIT_1YR = "commit_1yr"
    COMMIT_3YR = "commit_3yr"


class LatencyTargets(StrictModel):
    """What 'fast enough' means for one user: replicas are sized so each stream still meets these."""

    ttft_ms: PosFloat = 2000.0
    """Time to first token a user tolerates, in milliseconds (prefill + queueing)."""
    output_tokens_per_s_per_user: PosFloat = 20.0
    """Streaming speed each user must see, output tokens per second (≈ reading speed is 5–10)."""


class CostLens(StrEnum):
    """Which money view ranks options: cash out of the door, or the accountant's expense."""

    CASH = "cash"
    """Purchases count when paid, owned hardware's residual value is credited at the horizon end."""
    ACCOUNTING = "accounting"
    """Purchases are amortised over their life; what is not yet expensed at the horizon end is not a cost."""


class DecisionRules(StrictModel):
    """When a saving is big enough and likely enough to recommend switching."""

    min_saving_pct: Annotated[float, Field(ge=0, le=100)] = 10.0
    """Smallest saving worth a switch, percent of the baseline's horizon cost."""
    min_saving_usd_per_month: Usd = Decimal(1000)
    """Smallest saving worth a switch, USD per month on average over the horizon."""
    min_probability: Fraction = 0.8
    """Smallest chance (from the Monte Carlo) that the saving is above zero."""


class Uncertainty(StrictModel):
    """Spreads of the seeded Monte Carlo that turns point estimates into P10/P50/P90."""

    draws: Annotated[int, Field(ge=100, le=100_000)] = 1000
    """Number of draws."""
    seed: Annotated[int, Field(ge=0)] = 20261203
    """Random seed: the same scenario always gives the same percentiles."""
    gpu_price_trend_sd_pct: Annotated[float, Field(ge=0, le=100)] = 10.0
    """Standard deviation of the yearly GPU-hour price trend, percentage points."""
    api_price_trend_sd_pct: Annotated[float, Field(ge=0, le=100)] = 15.0
    """Standard deviation of the yearly API price trend, percentage points."""
    growth_sd_pct: Annotated[float, Field(ge=0, le=100)] = 1.0
    """Standard deviation of monthly request growth, percentage points."""
    utilisation_sd: Annotated[float, Field(ge=0, le=0.5)] = 0.05
    """Standard deviation of the utilisation replicas really reach, as a share (0.05 = ±5 points)."""
    throughput_error_pct: Annotated[float, Field(ge=0, le=200)] | None = None
    """Standard deviation of replica throughput error, percent. Empty: the estimate's stated error band."""


class Workload(StrictModel):
    """The traffic to serve, identical under every option."""

    requests_per_month: Annotated[float, Field(gt=0, le=1e13)] = 1_000_000
    """LLM calls in the first month."""
    input_tokens_per_request: Annotated[int, Field(ge=1, le=2_000_000)] = 1000
    """Prompt tokens per call, including any cached part."""
    output_tokens_per_request: Annotated[int, Field(ge=1, le=200_000)] = 300
    """Completion tokens per call."""
    cached_input_share: Fraction = 0.0
    """Share of input tokens served from the provider's prompt cache (priced at the cached rate)."""
    batch_share: Fraction = 0.0
    """Share of traffic that tolerates batch APIs (priced at the batch rate where one exists)."""
    monthly_growth_pct: Annotated[float, Field(ge=-50, le=200)] = 0.0
    """Month-over-month growth of request volume, percent."""
    peak_to_average: Annotated[float, Field(ge=1, le=100)] = 2.0
    """Busiest hour ÷ mean hour of operation (from logs: p95 hour ÷ mean hour). Replicas are sized for it."""
    hours_per_day: Annotated[float, Field(gt=0, le=24)] = 24.0
    """Hours a day the traffic arrives in."""
    days_per_week: Annotated[float, Field(gt=0, le=7)] = 7.0
    """Days a week the traffic arrives in."""
    latency: LatencyTargets = Field(default_factory=LatencyTargets)
    """Latency targets every self-hosted replica must meet at peak."""

    @property
    def tokens_per_request(self) -> int:
        return self.input_tokens_per_request + self.output_tokens_per_request

    @property
    def cached_input_tokens_per_request(self) -> int:
        """Input tokens read from the prompt cache, rounded half up as Excel's ROUND does (the export agrees)."""
        product = self.input_tokens_per_request * self.cached_input_share
        return int(Decimal(repr(product)).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    @property
    def operating_hours_per_month(self) -> Decimal:
        """Hours a month the traffic arrives in (730 when it runs around the clock)."""
        share = Decimal(str(self.hours_per_day)) / 24 * Decimal(str(self.days_per_week)) / 7
        return HOURS_PER_MONTH * share


class SelfHostCosts(StrictModel):
    """People and one-off costs every self-hosted option carries on top of hardware."""

    engineering_fte: Annotated[float, Field(ge=0, le=100)] = 0.25
    """Full-time engineers running it (0.25 = a quarter of one person)."""
    loaded_salary_usd_per_year: Usd = Decimal(200_000)
    """Fully loaded cost of one engineer per year (salary, benefits, overhead)."""
    support_usd_per_month: Usd = Decimal(0)
    """Vendor support contract per month."""
    monitoring_usd_per_month: Usd = Decimal(0)
    """Monitoring, logging and observability per month."""
    fine_tuning_gpu_hours: Annotated[float, Field(ge=0, le=1e7)] = 0.0
    """GPU-hours of one-off fine-tuning (month 1)."""
    fine_tuning_usd_per_gpu_hour: UsdRate = Decimal(0)
    """Price of those fine-tuning GPU-hours."""
    data_prep_days: Annotated[float, Field(ge=0, le=10_000)] = 0.0
    """Person-days of data preparation for fine-tuning (month 1)."""
    data_prep_usd_per_day: Usd = Decimal(800)
    """Cost of one person-day of data preparation."""
    setup_usd: Usd = Decimal(0)
    """One-off migration and setup cost (month 1)."""
    oncall_fte_per_block: Annotated[float, Field(ge=0, le=100)] = 0.0
    """On-call engineers added per block of replicas (the fleet's share of a rota), FTE."""
    replicas_per_oncall_block: Annotated[int, Field(ge=1, le=10_000)] = 10
    """Replicas one block of on-call staff looks after."""
    cpu_host_usd_per_replica_month: Usd = Decimal(0)
    """CPU host, RAM and disk per replica where the GPU price excludes them, per month."""
    storage_usd_per_month: Usd = Decimal(0)
    """Model weights, images and logs storage per month."""
    network_usd_per_month: Usd = Decimal(0)
    """Load balancer, gateway and private networking per month."""
    egress_usd_per_gb: UsdRate = Decimal(0)
    """Data transfer out, USD per GB (0 where it is free or included)."""
    egress_bytes_per_output_token: Annotated[float, Field(ge=0, le=10_000)] = 4.0
    """Bytes sent out per output token: about 4 characters per token for English text
    (https://help.openai.com/en/articles/4936856-what-are-tokens-and-how-to-count-them), before protocol overhead."""
    staging_share: Annotated[float, Field(ge=0, le=2)] = 0.0
    """A staging environment's cost as a share of the production GPUs' cost (0.1 = 10 % more)."""
    interconnect_usd_per_node_month: Usd = Decimal(0)
    """Inter-node interconnect (InfiniBand/RoCE ports, switches) per node of a multi-node replica, per month."""

    @property
    def people_usd_per_month(self) -> Decimal:
        fte = Decimal(str(self.engineering_fte))
        return fte * self.loaded_salary_usd_per_year / 12 + self.support_usd_per_month + self.monitoring_usd_per_month

    @property
    def fixed_running_usd_per_month(self) -> Decimal:
        """Running costs that do not scale with the fleet: storage and networking."""
        return self.storage_usd_per_month + self.network_usd_per_month

    @property
    def one_off_usd(self) -> Decimal:
        ft = Decimal(str(self.fine_tuning_gpu_hours)) * self.fine_tuning_usd_per_gpu_hour
        prep = Decimal(str(self.data_prep_days)) * self.data_prep_usd_per_day
        return ft + prep + self.setup_usd


class _OptionBase(StrictModel):
    name: Name
    """Label shown in charts and tables; unique within a scenario."""
    input_token_multiplier: Annotated[float, Field(gt=0, le=20)] = 1.0
    """Input tokens this option bills per workload input token (tokenizer differences). 1.0: the same."""
    output_token_multiplier: Annotated[float, Field(gt=0, le=50)] = 1.0
    """Output tokens this option bills per workload output token (verbosity, reasoning tokens)."""
    switch_usd: Usd = Decimal(0)
    """One-off evaluation and migration cost of switching to this option (month 1; never for the baseline)."""
    quality: OptionQuality | None = None
    """Accuracy measured on your own tasks (`opentco eval`, Quality page); the quality floors gate on it."""


class ApiOption(_OptionBase):
    """A proprietary API priced per token by genai-prices."""

    kind: Literal["api"] = "api"
    provider: Name
    """genai-prices provider id, e.g. `openai`, `anthropic`, `google`."""
    model: Name
    """Model id as the provider names it, e.g. `gpt-4o`."""
    discount_pct: Annotated[float, Field(ge=0, le=100)] = 0.0
    """Negotiated discount off list price, percent."""
    input_usd_per_mtok: UsdRate | None = None
    """Your negotiated price per million uncached input tokens. Empty: the genai-prices list price."""
    cached_input_usd_per_mtok: UsdRate | None = None
    """Your negotiated price per million cached input tokens. Empty: the list price."""
    output_usd_per_mtok: UsdRate | None = None
    """Your negotiated price per million output tokens. Empty: the list price."""


class ManagedEndpointOption(ApiOption):
    """An open-weight model on a managed endpoint billed per token (Together, Fireworks, Groq, DeepInfra …)."""

    kind: Literal["managed"] = "managed"  # type: ignore[assignment]


class _SelfHosted(_OptionBase):
    model: Name
    """Open-weight model: catalog id, alias or Hugging Face repo id (`meta-llama/Llama-3.1-8B-Instruct`)."""
    quant: Name = "bf16"
    """Quantization id from data/quant.csv (`bf16`, `fp8`, `awq-int4`, `gguf-q4_k_m` …)."""
    gpu: Name
    """GPU id or alias from data/gpus.csv (`h100`, `L40S`)."""
    gpus_per_replica: Annotated[int, Field(ge=1, le=64)] | None = None
    """GPUs serving one copy of the model (tensor parallel). Empty: the fewest that fit."""
    runtime: Name | None = None
    """Serving engine (`vllm`, `sglang`, `tensorrt-llm`, `nvidia-nim`, `tgi`, `llama.cpp`, `ollama`, `mlx`), with
    its release if you know it (`sglang 0.5.6`: the error band then covers that release's published runs;
    `nvidia-nim 2.0.8`: NIM 2.x runs vLLM and is estimated as it). Empty: a vLLM-like server, or llama.cpp / MLX
    for their own formats."""
    min_replicas: Annotated[int, Field(ge=0, le=10_000)] = 1
    """Redundancy floor: replicas kept even when the load needs fewer."""
    target_utilisation: Annotated[float, Field(gt=0, le=1)] = 0.75
    """Share of a replica's capacity planned for in the peak hour (normal practice: 0.6–0.8)."""
    n_plus_1: bool = False
    """Keep one replica more than the peak needs, so losing one still serves the peak."""
    batch_off_peak: bool = False
    """Serve the workload's batch share in off-peak hours (it tolerates delay), so it does not add to the peak."""
    measured_output_tokens_per_s: PosFloat | None = None
    """Measured replica throughput at the latency targets (from `opentco measure`); replaces the estimate.
    It belongs to the shape it was measured on: set `gpus_per_replica` too (else the fewest GPUs that fit)."""
    measured_watts_per_gpu: PosFloat | None = None
    """Measured mean power per GPU under load (NVML); replaces the TDP-based estimate."""
    costs: SelfHostCosts = Field(default_factory=SelfHostCosts)
    """People and one-off costs."""


class Commitment(StrictModel):
    """A reserved capacity contract as clouds sell it: a fixed quantity for a fixed term."""

    term_years: Literal[1, 3] = 1
    """Length of the commitment."""
    payment: Literal["none", "partial", "all_upfront"] = "none"
    """No upfront (monthly), half upfront and half monthly, or everything upfront."""
    committed_nodes: Annotated[int, Field(ge=0, le=10_000)] | None = None
    """Nodes (instances) reserved for the base load; above it, bursts run on-demand. Empty: suggested."""
    usd_per_gpu_hour: UsdRate | None = None
    """Your committed price per GPU-hour. Empty: the provider's published commitment price."""


class CloudGpuOption(_SelfHosted):
    """Rented GPUs billed per hour (dedicated endpoint or cloud instances)."""

    kind: Literal["cloud_gpu"] = "cloud_gpu"
    provider: Name | None = None
    """Cloud from data/gpu_prices*.csv (`aws`, `lambda`, `runpod` …). Empty: the cheapest listed."""
    instance_type: Name | None = None
    """Instance type to rent (`gpu_1x_h100_sxm5`, `p5.48xlarge` …). Empty: the cheapest that fits."""
    price_plan: PricePlan = PricePlan.ON_DEMAND
    """On-demand, spot, 1-year or 3-year commitment."""
    usd_per_gpu_hour: UsdRate | None = None
    """Your own negotiated price per GPU-hour; overrides the catalog."""
    scale_to_zero: bool = False
    """Pay only for the hours traffic arrives in (autoscaling to zero outside them)."""
    commitment: Commitment | None = None
    """Reserve a base of nodes for a term; bursts above it run at the on-demand price."""
    include_flagged_prices: bool = False
    """Also consider catalog prices flagged anomalous, suspect or marketplace single offers."""


class OnPremOption(_SelfHosted):
    """Owned servers: capex amortised, plus power, space and maintenance."""

    kind: Literal["on_prem"] = "on_prem"
    gpus_per_server: Annotated[int, Field(ge=1, le=64)] = 8
    """GPUs in one server."""
    server_capex_usd: Usd = Decimal(300_000)
    """Purchase price of one server, GPUs included."""
    amortisation_years: Annotated[float, Field(gt=0, le=15)] = 4.0
    """Years the purchase is written off over."""
    server_overhead_watts: Annotated[float, Field(ge=0, le=100_000)] = 1500.0
    """Power of one server beyond its GPUs (CPUs, fans, NICs), watts."""
    gpu_idle_power_share: Fraction = 0.3
    """Power an idle GPU still draws, as a share of its TDP."""
    pue: Annotated[float, Field(ge=1, le=3)] = 1.4
    """Power usage effectiveness of the facility (1.0 = no cooling overhead)."""
    usd_per_kwh: UsdRate = Decimal("0.12")
    """Electricity price."""
    rack_usd_per_server_month: Usd = Decimal(500)
    """Rack space / colocation per server per month."""
    maintenance_pct_per_year: Annotated[float, Field(ge=0, le=100)] = 8.0
    """Hardware maintenance and spares per year, percent of capex."""
    resale_pct_at_horizon: Annotated[float, Field(ge=0, le=100)] | None = None
    """What the servers fetch when sold at the horizon end, percent of purchase price. Empty: book value."""


class TaskClass(StrictModel):
    """A slice of traffic that can go to the open model or stay on the API."""

    name: Name
    share: Fraction
    """Share of all requests in this class."""
    on_open_model: bool
    """True: served by the open option; False: stays on the API."""


class HybridOption(_OptionBase):
    """Route some task classes to an open-model option and keep the rest on an API."""

    kind: Literal["hybrid"] = "hybrid"
    open_option: Name
    """Name of a managed, cloud-GPU or on-prem option of this scenario."""
    api_option: Name
    """Name of an API option of this scenario."""
    task_classes: list[TaskClass] = Field(
        default_factory=lambda: [
            TaskClass(name="routine", share=0.7, on_open_model=True),
            TaskClass(name="hard", share=0.3, on_open_model=False),
        ],
        min_length=1,
    )
    """How traffic splits; shares must add up to 1."""

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> HybridOption:
        total = sum(t.share for t in self.task_classes)
        if abs(total - 1) > 1e-6:
            raise ValueError(f"task class shares add up to {total:.4f}; make them add up to 1")
        return self

    @property
    def open_share(self) -> float:
        return sum(t.share for t in self.task_classes if t.on_open_model)


Option = Annotated[
    ApiOption | ManagedEndpointOption | CloudGpuOption | OnPremOption | HybridOption,
    Field(discriminator="kind"),
]


class Scenario(StrictModel):
    """A workload, the options to compare, and the financial frame (horizon, discounting, currency, trends)."""

    name: Name = "Scenario"
    workload: Workload = Field(default_factory=Workload)
    options: list[Option] = Field(min_length=1, max_length=24)
    """Ways of running the workload, compared side by side."""
    baseline: Name | None = None
    """Option the others are compared against (the current API). Empty: the first API option."""
    horizon_months: Annotated[int, Field(ge=1, le=120)] = 36
    """Months projected."""
    discount_rate_pct_per_year: Annotated[float, Field(ge=0, le=100)] = 8.0
    """Rate for NPV, percent per year."""
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    """ISO code of the currency results are shown in."""
    usd_fx_rate: Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=10)] = Decimal(1)
    """Units of `currency` per US dollar, typed by the user (1 for USD)."""
    api_price_change_pct_per_year: Percent = 0.0
    """Yearly change of per-token API prices (e.g. -30 for falling prices)."""
    gpu_price_change_pct_per_year: Percent = 0.0
    """Yearly change of GPU hourly prices."""
    price_date: date | None = None
    """Date API prices are looked up at in genai-prices. Empty: today."""
    sensitivity_pct: Annotated[float, Field(gt=0, le=90)] = 20.0
    """± change applied to each input for the tornado."""
    cost_lens: CostLens = CostLens.CASH
    """Money view that ranks options, savings, NPV and payback: cash (default) or accounting."""
    tax_rate_pct: Annotated[float, Field(ge=0, le=90)] = 0.0
    """Corporate tax rate for the tax shield of deductible costs and depreciation (0: pre-tax)."""
    decision: DecisionRules = Field(default_factory=DecisionRules)
    """When a saving is material and likely enough to recommend switching."""
    uncertainty: Uncertainty = Field(default_factory=Uncertainty)
    """Spreads of the Monte Carlo behind P10/P50/P90 and P(saving > 0)."""
    quality_floors: list[QualityFloor] = Field(default_factory=list, max_length=100)
    """Least accuracy per task class an option must reach on your tasks to be recommended for that class."""

    @model_validator(mode="after")
    def _check_references(self) -> Scenario:
        names = [o.name for o in self.options]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"option names must be unique; rename the duplicates: {', '.join(dupes)}")
        by_name = {o.name: o for o in self.options}
        for o in self.options:
            if isinstance(o, HybridOption):
                open_opt, api_opt = by_name.get(o.open_option), by_name.get(o.api_option)
                if not isinstance(open_opt, ManagedEndpointOption | CloudGpuOption | OnPremOption):
                    raise ValueError(
                        f"hybrid option {o.name!r}: open_option {o.open_option!r} must name a managed, "
                        f"cloud_gpu or on_prem option of this scenario (have: {', '.join(names)})"
                    )
                if type(api_opt) is not ApiOption:
                    raise ValueError(
                        f"hybrid option {o.name!r}: api_option {o.api_option!r} must name an api option "
                        f"of this scenario (have: {', '.join(names)})"
                    )
        floors = [f.task_class for f in self.quality_floors]
        twice = sorted({c for c in floors if floors.count(c) > 1})
        if twice:
            raise ValueError(f"two quality floors for the task class(es) {', '.join(twice)}; keep one each")
        if self.baseline is not None and self.baseline not in by_name:
            raise ValueError(f"baseline {self.baseline!r} is not an option name (have: {', '.join(names)})")
        return self

    @property
    def baseline_option(self) -> Option:
        """The option savings are measured against: `baseline`, else the first API option, else the first."""
        if self.baseline is not None:
            return self.option(self.baseline)
        return next((o for o in self.options if type(o) is ApiOption), self.options[0])

    def option(self, name: str) -> Option:
        for o in self.options:
            if o.name == name:
                return o
        raise ScenarioError(f"no option named {name!r} (have: {', '.join(o.name for o in self.options)})")

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "scenario") -> Scenario:
        """Parse scenario JSON, turning every failure into a `ScenarioError` that names the field."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as ex:
            raise ScenarioError(render_validation_error(ex, source=source)) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario JSON file; errors name the file and the field."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as ex:
        raise ScenarioError(f"{p}: cannot read scenario file ({ex.strerror})") from None
    return Scenario.from_json(raw, source=p.name)
