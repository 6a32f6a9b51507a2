from __future__ import annotations

import csv

import pytest

from costmodel.catalog import catalog, data_dir
from costmodel.errors import UnknownName

REQUIRED_GPUS = [
    "H100-SXM",
    "H100-PCIE",
    "H200-SXM",
    "B200",
    "A100-40GB",
    "A100-80GB",
    "L40S",
    "L4",
    "A10G",
    "T4",
    "RTX-4090",
    "RTX-3090",
    "MI300X",
]


@pytest.mark.parametrize(
    "file",
    [
        "gpus.csv",
        "models.csv",
        "quant.csv",
        "gpu_prices_skypilot.csv",
        "gpu_prices_commitments.csv",
        "published_throughput.csv",
    ],
)
def test_every_data_row_has_source_and_as_of(file):
    rows = list(csv.DictReader((data_dir() / file).read_text(encoding="utf-8").splitlines()))
    assert rows, file
    for i, row in enumerate(rows, start=2):
        assert row["source"].strip(), f"{file}:{i} has no source"
        assert len(row["as_of"]) == 10 and row["as_of"][4] == "-", f"{file}:{i} as_of {row['as_of']!r}"


def test_required_gpus_present_with_specs():
    cat = catalog()
    for gid in REQUIRED_GPUS:
        g = cat.gpu(gid)
        assert g.memory_gb > 0 and g.hbm_bandwidth_gb_s > 0
    assert cat.gpu("H100-SXM").memory_gb == 80
    assert cat.gpu("H100-SXM").hbm_bandwidth_gb_s == 3350


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("h100", "H100-SXM"),
        ("H100-SXM", "H100-SXM"),
        ("  H100 sxm ", "H100-SXM"),
        ("mi300x", "MI300X"),
        ("l40s", "L40S"),
    ],
)
def test_gpu_names_resolve_case_insensitively(name, expected):
    assert catalog().gpu(name).gpu_id == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b"),
        ("META-LLAMA/LLAMA-3.1-8B-INSTRUCT", "llama-3.1-8b"),
        ("llama3.1:8b", "llama-3.1-8b"),
        ("Llama-3.3-70B", "llama-3.3-70b"),
        ("openai/gpt-oss-120b", "gpt-oss-120b"),
    ],
)
def test_model_names_resolve_through_repo_ids_and_aliases(name, expected):
    assert catalog().model(name).model_id == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("NVIDIA H100 80GB HBM3", "H100-SXM"),  # what nvidia-smi prints
        ("NVIDIA A100-SXM4-80GB", "A100-80GB"),
        ("NVIDIA A100-SXM4-40GB", "A100-40GB"),
        ("NVIDIA H100 PCIe 80GB", "H100-PCIE"),
        ("NVIDIA H100 NVL 94GB", "H100-NVL"),
        ("H200 SXM 141GB", "H200-SXM"),
        ("B200 SXM 180GB", "B200"),
        ("NVIDIA RTX PRO 6000 Blackwell Workstation Edition", "RTX-PRO-6000"),
        ("NVIDIA GeForce RTX 3090Ti", "RTX-3090-TI"),
        ("AMD Instinct MI300X OAM", "MI300X"),
        ("Apple M2 Ultra 76-core GPU", "M2-ULTRA"),
        ("MacBook Pro M3 Max", "M3-MAX"),
        ("M4 Max (40-core GPU)", "M4-MAX"),
        # the GPU-core variants (llama.cpp discussion #4167 lists them): less bandwidth on some (300 GB/s for the
        # 30-core M3 Max, 410 for the 32-core M4 Max) and fewer cores on all
        ("M3 Max 30-core GPU", "M3-MAX-30C"),
        ("Apple M2 Ultra (60-core GPU)", "M2-ULTRA-60C"),
        ("MacBook Pro M4 Max 32-core", "M4-MAX-32C"),
        # MLPerf Inference's names: the v6 B300 states its usable 270 GB; the GH200 system names state the size
        ("NVIDIA B300-SXM-270GB", "B300"),
        ("GH200-GraceHopper-Superchip_GH200-96GB", "GH200"),
        ("GH200-GraceHopper-Superchip_GH200-144GB", "GH200-144GB"),
        ("NVIDIA B200 192GB", "B200"),  # the launch spec's size; HGX systems expose 180 GB of it
    ],
)
def test_gpu_product_names_resolve_when_no_alias_lists_them(name, expected):
    assert catalog().gpu(name).gpu_id == expected


