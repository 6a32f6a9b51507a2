"""`opentco estimate`: how fast one replica of an open model runs on a GPU setup."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import duckdb
import typer

from costmodel.catalog import catalog
from costmodel.cli._common import echo_json, user_errors
from costmodel.errors import ScenarioError
from costmodel.throughput import estimate, gpus_needed

__all__ = ["register"]


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
        db: Annotated[Path | None, typer.Option(help="Usage/benchmark store (default $OPENTCO_DB or var/).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """Estimate output tokens/s (total and per stream), time to first token and memory fit.

        When the store holds a measurement of this model on this GPU at this concurrency
        (`opentco measure`), its figures are reported instead, with basis "measured" and the estimate's error.
        """
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
        if measured is not None:
            typer.echo(
                f"measured (benchmark #{measured.benchmark_id}): {out['output_tokens_per_s']:,.0f} output tok/s at "  # type: ignore[attr-defined]
                f"{e.concurrency} streams, TTFT p95 {out['ttft_ms'] or 0:,.0f} ms; "
                f"the estimate below is off by {out['estimate_error_pct']:+.1f}%"
            )
        typer.echo(
            f"{m.name} · {q.name} · {e.gpus} × {g.name}  ({e.basis.value}: {e.efficiency.source})\n"
            f"  fits: yes (weights {e.weights_gb:.1f} GB, KV cache {e.kv_capacity_gb:.1f} GB, "
            f"max {e.max_concurrency} streams at {input_tokens}+{output_tokens} tokens; fewest GPUs: {need})\n"
            f"  at {e.concurrency} streams: {e.output_tokens_per_s:,.0f} output tok/s total, "
            f"{e.output_tokens_per_s_per_stream:,.1f} per stream, TTFT {e.ttft_ms:,.0f} ms ({e.bound}-bound decode)"
        )
