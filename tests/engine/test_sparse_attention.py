"""DeepSeek Sparse Attention (DeepSeek-V3.2): what the cache holds, what a step reads and multiplies.

Expected figures are worked out here from the architecture (DeepSeek-V3.2-Exp inference/model.py: MLA latent 512 +
rope 64 per token per layer, one 128-wide FP8 indexer key + an FP32 scale, 64 indexer heads, top-2048 tokens).
"""

from __future__ import annotations

import pytest

from costmodel.catalog import catalog, model_from_hf_config
from costmodel.throughput import (
    Efficiency,
    _attention_flops,
    _indexer_flops,
    _kv_read_bytes,
    estimate,
    kv_bytes_per_sequence,
    kv_bytes_per_token,
)
from tests.engine.helpers import DEEPSEEK_V3_CONFIG

CAT = catalog()
V31 = {**DEEPSEEK_V3_CONFIG, "max_position_embeddings": 163840}
DSA = {**V31, "index_topk": 2048, "index_n_heads": 64, "index_head_dim": 128}
LATENT = 512 + 64  # elements per token per layer
INDEX_KEY = 128 + 4  # FP8 values + one FP32 scale per 128
IDEAL = Efficiency(bandwidth=1.0, compute=1.0, layer_overhead_us=0.0, moe_expert_overhead_us=0.0)


def test_config_reader_keeps_the_indexer_and_counts_its_weights():
    dense = model_from_hf_config(V31, name="v31")
    sparse = model_from_hf_config(DSA, name="v32")
    assert (sparse.index_topk, sparse.index_heads, sparse.index_head_dim) == (2048, 64, 128)
    assert sparse.sparse_attention and not dense.sparse_attention
    # per layer: wq_b 1536 × 64·128, wk 7168 × 128, weights_proj 7168 × 64
    indexer = 61 * (1536 * 64 * 128 + 7168 * 128 + 7168 * 64)
    assert (sparse.total_params_b - dense.total_params_b) * 1e9 == pytest.approx(indexer, rel=1e-3)


def test_cache_holds_every_latent_and_every_indexer_key():
    m, bf16 = model_from_hf_config(DSA, name="v32"), CAT.quant("bf16")
    assert kv_bytes_per_token(m, bf16) == 61 * (LATENT * 2 + INDEX_KEY)
    assert kv_bytes_per_sequence(m, bf16, 100_000) == 100_000 * 61 * (LATENT * 2 + INDEX_KEY)
    # an FP8 latent halves the latent, not the indexer key (already FP8)
    assert kv_bytes_per_token(m, CAT.quant("fp8"), kv_cache_dtype="fp8") == 61 * (LATENT + INDEX_KEY)


def test_a_decode_step_reads_all_indexer_keys_but_only_the_top_k_latents():
    m, bf16 = model_from_hf_config(DSA, name="v32"), CAT.quant("bf16")
    short = _kv_read_bytes(m, bf16, 1500, kv_cache_dtype=None, copies=1.0)
    assert short == kv_bytes_per_sequence(m, bf16, 1500)  # under the top-k everything is read
    long = _kv_read_bytes(m, bf16, 100_000, kv_cache_dtype=None, copies=1.0)
    assert long == 61 * (2048 * LATENT * 2 + 100_000 * INDEX_KEY)
    dense = model_from_hf_config(V31, name="v31")
    assert _kv_read_bytes(dense, bf16, 100_000, kv_cache_dtype=None, copies=1.0) / long > 7


def test_attention_work_stops_growing_at_the_top_k_while_the_indexer_keeps_scanning():
    m = model_from_hf_config(DSA, name="v32")
    dense = model_from_hf_config(V31, name="v31")
    latent_per_token = 2 * 128 * (2 * 512 + 64)  # QKᵀ over 576 + AV over 512, 128 heads
    assert _attention_flops(m, 100_000) == 61 * latent_per_token * 2048
    assert _attention_flops(m, 1_000) == _attention_flops(dense, 1_000)
    # a short prompt prefills densely (decompressed heads), a long one in the latent form over the top-k
    assert _attention_flops(m, 1_000, prefill=True) == _attention_flops(dense, 1_000, prefill=True)
    assert _attention_flops(m, 64_000, prefill=True) == 61 * latent_per_token * 2048
    assert _indexer_flops(m, 100_000) == 2 * 64 * 128 * 100_000 * 61
    assert _indexer_flops(dense, 100_000) == 0.0


@pytest.mark.parametrize("concurrency", [1, 32])
def test_v32_matches_v31_on_short_chats_and_pulls_ahead_on_long_contexts(concurrency):
    v32 = model_from_hf_config(DSA, name="v32")
    v31 = model_from_hf_config(V31, name="v31").model_copy(
        update={"total_params_b": v32.total_params_b, "active_params_b": v32.active_params_b}
    )
    gpu, fp8 = CAT.gpu("H200-SXM"), CAT.quant("fp8")

    def run(m, tokens_in):
        return estimate(
            m, gpu, fp8, gpus=8, concurrency=concurrency, input_tokens=tokens_in, output_tokens=1000, efficiency=IDEAL
        )

    short31, short32 = run(v31, 1000), run(v32, 1000)
    assert short32.output_tokens_per_s == pytest.approx(short31.output_tokens_per_s, rel=0.02)
    long31, long32 = run(v31, 100_000), run(v32, 100_000)
    assert long32.output_tokens_per_s > 1.3 * long31.output_tokens_per_s
    assert long32.ttft_ms < long31.ttft_ms


