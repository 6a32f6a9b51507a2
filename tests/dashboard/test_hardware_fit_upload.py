"""Hardware fit: a Hugging Face config.json uploaded for a model not in the catalog gets the engine's GPU fits."""

from __future__ import annotations

import json

import pytest

from costmodel.catalog import catalog
from costmodel.errors import DataFileError
from costmodel.sizing import MAX_CONFIG_BYTES, config_gpu_fits, model_from_config_bytes
from costmodel.throughput import gpus_needed, max_concurrency_meeting
from tests.dashboard.conftest import page
from tests.engine.test_throughput_v2 import LLAMA_31_8B_CONFIG

CONFIG = json.dumps(LLAMA_31_8B_CONFIG).encode()


def _cfg(**fields: object) -> bytes:
    """A tiny four-layer config with some fields replaced (typos or a hostile upload)."""
    return json.dumps({"num_hidden_layers": 4, "hidden_size": 64, "num_attention_heads": 4, **fields}).encode()


@pytest.fixture
def fit(app):
    return page(app, "hardware_fit")


def test_uploaded_config_lists_the_engines_fit_for_each_gpu(fit):
    fit.file_uploader(key="hw-config").upload("config.json", CONFIG, "application/json").run()
    assert not fit.exception, fit.exception
    assert any("acme/llama-3.1-8b-finetune: 8.03B parameters" in c.value for c in fit.caption)
    assert len(fit.dataframe) == 2  # the upload's table sits above the catalog's
    df = fit.dataframe[0].value
    # the engine's answer for the page's defaults (demo workload: 1200 in / 250 out, 2 s, 20 tok/s per user, bf16)
    cat = catalog()
    m = model_from_config_bytes(CONFIG)
    g, q = cat.gpu("H100-SXM"), cat.quant("bf16")
    n = gpus_needed(m, g, q, context_tokens=1200 + 250)
    est, ok = max_concurrency_meeting(
        m, g, q, gpus=n, input_tokens=1200, output_tokens=250, ttft_ms=2000.0, output_tokens_per_s_per_user=20.0
    )
    row = df[df["GPU"] == g.name].iloc[0]
    assert (row["GPUs"], row["Streams"], row["Tok/s"], row["Note"]) == (
        n,
        est.concurrency,
        round(est.output_tokens_per_s),
        "" if ok else "misses targets",
    )
    assert len(df) == sum(1 for x in cat.gpus if x.fp16_tflops)


def test_a_broken_upload_says_which_file_and_why(fit):
    fit.file_uploader(key="hw-config").upload("mine.json", b'{"hidden_size": 4096}', "application/json").run()
    assert not fit.exception
    assert [e.value for e in fit.error] == ["mine.json: needs num_hidden_layers, hidden_size and num_attention_heads"]
    assert len(fit.dataframe) == 1  # the catalog table still shows


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"\xff\xfe", "not a JSON config"),
        (b"[1, 2]", "holds one JSON object, not list"),
        (b" " * (MAX_CONFIG_BYTES + 1), "limit 1,000,000"),
        (b"[" * 100_000, "nested too deeply"),
        (_cfg(num_hidden_layers=10**12), "layers 1,000,000,000,000 is beyond any real model"),
        (_cfg(num_local_experts=8, num_experts_per_tok=20), "num_experts_per_tok 20 exceeds the 8 experts"),
        (_cfg(vocab_size=1e300), "parameters is beyond any real model"),
        (_cfg(num_hidden_layers=1e308), "out of range"),
        (_cfg(mamba_expand=2, layer_types=["mamba"] * 4), "attention_layers that cannot be"),
    ],
)
def test_bad_or_hostile_config_bytes_are_refused_with_the_file_name(data, said):
    with pytest.raises(DataFileError, match=r"^up\.json: ") as ex:
        model_from_config_bytes(data, filename="up.json")
    assert said in str(ex.value)


def test_config_fits_put_gpus_meeting_targets_first_and_unfit_ones_last():
    m = model_from_config_bytes(CONFIG)
    fits = config_gpu_fits(
        m, catalog().quant("bf16"), input_tokens=1000, output_tokens=200, ttft_ms=2000, output_tokens_per_s_per_user=20
    )
    ranks = [0 if f.meets_targets else 1 if f.estimate else 2 for f in fits]
    assert ranks == sorted(ranks) and 0 in ranks
    meeting = [f.estimate.output_tokens_per_s for f in fits if f.meets_targets]
    assert meeting == sorted(meeting, reverse=True)
    assert all(f.gpus is None and f.note == "does not fit" for f in fits if f.estimate is None)
