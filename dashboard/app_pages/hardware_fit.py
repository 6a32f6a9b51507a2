"""Hardware fit: for a model × quantization, which GPUs hold it, how many, how fast, and the cost per token."""

from __future__ import annotations

import streamlit as st

from costmodel.catalog import ModelArch, catalog
from costmodel.errors import CostModelError
from costmodel.scenario import CloudGpuOption, OnPremOption, PricePlan
from costmodel.sizing import ConfigGpuFit, config_gpu_fits, model_from_config_bytes
from costmodel.throughput import (
    OLDER_NIM_STREAM_US,
    OLDER_VLLM_EAGER_LAYER_US,
    OLDER_VLLM_STEP_MS,
    SERVING_ENGINES,
    kv_bytes_per_token,
)
from dashboard.components.controls import PLAN_LABELS
from dashboard.components.hardware import (
    FIT_COLUMNS,
    FitInputs,
    fit_frame,
    fit_table,
)
from dashboard.components.hardware_closeup import close_up
from dashboard.components.labels import quant_label
from dashboard.components.text import md
from dashboard.state import get_scenario

st.title("Hardware fit")
st.caption(
    "Which GPUs hold an open model, how many per replica, how fast at your latency targets, and the cost per token."
)
_PRICE_HELP = (
    "the engine's own rule, as on Compare's cards: the chosen cloud's cheapest listed offer for the plan (or the "
    "cheapest of any cloud), from data/ with its date; the offer column names the instance."
)
scenario = get_scenario()
cat = catalog()
w = scenario.workload
hosted = next((o for o in scenario.options if isinstance(o, CloudGpuOption | OnPremOption)), None)
models = {m.model_id: m for m in cat.models if m.has_architecture}
quants = {q.quant_id: q for q in cat.quants}
if "hw-model" not in st.session_state:  # first visit: start from the scenario's first self-hosted option
    start = cat.model(hosted.model).model_id if hosted else "llama-3.1-8b"
    st.session_state["hw-model"] = start if start in models else "llama-3.1-8b"
    st.session_state["hw-quant"] = cat.quant(hosted.quant).quant_id if hosted else "bf16"

if "hw-provider" not in st.session_state:  # the scenario's cloud, so this page prices as Compare's card does
    cloud = next((o for o in scenario.options if isinstance(o, CloudGpuOption)), None)
    st.session_state["hw-provider"] = cloud.provider if cloud and cloud.provider in cat.providers() else ""
    st.session_state["hw-plan"] = cloud.price_plan.value if cloud else PricePlan.ON_DEMAND.value

c = st.columns(2)
model_id = c[0].selectbox("Open model", list(models), format_func=lambda m: models[m].name, key="hw-model")
quant_id = c[1].selectbox(
    "Quantization",
    list(quants),
    format_func=lambda q: quant_label(quants[q].name, quants[q].bits_per_weight),
    key="hw-quant",
)
c = st.columns(4)
inp = c[0].number_input("Input tokens per request", 1, 2_000_000, w.input_tokens_per_request, 100, key="hw-in")
out = c[1].number_input("Output tokens per request", 1, 200_000, w.output_tokens_per_request, 50, key="hw-out")
ttft = c[2].number_input("Time-to-first-token target, ms", 1.0, None, w.latency.ttft_ms, 100.0, key="hw-ttft")
per_user = c[3].number_input(
    "Output tok/s per user target", 0.1, None, w.latency.output_tokens_per_s_per_user, 1.0, key="hw-per-user"
)
c = st.columns(4)
providers = ["", *cat.providers()]
provider = c[0].selectbox(
    "Cloud", providers, format_func=lambda p: p or "cheapest listed", key="hw-provider", help=_PRICE_HELP
)
plan = c[1].selectbox(
    "GPU price plan", [p.value for p in PricePlan], format_func=lambda p: PLAN_LABELS[PricePlan(p)], key="hw-plan"
)
named = (hosted.runtime or "") if hosted else ""  # as typed: a release (`sglang 0.5.6`) stays a choice
engines = ["", *SERVING_ENGINES, *([named] if named and named not in SERVING_ENGINES else [])]
if "hw-runtime" not in st.session_state:  # the scenario's engine, so the speeds are those Compare sizes with
    st.session_state["hw-runtime"] = named
