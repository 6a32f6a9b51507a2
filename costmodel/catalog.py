"""The curated, dated facts under data/: GPUs, GPU prices, open-model architectures, quantizations.

Each CSV row is validated by a pydantic model when first used; a malformed row is reported with its
file, line and column. Every row keeps its `source` and `as_of` so any number the engine produces can
be traced back to where it was read. Names resolve case-insensitively through ids, aliases and
Hugging Face repo ids; an unknown name raises `UnknownName` with the closest known names.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from costmodel.errors import DataFileError, UnknownName

__all__ = [
    "OLLAMA_DEFAULT_QUANT_ID",
    "PRICE_FLAGS",
    "Catalog",
    "GpuPrice",
    "GpuSpec",
    "ModelArch",
    "QuantFormat",
    "catalog",
    "data_dir",
    "is_ollama_name",
    "model_from_hf_config",
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


Segment = Literal["datacenter", "workstation", "consumer", "apple"]
"""Market segment: decides the runtime-efficiency factors (llama.cpp's per-layer cost differs between HBM data-
centre cards and high-clocked consumer cards) and the memory a runtime may use (Apple unified memory)."""


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
    fp4_tflops: PosFloatOpt = None
    """Dense FP4 (NVFP4/MXFP4) tensor throughput; empty where the GPU has no FP4 units."""
    segment: Annotated[Segment, BeforeValidator(lambda v: "datacenter" if v in ("", None) else v)] = "datacenter"
    architecture: Annotated[str | None, Opt] = None
    """Chip generation (hopper, ampere, ada, blackwell, cdna3, apple-m2 …): kernels written for one generation's
    tensor-core instructions reach a different share of another's peak."""
    interconnect: Annotated[str | None, Opt] = None
    """GPU-to-GPU link inside a server: nvlink3/nvlink4/nvlink5, infinity-fabric, pcie4, pcie5, or empty (none)."""
    interconnect_gb_s: PosFloatOpt = None
    """Per-GPU, one-direction bandwidth of that link, GB/s (what a ring all-reduce can use)."""
    gpus_per_node: Annotated[int, BeforeValidator(lambda v: 8 if v in ("", None) else v), Field(ge=1)] = 8
    """GPUs one server holds on that link; more GPUs in one replica cross the network (InfiniBand)."""

    def tflops(self, compute_dtype: str) -> float:
        """Dense tensor rate for a compute dtype.

        FP8 and INT8 fall back to FP16 where the GPU lacks those units; FP4 formats fall back to FP16, since
        without FP4 tensor cores runtimes dequantize 4-bit weights and multiply in 16 bits (weight-only).
        """
        if compute_dtype == "fp4" and self.fp4_tflops:
            return self.fp4_tflops
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
    qk_nope_head_dim: PosIntOpt = None
    """MLA: per-head query/key width without rotary dims, once decompressed; empty: DeepSeek's 128."""
    v_head_dim: PosIntOpt = None
    """MLA: per-head value width, once decompressed; empty: DeepSeek's 128."""
    sliding_window: Annotated[int | None, Opt] = None
    licence: Annotated[str | None, Opt] = None
    attention_layers: PosIntOpt = None
    """Layers that hold a KV cache, where fewer than `layers` do (hybrid Mamba models)."""
    sliding_layers: Annotated[int | None, Opt] = None
    """Of the KV layers, how many attend only to the last `sliding_window` tokens (Gemma 3: 5 of 6; gpt-oss:
    every other). Empty with a `sliding_window` means all of them (Mistral v0.1 style)."""
    ssm_inner_dim: PosIntOpt = None
    """Mamba layers: inner width (mamba_expand × hidden_size); their recurrent state replaces a KV cache."""
    ssm_state_dim: PosIntOpt = None
    """Mamba layers: state size per channel (mamba_d_state)."""
    ssm_conv_kernel: PosIntOpt = None
    """Mamba layers: causal-convolution width (mamba_d_conv); the last kernel-1 inputs are kept per sequence."""
    recurrent_layers: PosIntOpt = None
    """Mamba (or linear-attention) layers, where not every layer without a KV cache is one: NemotronH also has
    MLP-only layers (Nemotron Nano 9B v2: 27 Mamba-2, 25 MLP, 4 attention of 56). Empty: all non-attention layers."""
    moe_layers: PosIntOpt = None
    """Layers with routed experts, where fewer than `layers` have them (DeepSeek: first 3 dense)."""
    released_quant: Annotated[str | None, Opt] = None
    """The weight format the model's own checkpoint ships in, where it is not 16-bit (DeepSeek-V3/R1: FP8;
    gpt-oss: MXFP4 experts): what an estimate assumes when neither the user nor the checkpoint name picks one."""
    index_topk: PosIntOpt = None
    """DeepSeek Sparse Attention (DeepSeek-V3.2): how many earlier tokens each query attends to, chosen per query
    by a small "lightning indexer" that scores the whole context. Empty for dense attention. The cache still holds
    every token; what shrinks is what a query reads and multiplies once the context is longer than this."""
    index_heads: PosIntOpt = None
    """DSA indexer heads (`index_n_heads`): its scores are summed over these, in FP8."""
    index_head_dim: PosIntOpt = None
    """DSA indexer key width (`index_head_dim`); one indexer key per token per layer is cached in FP8 with one
    FP32 scale per 128 values (DeepSeek-V3.2-Exp inference/model.py, `Indexer.k_cache`, `k_scale_cache`)."""
    index_layers: PosIntOpt = None
    """DSA layers that run their own indexer and cache its keys, where fewer than all do: GLM-5.2's IndexShare
    (`indexer_types`: 21 "full" of 78) lets the others reuse the last full layer's top-k. Empty: every layer."""

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

    @property
    def sliding_kv_layers(self) -> int:
        """KV layers whose cache holds at most `sliding_window` tokens."""
        if not self.sliding_window:
            return 0
        return min(self.kv_layers, self.sliding_layers if self.sliding_layers is not None else self.kv_layers)

    @property
    def ssm_layers(self) -> int:
        """Recurrent (Mamba) layers: those without a KV cache in a hybrid model."""
        if not self.ssm_inner_dim:
            return 0
        return self.recurrent_layers or max(0, (self.layers or 0) - self.kv_layers)

    @property
    def sparse_attention(self) -> bool:
        """Whether queries attend to an indexer's top-k tokens rather than the whole context (DSA)."""
        return bool(self.index_topk and self.kv_lora_rank)

    @property
    def indexer_layers(self) -> int:
        """Layers that run a DSA indexer (0 for dense attention)."""
        return (self.index_layers or self.kv_layers) if self.sparse_attention else 0

    @property
    def routed_layers(self) -> int:
        """Layers with routed experts (0 for a dense model)."""
        return (self.moe_layers or self.layers or 0) if self.is_moe else 0