@pytest.mark.parametrize(
    "name",
    [
        "H100 40GB",  # a size the row does not have
        "A100 PCIe",  # 40 or 80 GB: the only A100 PCIe name states 80
        "NVIDIA GH200 NVL2",  # another product (two superchips): an extra word
        "NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition",  # the 300 W part
        "M3 Max 36-core GPU",  # no such part: a core count no row states
        "RTX 6000",  # Ada or Blackwell (or Turing)?
        "RTX PRO 5000",  # a smaller card of the same family: model names drop 4-digit revisions, GPUs must not
        "GB200 NVL4",  # the same GPU on a 4-GPU NVLink board: the GB200 row is the 72-GPU NVL72 domain
        "RTX 4060 Ti",  # 8 or 16 GB: only the 16 GB card has a row
        "NVIDIA GH200-GraceHopper-Superchip",  # MLPerf's accelerator name for both the 96 and the 144 GB part
    ],
)
def test_gpu_names_that_could_mean_another_part_stay_unknown(name):
    with pytest.raises(UnknownName):
        catalog().gpu(name)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # rows added 2026-12-05: the names users, MLPerf system files and the CUDA device name give them
        ("gb200", "GB200"),
        ("GB200 NVL72", "GB200"),
        ("NVIDIA GB200", "GB200"),  # MLPerf accelerator_model_name
        ("GB200NVL72", "GB200"),
        ("h200 nvl", "H200-NVL"),
        ("NVIDIA H200 NVL", "H200-NVL"),
        ("NVIDIA H200-NVL-141GB", "H200-NVL"),
        ("gh200-144gb", "GH200-144GB"),
        ("NVIDIA GH200 144G HBM3e", "GH200-144GB"),  # what CUDA reports
        ("NVIDIA GH200 Grace Hopper Superchip 144GB", "GH200-144GB"),
        ("NVIDIA GH200 Grace Hopper Superchip 96GB", "GH200"),
        ("mi250x", "MI250X"),
        ("AMD Instinct MI250", "MI250"),
        ("instinct mi210", "MI210"),
        # full-core Apple chips by core count, as their lower-core variants are named
        ("m2-ultra-76c", "M2-ULTRA"),
        ("m3 max 40-core", "M3-MAX"),
        ("m1-8c", "M1"),
        ("M4 Pro 20-core", "M4-PRO"),
        # what nvidia-smi / NVML print, so `opentco measure` on these machines finds its row
        ("NVIDIA GH200 480GB", "GH200"),
        ("NVIDIA B300 SXM6 AC", "B300"),
        ("NVIDIA A100-PCIE-40GB", "A100-40GB"),
        ("NVIDIA RTX PRO 6000 Blackwell Workstation Edition", "RTX-PRO-6000"),
        # rows added 2026-12-06: export, older and desktop parts that published benchmarks and NVML name
        ("NVIDIA H800", "H800-SXM"),
        ("NVIDIA A800-SXM4-80GB", "A800-80GB"),
        ("nvidia a800-pcie-40gb", "A800-40GB-PCIE"),
        ("Tesla V100-SXM2-32GB", "V100-SXM2-32GB"),
        ("Tesla V100-PCIE-16GB", "V100-PCIE-16GB"),
        ("AMD Radeon RX 7900 XTX", "RX-7900-XTX"),
        ("AMD Radeon PRO W7900", "W7900"),
        ("DGX Spark", "GB10"),
        ("NVIDIA GB10", "GB10"),
        ("NVIDIA GeForce RTX 5080", "RTX-5080"),
        ("RTX 5070 Ti", "RTX-5070-TI"),
        ("RTX 4060 Ti 16GB", "RTX-4060-TI-16GB"),
        ("NVIDIA RTX A5000", "RTX-A5000"),
    ],
)
def test_added_gpus_resolve_by_the_names_people_use(name, expected):
    assert catalog().gpu(name).gpu_id == expected


