"""The curated, dated facts under data/: GPUs, GPU prices, open-model architectures, quantizations.

Each CSV row is validated by a pydantic model when first used; a malformed row is reported with its
file, line and column. Every row keeps its `source` and `as_of` so any number the engine produces can
be traced back to where it was read. Names resolve case-insensitively through ids, aliases and
Hugging Face repo ids; an unknown name raises `UnknownName` with the closest known names.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from costmodel.errors import DataFileError, UnknownName

__all__ = [
    "PRICE_FLAGS",
    "Catalog",
    "GpuPrice",
    "GpuSpec",
    "ModelArch",
    "QuantFormat",
    "catalog",
    "data_dir",
]


_REPO_DATA = Path(__file__).resolve().parents[1] / "data"


def data_dir() -> Path:
    """Where the curated data lives: `$OPENTCO_DATA_DIR`, else the repository's top-level `data/`."""
    env = os.environ.get("OPENTCO_DATA_DIR")
    return Path(env) if env else _REPO_DATA


def _blank_to_none(v: object) -> object:
    return None if isinstance(v, str) and v.strip() == "" else v


Opt = BeforeValidator(_blank_to_none)
PosIntOpt = Annotated[Annotated[int, Field(gt=0)] | None, Opt]
"""A positive integer, or empty in the CSV."""
PosFloatOpt = Annotated[Annotated[float, Field(gt=0)] | None, Opt]


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, use_attribute_docstrings=True)

    source: Annotated[str, Field(min_length=3)]
    """Where the row's numbers were read (URL or owner/repo:path@commit)."""
    as_of: date
    """When they were read or published."""
    notes: Annotated[str | None, Opt] = None


def _aliases(v: object) -> object:
    if isinstance(v, str):
        return tuple(a.strip().lower() for a in v.split(";") if a.strip())
    return v


class GpuSpec(_Row):
    """Datasheet figures of one accelerator."""

    gpu_id: str
    name: str
    aliases: Annotated[tuple[str, ...], BeforeValidator(_aliases)] = ()
    vendor: str
    memory_gb: Annotated[float, Field(gt=0)]
    hbm_bandwidth_gb_s: Annotated[float, Field(gt=0)]
    fp16_tflops: PosFloatOpt = None
    """Dense FP16/BF16 tensor throughput; empty where no source was read."""
    fp8_tflops: PosFloatOpt = None
    """Dense FP8 tensor throughput; empty where the GPU has no FP8 units."""
    int8_tops: PosFloatOpt = None
    tdp_w: PosFloatOpt = None
    """Board power limit, watts; empty where the vendor publishes none."""

    def tflops(self, compute_dtype: str) -> float:
        """Dense tensor rate for a compute dtype, falling back to FP16 where the format is unsupported."""
        if compute_dtype == "fp8" and self.fp8_tflops:
            return self.fp8_tflops
        if compute_dtype == "int8" and self.int8_tops:
            return self.int8_tops
        if self.fp16_tflops is None:
            raise DataFileError(f"gpus.csv: {self.gpu_id} has no fp16_tflops figure; add it with its source")
        return self.fp16_tflops


PRICE_FLAGS = ("anomaly", "suspect", "marketplace")
"""Row flags that keep a price out of automatic picks: data the source itself marks as doubtful, and
marketplace single offers (one host's asking price, not a list price)."""


class GpuPrice(_Row):
    """One hourly price for one instance type (of `gpu_count` GPUs) at one provider under one plan."""

    provider: str
    instance_type: str
    gpu_id: str
    gpu_count: Annotated[int, Field(gt=0)]
    """GPUs in one instance (node): replicas are priced by whole instances."""
    region: str | None = None
    plan: Literal["on_demand", "spot", "commit_1yr", "commit_3yr"]
    usd_per_gpu_hour: Decimal
    usd_per_instance_hour: Decimal
    """Price of the whole instance per hour, as listed."""
    price_date: Annotated[date | None, Opt] = None
    """When the provider's price was in force; empty: only the reading date (`as_of`) is known."""
    flag: Annotated[Literal["anomaly", "suspect", "marketplace"] | None, Opt] = None
    """Why the row is kept out of automatic picks (see PRICE_FLAGS); empty for a normal row."""
    payment: Annotated[Literal["none", "partial", "all_upfront"] | None, Opt] = None
    """For commitments: how much is paid upfront (empty: nothing upfront)."""