class QuantFormat(_Row):
    """A weight format: how many bits a parameter costs and which tensor-core rate its matmuls use."""

    quant_id: str
    name: str
    aliases: Annotated[tuple[str, ...], BeforeValidator(_aliases)] = ()
    bits_per_weight: Annotated[float, Field(gt=0, le=32)]
    weight_dtype: str | None = None
    compute_dtype: Literal["fp16", "fp8", "int8", "fp4"]
    kv_cache_dtype: str | None = None
    kv_bytes_per_element: Annotated[float, Field(gt=0, le=4)] = 2.0
    quality_retention_pct: Annotated[float | None, Opt] = None
    quality_metric: Annotated[str | None, Opt] = None
    quality_source: Annotated[str | None, Opt] = None
    scope: Annotated[Literal["all", "routed_experts"], BeforeValidator(lambda v: v or "all")] = "all"
    """Which weights the format stores: every linear layer, or only a mixture-of-experts model's routed experts
    (gpt-oss's MXFP4, Kimi K2 Thinking's INT4), whose attention, shared experts, dense layers and output head stay
    in BF16."""

    def bits_for(self, *, routed_expert: bool) -> float:
        """Bits one parameter costs: this format's, or BF16's for a weight a routed-experts format leaves alone."""
        return self.bits_per_weight if routed_expert or self.scope == "all" else 16.0


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


_VARIANT_WORDS = ("hf", "chat", "instruct", "it", "base", "pt", "latest", "thinking")
"""Name parts that tell a checkpoint's training stage, not its architecture (`Llama-2-7b-hf` = `Llama-2-7b-chat-hf`,
`Qwen3-235B-A22B-Thinking-2507` = `Qwen3-235B-A22B-Instruct-2507`)."""

_SIZE_WORD = re.compile(r"(\d+x)?\d+(\.\d+)?[bm]|a\d+(\.\d+)?b|\d+e")
"""A name part that states a model's size (`70b`, `0.5b`, `8x7b`, MoE `a3b`, Llama 4's `16e`)."""


def _derivable_words(name: str) -> tuple[str, ...] | None:
    """A catalog name's architecture words (`_variant_key`), where one states its size: fine-tunes and derivatives
    keep them in order inside their own names (`Hermes-3-Llama-3.1-70B`, `Llama-3.1-Nemotron-70B-Instruct`,
    `Qwen2.5-Coder-32B-Instruct`, `DeepSeek-R1-0528-Qwen3-8B`). A name without a size (`phi-4`, `kimi-k2`) would also
    sit inside other models' names (`Phi-4-mini`), so it is not used this way."""
    words = tuple(_variant_key(name).split("-"))
    return words if len(words) > 1 and any(_SIZE_WORD.fullmatch(w) for w in words) else None


def _derivation_gap(inner: tuple[str, ...], outer: Sequence[str]) -> int | None:
    """How far a derivative's name (`outer`) separates a catalog name's family words (`inner` before its first
    size word, e.g. `llama-3.1`) from its size words, which must follow in order; None where `outer` does not
    hold the family words as one run followed by the size words (`Llama-Guard-3-8B` does not hold `llama-3`)."""
    cut = next(i for i, w in enumerate(inner) if _SIZE_WORD.fullmatch(w))
    family, sizes = inner[:cut], inner[cut:]
    gaps = []
    for start in range(len(outer) - len(family) + 1):
        if not family or tuple(outer[start : start + len(family)]) != family:
            continue
        after = start + len(family)
        rest = iter(range(after, len(outer)))
        positions = [next((i for i in rest if outer[i] == w), None) for w in sizes]
        if None not in positions:
            gaps.append(positions[0] - after)
    return min(gaps) if gaps else None


_CHECKPOINT_TAIL = re.compile(
    r"([-.](awq|gptq|gguf|mlx|bnb|fp8|fp4|nvfp4|mxfp4|int4|int8|w4a16|w8a16|w8a8|w4a8|w4a4|kv|[2-8]bit|qat|dynamic|static|quantized"
    r"|iq[1-4](-xx?s|-[sml]|-nl)?|q[2-8](-k)?(-[sml])?|q[458]-[01]|f16|f32|bf16|fp16|\d{4}))+$"
)
"""What a checkpoint's name adds after the architecture's: a weight format (`-AWQ`, `-FP8-dynamic`, `-GGUF`,
`-4bit`, AMD's `-FP8-KV`, Red Hat's `-quantized.w4a16`, an Ollama/GGUF tag such as `q4_K_M`) or a dated revision
(`-0528`, `-2507`). The weights change, the shapes do not."""