def test_every_catalog_gpu_name_with_its_vendor_prefix_resolves_to_its_own_row():
    cat = catalog()
    vendor = {"NVIDIA": "NVIDIA ", "AMD": "AMD Instinct ", "Apple": "Apple "}
    for g in cat.gpus:
        for n in (g.gpu_id, g.name, *g.aliases):
            assert cat.gpu(vendor.get(g.vendor, "") + n.upper()).gpu_id == g.gpu_id, n


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("MLX 4-bit", "mlx-4bit"),
        ("mlx-8-bit", "mlx-8bit"),
        ("INT4 AWQ", "awq-int4"),
        ("MXFP4 (native)", "mxfp4"),
        ("FP8 (dynamic)", "fp8"),
        ("Q4_K_M (GGUF)", "gguf-q4_k_m"),
        # TensorRT-LLM's and ModelOpt's names for their recipes (docs/source/reference/precision.md)
        ("INT8 SmoothQuant", "int8-w8a8"),
        ("W4A8 AWQ", "w4a8-awq"),
        ("INT8 weight-only", "int8-wo"),
    ],
)
def test_quantization_names_resolve_in_any_word_order_and_spacing(name, expected):
    assert catalog().quant(name).quant_id == expected


# Every weight type `llama-quantize` offers (tools/quantize/quantize.cpp, QUANT_OPTIONS @42ea59b), by the name it
# prints, except the ternary TQ1_0/TQ2_0, MXFP4_MOE (the mxfp4 row) and the unquantized F32/BF16/F16 copies.
LLAMA_QUANTIZE_TYPES = [
    "Q4_0",
    "Q4_1",
    "Q5_0",
    "Q5_1",
    "IQ2_XXS",
    "IQ2_XS",
    "IQ2_S",
    "IQ2_M",
    "IQ1_S",
    "IQ1_M",
    "Q2_K",
    "Q2_K_S",
    "IQ3_XXS",
    "IQ3_S",
    "IQ3_M",
    "Q3_K",
    "IQ3_XS",
    "Q3_K_S",
    "Q3_K_M",
    "Q3_K_L",
    "IQ4_NL",
    "IQ4_XS",
    "Q4_K",
    "Q4_K_S",
    "Q4_K_M",
    "Q5_K",
    "Q5_K_S",
    "Q5_K_M",
    "Q6_K",
    "Q8_0",
]


@pytest.mark.parametrize("name", LLAMA_QUANTIZE_TYPES)
def test_every_gguf_type_llama_quantize_writes_has_a_row_with_its_bits(name):
    q = catalog().quant(name)
    assert q.quant_id.startswith("gguf-") and q.compute_dtype == "fp16"
    nominal = int(name[1] if name[0] == "Q" else name[2])  # Q4_K_M -> 4, IQ2_XS -> 2
    # scales and the k-quant mixes' higher-precision tensors add at most 1.5 bits a weight (Q3_K_L: 4.30 bpw)
    assert nominal < q.bits_per_weight < nominal + 1.5, (name, q.bits_per_weight)


def test_the_k_quant_ladder_gets_smaller_and_loses_quality_in_order():
    ladder = [catalog().quant(n) for n in ("Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S")]
    assert [q.bits_per_weight for q in ladder] == sorted(q.bits_per_weight for q in ladder)
    retention = [q.quality_retention_pct for q in ladder]
    assert all(r is not None for r in retention) and retention == sorted(retention)