class ModelArch(_Row):
    """Architecture of an open-weight model, as read from its config.json and model card."""

    model_id: str
    name: str
    hf_repo: str
    aliases: Annotated[tuple[str, ...], BeforeValidator(_aliases)] = ()
    family: str | None = None
    total_params_b: Annotated[float, Field(gt=0)]
    active_params_b: Annotated[float, Field(gt=0)]
    layers: PosIntOpt = None
    """Transformer blocks; empty where the architecture could not be read from a source."""
    hidden_size: PosIntOpt = None
    attention_heads: PosIntOpt = None
    kv_heads: PosIntOpt = None
    head_dim: PosIntOpt = None
    """Per-head width; empty for MLA models, where q/k and v widths differ."""
    context_tokens: Annotated[int | None, Opt] = None
    num_experts: Annotated[int, BeforeValidator(lambda v: 0 if v in ("", None) else v)] = 0
    experts_per_token: Annotated[int | None, Opt] = None
    kv_lora_rank: Annotated[int | None, Opt] = None
    """Multi-head latent attention (DeepSeek): compressed KV width per layer."""
    qk_rope_head_dim: Annotated[int | None, Opt] = None
    sliding_window: Annotated[int | None, Opt] = None
    licence: Annotated[str | None, Opt] = None
    attention_layers: PosIntOpt = None
    """Layers that hold a KV cache, where fewer than `layers` do (hybrid Mamba models)."""

    @property
    def has_architecture(self) -> bool:
        """Whether every figure the throughput model needs was read from a source."""
        return None not in (self.layers, self.hidden_size, self.attention_heads, self.kv_heads)

    @property
    def kv_layers(self) -> int:
        return self.attention_layers or self.layers or 0

    @property
    def attention_head_dim(self) -> int:
        """Head width for attention FLOPs: the config's, else hidden size ÷ heads."""
        return self.head_dim or (self.hidden_size or 0) // (self.attention_heads or 1)

    @property
    def is_moe(self) -> bool:
        return self.num_experts > 1 and bool(self.experts_per_token)


class QuantFormat(_Row):
    """A weight format: how many bits a parameter costs and which tensor-core rate its matmuls use."""

    quant_id: str
    name: str
    aliases: Annotated[tuple[str, ...], BeforeValidator(_aliases)] = ()
    bits_per_weight: Annotated[float, Field(gt=0, le=32)]
    weight_dtype: str | None = None
    compute_dtype: Literal["fp16", "fp8", "int8"]
    kv_cache_dtype: str | None = None
    kv_bytes_per_element: Annotated[float, Field(gt=0, le=4)] = 2.0
    quality_retention_pct: Annotated[float | None, Opt] = None
    quality_metric: Annotated[str | None, Opt] = None
    quality_source: Annotated[str | None, Opt] = None


R = TypeVar("R", bound=_Row)


def _read_rows(path: Path, model: type[R]) -> list[R]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataFileError(f"{path}: missing curated data file (is OPENTCO_DATA_DIR right?)") from None
    rows: list[R] = []
    for line_no, raw in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            rows.append(model.model_validate(raw))
        except ValidationError as ex:
            err = ex.errors()[0]
            col = ".".join(str(p) for p in err["loc"])
            raise DataFileError(
                f"{path.name}, line {line_no}, column {col!r}: {err['msg']} (got {err.get('input')!r})"
            ) from None
    return rows


def _norm(name: str) -> str:
    return " ".join(name.strip().lower().replace("_", "-").split())


T = TypeVar("T")


class _Index(Generic[T]):
    """Case-insensitive name → item lookup with did-you-mean suggestions."""

    def __init__(self, kind: str, items: Iterable[tuple[T, Iterable[str]]]) -> None:
        self.kind = kind
        self._by_name: dict[str, T] = {}
        self._canonical: list[str] = []
        for item, names in items:
            names = list(names)
            self._canonical.append(names[0])
            for n in names:
                key = _norm(n)
                other = self._by_name.get(key)
                if other is not None and other is not item:
                    raise DataFileError(f"{kind} name {n!r} is used by two catalog rows; make aliases unique")
                self._by_name[key] = item

    def get(self, name: str) -> T:
        key = _norm(name)
        if key in self._by_name:
            return self._by_name[key]
        # tolerate common suffixes users paste from repo ids and Ollama tags
        for suffix in ("-instruct", "-it", "-chat", ":latest"):
            if key.endswith(suffix) and key.removesuffix(suffix) in self._by_name:
                return self._by_name[key.removesuffix(suffix)]
        raise UnknownName(self.kind, name, self._canonical)

    def names(self) -> list[str]:
        return list(self._canonical)


