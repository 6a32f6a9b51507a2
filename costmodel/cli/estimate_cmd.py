"""`opentco estimate`: how fast one replica of an open model runs on a GPU setup."""

from __future__ import annotations

from typing import Annotated

import typer

from costmodel.catalog import catalog
from costmodel.cli._common import echo_json, user_errors
from costmodel.errors import ScenarioError
from costmodel.throughput import estimate, gpus_needed

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("estimate")
    @user_errors
    def estimate_command(
        model: Annotated[str, typer.Option(help="Open model: id, alias or Hugging Face repo id.")],
        gpu: Annotated[str, typer.Option(help="GPU id or alias (h100, L40S, mi300x …).")],
        gpus: Annotated[
            int | None, typer.Option(min=1, max=64, help="GPUs per replica; default: fewest that fit.")
        ] = None,
        quant: Annotated[str, typer.Option(help="Quantization id (bf16, fp8, awq-int4, gguf-q4_k_m …).")] = "bf16",
        concurrency: Annotated[int, typer.Option(min=1, max=4096, help="Concurrent streams.")] = 1,
        input_tokens: Annotated[int, typer.Option(min=1, help="Prompt tokens per request.")] = 1000,
        output_tokens: Annotated[int, typer.Option(min=1, help="Output tokens per request.")] = 300,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """Estimate output tokens/s (total and per stream), time to first token and memory fit."""
        cat = catalog()
        m, g, q = cat.model(model), cat.gpu(gpu), cat.quant(quant)
        need = gpus_needed(m, g, q, context_tokens=input_tokens + output_tokens)
        e = estimate(
            m, g, q, gpus=gpus, concurrency=concurrency, input_tokens=input_tokens, output_tokens=output_tokens
        )
        if gpus is None and need is None:
            raise ScenarioError(f"{m.name} in {q.name} does not fit on up to 64 × {g.name}")
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
            "weights_gb": round(e.weights_gb, 2),
            "kv_cache_gb_per_1k_tokens": round(e.kv_gb_per_token * 1000, 4),
            "kv_capacity_gb": round(e.kv_capacity_gb, 2),
            "bound": e.bound,
            "basis": e.basis.value,
            "basis_source": e.efficiency.source,
        }
        if as_json:
            echo_json(out)
            return
        if not e.fits:
            typer.echo(
                f"{m.name} ({q.name}) does NOT fit on {e.gpus} × {g.name}: weights {e.weights_gb:.1f} GB, "
                f"memory {e.memory_gb:.0f} GB. GPUs needed: {need or 'more than 64'}."
            )
            raise typer.Exit(1)
        typer.echo(
            f"{m.name} · {q.name} · {e.gpus} × {g.name}  ({e.basis.value}: {e.efficiency.source})\n"
            f"  fits: yes (weights {e.weights_gb:.1f} GB, KV cache {e.kv_capacity_gb:.1f} GB, "
            f"max {e.max_concurrency} streams at {input_tokens}+{output_tokens} tokens; fewest GPUs: {need})\n"
            f"  at {e.concurrency} streams: {e.output_tokens_per_s:,.0f} output tok/s total, "
            f"{e.output_tokens_per_s_per_stream:,.1f} per stream, TTFT {e.ttft_ms:,.0f} ms ({e.bound}-bound decode)"
        )