@pytest.mark.parametrize(("bits", "bpw"), [(2, 2.5), (3, 3.5), (4, 4.5), (5, 5.5), (6, 6.5), (8, 8.5)])
def test_every_mlx_affine_width_has_a_row_with_its_group_overhead(bits, bpw):
    assert catalog().quant(f"mlx {bits}bit").bits_per_weight == bpw


@pytest.mark.parametrize("name", ["int4", "4-bit", "Q8", "nf4"])
def test_quantization_names_that_fit_several_rows_or_none_stay_unknown(name):
    with pytest.raises(UnknownName):
        catalog().quant(name)


def test_unknown_gpu_suggests_close_names():
    with pytest.raises(UnknownName) as ex:
        catalog().gpu("h10")
    assert "H100" in str(ex.value)
    assert ex.value.suggestions


def test_unknown_model_suggests_close_names():
    with pytest.raises(UnknownName) as ex:
        catalog().model("llama-3.1-8")
    assert "llama-3.1-8b" in ex.value.suggestions


def test_prices_cover_four_providers_and_several_plans():
    cat = catalog()
    assert len(cat.providers()) >= 4
    plans = {p.plan for p in cat.prices}
    assert {"on_demand", "spot"} <= plans
    assert plans & {"commit_1yr", "commit_3yr"}


def test_price_rows_are_exact_copies_of_the_source_decimal():
    cat = catalog()
    row = next(p for p in cat.gpu_prices("H100-SXM", plan="on_demand", provider="lambda") if p.gpu_count == 1)
    assert str(row.usd_per_gpu_hour) == "3.29"


def test_quant_formats_required():
    ids = {q.quant_id for q in catalog().quants}
    assert {
        "bf16",
        "fp16",
        "fp8",
        "int8-w8a8",
        "awq-int4",
        "gptq-int4",
        "gguf-q8_0",
        "gguf-q6_k",
        "gguf-q5_k_m",
        "gguf-q4_k_m",
        "gguf-q4_0",
    } <= ids


def test_moe_models_have_fewer_active_than_total_params():
    cat = catalog()
    for mid in ("mixtral-8x7b", "deepseek-v3", "gpt-oss-120b", "llama-4-scout"):
        m = cat.model(mid)
        assert m.is_moe and m.active_params_b < m.total_params_b


def test_w4a8_multiplies_at_the_fp8_rate_on_server_kernels_and_int8_weight_only_at_16_bits():
    from costmodel.throughput import runtime_family

    w4a8, int8_wo = catalog().quant("w4a8-awq"), catalog().quant("int8-wo")
    assert (w4a8.bits_per_weight, w4a8.compute_dtype, runtime_family(w4a8)) == (4.125, "fp8", "server")
    assert (int8_wo.bits_per_weight, int8_wo.compute_dtype, runtime_family(int8_wo)) == (8, "fp16", "server-w4a16")


def test_apple_core_variants_keep_their_own_bandwidth_and_scale_their_shader_rate():
    cat = catalog()
    m3max, m3max30 = cat.gpu("M3-MAX"), cat.gpu("M3 Max 30-core")
    assert (m3max.hbm_bandwidth_gb_s, m3max30.hbm_bandwidth_gb_s) == (400, 300)
    assert m3max30.fp16_tflops == pytest.approx(m3max.fp16_tflops * 30 / 40, rel=0.01)
    assert cat.gpu("M4 Max 32-core").hbm_bandwidth_gb_s == 410 < cat.gpu("M4 Max").hbm_bandwidth_gb_s


