"""`opentco estimate`: how fast one replica of an open model runs on a GPU setup."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import duckdb
import typer

from costmodel.catalog import (
    OLLAMA_DEFAULT_QUANT_ID,
    Catalog,
    GpuSpec,
    ModelArch,
    QuantFormat,
    catalog,
    checkpoint_kv_cache_dtype,
    is_bitsandbytes_name,
    is_gguf_name,
    is_ollama_name,
    model_from_hf_config,
)
from costmodel.cli._common import echo_json, user_errors
from costmodel.errors import ScenarioError
from costmodel.throughput import (
    Efficiency,
    EstimateMode,
    ReplicaLayout,
    SpeculativeDecoding,
    ThroughputEstimate,
    checked_runtime,
    engine_note,
    estimate,
    gpus_needed,
    release_costs_words,
    replica_layouts,
    uses_mlx,
    uses_ollama,
)

__all__ = ["register"]


def _load_words(e: ThroughputEstimate) -> str:
    """How many streams the estimate runs: the clients asked for, and how many of them memory serves at once."""
    if e.requested_concurrency > e.concurrency:
        queued = e.requested_concurrency - e.concurrency
        return f"  at {e.requested_concurrency} clients ({e.concurrency} served at once, {queued} waiting for a slot)"
    return f"  at {e.concurrency} streams"


def _stored_measurement(db: Path | None, *, model: str, hf_repo: str, gpu: str, concurrency: int) -> object | None:
    """The newest stored run of this model on this GPU at this concurrency, if the store has one.

    The store is opened read-only and only when its file exists: estimating never creates a database.
    """
    from costmodel.errors import CostModelError
    from costmodel.store import connect, db_path

    path = db_path(db)
    if not path.is_file():
        return None
    try:
        from costmodel.measure.results import latest_measurement, load_benchmark, measurement_of

        con = connect(path, read_only=True)
        try:
            for name in (model, hf_repo):
                best = latest_measurement(con, model=name, gpu=gpu)
                if best is None:
                    continue
                result = load_benchmark(con, benchmark_id=best.benchmark_id)
                if any(lv.concurrency == concurrency for lv in result.levels):
                    return measurement_of(result, benchmark_id=best.benchmark_id, concurrency=concurrency)
        finally:
            con.close()
    except (CostModelError, duckdb.Error):
        return None  # a store without benchmarks, or an unreadable one, leaves the estimate as it is
    return None


def _own_run_levels(
    db: Path | None, *, names: tuple[str, ...], gpu: str
) -> tuple[list[tuple[int, int, int, int, float]], int]:
    """Every stored level of the user's runs of this model on this GPU type: (gpus, concurrency, input tokens,
    output tokens, output tokens/s), and how many runs they came from. Opens the store read-only, if it exists."""
    from costmodel.errors import CostModelError
    from costmodel.store import connect, db_path

    path = db_path(db)
    if not path.is_file():
        return [], 0
    try:
        from costmodel.measure.results import _model_key, gpu_matches, list_benchmarks, load_benchmark

        keys = {_model_key(n) for n in names}
        con = connect(path, read_only=True)
        try:
            levels, runs = [], 0
            for b in list_benchmarks(con, limit=1000):
                if _model_key(b.model) not in keys or not b.gpu_name or not gpu_matches(gpu, b.gpu_name):
                    continue
                result = load_benchmark(con, benchmark_id=b.benchmark_id)
                runs += 1
                n = max(1, len(result.gpu_indices) or b.gpu_count)
                for lv in result.levels:
                    if lv.output_tokens_per_s <= 0:
                        continue
                    inp = round(lv.input_tokens_per_request or result.settings.input_tokens)
                    out = result.settings.output_tokens
                    levels.append((n, lv.concurrency, max(1, inp), max(1, out), lv.output_tokens_per_s))
            return levels, runs
        finally:
            con.close()
    except (CostModelError, duckdb.Error):
        return [], 0


def _quant_for(
    cat: Catalog, quant: str | None, model: str | None, arch: ModelArch | None = None, runtime: str | None = None
) -> tuple[QuantFormat, str | None]:
    """The quantization to estimate in: `--quant`, else the one the checkpoint's name states, else what Ollama
    pulls when the name is Ollama's or a GGUF repository's, or Ollama serves it (`OLLAMA_DEFAULT_QUANT_ID`, but a
    model released in FP4 keeps it: Ollama serves gpt-oss in MXFP4), else the format the model is released in
    (DeepSeek-V3: FP8, gpt-oss: MXFP4), else BF16; with a note when the name, the engine or the release chose it (so
    a user sees why, and that `--quant` overrides it), or when the name states a format the catalog lacks."""
    stated = cat.checkpoint_quant(model) if model else None
    if quant is not None:
        q = cat.quant(quant, on_mlx=uses_mlx(runtime))
        if stated is not None and stated.quant_id != q.quant_id:
            return q, f"the name {model} states {stated.name}; estimated in {q.name} as --quant asks"
        return _as_stored(cat, arch, q, None)
    if stated is not None:
        return _as_stored(
            cat, arch, stated, f"the name {model} states {stated.name}: estimated in it (--quant overrides)"
        )
    released = cat.quant(arch.released_quant) if arch is not None and arch.released_quant else None
    gguf_repo = model is not None and is_gguf_name(model)
    if (uses_ollama(runtime) or gguf_repo) and (released is None or released.compute_dtype != "fp4"):
        q = cat.quant(OLLAMA_DEFAULT_QUANT_ID)
        if gguf_repo:
            return q, (
                f"{model} is a GGUF repository of many formats and names none: estimated in {q.name}, the file Ollama "
                "and llama.cpp take from it by default (--quant overrides)"
            )
        named = model or "the model"
        return q, f"{named} names no format: estimated in {q.name}, what Ollama pulls (--quant overrides)"
    if released is not None and arch is not None:
        return released, f"{arch.name} is released in {released.name}: estimated in it (--quant overrides)"
    if model is not None and is_bitsandbytes_name(model):
        return cat.quant("bf16"), (
            f"the name {model} states bitsandbytes weights, which the catalog holds no format for: estimated in BF16 "
            "(give --quant, e.g. gptq-int4, for 4-bit weights)"
        )
    return cat.quant("bf16"), None


def _runtime_named_by(model: str) -> tuple[str | None, str | None]:
    """The engine a model name implies when `--runtime` names none, with a note: an Ollama name is served by Ollama,
    a GGUF checkpoint by llama.cpp; any other name by no engine in particular (None)."""
    if is_ollama_name(model):
        return "ollama", f"{model} is an Ollama name: served by Ollama (--runtime overrides)"
    if is_gguf_name(model):
        return "llama.cpp", f"{model} is a GGUF checkpoint: served by llama.cpp (--runtime overrides)"
    return None, None


def _as_stored(
    cat: Catalog, arch: ModelArch | None, q: QuantFormat, note: str | None
) -> tuple[QuantFormat, str | None]:
    """`q` as the model is stored in it (`Catalog.format_for`: gpt-oss's MXFP4 is on its routed experts only)."""
    if arch is None or (stored := cat.format_for(arch, q)) is q:
        return q, note
    return stored, f"{arch.name} ships {q.name} on its routed experts only: estimated in {stored.name}"


def register(app: typer.Typer) -> None:
    @app.command("estimate")
    @user_errors
    def estimate_command(
        gpu: Annotated[str, typer.Option(help="GPU id or alias (h100, L40S, mi300x, m2-ultra …).")],
        model: Annotated[
            str | None, typer.Option(help="Open model: id, alias or Hugging Face repo id (base/chat variants too).")
        ] = None,
        model_config: Annotated[
            Path | None,
            typer.Option(
                "--model-config", help="A Hugging Face config.json (or its folder) for a model not in the catalog."
            ),
        ] = None,
        gpus: Annotated[
            int | None, typer.Option(min=1, max=64, help="GPUs per replica; default: fewest that fit.")
        ] = None,
        quant: Annotated[
            str | None,
            typer.Option(
                help="Quantization id (bf16, fp8, awq-int4, gguf-q4_k_m …); default: the format the model name "
                "states (Qwen/Qwen3-32B-FP8, llama3.1:8b-instruct-q4_K_M), else bf16."
            ),
        ] = None,
        concurrency: Annotated[int, typer.Option(min=1, max=4096, help="Concurrent streams.")] = 1,
        input_tokens: Annotated[int, typer.Option(min=1, help="Prompt tokens per request.")] = 1000,
        output_tokens: Annotated[int, typer.Option(min=1, help="Output tokens per request.")] = 300,
        mode: Annotated[
            EstimateMode, typer.Option(help="fixed_concurrency, or max_load (as many streams as memory holds).")
        ] = EstimateMode.FIXED_CONCURRENCY,
        runtime: Annotated[
            str | None,
            typer.Option(
                help="Serving engine: vllm, sglang, tensorrt-llm, nvidia-nim, tgi, llama.cpp, ollama, mlx; add its "
                "release for an older one's fixed costs ('sglang 0.4.1'); without one, the current release's. "
                "NIM 2.x ('nvidia-nim 2.0.8') runs vLLM and is estimated as it."
            ),
        ] = None,
        kv_cache_dtype: Annotated[str, typer.Option(help="KV cache dtype: auto, fp16, bf16 or fp8.")] = "auto",
        prefix_cache_hit_share: Annotated[
            float, typer.Option(min=0.0, max=1.0, help="Share of prompt tokens served from the prefix cache.")
        ] = 0.0,
        spec_draft_tokens: Annotated[
            int, typer.Option(min=0, max=16, help="Speculative decoding: tokens drafted per step (0 = off).")
        ] = 0,
        spec_acceptance: Annotated[
            float, typer.Option(min=0.0, max=0.99, help="Speculative decoding: per-token acceptance rate.")
        ] = 0.7,
        attention_dp: Annotated[
            bool | None,
            typer.Option(
                "--attention-dp/--no-attention-dp",
                help="Attention data-parallel across the replica's GPUs (weights outside the experts copied on "
                "each); default: the runtime's recipe (TensorRT-LLM MoE at max load).",
            ),
        ] = None,
        fit_my_runs: Annotated[
            bool, typer.Option("--fit-my-runs", help="Fit the efficiency to your stored `opentco measure` runs.")
        ] = False,
        db: Annotated[Path | None, typer.Option(help="Usage/benchmark store (default $OPENTCO_DB or var/).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """Estimate output tokens/s (total and per stream), time to first token and memory fit.

        When the store holds a measurement of this model on this GPU at this concurrency
        (`opentco measure`), its figures are reported instead, with basis "measured" and the estimate's error.
        """
        cat = catalog()
        note: str | None = None
        if model_config is not None:
            m: ModelArch = model_from_hf_config(model_config, name=model)
            note = f"architecture read from {m.source} (parameters counted from its shapes)"
        elif model is not None:
            m, note = cat.resolve_model(model)
        else:
            raise ScenarioError("give --model (a catalog name or Hugging Face id) or --model-config (a config.json)")
        g = cat.gpu(gpu)
        if runtime is None and model is not None and model_config is None:
            runtime, served = _runtime_named_by(model)
            note = "; ".join(n for n in (note, served) if n)
        q, quant_note = _quant_for(cat, quant, model if model_config is None else None, m, runtime)
        note = "; ".join(n for n in (note, quant_note) if n) or None
        kv = None if kv_cache_dtype == "auto" else kv_cache_dtype
        named_kv = checkpoint_kv_cache_dtype(model) if model is not None and model_config is None else None
        if kv is None and named_kv:
            kv = named_kv
            note = "; ".join(
                n for n in (note, f"the name {model} states an {kv.upper()} KV cache: estimated with it") if n
            )
        runtime = checked_runtime(runtime)
        need = gpus_needed(m, g, q, context_tokens=input_tokens + output_tokens, kv_cache_dtype=kv, runtime=runtime)
        spec = (
            SpeculativeDecoding(draft_tokens=spec_draft_tokens, acceptance_rate=spec_acceptance)
            if spec_draft_tokens
            else None
        )
        opts = dict(
            gpus=gpus,
            concurrency=concurrency,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            mode=mode,
            runtime=runtime,
            kv_cache_dtype=kv,
            prefix_cache_hit_share=prefix_cache_hit_share,
            speculative=spec,
            attention_dp=attention_dp,
        )
        own = None
        if fit_my_runs:
            from costmodel.calibration import fit_to_measurements

            levels, runs = _own_run_levels(db, names=(m.model_id, m.hf_repo, model or m.model_id), gpu=g.gpu_id)
            if not levels:
                raise ScenarioError(
                    f"no stored `opentco measure` run of {m.model_id} on {g.gpu_id} to fit to "
                    "(measure one, or drop --fit-my-runs)"
                )
            own = fit_to_measurements(levels, model=m, gpu=g, quant=q, runtime=runtime, runs=runs)
        e = estimate(m, g, q, efficiency=own.efficiency if own else None, **opts)  # type: ignore[arg-type]
        if gpus is None and need is None:
            raise ScenarioError(f"{m.name} in {q.name} does not fit on up to 64 × {g.name}")
        split = _better_split(
            e,
            need,
            m,
            g,
            q,
            runtime=runtime,
            kv_cache_dtype=kv,
            speculative=spec,
            attention_dp=attention_dp,
            efficiency=own.efficiency if own else None,
        )
        out = {
            "model": m.model_id,
            "gpu": g.gpu_id,
            "quant": q.quant_id,
            "gpus": e.gpus,
            "output_tokens_per_s": round(e.output_tokens_per_s, 2),
            "output_tokens_per_s_per_stream": round(e.output_tokens_per_s_per_stream, 2),
            "ttft_ms": round(e.ttft_ms, 1) if e.fits else None,
            "fits": e.fits,
            "gpus_needed": need,
            "max_concurrency": e.max_concurrency,
            "concurrency": e.concurrency,
            "requested_concurrency": e.requested_concurrency,
            "queue_wait_ms": round(e.queue_wait_ms, 1) if e.fits else None,
            "weights_gb": round(e.weights_gb, 2),
            "kv_cache_gb_per_1k_tokens": round(e.kv_gb_per_token * 1000, 4),
            "kv_capacity_gb": round(e.kv_capacity_gb, 2),
            "kv_cache_dtype": e.kv_cache_dtype,
            "bound": e.bound,
            "basis": e.basis.value,
            "basis_source": e.efficiency.source,
            "error_band_pct": e.error_band_pct,
            "error_band_basis": e.error_band_basis,
            "mode": e.mode.value,
            "runtime_family": e.runtime_family,
            "regimes": list(e.regimes),
            "decode_step_ms": round(e.decode_step_ms, 3) if e.fits else None,
            "communication_ms": round(e.communication_ms, 3),
            "overhead_ms": round(e.overhead_ms, 3),
            "attention_dp": e.attention_dp,
            "current_release": e.current_release,
            "engine_note": engine_note(runtime, g, q),
            "model_note": note,
        }
        if split is not None:
            out["better_split"] = {
                "gpus_per_replica": split.gpus_per_replica,
                "replicas": split.replicas,
                "output_tokens_per_s": round(split.output_tokens_per_s, 2),
            }
        if own is not None:
            out.update(
                calibrated_on_your_runs=True,
                own_runs_levels=own.levels,
                own_runs_error_before_pct=round(own.error_before_pct, 1),
                own_runs_error_after_pct=round(own.error_after_pct, 1),
                own_runs_factors={
                    "bandwidth": own.efficiency.bandwidth,
                    "compute": own.efficiency.compute,
                    "layer_overhead_us": own.efficiency.layer_overhead_us,
                    "stream_overhead_us": own.efficiency.stream_overhead_us,
                },
            )
        measured = _stored_measurement(db, model=m.model_id, hf_repo=m.hf_repo, gpu=g.gpu_id, concurrency=e.concurrency)
        if measured is not None:
            est_total, est_stream = out["output_tokens_per_s"], out["output_tokens_per_s_per_stream"]
            out.update(
                output_tokens_per_s=round(measured.output_tokens_per_s, 2),  # type: ignore[attr-defined]
                output_tokens_per_s_per_stream=round(measured.output_tokens_per_s_per_stream or 0.0, 2),  # type: ignore[attr-defined]
                ttft_ms=measured.ttft_ms_p95,  # type: ignore[attr-defined]
                basis="measured",
                basis_source=f"benchmark #{measured.benchmark_id} of {measured.measured_at:%Y-%m-%d}",  # type: ignore[attr-defined]
                estimated_output_tokens_per_s=est_total,
                estimated_output_tokens_per_s_per_stream=est_stream,
                estimate_error_pct=round((est_total / measured.output_tokens_per_s - 1) * 100, 1),  # type: ignore[attr-defined]
            )
        if as_json:
            echo_json(out)
            return
        if not e.fits:
            typer.echo(
                f"{m.name} ({q.name}) does NOT fit on {e.gpus} × {g.name}: weights {e.weights_gb:.1f} GB, "
                f"memory {e.memory_gb:.0f} GB. GPUs needed: {need or 'more than 64'}."
            )
            raise typer.Exit(1)
        if note:
            typer.echo(f"note: {note}")
        if engine := engine_note(runtime, g, q):
            typer.echo(f"note: {engine}")
        if own is not None:
            typer.echo(
                f"calibrated on your runs: {own.levels} levels of {own.runs} run(s); median error "
                f"{own.error_before_pct:.1f}% before → {own.error_after_pct:.1f}% after (bandwidth share "
                f"{own.efficiency.bandwidth:.3f}, compute share {own.efficiency.compute:.3f}, "
                f"{own.efficiency.layer_overhead_us:g} µs a layer, {own.efficiency.stream_overhead_us:g} µs a stream "
                "per step)"
            )
        if measured is not None:
            typer.echo(
                f"measured (benchmark #{measured.benchmark_id}): {out['output_tokens_per_s']:,.0f} output tok/s at "  # type: ignore[attr-defined]
                f"{e.concurrency} streams, TTFT p95 {out['ttft_ms'] or 0:,.0f} ms; "
                f"the estimate below is off by {out['estimate_error_pct']:+.1f}%"
            )
        typer.echo(
            f"{m.name} · {q.name} · {e.gpus} × {g.name}  ({e.basis.value}: {e.efficiency.source})\n"
            f"  fits: yes (weights {e.weights_gb:.1f} GB, KV cache {e.kv_capacity_gb:.1f} GB"
            + ("" if e.kv_cache_dtype == "auto" else f" in {e.kv_cache_dtype}")
            + ", "
            f"max {e.max_concurrency} streams at {input_tokens}+{output_tokens} tokens; fewest GPUs: {need})\n"
            + _load_words(e)
            + f": {e.output_tokens_per_s:,.0f} output tok/s total, "
            f"{e.output_tokens_per_s_per_stream:,.1f} per stream, TTFT {e.ttft_ms:,.0f} ms"
            + (f" ({e.queue_wait_ms:,.0f} ms of it waiting)" if e.queue_wait_ms >= 1 else "")
            + f" ({e.bound}-bound decode)\n"
            f"  expected error ±{e.error_band_pct:.0f}% (from {e.error_band_basis}; "
            f"regimes: {', '.join(e.regimes)}); per step: "
            f"{e.decode_step_ms:,.1f} ms, of which all-reduce {e.communication_ms:,.2f} ms, fixed overhead "
            f"{e.overhead_ms:,.2f} ms"
            + (f" ({words})" if (words := release_costs_words(e.current_release, runtime, e.runtime_family)) else "")
            + ("; attention data-parallel" if e.attention_dp else "")
        )
        if split is not None:
            typer.echo(
                f"  on these {e.gpus} GPUs, {split.replicas} replicas of {split.gpus_per_replica} serve "
                f"{split.output_tokens_per_s:,.0f} output tok/s in all at max load "
                f"({split.output_tokens_per_s / e.output_tokens_per_s:.2f}× one replica of {e.gpus}; "
                f"`--gpus {split.gpus_per_replica}` estimates one of them)"
            )


SPLIT_GAIN = 1.10
"""A split into smaller replicas is pointed out when it serves at least this many times one large replica."""


def _better_split(
    e: ThroughputEstimate,
    need: int | None,
    m: ModelArch,
    g: GpuSpec,
    q: QuantFormat,
    *,
    runtime: str | None,
    kv_cache_dtype: str | None,
    speculative: SpeculativeDecoding | None,
    attention_dp: bool | None,
    efficiency: Efficiency | None,
) -> ReplicaLayout | None:
    """At max load on more GPUs than the model needs, the split into smaller replicas that serves clearly more."""
    if not e.fits or e.mode is not EstimateMode.MAX_LOAD or need is None or e.gpus <= need:
        return None
    layouts = replica_layouts(
        m,
        g,
        q,
        total_gpus=e.gpus,
        input_tokens=e.input_tokens,
        output_tokens=e.output_tokens,
        runtime=runtime,
        kv_cache_dtype=kv_cache_dtype,
        efficiency=efficiency,
        prefix_cache_hit_share=e.prefix_cache_hit_share,
        speculative=speculative,
        attention_dp=attention_dp,
    )
    best = layouts[0] if layouts else None
    if best is None or best.gpus_per_replica == e.gpus:
        return None
    return best if best.output_tokens_per_s >= SPLIT_GAIN * e.output_tokens_per_s else None