def _variant_key(name: str) -> str:
    """A name reduced to its architecture: no organisation, no base/chat/instruct suffixes, no weight format
    or dated revision (`Qwen/Qwen3-32B-FP8`, `deepseek-ai/DeepSeek-R1-0528`, `llama3.1:70b-instruct-q4_K_M`)."""
    key = _norm(name).rsplit("/", 1)[-1].removesuffix(".gguf").replace(":", "-").replace(" ", "-")
    while True:  # `-Instruct-2507-FP8`: formats, revisions and stages may come in any order
        parts = _CHECKPOINT_TAIL.sub("", key).split("-")
        while len(parts) > 1 and parts[-1] in _VARIANT_WORDS:
            parts.pop()
        if (stripped := "-".join(parts)) == key:
            return key
        key = stripped


_GGUF_TAG = re.compile(r"(?:^|[-.])(q[458]-[01]|iq[1-4](?:-xx?s|-[sml]|-nl)?|q[2-8](?:-k)?(?:-[sml])?)(?:[-.]|$)")


def _checkpoint_quant_id(name: str) -> str | None:
    """The weight format a checkpoint's name states, as a quant id (`Qwen3-32B-FP8` → `fp8`, TheBloke's
    `llama-2-7b.Q4_0.gguf` → `gguf-q4_0`), if it states one this catalog can mean without guessing: `-GGUF` alone
    (a folder of many formats: `OLLAMA_DEFAULT_QUANT_ID` says which one is pulled) or bitsandbytes `-4bit` outside
    MLX say nothing."""
    words = set(_name_words(name))
    mlx = "mlx" in words or "mlx-community/" in _norm(name)
    for word, quant_id in (("nvfp4", "nvfp4"), ("mxfp4", "mxfp4"), ("fp4", "nvfp4"), ("awq", "awq-int4")):
        if word in words:
            return quant_id
    if "gptq" in words:
        return "gptq-int8" if "int8" in words or "8bit" in words else "gptq-int4"
    if "w4a16" in words or "w8a16" in words:  # llm-compressor's weight-only names (`-quantized.w4a16`)
        return "gptq-int4" if "w4a16" in words else "gptq-int8"
    if "fp8" in words:
        return "fp8"
    if words & {"fp16", "f16", "bf16"}:  # Ollama's `-fp16` tags, GGUF's `-f16` files: the 16-bit weights
        return "bf16"
    if "w8a8" in words or "int8" in words:
        return "int8-w8a8"
    if mlx and (bits := next((w for w in sorted(words) if re.fullmatch(r"[2-8]bit", w)), None)):
        return f"mlx-{bits}"
    tag = _GGUF_TAG.search(_norm(name).rsplit("/", 1)[-1].replace(":", "-"))
    return f"gguf-{tag.group(1).replace('-', '_')}" if tag else None


def _name_words(name: str) -> list[str]:
    """A checkpoint name's words in order, split at `-`, `_`, `.`, `:`, `/` and spaces (`Llama-3.1-8B-GGUF`)."""
    return re.split(r"[-/_. :]", _norm(name))


def is_gguf_name(name: str) -> bool:
    """Whether a model name is a GGUF checkpoint: a `.gguf` file or a `-GGUF` repository (bartowski's, unsloth's,
    TheBloke's, lmstudio-community's), which llama.cpp and the servers built on it load."""
    return "gguf" in _name_words(name)


def is_bitsandbytes_name(name: str) -> bool:
    """Whether a checkpoint name states bitsandbytes weights (unsloth's `-bnb-4bit`), a format with no catalog row."""
    return "bnb" in _name_words(name)


OLLAMA_DEFAULT_QUANT_ID = "gguf-q4_k_m"
"""What Ollama pulls for a name that states no format: its library's tags (`llama3.1:8b`) point at Q4_K_M builds
("The default is now q4_k_m", jmorganca on github.com/ollama/ollama/issues/1543, 2024-12-29), and so does
`ollama run hf.co/{user}/{repo}` ("By default, the Q4_K_M quantization scheme is used", huggingface/hub-docs
docs/hub/ollama.md). A `-GGUF` repository named without a file is estimated in it too: it is the file Ollama takes
from one, and the one llama.cpp's tools take when no tag is given ("`--hf-repo <user>/<model>[:quant]` … quant is
optional, case-insensitive default to Q4_K_M, or falls back to the first file in the repo if Q4_K_M doesn't exist",
ggml-org/llama.cpp tools/llama-bench/README.md)."""


def is_ollama_name(name: str) -> bool:
    """Whether a model name is one Ollama pulls: a library tag (`llama3.1:8b`, `qwen3:30b-a3b`) or an `hf.co/…`
    reference. Hugging Face repo ids never hold a colon."""
    norm = _norm(name)
    return ":" in norm or norm.startswith(("hf.co/", "huggingface.co/"))


_BARE_BITS = re.compile(r"(\d)[- ]?bits?")
"""A weight format named by its bit width alone (`4bit`, `8-bit`), as MLX's checkpoints and `mlx_lm` name them."""


def checkpoint_kv_cache_dtype(name: str) -> str | None:
    """The KV-cache dtype a checkpoint's name states: `fp8` for AMD's `…-FP8-KV` checkpoints (FP8 weights and KV
    cache, as AMD's ROCm performance-results page runs them with vLLM:
    https://www.amd.com/fr/developer/resources/rocm-hub/dev-ai/performance-results.html); None where it states none."""
    words = _name_words(name)
    return "fp8" if any(a == "fp8" and b == "kv" for a, b in itertools.pairwise(words)) else None