@pytest.mark.parametrize(
    ("name", "expected", "quant_stated"),
    [
        ("moonshotai/Kimi-K2-Instruct", "kimi-k2", None),
        ("zai-org/GLM-4.5-Air-FP8", "glm-4.5-air", "fp8"),
        ("zai-org/GLM-4.5", "glm-4.5", None),
        ("qwq:32b", "qwq-32b", None),
        ("Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8", "qwen3-coder-480b-a35b", "fp8"),
    ],
)
def test_models_added_on_2026_12_06_resolve_with_their_sourced_shapes(name, expected, quant_stated):
    cat = catalog()
    m, _ = cat.resolve_model(name)
    assert m.model_id == expected and m.has_architecture and m.source and m.as_of
    stated = cat.checkpoint_quant(name)
    assert (stated.quant_id if stated else None) == quant_stated


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Qwen/Qwen3-Next-80B-A3B-Instruct", "qwen3-next-80b-a3b"),
        ("MiniMaxAI/MiniMax-M2", "minimax-m2"),
        ("zai-org/GLM-4.6", "glm-4.6"),
        ("google/gemma-2-9b-it", "gemma-2-9b"),
        ("google/gemma-2-27b-it", "gemma-2-27b"),
        ("microsoft/Phi-4-mini-instruct", "phi-4-mini"),
        ("microsoft/Phi-3-mini-4k-instruct", "phi-3-mini"),
        # the publishers say these keep the architecture of a catalogued model: aliases, no note
        ("deepseek-ai/DeepSeek-V3.1", "deepseek-v3.1"),
        ("deepseek-ai/DeepSeek-V3.1-Terminus", "deepseek-v3.1"),
        ("mistralai/Mistral-Small-3.2-24B-Instruct-2506", "mistral-small-3.1-24b"),
        ("mistralai/Devstral-Small-2507", "mistral-small-3.1-24b"),
    ],
)
def test_models_added_later_on_2026_12_06_resolve_by_their_names(name, expected):
    m, note = catalog().resolve_model(name)
    assert m.model_id == expected and note is None and m.has_architecture and m.source and m.as_of


@pytest.mark.parametrize(
    ("name", "expected", "shape"),
    [
        # (layers, hidden, heads, KV heads, routed experts): each from the config.json its row's source names
        ("Qwen/Qwen2-57B-A14B-Instruct", "qwen2-57b-a14b", (28, 3584, 28, 4, 64)),
        ("databricks/dbrx-instruct", "dbrx-instruct", (40, 6144, 48, 8, 16)),
        ("mistralai/Mistral-Large-Instruct-2407", "mistral-large-2", (88, 12288, 96, 8, 0)),
        ("CohereForAI/c4ai-command-r-v01", "command-r", (40, 8192, 64, 64, 0)),  # MHA: a KV head per query head
        ("tiiuae/falcon-7b-instruct", "falcon-7b", (32, 4544, 71, 1, 0)),  # multi-query attention
        ("microsoft/Phi-3.5-MoE-instruct", "phi-3.5-moe", (32, 4096, 32, 8, 16)),
        ("meta-llama/Llama-Guard-3-8B", "llama-3.1-8b", (32, 4096, 32, 8, 0)),  # a Llama 3.1 8B fine-tune
        ("Qwen/Qwen2-7B-Instruct", "qwen2.5-7b", (28, 3584, 28, 4, 0)),  # Qwen2.5 7B's shapes
    ],
)
def test_models_added_on_2026_12_07_resolve_with_their_sourced_shapes(name, expected, shape):
    m, _ = catalog().resolve_model(name)
    got = (m.layers, m.hidden_size, m.attention_heads, m.kv_heads, m.num_experts)
    assert m.model_id == expected and got == shape and m.source and m.as_of


def test_deepseek_v3_1_is_v3s_architecture_under_its_own_mit_licence():
    cat = catalog()
    v3, v31 = cat.model("deepseek-v3"), cat.model("deepseek-ai/DeepSeek-V3.1")
    shape = ("total_params_b", "active_params_b", "layers", "hidden_size", "num_experts", "kv_lora_rank", "moe_layers")
    assert [getattr(v31, f) for f in shape] == [getattr(v3, f) for f in shape]
    assert (v3.licence, v31.licence) == ("deepseek", "mit")


