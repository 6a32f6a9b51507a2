"""Import speed of a big generic CSV, side by side with DuckDB's own reader and with pandas, and summary speed.

    python bench/bench_import.py                 # 10 million rows (about 1 GB of CSV, a few minutes)
    python bench/bench_import.py --rows 200000   # a quick run

Targets (issue #5, #15): OpenTCO's import, normalised, validated and de-duplicated, reaches at least 70 % of the
speed of a bare `CREATE TABLE … AS SELECT * FROM read_csv(file)` into a fresh DuckDB file, and is at least
3× faster than `pandas.read_csv` + insert; daily and hourly summaries over the rows answer in under 200 ms;
re-pricing every logged month (as reported, at the list price in force on each row's day, at today's list
price) takes under 2 s.
Two pandas baselines are timed: the bare minimum (read, parse timestamps, insert into the same table) and
pandas doing the same job as the import (also checking the values and dropping repeated request ids).
Each import runs `--repeat` times, interleaved with the others so that load from other processes hits all of
them alike, and the best time of each counts. `--check` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

from costmodel.store import connect
from costmodel.usage import Dimension, Grain, hour_of_week, import_file, monthly_totals, peak_to_average, usage_series

_MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022", "gemini-1.5-pro"]


def generate(path: Path, rows: int) -> None:
    """A generic CSV of `rows` requests over 180 days, every column filled, unique request ids."""
    models = ", ".join(f"'{m}'" for m in _MODELS)
    duckdb.connect().execute(
        f"""
        COPY (
          SELECT strftime(TIMESTAMP '2025-01-01' + to_seconds((i * 7919) % (180 * 86400)), '%Y-%m-%dT%H:%M:%SZ')
                     AS timestamp,
                 ([{models}])[1 + i % {len(_MODELS)}] AS model,
                 100 + (i * 37) % 4000 AS input_tokens,
                 10 + (i * 13) % 800 AS output_tokens,
                 (i * 11) % 100 AS cached_input_tokens,
                 1 AS requests,
                 round(((100 + (i * 37) % 4000) * 2.5 + (10 + (i * 13) % 800) * 10) / 1e6, 8) AS cost_usd,
                 (['openai', 'openai', 'anthropic', 'anthropic', 'google'])[1 + i % 5] AS provider,
                 'proj-' || (i % 20) AS project,
                 'user-' || (i % 500) AS user,
                 'req-' || i AS request_id
          FROM range({int(rows)}) t(i)
        ) TO '{path}' (HEADER)
        """
    )


def _timed(fn: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _fresh(tmp: Path, name: str) -> Path:
    db = tmp / f"{name}.duckdb"
    for p in (db, db.with_suffix(".duckdb.wal")):
        p.unlink(missing_ok=True)
    return db


def bare_ctas(csv: Path, db: Path) -> None:
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [str(csv)])
    con.close()


def opentco_import(csv: Path, db: Path) -> None:
    con = connect(db)
    result = import_file(con, csv)
    con.close()
    if result.rows_rejected or not result.rows_imported:
        raise SystemExit(f"unexpected import result: {result.summary()}")


def _pandas_frame(csv: Path) -> pd.DataFrame:
    frame = pd.read_csv(csv)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601").dt.tz_localize(None)
    frame["cached_input_tokens"] = frame["cached_input_tokens"].fillna(0)
    frame["requests"] = frame["requests"].fillna(1)
    return frame


def _pandas_insert(frame: pd.DataFrame, db: Path) -> None:
    con = connect(db)  # the same usage_events table OpenTCO imports into
    con.register("frame", frame)
    con.execute(
        """
        INSERT INTO usage_events (ts, provider, model, input_tokens, cached_input_tokens, output_tokens, requests,
                                  reported_cost_usd, project, user, request_id, import_id)
        SELECT timestamp, provider, model, input_tokens, cached_input_tokens, output_tokens, requests, cost_usd,
               project, user, request_id, 1
        FROM frame
        """
    )
    con.close()


def pandas_insert(csv: Path, db: Path) -> None:
    """The least pandas can do: read, parse timestamps to UTC, fill defaults, insert into the same table."""
    _pandas_insert(_pandas_frame(csv), db)


def pandas_same_job(csv: Path, db: Path) -> None:
    """pandas doing what the import does: also reject bad values and drop repeated request ids."""
    frame = _pandas_frame(csv)
    now = pd.Timestamp.now(tz="UTC").tz_localize(None) + pd.Timedelta(days=1)
    tokens = frame[["input_tokens", "output_tokens", "cached_input_tokens", "requests"]]
    bad = (
        frame["timestamp"].isna()
        | (frame["timestamp"] < pd.Timestamp("2020-01-01"))
        | (frame["timestamp"] > now)
        | frame["model"].isna()
        | tokens.isna().any(axis=1)
        | (tokens < 0).any(axis=1)
        | (frame["cached_input_tokens"] > frame["input_tokens"])
        | (frame["cost_usd"] < 0)
    )
    frame = frame[~bad]
    with_id = frame["request_id"].notna()
    frame = pd.concat([frame[with_id].drop_duplicates("request_id"), frame[~with_id]])
    _pandas_insert(frame, db)


def summaries(db: Path, *, repeat: int = 3) -> dict[str, float]:
    """Best time of each summary over the imported rows (the first call warms DuckDB's caches)."""
    con = connect(db)
    calls: dict[str, Callable[[], object]] = {
        "daily tokens": lambda: usage_series(con, grain=Grain.DAY),
        "hourly tokens": lambda: usage_series(con, grain=Grain.HOUR),
        "monthly tokens": lambda: usage_series(con, grain=Grain.MONTH),
        "peak-to-average (p95 hour)": lambda: peak_to_average(con),
        "hour-of-week heatmap": lambda: hour_of_week(con),
        "monthly totals (full / partial)": lambda: monthly_totals(con),
        "daily tokens by model (row scan)": lambda: usage_series(con, grain=Grain.DAY, by=Dimension.MODEL),
        "hourly tokens by project (row scan)": lambda: usage_series(con, grain=Grain.HOUR, by=Dimension.PROJECT),
    }
    out = {name: min(_timed(fn) for _ in range(repeat)) for name, fn in calls.items()}
    con.close()
    return out


def reprice_seconds(db: Path, *, repeat: int = 3) -> float:
    """Best time to re-price every month (reported, price in force, today's price) with genai-prices' lookups cold."""
    from costmodel.usage import costs, pricing
    from costmodel.usage.reprice import reprice

    con = connect(db)
    times = []
    for _ in range(repeat):
        costs._rates.cache_clear()
        pricing._match.cache_clear()
        times.append(_timed(lambda: reprice(con)))
    con.close()
    return min(times)


def pandas_row_inserts_seconds(csv: Path, db: Path, *, sample: int, rows: int) -> float:
    """`pandas.read_csv` + one INSERT per row (`executemany`), timed on `sample` rows and scaled to `rows`."""
    frame = pd.read_csv(csv, nrows=sample)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601").dt.tz_localize(None)
    values = frame.astype(object).where(frame.notna(), None).values.tolist()
    con = connect(db)
    start = time.perf_counter()
    con.executemany(
        "INSERT INTO usage_events (ts, model, input_tokens, output_tokens, cached_input_tokens, requests, "
        "reported_cost_usd, provider, project, user, request_id, import_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
        values,
    )
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed * rows / len(values)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=2, help="runs of each import (best counts)")
    ap.add_argument("--dir", type=Path, default=None, help="work directory (default: a temporary one)")
    ap.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline (it needs ~10 GB of RAM)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--row-insert-sample", type=int, default=3000, help="rows timed for the executemany baseline")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="opentco-bench-", dir=args.dir) as work:
        tmp = Path(work)
        csv = tmp / "usage.csv"
        t_gen = _timed(lambda: generate(csv, args.rows))
        print(f"generated {args.rows:,} rows, {csv.stat().st_size / 1024**2:,.0f} MiB of CSV in {t_gen:.1f} s")
        bare_l, ours_l = "bare DuckDB CTAS from read_csv", "OpenTCO import (validated, de-duplicated)"
        min_l, job_l = "pandas read_csv + to_datetime + insert", "pandas doing the same job + insert"
        steps: dict[str, Callable[[Path, Path], None]] = {bare_l: bare_ctas, ours_l: opentco_import}
        if not args.no_pandas:
            steps |= {min_l: pandas_insert, job_l: pandas_same_job}
        runs: dict[str, list[float]] = {k: [] for k in steps}
        for _ in range(args.repeat):
            for i, (label, step) in enumerate(steps.items()):
                runs[label].append(_timed(lambda s=step, n=i: s(csv, _fresh(tmp, f"run{n}"))))
        best = {k: min(v) for k, v in runs.items()}
        bare, ours = best[bare_l], best[ours_l]
        print(f"\n{'import (best of ' + str(args.repeat) + ')':<44} {'seconds':>9} {'rows/s':>12} {'vs bare':>8}")
        for label, sec in best.items():
            print(f"{label:<44} {sec:>9.2f} {args.rows / sec:>12,.0f} {bare / sec:>7.0%}")
        ok = bare / ours >= 0.70
        line = f"\nOpenTCO import at {bare / ours:.0%} of bare DuckDB speed (target ≥ 70 %)"
        if not args.no_pandas:
            ok &= best[job_l] / ours >= 3
            line += f"; {best[min_l] / ours:.1f}× the minimal pandas load, {best[job_l] / ours:.1f}× pandas doing "
            line += "the same job (target ≥ 3×)"
        print(line)
        if not args.no_pandas:
            sample = min(args.row_insert_sample, args.rows)
            slow = pandas_row_inserts_seconds(csv, _fresh(tmp, "rows"), sample=sample, rows=args.rows)
            print(
                f"pandas read_csv + executemany INSERT per row: {slow:,.0f} s for {args.rows:,} rows "
                f"(timed on {sample:,} rows, scaled), {slow / ours:,.0f}× slower than the import"
            )

        print(f"\n{'summary over ' + format(args.rows, ',') + ' rows (best of 3)':<44} {'ms':>9}")
        for name, sec in summaries(tmp / "run1.duckdb").items():
            print(f"{name:<44} {sec * 1000:>9.1f}")
            if "row scan" not in name:  # the target covers the daily and hourly summaries
                ok &= sec < 0.2
        repriced = reprice_seconds(tmp / "run1.duckdb")
        print(
            f"\nre-pricing {args.rows:,} rows (reported, list price in force, today's list price), price lookups "
            f"cold: {repriced:.2f} s (target < 2 s)"
        )
        ok &= repriced < 2
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