@dataclass(frozen=True)
class _Spelling(Generic[T]):
    """How one kind of catalog name may be spelled beyond its aliases: `key` reduces a name to what identifies
    it (computed once per catalog name), `agrees(item, its name's key, the query's key)` says they match."""

    key: Callable[[str], Any]
    agrees: Callable[[T, Any, Any], bool]


class Match(StrEnum):
    """How a name found its catalog row."""

    NAME = "name"
    """One of the row's names or aliases, or the same product spelled another way."""
    VARIANT = "variant"
    """Another checkpoint of the row's architecture (`_variant_key`)."""
    DERIVED = "derived"
    """A fine-tune or derivative whose name holds the row's architecture words (`_derivable_words`)."""


class _Index(Generic[T]):
    """Case-insensitive name → item lookup with did-you-mean suggestions."""

    def __init__(
        self,
        kind: str,
        items: Iterable[tuple[T, Iterable[str]]],
        *,
        variants: bool = False,
        spelling: _Spelling[T] | None = None,
    ) -> None:
        """`variants`: also match a name by its architecture (`_variant_key`), which only models have: for GPUs
        and formats the stripped words (`-4bit`, a 4-digit number) are what tells rows apart. `spelling`: a last
        match for spellings no alias lists, taken only when it finds exactly one row."""
        self.kind = kind
        self.variants = variants
        self.spelling = spelling
        self._by_name: dict[str, T] = {}
        self._by_variant: dict[str, T | None] = {}  # None: two rows share the key, so it resolves to neither
        self._derivable: list[tuple[tuple[str, ...], T]] = []
        self._spelled: list[tuple[T, Any]] = []
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
                if variants:
                    vkey = _variant_key(n)
                    seen = self._by_variant.get(vkey, item)
                    self._by_variant[vkey] = item if seen is item else None
                    if (words := _derivable_words(n)) is not None:
                        self._derivable.append((words, item))
                if spelling:
                    self._spelled.append((item, spelling.key(n)))

    def lookup(self, name: str) -> tuple[T, Match]:
        """The item a name means, and how: by one of its names, as a variant of another checkpoint, or as a
        derivative whose name holds a catalog name's words."""
        key = _norm(name)
        if key in self._by_name:
            return self._by_name[key], Match.NAME
        # tolerate common suffixes users paste from repo ids and Ollama tags
        for suffix in ("-instruct", "-it", "-chat", ":latest"):
            if key.endswith(suffix) and key.removesuffix(suffix) in self._by_name:
                return self._by_name[key.removesuffix(suffix)], Match.NAME
        if self.variants:
            vkey = _variant_key(name)
            if (item := self._by_variant.get(vkey)) is not None:
                return item, Match.VARIANT
            if (derived := self._derived(vkey)) is not None:
                return derived, Match.DERIVED
        if self.spelling:
            wanted = self.spelling.key(name)
            found = [it for it, k in self._spelled if self.spelling.agrees(it, k, wanted)]
            if found and all(it is found[0] for it in found):
                return found[0], Match.NAME
        raise UnknownName(self.kind, name, self._canonical)

    def _derived(self, vkey: str) -> T | None:
        """The row whose architecture words a derivative's name holds (`_derivation_gap`): the one whose family
        words sit closest to the size, then the longest, and only when no other row ranks the same
        (`DeepSeek-R1-0528-Qwen3-8B` is a Qwen3 8B; `Hermes-3-Llama-3.1-70B` holds `llama-3.1-70b`, not
        `llama-3-70b`)."""
        words = vkey.split("-")  # the name's `_variant_key`
        ranked = []
        for w, it in self._derivable:
            if (gap := _derivation_gap(w, words)) is not None:
                ranked.append(((gap, -len(w)), it))
        if not ranked:
            return None
        top = min(rank for rank, _ in ranked)
        best = [it for rank, it in ranked if rank == top]
        return best[0] if all(it is best[0] for it in best) else None

    def get(self, name: str) -> T:
        return self.lookup(name)[0]

    def names(self) -> list[str]:
        return list(self._canonical)


_GPU_PHRASES = re.compile(r"macbook (pro|air)|mac (studio|mini|pro)|sxm\d?|hbm\d?e?|max-q")
"""Machine names and form-factor words that say nothing about which GPU row it is, except Max-Q, which marks a
lower-power part: it is kept as a word (`maxq`) so such a name matches no full-power row."""

_GPU_NOISE = frozenset(
    {
        *("nvidia", "geforce", "amd", "instinct", "apple", "tesla", "gpu", "graphics"),
        *("server", "workstation", "edition", "superchip", "hgx", "dgx", "oam"),
    }
)
"""Vendor, brand and packaging words: "NVIDIA GeForce RTX 4090" and "RTX 4090" are one product."""


def _gpu_words(name: str) -> tuple[frozenset[str], int | None]:
    """A GPU name as a set of identifying words and the memory size it states (GB), if any.

    Letters and digits are split apart (`rtx4090` = `rtx 4090`, `76-core` = `76 core`), so the spellings of one
    product — a catalog alias, NVML's `NVIDIA A100-SXM4-80GB`, a cloud's `A100 80GB` — give the same words.
    """
    text = _GPU_PHRASES.sub(lambda m: " maxq " if m.group(0) == "max-q" else " ", name.lower())
    tokens = re.findall(r"[a-z]+|\d+", text)
    memory_gb = None
    words: set[str] = set()
    for i, tok in enumerate(tokens):
        if tok in ("gb", "gib") and i and tokens[i - 1].isdigit():
            memory_gb = int(tokens[i - 1])
            words.discard(tokens[i - 1])
        elif tok not in _GPU_NOISE:
            words.add(tok)
    return frozenset(words), memory_gb