def test_qwen3_next_keeps_a_kv_cache_in_its_12_attention_layers_only():
    from costmodel.throughput import kv_bytes_per_token

    cat = catalog()
    m = cat.model("qwen3-next-80b-a3b")
    # 12 of 48 layers are gated attention (2 KV heads × 256); the 36 Gated DeltaNet layers keep a fixed state
    assert (m.kv_layers, m.ssm_layers, m.num_experts, m.experts_per_token) == (12, 36, 512, 10)
    assert kv_bytes_per_token(m, cat.quant("bf16")) == 12 * 2 * 2 * 256 * 2


def test_kimi_k2_caches_deepseeks_mla_latent_and_ships_in_fp8():
    from costmodel.throughput import kv_bytes_per_token

    cat = catalog()
    kimi, dsv3 = cat.model("kimi-k2"), cat.model("deepseek-v3")
    # 61 layers × (kv_lora_rank 512 + rope 64) × 2 bytes, as DeepSeek-V3: the latent, not 64 heads × 2 × 192
    assert kv_bytes_per_token(kimi, cat.quant("fp8")) == 61 * 576 * 2 == kv_bytes_per_token(dsv3, cat.quant("fp8"))
    assert kimi.released_quant == "fp8" and (kimi.num_experts, kimi.experts_per_token, kimi.moe_layers) == (384, 8, 60)
    # GLM-4.5's head_dim is its config's 128, not hidden ÷ heads (5120 / 96)
    glm = cat.model("glm-4.5")
    assert glm.head_dim == 128 and kv_bytes_per_token(glm, cat.quant("bf16")) == 2 * 92 * 8 * 128 * 2


def test_older_and_popular_models_added_2026_12_06():
    cat = catalog()
    # model_id: (layers, kv_heads, head_dim, context_tokens), then the names that must resolve to that row
    expected = {
        "gpt-j-6b": ((28, 16, 256, 2048), ["EleutherAI/gpt-j-6b", "EleutherAI/gpt-j-6B"]),
        "falcon-180b": ((80, 8, 64, 2048), ["tiiuae/falcon-180B", "tiiuae/falcon-180B-chat"]),
        "falcon-40b": ((60, 8, 64, 2048), ["tiiuae/falcon-40b", "tiiuae/falcon-40b-instruct"]),
        "mistral-small-24b-2501": (
            (40, 8, 128, 32768),
            [
                "mistralai/Mistral-Small-24B-Instruct-2501",
                "mistralai/Mistral-Small-24B-Base-2501",
                "mistral-small:24b",
            ],
        ),
        "codellama-34b": (
            (48, 8, 128, 16384),
            [
                "codellama/CodeLlama-34b-Instruct-hf",
                "codellama/CodeLlama-34b-hf",
                "meta-llama/CodeLlama-34b-hf",
                "codellama:34b",
            ],
        ),
        "qwen2-72b": ((80, 8, 128, 131072), ["Qwen/Qwen2-72B-Instruct", "Qwen/Qwen2-72B"]),
        "gemma-7b": ((28, 16, 256, 8192), ["google/gemma-7b-it", "google/gemma-7b", "gemma:7b"]),
    }
    for model_id, (shape, names) in expected.items():
        m = cat.model(model_id)
        assert (m.layers, m.kv_heads, m.head_dim, m.context_tokens) == shape, model_id
        assert m.num_experts == 0 and m.source and str(m.as_of) == "2026-12-06", model_id
        for name in names:
            resolved, note = cat.resolve_model(name)
            assert resolved.model_id == model_id and note is None, name
    # same layer shapes as Mistral Small 3.1, but its own row: 32k context, not 128k
    assert cat.model("mistral-small-3.1-24b").context_tokens == 131072
    assert (cat.model("falcon-180b").licence, cat.model("falcon-40b").licence) == ("falcon-180b", "apache-2.0")