def test_index_share_caches_and_scans_indexer_keys_only_in_the_layers_that_run_an_indexer():
    # GLM-5.2's layout (glm_moe_dsa): 78 layers, an indexer in layers 0–2 and every 4th from 6 ("full"), the
    # others reusing the last one's top-k ("shared"); 32 indexer heads; decompressed MLA heads of 192 + 64 / 256.
    glm = {
        **DSA,
        "model_type": "glm_moe_dsa",
        "num_hidden_layers": 78,
        "hidden_size": 6144,
        "num_attention_heads": 64,
        "num_key_value_heads": 64,
        "q_lora_rank": 2048,
        "qk_nope_head_dim": 192,
        "v_head_dim": 256,
        "index_n_heads": 32,
        "index_topk_freq": 4,
        "index_skip_topk_offset": 3,
    }
    derived = model_from_hf_config(glm, name="glm-like")
    listed = model_from_hf_config(
        {**glm, "indexer_types": ["full" if i < 3 or (i - 2) % 4 == 0 else "shared" for i in range(78)]}, name="g"
    )
    assert derived.index_layers == listed.index_layers == 21 and derived.indexer_layers == 21
    assert model_from_hf_config(DSA, name="v32").index_layers is None  # every layer: the column stays empty
    bf16 = CAT.quant("bf16")
    assert kv_bytes_per_token(derived, bf16) == 78 * LATENT * 2 + 21 * INDEX_KEY
    assert _indexer_flops(derived, 10_000) == 2 * 32 * 128 * 10_000 * 21
    # a short prompt prefills with GLM's wider decompressed heads: 64 × 2 × (192 + 64 + 256) per token and layer
    assert _attention_flops(derived, 1_000, prefill=True) == 78 * 2 * 64 * (192 + 64 + 256) * 1_000


def test_nemotron_h_pattern_keeps_state_only_in_its_mamba_layers():
    # a NemotronH config: one character per layer (M Mamba-2, * attention, - MLP only), Mamba width = heads × head dim
    pattern = "M-M-M-MM-M-M-M*-M-M-M*-M-M-M-M*-M-M-M-M*-M-MM-M-M-M-M-M-"
    cfg = {
        "model_type": "nemotron_h",
        "num_hidden_layers": len(pattern),
        "hidden_size": 4480,
        "num_attention_heads": 40,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "intermediate_size": 15680,
        "hybrid_override_pattern": pattern,
        "mamba_num_heads": 128,
        "mamba_head_dim": 80,
        "ssm_state_size": 128,
        "conv_kernel": 4,
    }
    m = model_from_hf_config(cfg, name="nemotron-h-like")
    assert (m.kv_layers, m.recurrent_layers, m.ssm_layers) == (4, 27, 27)
    assert m.ssm_inner_dim == 128 * 80
    state = 27 * (10240 * 128 + 10240 * 3) * 2
    assert kv_bytes_per_sequence(m, CAT.quant("bf16"), 1) == state + 2 * 4 * 8 * 128 * 2
    catalogued = CAT.model("nemotron-nano-9b-v2")
    assert kv_bytes_per_sequence(catalogued, CAT.quant("bf16"), 1) == kv_bytes_per_sequence(m, CAT.quant("bf16"), 1)


def test_deepseek_v32_is_catalogued_with_its_indexer_and_resolves_by_its_release_names():
    for name in ("deepseek-ai/DeepSeek-V3.2", "deepseek-ai/DeepSeek-V3.2-Exp", "deepseek-ai/DeepSeek-V3.2-Speciale"):
        m, note = CAT.resolve_model(name)
        assert m.model_id == "deepseek-v3.2" and note is None
    m, v31 = CAT.model("deepseek-v3.2"), CAT.model("deepseek-v3.1")
    assert (m.index_topk, m.index_heads, m.index_head_dim, m.indexer_layers) == (2048, 64, 128, 61)
    assert (m.layers, m.kv_lora_rank, m.num_experts, m.moe_layers) == (v31.layers, 512, 256, 58)
    assert kv_bytes_per_token(m, CAT.quant("bf16")) - kv_bytes_per_token(v31, CAT.quant("bf16")) == 61 * INDEX_KEY
    assert not v31.sparse_attention and CAT.resolve_model("deepseek-v3.1")[0].model_id == "deepseek-v3.1"


def test_glm5_family_is_catalogued_with_glm_heads_and_index_share():
    glm5, glm52 = CAT.model("glm-5"), CAT.model("glm-5.2")
    assert CAT.resolve_model("zai-org/GLM-5.1")[0] is glm5
    assert (glm5.qk_nope_head_dim, glm5.v_head_dim, glm5.index_heads, glm5.indexer_layers) == (192, 256, 32, 78)
    assert glm52.indexer_layers == 21 and glm52.layers == glm5.layers == 78
    bf16 = CAT.quant("bf16")
    assert kv_bytes_per_token(glm5, bf16) - kv_bytes_per_token(glm52, bf16) == (78 - 21) * INDEX_KEY
    # IndexShare scans a 100k context with 21 indexers instead of 78: the same top-k, less indexer work
    assert _indexer_flops(glm52, 100_000) / _indexer_flops(glm5, 100_000) == pytest.approx(21 / 78)