class Catalog:
    """All curated data, loaded once per data directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.gpus: list[GpuSpec] = _read_rows(root / "gpus.csv", GpuSpec)
        self.models: list[ModelArch] = _read_rows(root / "models.csv", ModelArch)
        self.quants: list[QuantFormat] = _read_rows(root / "quant.csv", QuantFormat)
        self.prices: list[GpuPrice] = _load_prices(root)
        self._price_lookups: dict[tuple[str, str | None, str | None], tuple[GpuPrice, ...]] = {}
        self._gpu = _Index("GPU", ((g, (g.gpu_id, g.name, *g.aliases)) for g in self.gpus))
        self._model = _Index("model", ((m, (m.model_id, m.hf_repo, m.name, *m.aliases)) for m in self.models))
        self._quant = _Index("quantization", ((q, (q.quant_id, q.name, *q.aliases)) for q in self.quants))
        unknown = sorted({p.gpu_id for p in self.prices} - {g.gpu_id for g in self.gpus})
        if unknown:
            raise DataFileError(f"gpu prices name GPUs missing from gpus.csv: {', '.join(unknown)}")

    def gpu(self, name: str) -> GpuSpec:
        return self._gpu.get(name)

    def model(self, name: str) -> ModelArch:
        return self._model.get(name)

    def quant(self, name: str) -> QuantFormat:
        return self._quant.get(name)

    def gpu_prices(self, gpu_id: str, *, plan: str | None = None, provider: str | None = None) -> list[GpuPrice]:
        """Known hourly prices for a GPU, cheapest first, optionally for one plan and provider."""
        key = (gpu_id, plan, provider.lower() if provider else None)
        if key not in self._price_lookups:  # memoised: sizing asks the same question for every month
            rows = [
                p
                for p in self.prices
                if p.gpu_id == gpu_id
                and (plan is None or p.plan == plan)
                and (provider is None or p.provider.lower() == provider.lower())
            ]
            self._price_lookups[key] = tuple(
                sorted(rows, key=lambda p: (p.usd_per_gpu_hour, p.provider, p.instance_type))
            )
        return list(self._price_lookups[key])

    def providers(self) -> list[str]:
        return sorted({p.provider for p in self.prices})


def _flag(r: dict[str, str]) -> str | None:
    """The row's `flag` column; older files without it are flagged from their notes and source kind."""
    if "flag" in r:
        return (r["flag"] or "").strip() or None
    notes = (r.get("notes") or "").upper()
    if notes.startswith("ANOMALY"):
        return "anomaly"
    if notes.startswith("SUSPECT"):
        return "suspect"
    return "marketplace" if r.get("cloud") == "vast" else None


def _load_prices(root: Path) -> list[GpuPrice]:
    """Both price files as one long table: SkyPilot on-demand + spot rows, and published commitments."""
    out: list[GpuPrice] = []
    sky = root / "gpu_prices_skypilot.csv"
    for line_no, r in enumerate(csv.DictReader(sky.read_text(encoding="utf-8").splitlines()), start=2):
        try:
            count = int(r["accelerator_count"])
            base = dict(
                provider=r["cloud"],
                instance_type=r["instance_type"],
                gpu_id=r["gpu_id"],
                gpu_count=count,
                region=r["region"],
                source=r["source"],
                as_of=r["as_of"],
                notes=r["notes"],
                price_date=r.get("price_date"),
                flag=_flag(r),
            )
            inst = Decimal(r["price_usd_per_hour"])
            out.append(
                GpuPrice(
                    **base,
                    plan="on_demand",
                    usd_per_gpu_hour=Decimal(r["price_usd_per_gpu_hour"]),
                    usd_per_instance_hour=inst,
                )
            )
            if r["spot_price_usd_per_hour"].strip():
                spot_inst = Decimal(r["spot_price_usd_per_hour"])
                out.append(
                    GpuPrice(**base, plan="spot", usd_per_gpu_hour=spot_inst / count, usd_per_instance_hour=spot_inst)
                )
        except (KeyError, ValueError, ArithmeticError, ValidationError) as ex:
            raise DataFileError(f"{sky.name}, line {line_no}: {ex}") from None
    commit = root / "gpu_prices_commitments.csv"
    if commit.exists():
        for line_no, r in enumerate(csv.DictReader(commit.read_text(encoding="utf-8").splitlines()), start=2):
            try:
                out.append(
                    GpuPrice(
                        provider=r["provider"],
                        instance_type=r["instance_type"],
                        gpu_id=r["gpu_id"],
                        gpu_count=int(r["gpu_count"]),
                        region=r["region"],
                        plan=r["plan"],
                        usd_per_gpu_hour=Decimal(r["price_usd_per_gpu_hour"]),
                        usd_per_instance_hour=Decimal(r["price_usd_per_hour"]),
                        source=r["source"],
                        as_of=r["as_of"],
                        notes=r.get("notes"),
                        price_date=r.get("price_date"),
                        flag=_flag(r),
                        payment=r.get("payment"),
                    )
                )
            except (KeyError, ValueError, ArithmeticError, ValidationError) as ex:
                raise DataFileError(f"{commit.name}, line {line_no}: {ex}") from None
    return out


@cache
def _catalog_at(root: str) -> Catalog:
    return Catalog(Path(root))


def catalog() -> Catalog:
    """The catalog for the current data directory (loaded once, then shared: it is read-only)."""
    return _catalog_at(str(data_dir()))
