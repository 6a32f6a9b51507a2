"""`opentco catalog gpus|models|quant|prices|api|calibration`: what the engine knows, with sources."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from costmodel.calibration import (
    FIT_FILE,
    CalibrationFit,
    band_floors_pct,
    calibration_fit,
    holdout_check,
    runtime_series_errors,
    stored_calibration_fit,
    write_calibration_fit,
)
from costmodel.catalog import catalog
from costmodel.cli._common import echo_json, user_errors

__all__ = ["register"]


class What(StrEnum):
    gpus = "gpus"
    models = "models"
    quant = "quant"
    prices = "prices"
    api = "api"
    calibration = "calibration"


def _cell(row: dict[str, object], col: str) -> str:
    value = row.get(col)
    return "" if value is None else str(value)  # no figure: a blank cell, as in the JSON's null


def _table(rows: list[dict[str, object]], cols: list[str]) -> str:
    widths = {c: max(len(c), *(len(_cell(r, c)) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols)]
    lines += ["  ".join(_cell(r, c).ljust(widths[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def _r1(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _calibration_rows(fit: CalibrationFit) -> tuple[list[dict[str, object]], list[str]]:
    rows: list[dict[str, object]] = [
        {
            "table": "family",
            "name": name,
            "points": f.points,
            "sources": f.sources,
            "bandwidth_eff": f.efficiency.get("bandwidth"),
            "compute_eff": f.efficiency.get("compute"),
            "layer_overhead_us": f.efficiency.get("layer_overhead_us"),
            "moe_expert_overhead_us": f.efficiency.get("moe_expert_overhead_us"),
            "moe_compute_factor": f.efficiency.get("moe_compute_factor"),
            "mla_layer_overhead_us": f.efficiency.get("mla_layer_overhead_us"),
            "tensorrt_compute_factor": f.efficiency.get("tensorrt_compute_factor"),
            "fp4_compute_factor": f.efficiency.get("fp4_compute_factor"),
            "in_sample_median_pct": _r1(f.in_sample.median_pct),
            "loso_median_pct": _r1(f.leave_one_source_out.median_pct),
            "default_median_pct": _r1(f.defaults.median_pct),
            "mape_pct": _r1(f.in_sample.mean_pct),
            "loo_mape_pct": _r1(f.leave_one_source_out.mean_pct),
            "default_mape_pct": _r1(f.defaults.mean_pct),
        }
        for name, f in fit.families.items()
    ]
    rows += [
        {
            "table": "regime",
            "name": name,
            "points": g.points,
            "in_sample_median_pct": _r1(g.in_sample_median_pct),
            "loso_median_pct": _r1(g.loso_median_pct),
            "default_median_pct": _r1(g.default_median_pct),
            "loso_within_2x": g.loso_within_2x,
        }
        for name, g in (*fit.regimes.items(), ("all", fit.overall))
    ]
    check = holdout_check(fit)
    floors = band_floors_pct(fit, check)
    rows += [
        {
            "table": "gpu",
            "name": f"{family}/{gpu_id}",
            "points": g.points,
            "sources": g.sources,
            "in_sample_median_pct": _r1(g.in_sample_median_pct),
            "loso_median_pct": _r1(g.loso_median_pct),
            "default_median_pct": _r1(g.default_median_pct),
            "loso_within_2x": g.loso_within_2x,
            "band_floor_pct": floors.get((family, gpu_id)),
        }
        for family, f in fit.families.items()
        for gpu_id, g in f.gpus.items()
    ]
    if check is not None:  # published rows the fit never read: the figure a new measurement should expect
        families = [None, *sorted({fam for _, fam, _ in check.errors})]
        rows += [
            {
                "table": "holdout",
                "name": fam or "all",
                "points": len(check.of(fam)),
                "holdout_median_pct": _r1(check.median_pct(fam)),
                "holdout_within_2x": check.within_2x(fam),
            }
            for fam in families
        ]
        rows += [  # per GPU type: where as many rows as a band floor needs, their median sets one
            {
                "table": "holdout",
                "name": f"{fam}/{gpu_id}",
                "points": len(check.of(fam, gpu_id)),
                "holdout_median_pct": _r1(check.median_pct(fam, gpu_id)),
                "holdout_within_2x": check.within_2x(fam, gpu_id),
                "band_floor_pct": floors.get((fam, gpu_id)),
            }
            for fam, gpu_id in check.gpus()
        ]
    rows += [  # per engine release: the overheads are fitted to the releases the rows measured
        {
            "table": "runtime",
            "name": e.series,
            "points": e.fitted_rows,
            "in_sample_median_pct": e.in_sample_median_pct,
            "loso_median_pct": e.loso_median_pct,
            "loso_signed_pct": e.loso_signed_median_pct,
            "holdout_points": e.holdout_rows,
            "holdout_median_pct": e.holdout_median_pct,
            "holdout_signed_pct": e.holdout_signed_median_pct,
            "loso_within_2x": e.loso_within_2x,
            "holdout_within_2x": e.holdout_within_2x,
        }
        for e in runtime_series_errors()
    ]
    cols = ["table", "name", "points", "in_sample_median_pct", "loso_median_pct", "default_median_pct"]
    cols += ["loso_signed_pct"]
    cols += (
        ["holdout_points", "holdout_median_pct", "holdout_signed_pct", "holdout_within_2x"] if check is not None else []
    )
    cols += ["loso_within_2x", "band_floor_pct", "sources", "bandwidth_eff", "compute_eff", "layer_overhead_us"]
    cols += ["moe_expert_overhead_us", "moe_compute_factor", "mla_layer_overhead_us", "tensorrt_compute_factor"]
    cols += ["fp4_compute_factor"]
    return rows, cols


def _rows(
    what: What, search: str | None, fit: CalibrationFit | None = None
) -> tuple[list[dict[str, object]], list[str]]:
    cat = catalog()
    if what is What.gpus:
        rows = [g.model_dump(mode="json") for g in cat.gpus]
        cols = ["gpu_id", "memory_gb", "hbm_bandwidth_gb_s", "fp16_tflops", "fp8_tflops", "int8_tops", "tdp_w", "as_of"]
    elif what is What.models:
        rows = [m.model_dump(mode="json") for m in cat.models]
        cols = ["model_id", "hf_repo", "total_params_b", "active_params_b", "layers", "kv_heads", "head_dim", "licence"]
    elif what is What.quant:
        rows = [q.model_dump(mode="json") for q in cat.quants]
        cols = [
            "quant_id",
            "bits_per_weight",
            "scope",
            "compute_dtype",
            "kv_bytes_per_element",
            "quality_retention_pct",
        ]
    elif what is What.prices:
        rows = [p.model_dump(mode="json") for p in cat.prices]
        cols = ["provider", "instance_type", "gpu_id", "gpu_count", "region", "plan", "usd_per_gpu_hour", "as_of"]
    elif what is What.api:
        from costmodel.prices import list_api_prices

        rows = [
            {
                "provider": p.provider_id,
                "model": p.model_id,
                "input_usd_per_mtok": p.input_usd_per_mtok,
                "cached_input_usd_per_mtok": p.cached_input_usd_per_mtok,
                "output_usd_per_mtok": p.output_usd_per_mtok,
                "batch": p.has_batch_rate,
                "price_date": p.price_date,
                "source": p.source,
            }
            for p in list_api_prices()
        ]
        cols = ["provider", "model", "input_usd_per_mtok", "cached_input_usd_per_mtok", "output_usd_per_mtok", "batch"]
    else:
        rows, cols = _calibration_rows(fit or calibration_fit())
    if search:
        needle = search.lower()
        rows = [r for r in rows if any(needle in str(v).lower() for v in r.values())]
    return rows, cols


def register(app: typer.Typer) -> None:
    @app.command("catalog")
    @user_errors
    def catalog_command(
        what: Annotated[What, typer.Argument(help="Which table to list.")],
        search: Annotated[str | None, typer.Option("--search", "-s", help="Keep rows containing this text.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON (every column, sources included).")] = False,
        refit: Annotated[
            bool, typer.Option("--refit", help="calibration: fit again in this process instead of reading the file.")
        ] = False,
        write: Annotated[
            bool, typer.Option("--write", help=f"calibration: refit and store the result in data/{FIT_FILE}.")
        ] = False,
    ) -> None:
        """List GPUs, open models, quantizations, GPU prices, API prices or the calibration report.

        `calibration` prints the median |error| against data/published_throughput.csv per runtime family and per
        regime: in-sample, leave-one-source-out (each publication predicted by a fit that never saw it: the figure
        to expect) and with the uncalibrated defaults; `holdout` rows score the fit on published rows it never
        reads (data/published_throughput_holdout.csv). It reads data/calibration_fit.json when that still matches
        the data; `--refit` fits again (seconds: one fit per publication left out), `--write` also stores the fit.
        """
        if (refit or write) and what is not What.calibration:
            typer.echo("error: --refit and --write apply to `opentco catalog calibration` only", err=True)
            raise typer.Exit(2)
        fit = None
        note = ""
        if what is What.calibration:
            if write:
                path = write_calibration_fit()
                fit = stored_calibration_fit()
                note = f"wrote {path}"
            elif refit:
                fit = calibration_fit(refit=True)
                note = f"refitted in this process, not stored (add --write to store it in data/{FIT_FILE})"
            else:
                fit = stored_calibration_fit()
                note = (
                    f"refitted in this process: data/{FIT_FILE} does not match the data"
                    if fit is None
                    else f"from data/{FIT_FILE}, fitted {fit.as_of} (fit code {fit.fit_code_version})"
                )
        rows, cols = _rows(what, search, fit)
        if as_json:
            echo_json(rows)
        else:
            typer.echo(_table(rows, cols) if rows else "(no rows)")
        if note:
            typer.echo(note, err=True)