def _same_gpu(gpu: GpuSpec, row: tuple[frozenset[str], int | None], query: tuple[frozenset[str], int | None]) -> bool:
    """GPU product names as NVML, clouds and spec sheets spell them, for names no alias lists.

    A name matches a row when its identifying words equal those of one of the row's names, and a memory size it
    states is the one that name states (or, when that name states none, the row's): `NVIDIA H100 80GB HBM3` is
    H100-SXM, `NVIDIA A100-SXM4-80GB` is A100-80GB. An extra word (`H200 NVL`, `M3 Max 36-core`), a size that
    differs, a size the row's name needs but the query lacks (`A100 PCIe`: 40 or 80 GB?) or two rows that fit
    equally well match nothing: a wrong GPU would be worse than the question.
    """
    (row_words, row_memory_gb), (words, memory_gb) = row, query
    return row_words == words and (
        memory_gb == row_memory_gb or (row_memory_gb is None and memory_gb in (None, round(gpu.memory_gb)))
    )


_QUANT_NOISE = frozenset(
    {"native", "dynamic", "static", "weights", "weight", "only", "quantized", "quantization", "format"}
)
"""Words that describe a format without choosing between catalog rows (`MXFP4 (native)`, `FP8 dynamic`)."""


def _quant_words(name: str) -> frozenset[str]:
    """A quantization name as a set of words: `MLX 4-bit` = `mlx-4bit`, `INT4 AWQ` = `awq-int4`."""
    text = re.sub(r"(\d+)[\s_-]*bits?\b", r"\1bit", re.sub(r"[()]", " ", name.lower()))
    return frozenset(w for w in re.split(r"[^a-z0-9]+", text) if w and w not in _QUANT_NOISE)


def _same_quant(_quant: QuantFormat, row: frozenset[str], query: frozenset[str]) -> bool:
    """Quantization names in any word order and spacing, for names no alias lists."""
    return bool(query) and row == query


