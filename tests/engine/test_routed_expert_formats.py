"""Formats that quantize only a mixture-of-experts model's routed experts (`QuantFormat.scope`)."""

import pytest

from costmodel.catalog import catalog, model_from_hf_config
from costmodel.errors import ScenarioError
from costmodel.throughput import _expert_split, _moved_weight_bytes, estimate

CAT = catalog()

# Kimi K2 Thinking's config.json, quantization part (as quoted from huggingface.co/moonshotai/Kimi-K2-Thinking in
# data/quant.csv, row int4-experts): INT4 weight-only routed experts, group 32; attention, shared experts, the
# dense MLP and the output head stay BF16.
KIMI_INT4 = {
    "quant_method": "compressed-tensors",
    "format": "pack-quantized",
    "ignore": ["lm_head", "re:.*self_attn.*", "re:.*shared_experts.*", "re:.*mlp\\.(gate|up|gate_up|down)_proj.*"],
    "config_groups": {
        "group_0": {
            "targets": ["Linear"],
            "input_activations": None,
            "weights": {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "group", "group_size": 32},
        }
    },
}


def test_kimi_k2_thinking_ships_int4_experts_and_its_weights_take_what_its_checkpoint_does():
    m = CAT.model("moonshotai/Kimi-K2-Thinking")
    assert m.model_id == "kimi-k2-thinking" and m.released_quant == "int4-experts"
    q = CAT.quant(m.released_quant)
    assert q.scope == "routed_experts" and q.bits_for(routed_expert=False) == 16.0
    e = estimate(m, CAT.gpu("H200-SXM"), q, concurrency=8)
    # the checkpoint is ~594 GB on disk (jwt625/PlayGround:20251107_kimi_k2_thinking/README.md), not the
    # 1,026 GB of K2 Instruct's FP8 nor the 577 GB that 4.5 bits on every weight would give
    assert e.weights_gb == pytest.approx(594.2, rel=0.01)
    assert e.gpus == 8 and e.fits
    # the same 8 × H200 holds 20× the KV cache FP8 K2 Instruct leaves room for
    fp8 = estimate(CAT.model("kimi-k2"), CAT.gpu("H200-SXM"), CAT.quant("fp8"), gpus=8, concurrency=8)
    assert e.kv_capacity_gb > 15 * fp8.kv_capacity_gb


def test_kimi_k2_5_is_estimated_in_its_released_int4_on_eight_gpus_not_sixteen_in_bf16():
    m = CAT.model("moonshotai/Kimi-K2.5")
    assert m.released_quant == "int4-experts"
    e = estimate(m, CAT.gpu("H200-SXM"), CAT.quant(m.released_quant))
    assert e.gpus == 8 and e.fits


def test_a_routed_experts_format_reads_every_other_weight_at_16_bits():
    m, q = CAT.model("kimi-k2-thinking"), CAT.quant("int4-experts")
    shared, experts = _expert_split(m)
    # one stream touches 8 of 384 experts per layer; the shared part is read whole, in BF16
    one = _moved_weight_bytes(m, q, 1)
    assert one == pytest.approx((shared * 16 + experts * 8 / 384 * 4.5) * 1e9 / 8)
    # a whole-model format of the same width would read the shared part at 4.5 bits
    whole = CAT.quant("gptq-int4")
    assert _moved_weight_bytes(m, whole, 1) < 0.6 * one


def test_a_routed_experts_format_on_a_dense_model_is_refused_with_the_reason():
    with pytest.raises(ScenarioError, match=r"only a mixture-of-experts model's routed experts.*Llama 3.1 8B"):
        estimate(CAT.model("llama-3.1-8b"), CAT.gpu("H100-SXM"), CAT.quant("int4-experts"))


@pytest.mark.parametrize(
    ("quantization_config", "quant_id"),
    [
        (KIMI_INT4, "int4-experts"),
        ({"quant_method": "mxfp4", "modules_to_not_convert": ["model.layers.*.self_attn", "lm_head"]}, "mxfp4-experts"),
        ({**KIMI_INT4, "ignore": ["lm_head"]}, None),  # group 32 on every layer: no catalog row
        (
            {
                **KIMI_INT4,
                "ignore": ["lm_head"],
                "config_groups": {
                    "group_0": {"input_activations": None, "weights": {"num_bits": 4, "type": "int", "group_size": 128}}
                },
            },
            "gptq-int4",
        ),
        (
            {
                "quant_method": "compressed-tensors",
                "config_groups": {
                    "group_0": {
                        "weights": {"num_bits": 8, "type": "float"},
                        "input_activations": {"num_bits": 8, "type": "float"},
                    }
                },
            },
            "fp8",
        ),
    ],
)
def test_compressed_tensors_checkpoints_state_their_format(quantization_config, quant_id):
    cfg = {
        "num_hidden_layers": 61,
        "hidden_size": 7168,
        "num_attention_heads": 64,
        "n_routed_experts": 384,
        "num_experts_per_tok": 8,
        "moe_intermediate_size": 2048,
        "quantization_config": quantization_config,
    }
    assert model_from_hf_config(cfg).released_quant == quant_id