runtime = c[2].selectbox(
    "Serving engine",
    engines,
    format_func=lambda e: e or "not named (vLLM-like)",
    key="hw-runtime",
    help="The engine's calibrated factors size each GPU: TensorRT-LLM reaches more of the tensor peak, llama.cpp "
    "splits layers across GPUs. Not named: a vLLM-like server, or llama.cpp / MLX for their own formats. SGLang, "
    "vLLM and TensorRT-LLM run with their current release's fixed costs per step unless the scenario's engine "
    "names an older release (`sglang 0.4.1`); a vLLM before 0.6 (`vllm 0.4.2`) also adds "
    f"{OLDER_VLLM_STEP_MS:g} ms of host time per step and {OLDER_VLLM_EAGER_LAYER_US:g} µs per layer of kernel "
    "launches on a decode step past 8,192 tokens of context (run without CUDA graphs), and before 0.5.3 runs AWQ "
    "through its slower AWQ kernel. "
    "NVIDIA NIM: the older NIM of NVIDIA's published sweeps, its "
    f"TensorRT-LLM profiles with a 16-bit KV cache and {OLDER_NIM_STREAM_US:g} µs of host time per streamed token "
    "each step; a scenario engine of `nvidia-nim 1.8.0` is NIM 1.8 (the FP8 cache its FP8 profiles name, no such "
    "host time), and `nvidia-nim 2.0.8` or later is estimated as the vLLM that NIM 2.x runs. TensorRT-LLM and NIM "
    "run on NVIDIA GPUs only, TGI not on Macs, and TensorRT-LLM loads no GGUF or MLX checkpoint: those rows say "
    "so. On a Mac, vLLM and SGLang compute "
    "with MLX, so they (and no engine named) are estimated as MLX.",
)
inputs = FitInputs(
    model_id, quant_id, int(inp), int(out), float(ttft), float(per_user), plan, w.model_dump_json(), provider, runtime
)


@st.cache_data(max_entries=16, show_spinner=False)
def _uploaded_fits(
    data: bytes, filename: str, quant: str, targets: tuple[int, int, float, float], runtime: str = ""
) -> tuple[ModelArch, list[ConfigGpuFit]]:
    """The uploaded model and every GPU's fit for it (cached by the file's bytes, format, lengths, targets and
    serving engine)."""
    m = model_from_config_bytes(data, filename=filename)
    i, o, t, u = targets
    fits = config_gpu_fits(
        m, cat.quant(quant), input_tokens=i, output_tokens=o, ttft_ms=t, output_tokens_per_s_per_user=u,
        runtime=runtime or None,
    )  # fmt: skip
    return m, fits


with st.expander("A model not in the list? Upload its Hugging Face config.json"):
    up = st.file_uploader("config.json", type=["json"], key="hw-config", help="As `opentco estimate --model-config`.")
    if up is not None:
        try:
            m, fits = _uploaded_fits(
                up.getvalue(), up.name, quant_id, (int(inp), int(out), float(ttft), float(per_user)), runtime
            )
        except CostModelError as ex:
            st.error(md(str(ex)))
        else:
            kv_kb = kv_bytes_per_token(m, quants[quant_id]) / 1e3
            st.caption(
                md(
                    f"{m.name}: {m.total_params_b:.2f}B parameters ({m.active_params_b:.2f}B active), {m.layers} "
                    f"layers, {kv_kb:.0f} kB KV per token in {quants[quant_id].name}; counted from the config's "
                    "shapes, so approximate. Same quantization, lengths and targets as above; no prices."
                )
            )
            table = [
                {
                    "GPU": cat.gpu(f.gpu_id).name,
                    "GPUs": f.gpus,
                    "Streams": f.estimate.concurrency if f.estimate else None,
                    "Tok/s": round(f.estimate.output_tokens_per_s) if f.estimate else None,
                    "Note": f.note,
                }
                for f in fits
            ]
            st.dataframe(table, hide_index=True, width="stretch", key="hw-config-table")

try:
    rows = fit_table(inputs)
except CostModelError as ex:
    st.error(md(str(ex)))
    st.stop()


st.subheader(md(f"{models[model_id].name} in {quants[quant_id].name}: GPUs that hold it"))
st.dataframe(
    fit_frame(rows),
    hide_index=True,
    width="stretch",
    key="hw-table",
    column_config={name: st.column_config.Column(name, help=tip, width=px) for name, (tip, px) in FIT_COLUMNS.items()},
)
st.caption(
    "Row order: GPUs that hold the model and have a price come first, cheapest per 1M output tokens at full load "
    "first; then GPUs that hold it without a price for this cloud and plan; then those it does not fit, or whose "
    "Note says the serving engine does not run there."
)
st.caption(md("Speeds: roofline estimate with calibrated efficiency factors. Prices: " + _PRICE_HELP))
st.caption(
    "$/1M out keeps one replica busy at the sized concurrency; $/1M yours prices the scenario's month-1 traffic "
    "with GPU cost only (no people costs), replicas sized for the peak."
)

fitting = [r for r in rows if r.estimate is not None]
if not fitting:
    st.warning("No GPU in the catalog holds this model in this quantization with a full-length request.")
    st.stop()
preferred = cat.gpu(hosted.gpu).gpu_id if hosted else None
close_up(inputs, fitting, preferred=preferred, plan=plan, per_user=float(per_user))