class Catalog:
    """All curated data, loaded once per data directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.gpus: list[GpuSpec] = _read_rows(root / "gpus.csv", GpuSpec)
        self.models: list[ModelArch] = _read_rows(root / "models.csv", ModelArch)
        self.quants: list[QuantFormat] = _read_rows(root / "quant.csv", QuantFormat)
        self.prices: list[GpuPrice] = _load_prices(root)
        self._price_lookups: dict[tuple[str, str | None, str | None], tuple[GpuPrice, ...]] = {}
        self._gpu = _Index(
            "GPU", ((g, (g.gpu_id, g.name, *g.aliases)) for g in self.gpus), spelling=_Spelling(_gpu_words, _same_gpu)
        )
        self._model = _Index(
            "model", ((m, (m.model_id, m.hf_repo, m.name, *m.aliases)) for m in self.models), variants=True
        )
        self._quant = _Index(
            "quantization",
            ((q, (q.quant_id, q.name, *q.aliases)) for q in self.quants),
            spelling=_Spelling(_quant_words, _same_quant),
        )
        for m in self.models:
            if m.released_quant:
                try:
                    self._quant.get(m.released_quant)
                except UnknownName:
                    raise DataFileError(
                        f"models.csv, model {m.model_id}, column 'released_quant': {m.released_quant!r} is not in "
                        "quant.csv"
                    ) from None
        unknown = sorted({p.gpu_id for p in self.prices} - {g.gpu_id for g in self.gpus})
        if unknown:
            raise DataFileError(f"gpu prices name GPUs missing from gpus.csv: {', '.join(unknown)}")

    def gpu(self, name: str) -> GpuSpec:
        """The GPU a name means: an id or alias, else the same product spelled another way (`_same_gpu`)."""
        return self._gpu.get(name)

    def model(self, name: str) -> ModelArch:
        return self._model.get(name)

    def resolve_model(self, name: str) -> tuple[ModelArch, str | None]:
        """The model a name means and, when it matched a base/chat/instruct variant of a catalog entry (same
        architecture, different training stage) or a derivative named after one, a note saying which entry was
        used."""
        model, how = self._model.lookup(name)
        if how is Match.VARIANT:
            return model, (
                f"{name} is not in the catalog; used {model.model_id} ({model.name}, {model.hf_repo}): base, chat, "
                "instruct, quantized and re-released checkpoints of one model share its architecture (layers, "
                "heads, experts), so only the weight format can change the throughput"
            )
        if how is Match.DERIVED:
            return model, (
                f"{name} is not in the catalog; its name holds {model.model_id}'s, so it was estimated as that "
                f"architecture ({model.name}, {model.hf_repo}): fine-tunes keep their base model's layers, heads "
                "and experts. If this one changes them, pass its config.json with --model-config"
            )
        return model, None

    def quant(self, name: str, *, on_mlx: bool = False) -> QuantFormat:
        """The quantization a name means: an id or alias, else the same words in another order or spacing. A bare
        bit width (`4bit`, `8-bit`) is MLX's affine format when the runtime is MLX (`on_mlx`, from
        `throughput.uses_mlx`), which names its checkpoints so (`mlx-community/…-4bit`); on other runtimes
        bitsandbytes, AWQ and GPTQ are all "4-bit", so there it stays unknown and the error lists the candidates."""
        bits = _BARE_BITS.fullmatch(_norm(name)) if on_mlx else None
        return self._quant.get(f"mlx-{bits.group(1)}bit" if bits else name)

    def format_for(self, model: ModelArch, quant: QuantFormat) -> QuantFormat:
        """The format `model` is stored in when asked for `quant`: its release, where that is the same encoding on
        the routed experts only (MXFP4 for gpt-oss is `mxfp4-experts`: its attention stays BF16), else `quant`."""
        released = self._quant.get(model.released_quant) if model.released_quant else None
        if released is None or released.scope == quant.scope:
            return quant
        same = (released.weight_dtype, released.compute_dtype, released.bits_per_weight)
        return released if same == (quant.weight_dtype, quant.compute_dtype, quant.bits_per_weight) else quant

    def checkpoint_quant(self, name: str) -> QuantFormat | None:
        """The catalog's quantization that a checkpoint's name states (`-AWQ`, `-FP8-dynamic`, `q4_K_M`,
        `mlx-community/…-4bit`), or None when it states none this catalog holds."""
        quant_id = _checkpoint_quant_id(name)
        try:
            return self._quant.get(quant_id) if quant_id else None
        except UnknownName:  # a GGUF tag with no catalog row (q3_K_S …): not guessed from a neighbour
            return None

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


def _released_quant_id(cfg: dict[str, object], *, moe: bool) -> str | None:
    """The catalog format a checkpoint's `quantization_config` declares (transformers' `quant_method` with its
    `bits`, or a compressed-tensors scheme), or None for 16-bit weights and methods the catalog holds no row for.
    A mixture-of-experts checkpoint that keeps its attention unquantized is in a routed-experts format."""
    qc = cfg.get("quantization_config")
    if not isinstance(qc, dict):
        return None
    method, bits = str(qc.get("quant_method") or "").lower(), qc.get("bits")
    if method == "mxfp4" and moe and _keeps_attention(qc.get("modules_to_not_convert")):
        return "mxfp4-experts"  # gpt-oss: attention, router, embeddings and head stay BF16
    if method in ("fp8", "mxfp4"):
        return method
    if method == "compressed-tensors":
        return _compressed_tensors_quant_id(qc, moe=moe)
    return {("awq", 4): "awq-int4", ("gptq", 4): "gptq-int4", ("gptq", 8): "gptq-int8"}.get((method, bits))


def _keeps_attention(unconverted: object) -> bool:
    """Whether a list of modules left unquantized (`ignore`, `modules_to_not_convert`) names the attention."""
    return isinstance(unconverted, list) and any("self_attn" in str(x) for x in unconverted)


def _compressed_tensors_quant_id(qc: dict[str, object], *, moe: bool) -> str | None:
    """The catalog format of a compressed-tensors checkpoint (vLLM's llm-compressor format, Kimi K2 Thinking's).

    One scheme group only: 8-bit float weights and activations are FP8 W8A8; 4-bit integer weights with 16-bit
    activations are W4A16, routed experts only (`int4-experts`) for a mixture-of-experts model whose `ignore` list
    keeps attention in BF16 as Kimi K2 Thinking's does, else GPTQ's layout at group size 128. Anything else (mixed
    groups, other widths) is left to --quant.
    """
    groups = qc.get("config_groups")
    if not isinstance(groups, dict) or len(groups) != 1:
        return None
    group = next(iter(groups.values()))
    w = group.get("weights") if isinstance(group, dict) else None
    if not isinstance(w, dict):
        return None
    acts = group.get("input_activations")
    kind, width = w.get("type"), w.get("num_bits")
    if kind == "float" and width == 8 and isinstance(acts, dict) and acts.get("num_bits") == 8:
        return "fp8"
    if kind != "int" or width != 4 or acts is not None:
        return None
    if moe and _keeps_attention(qc.get("ignore")):
        return "int4-experts"
    return "gptq-int4" if w.get("group_size") == 128 else None


def _cfg_int(cfg: dict[str, object], *keys: str, default: int | None = None) -> int | None:
    for k in keys:
        v = cfg.get(k)
        if isinstance(v, int | float) and not isinstance(v, bool) and v > 0:
            return int(v)
    return default


_TIED_BY_DEFAULT = frozenset({"gemma", "gemma2", "gemma3", "gemma3_text"})
"""Model types whose transformers config class ties the output matrix to the embeddings by default
(`Gemma2Config(tie_word_embeddings=True, ...)`); config.json omits a value equal to its class default, so a
missing `tie_word_embeddings` means tied for these and untied for the Llama, Mistral, Qwen and Phi classes."""


def _index_layers(cfg: dict[str, object], layers: int) -> int:
    """Layers that run their own DSA indexer: the "full" entries of `indexer_types`, else every
    `index_topk_freq`-th layer after the first `index_skip_topk_offset` (GLM-5.2's IndexShare: layers 0–2, then
    6, 10, … 74), else all of them (DeepSeek-V3.2)."""
    kinds = cfg.get("indexer_types")
    if isinstance(kinds, list) and kinds:
        return sum(str(k).lower() == "full" for k in kinds)
    freq = _cfg_int(cfg, "index_topk_freq", default=1) or 1
    if freq <= 1:
        return layers
    offset = _cfg_int(cfg, "index_skip_topk_offset", default=0) or 0
    return sum(i < offset or (i + 1 - offset) % freq == 0 for i in range(layers))


def model_from_hf_config(source: Path | str | dict[str, object], *, name: str | None = None) -> ModelArch:
    """An architecture read from a Hugging Face `config.json`, for fine-tunes and models not in the catalog.

    Reads the fields the transformers configuration classes define (`num_hidden_layers`, `hidden_size`,
    `num_attention_heads`, `num_key_value_heads`, `head_dim`, `intermediate_size`, `vocab_size`, MoE fields
    `num_local_experts`/`num_experts`/`n_routed_experts`, `num_experts_per_tok`, `moe_intermediate_size`,
    `n_shared_experts`, `first_k_dense_replace`, MLA fields `kv_lora_rank`/`q_lora_rank`/`qk_rope_head_dim`/
    `qk_nope_head_dim`/`v_head_dim` and DeepSeek Sparse Attention's `index_topk`/`index_n_heads`/`index_head_dim`
    (`indexer_types` or `index_topk_freq` where layers share an indexer), `sliding_window` with `layer_types` or
    `sliding_window_pattern`, the Mamba fields of hybrid models `mamba_expand`/`mamba_d_state`/`mamba_d_conv` (or
    NemotronH's `hybrid_override_pattern` with `mamba_num_heads`/`mamba_head_dim`), and the Gated DeltaNet fields of
    linear-attention hybrids `full_attention_interval`/`linear_num_value_heads`/`linear_key_head_dim`/
    `linear_value_head_dim`/`linear_conv_kernel_dim`, as in Qwen3-Next), looking inside `text_config`
    for multimodal checkpoints (https://huggingface.co/docs/transformers/main_classes/configuration).
    Parameter counts are derived from the shapes (gated MLPs: three matrices), so they are approximate.

    Args:
        source: a config.json file, a folder holding one, or the parsed JSON.
        name: id to give the model; default: the config's `_name_or_path`, else the folder name.

    Raises:
        DataFileError: the file is missing, is not JSON, or lacks the layer/head figures.
    """
    where = "config.json"
    if isinstance(source, dict):
        raw: dict[str, object] = source
    else:
        path = Path(source)
        if path.is_dir():
            path = path / "config.json"
        where = str(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataFileError(
                f"{path}: no such file (give a Hugging Face config.json or the folder holding it)"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as ex:
            raise DataFileError(f"{path}: not a JSON config ({ex})") from None
        if not isinstance(raw, dict):
            raise DataFileError(f"{path}: a config.json holds one JSON object")
        name = name or str(raw.get("_name_or_path") or path.parent.name)
    text = raw.get("text_config")
    cfg: dict[str, object] = {**raw, **text} if isinstance(text, dict) else raw
    layers = _cfg_int(cfg, "num_hidden_layers", "n_layer", "num_layers")
    hidden = _cfg_int(cfg, "hidden_size", "n_embd", "d_model")
    heads = _cfg_int(cfg, "num_attention_heads", "n_head")
    if not (layers and hidden and heads):
        raise DataFileError(f"{where}: needs num_hidden_layers, hidden_size and num_attention_heads")
    kv_heads = _cfg_int(cfg, "num_key_value_heads", "num_kv_heads", default=heads) or heads
    head_dim = _cfg_int(cfg, "head_dim", default=hidden // heads) or hidden // heads
    inter = _cfg_int(cfg, "intermediate_size", "ffn_dim", default=4 * hidden) or 4 * hidden
    vocab = _cfg_int(cfg, "vocab_size", default=32000) or 32000
    experts = _cfg_int(cfg, "num_local_experts", "num_experts", "n_routed_experts", default=0) or 0
    top_k = _cfg_int(cfg, "num_experts_per_tok", "num_experts_per_token", "moe_topk")
    moe_inter = _cfg_int(cfg, "moe_intermediate_size", "expert_intermediate_size", default=inter) or inter
    shared = _cfg_int(cfg, "n_shared_experts", "num_shared_experts", default=0) or 0
    shared_inter = _cfg_int(cfg, "shared_expert_intermediate_size", "shared_intermediate_size")
    dense_first = _cfg_int(cfg, "first_k_dense_replace", default=0) or 0
    layer_types = [str(t).lower() for t in cfg.get("layer_types") or cfg.get("layers_block_type") or []]  # type: ignore[union-attr]
    linear_heads = _cfg_int(cfg, "linear_num_value_heads")
    if not layer_types and linear_heads and (interval := _cfg_int(cfg, "full_attention_interval")):
        # Qwen3-Next: every `full_attention_interval`-th layer is full attention, the rest Gated DeltaNet
        layer_types = ["full_attention" if (i + 1) % interval == 0 else "linear_attention" for i in range(layers)]
    mamba_layers = sum("mamba" in t or "linear" in t for t in layer_types)
    attn_layers = layers - mamba_layers
    mlp_only = 0
    pattern = cfg.get("hybrid_override_pattern")
    if not layer_types and isinstance(pattern, str) and len(pattern) == layers:
        # NemotronH: one character per layer, M Mamba-2, * attention, - MLP only, E MoE (transformers
        # NemotronHConfig; Nemotron Nano 9B v2 has 27 M, 4 *, 25 -)
        mamba_layers, attn_layers = pattern.count("M"), pattern.count("*")
        mlp_only = layers - mamba_layers - attn_layers
    ssm_inner = ssm_state = ssm_conv = None
    if mamba_layers and linear_heads:
        # a Gated DeltaNet layer keeps one key_dim × value_dim state per value head, like a Mamba-2 state
        # of inner = heads × value_dim and d_state = key_dim (transformers Qwen3NextConfig fields)
        ssm_inner = linear_heads * (_cfg_int(cfg, "linear_value_head_dim", default=128) or 128)
        ssm_state = _cfg_int(cfg, "linear_key_head_dim", default=128)
        ssm_conv = _cfg_int(cfg, "linear_conv_kernel_dim", default=4)
    elif mamba_layers and (m_heads := _cfg_int(cfg, "mamba_num_heads")) and (m_dim := _cfg_int(cfg, "mamba_head_dim")):
        ssm_inner = m_heads * m_dim  # NemotronH states its Mamba-2 width as heads × head dim
        ssm_state = _cfg_int(cfg, "ssm_state_size", "mamba_d_state", default=128)
        ssm_conv = _cfg_int(cfg, "conv_kernel", "mamba_d_conv", default=4)
    elif mamba_layers:
        ssm_inner = (_cfg_int(cfg, "mamba_expand", default=2) or 2) * hidden
        ssm_state = _cfg_int(cfg, "mamba_d_state", "ssm_state_size", default=128)
        ssm_conv = _cfg_int(cfg, "mamba_d_conv", "conv_kernel", default=4)
    window = _cfg_int(cfg, "sliding_window")
    if cfg.get("use_sliding_window") is False:
        window = None
    sliding = None
    if window:
        if any("sliding" in t for t in layer_types):
            sliding = sum("sliding" in t for t in layer_types)
        elif (pattern := _cfg_int(cfg, "sliding_window_pattern")) and pattern > 1:
            sliding = layers - layers // pattern
        elif cfg.get("model_type") == "gemma2":  # "every other layer uses sliding window attention", from layer 0
            sliding = (layers + 1) // 2
    kv_rank = _cfg_int(cfg, "kv_lora_rank")
    rope = _cfg_int(cfg, "qk_rope_head_dim")
    nope_cfg = _cfg_int(cfg, "qk_nope_head_dim") if kv_rank else None
    v_cfg = _cfg_int(cfg, "v_head_dim") if kv_rank else None
    index_topk = _cfg_int(cfg, "index_topk") if kv_rank else None
    index_heads = _cfg_int(cfg, "index_n_heads") if index_topk else None
    index_dim = _cfg_int(cfg, "index_head_dim") if index_topk else None
    index_layers = _index_layers(cfg, layers) if index_topk else None
    if kv_rank:
        nope, v_dim = nope_cfg or 128, v_cfg or 128  # DeepSeek-V2/V3's widths where the config omits them
        q_rank = _cfg_int(cfg, "q_lora_rank")
        qk = nope + (rope or 0)
        q = hidden * q_rank + q_rank * heads * qk if q_rank else hidden * heads * qk
        attn = q + hidden * (kv_rank + (rope or 0)) + kv_rank * heads * (nope + v_dim) + heads * v_dim * hidden
        if index_heads and index_dim:  # DSA indexer: its query (from the q latent), one key and per-head weights
            indexer = (q_rank or hidden) * index_heads * index_dim + hidden * index_dim + hidden * index_heads
            attn += indexer * (index_layers or layers) / layers
    else:
        attn = hidden * head_dim * (2 * heads + 2 * kv_heads)
    mlp = 3 * hidden * inter
    routed_layers = max(0, layers - dense_first) if experts > 1 and top_k else 0
    expert = 3 * hidden * moe_inter
    shared_params = 3 * hidden * shared_inter if shared_inter else shared * expert
    mamba = 3 * hidden * (ssm_inner or 0)  # in/out projections dominate a Mamba-2 block
    tied = cfg.get("tie_word_embeddings", cfg.get("model_type") in _TIED_BY_DEFAULT)
    embed = vocab * hidden * (1 if tied else 2)
    per_layer_attn = attn * attn_layers + mamba * mamba_layers
    if mlp_only:  # NemotronH blocks hold one thing each: a mixer, or a plain (ungated, two-matrix) MLP
        total = embed + per_layer_attn + 2 * hidden * inter * mlp_only
    else:
        total = embed + per_layer_attn + mlp * (layers - routed_layers)
    total += routed_layers * (experts * expert + shared_params + hidden * experts)
    active = total - routed_layers * max(0, experts - (top_k or 0)) * expert
    ident = (name or "custom-model").strip()
    return ModelArch(
        model_id=ident,
        name=ident,
        hf_repo=ident,
        family=str(cfg.get("model_type") or "") or None,
        total_params_b=round(total / 1e9, 3),
        active_params_b=round(active / 1e9, 3),
        layers=layers,
        hidden_size=hidden,
        attention_heads=heads,
        kv_heads=kv_heads,
        head_dim=None if kv_rank else head_dim,
        context_tokens=_cfg_int(cfg, "max_position_embeddings", "n_positions"),
        num_experts=experts if routed_layers else 0,
        experts_per_token=top_k if routed_layers else None,
        kv_lora_rank=kv_rank,
        qk_rope_head_dim=rope,
        qk_nope_head_dim=nope_cfg,
        v_head_dim=v_cfg,
        sliding_window=window,
        sliding_layers=sliding,
        attention_layers=attn_layers if mamba_layers or mlp_only else None,
        recurrent_layers=mamba_layers if mlp_only and mamba_layers else None,
        ssm_inner_dim=ssm_inner,
        ssm_state_dim=ssm_state,
        ssm_conv_kernel=ssm_conv,
        moe_layers=routed_layers if routed_layers and routed_layers < layers else None,
        released_quant=_released_quant_id(cfg, moe=bool(routed_layers)),
        index_topk=index_topk,
        index_heads=index_heads,
        index_head_dim=index_dim,
        index_layers=index_layers if index_layers and index_layers < layers else None,
        source=where,
        as_of=date.today(),
        notes="read from a Hugging Face config.json; parameter counts derived from the shapes (approximate)",
    )