def test_a_dense_checkpoint_that_keeps_attention_unquantized_is_not_read_as_a_routed_experts_format():
    cfg = {"num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32, "quantization_config": KIMI_INT4}
    assert model_from_hf_config(cfg).released_quant is None  # INT4 at group 32 on every other layer: no row


def test_whole_model_formats_are_unchanged_by_the_split():
    m = CAT.model("deepseek-v3")
    for qid in ("fp8", "nvfp4", "awq-int4", "bf16"):
        q = CAT.quant(qid)
        assert q.scope == "all" and q.bits_for(routed_expert=False) == q.bits_for(routed_expert=True)
        assert _moved_weight_bytes(m, q, 1e9) == pytest.approx(m.total_params_b * 1e9 * q.bits_per_weight / 8)


def test_an_uploaded_dense_config_in_a_routed_experts_format_is_one_error_not_a_note_per_gpu():
    from costmodel.sizing import config_gpu_fits

    dense = model_from_hf_config({"num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32})
    with pytest.raises(ScenarioError, match="has none: pick a format that covers every layer"):
        config_gpu_fits(
            dense, CAT.quant("mxfp4-experts"), input_tokens=1000, output_tokens=200, ttft_ms=2000,
            output_tokens_per_s_per_user=20,
        )  # fmt: skip


def test_asking_for_gpt_oss_in_mxfp4_means_its_release_with_attention_in_bf16():
    oss, llama, mx = CAT.model("gpt-oss-120b"), CAT.model("llama-3.3-70b"), CAT.quant("mxfp4")
    assert CAT.format_for(oss, mx).quant_id == "mxfp4-experts"
    assert CAT.format_for(llama, mx) is mx  # a dense model in MXFP4 is MXFP4 on every layer (AMD Quark's)
    assert CAT.format_for(oss, CAT.quant("nvfp4")).quant_id == "nvfp4"  # another encoding: as asked
    assert CAT.format_for(CAT.model("kimi-k2.5"), CAT.quant("fp8")).quant_id == "fp8"


def test_the_cli_says_when_it_stores_a_model_in_its_released_routed_experts_format():
    import json

    from typer.testing import CliRunner

    from costmodel.cli import app

    out = CliRunner().invoke(
        app, ["estimate", "--gpu", "h100", "--model", "gpt-oss-120b", "--quant", "mxfp4", "--json"]
    )
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)
    assert got["quant"] == "mxfp4-experts" and "on its routed experts only" in got["model_note"]
    # 115.3B routed-expert parameters at 4.25 bits and 1.5B others in BF16: about 64 GB (OpenAI: one 80 GB GPU)
    assert got["weights_gb"] == pytest.approx(64.2, abs=0.5) and got["gpus_needed"] == 1


def test_a_scenario_option_in_mxfp4_sizes_gpt_oss_as_released():
    from costmodel.scenario import CloudGpuOption, Workload
    from costmodel.sizing import resolve_replica

    opt = CloudGpuOption(name="oss", model="gpt-oss-120b", gpu="H100-SXM", quant="mxfp4")
    rep = resolve_replica(opt, Workload())
    assert rep.quant.quant_id == "mxfp4-experts"


def test_kimi_k2_5_in_int4_one_stream_on_8x_h200_is_within_2x_of_the_sglang_cookbook():
    # sgl-project/sgl-cookbook:docs/autoregressive/Moonshotai/Kimi-K2.5.md, section 5.2.1: SGLang 0.5.6.post2, TP 8,
    # moonshotai/Kimi-K2.5 as released (INT4 experts), one stream of 6101 / 10 prompt and 4220 / 10 output tokens:
    # 106.10 output tok/s, mean TPOT 9.22 ms. Its 16- and 100-stream runs stall (mean TPOT 53 and 365 ms against a
    # peak of 1,103 and 1,199 tok/s) and are not used (data/PUBLISHED_THROUGHPUT.md, fit-25).
    m = CAT.model("kimi-k2.5")
    e = estimate(
        m, CAT.gpu("H200-SXM"), CAT.quant(m.released_quant), gpus=8, concurrency=1, input_tokens=610,
        output_tokens=422, runtime="sglang 0.5.6.post2",
    )  # fmt: skip
    assert 106.10 / 2 <= e.output_tokens_per_s <= 106.10 * 2
    assert 9.22 / 2 <= e.decode_step_ms <= 9.22 * 2