@pytest.mark.parametrize(
    ("name", "expected", "note"),
    [
        # same shapes, context and licence as a catalogued row: aliases, no note
        ("zai-org/GLM-4.7", "glm-4.6", False),
        ("zai-org/GLM-4.7-FP8", "glm-4.6", False),
        ("MiniMaxAI/MiniMax-M2.1", "minimax-m2", False),
        ("MiniMaxAI/MiniMax-M2.5", "minimax-m2", False),
        ("nvidia/Llama-3_3-Nemotron-Super-49B-v1", "llama-3.3-nemotron-super-49b", False),
        ("nvidia/Llama-3_1-Nemotron-Ultra-253B-v1", "llama-3.1-nemotron-ultra-253b", False),
        ("nvidia/NVIDIA-Nemotron-Nano-9B-v2", "nemotron-nano-9b-v2", False),
        ("nvidia/NVIDIA-Nemotron-Nano-12B-v2", "nemotron-nano-12b-v2", False),
        ("meta-llama/Llama-3.2-11B-Vision-Instruct", "llama-3.2-11b-vision", False),
        ("meta-llama/Llama-3.2-90B-Vision-Instruct", "llama-3.2-90b-vision", False),
        ("moonshotai/Kimi-K2.5", "kimi-k2.5", False),
        # v1.5's own block_configs were not read: it resolves by name, with a note pointing to --model-config
        ("nvidia/Llama-3_3-Nemotron-Super-49B-v1_5", "llama-3.3-nemotron-super-49b", True),
    ],
)
def test_models_added_last_on_2026_12_06_resolve_by_their_names(name, expected, note):
    m, resolved_note = catalog().resolve_model(name)
    assert m.model_id == expected and (resolved_note is not None) == note
    assert m.has_architecture and m.source and m.as_of


def test_glm_4_7_flash_is_a_different_architecture_and_stays_unknown():
    with pytest.raises(UnknownName):
        catalog().resolve_model("zai-org/GLM-4.7-Flash")


def test_nas_hybrid_and_vision_rows_keep_kv_only_in_their_attention_layers():
    from costmodel.throughput import kv_bytes_per_token

    cat = catalog()
    bf16 = cat.quant("bf16")
    # model_id: (layers, attention_layers, kv_heads, head_dim), counted from block_configs / hybrid_override_pattern /
    # Meta's n_layers + vision_num_cross_attention_layers
    expected = {
        "llama-3.3-nemotron-super-49b": (80, 49, 8, 128),  # 31 blocks skip attention (no_op)
        "llama-3.1-nemotron-ultra-253b": (162, 64, 8, 128),
        "nemotron-nano-9b-v2": (56, 4, 8, 128),  # 27 Mamba-2 + 25 MLP + 4 attention
        "nemotron-nano-12b-v2": (62, 6, 8, 128),
        "llama-3.2-11b-vision": (40, 32, 8, 128),  # 32 self-attention + 8 cross-attention
        "llama-3.2-90b-vision": (100, 80, 8, 128),
    }
    for model_id, (layers, attn, kv, hd) in expected.items():
        m = cat.model(model_id)
        assert (m.layers, m.kv_layers, m.kv_heads, m.head_dim) == (layers, attn, kv, hd), model_id
        assert kv_bytes_per_token(m, bf16) == 2 * attn * kv * hd * 2, model_id
        assert m.num_experts == 0 and str(m.as_of) == "2026-12-06", model_id
    nano = cat.model("nemotron-nano-9b-v2")
    assert (nano.ssm_inner_dim, nano.ssm_state_dim, nano.ssm_conv_kernel) == (128 * 80, 128, 4)
    # Kimi K2.5: Kimi K2's MLA text stack with a 256K context
    k25, k2 = cat.model("kimi-k2.5"), cat.model("kimi-k2")
    assert kv_bytes_per_token(k25, bf16) == 61 * 576 * 2 == kv_bytes_per_token(k2, bf16)
    assert (k25.context_tokens, k2.context_tokens, k25.moe_layers) == (262144, 131072, 60)
    # GLM-4.7 is an alias of GLM-4.6: 92 layers of 8 KV heads × 128 under MIT
    glm = cat.model("zai-org/GLM-4.7")
    assert (glm.layers, glm.kv_heads, glm.head_dim, glm.context_tokens, glm.licence) == (92, 8, 128, 202752, "mit")
