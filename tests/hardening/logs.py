"""Usage logs made up for the hardening tests, and their totals worked out without the product.

Every request id `n` has the same tokens and time in every file that carries it (the same request seen by two
gateways), so whichever file stores it first, the store's totals are known in advance: the sums over the
distinct ids below.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

__all__ = ["Totals", "big_generic_csv", "generic_csv", "litellm_jsonl", "request", "totals"]

_START = datetime(2025, 3, 1)
_MODELS = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet-20241022")


@dataclass(frozen=True)
class Totals:
    """What the store must hold after importing a set of request ids."""

    rows: int
    input_tokens: int
    output_tokens: int


def request(n: int) -> tuple[datetime, str, int, int]:
    """Time, model, input and output tokens of request `n` (the same in every file)."""
    ts = _START + timedelta(minutes=(n * 37) % (27 * 24 * 60))
    return ts, _MODELS[n % len(_MODELS)], 100 + n % 997, 10 + n % 101


def totals(ids: Iterable[int]) -> Totals:
    """The totals of the distinct ids among `ids`."""
    distinct = set(ids)
    return Totals(
        rows=len(distinct),
        input_tokens=sum(request(n)[2] for n in distinct),
        output_tokens=sum(request(n)[3] for n in distinct),
    )


def generic_csv(ids: Iterable[int], *, project: str = "proj", user: str = "user") -> bytes:
    """The requests as OpenTCO's generic CSV (read by DuckDB's CSV reader)."""
    lines = ["timestamp,model,input_tokens,output_tokens,provider,project,user,request_id"]
    for n in ids:
        ts, model, inp, out = request(n)
        provider = "anthropic" if model.startswith("claude") else "openai"
        lines.append(f"{ts:%Y-%m-%dT%H:%M:%SZ},{model},{inp},{out},{provider},{project},{user},req-{n}")
    return ("\n".join(lines) + "\n").encode()


def litellm_jsonl(ids: Iterable[int], *, team: str = "team") -> bytes:
    """The requests as LiteLLM spend-log JSON lines (read by the Python parser, row by row)."""
    out = []
    for n in ids:
        ts, model, inp, out_tok = request(n)
        out.append(
            json.dumps(
                {
                    "request_id": f"req-{n}",
                    "call_type": "acompletion",
                    "api_key": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
                    "spend": 0.001,
                    "prompt_tokens": inp,
                    "completion_tokens": out_tok,
                    "total_tokens": inp + out_tok,
                    "startTime": f"{ts:%Y-%m-%dT%H:%M:%S}.000Z",
                    "model": model,
                    "custom_llm_provider": "anthropic" if model.startswith("claude") else "openai",
                    "team_id": team,
                    "status": "success",
                }
            )
        )
    return ("\n".join(out) + "\n").encode()


def big_generic_csv(path: Path, *, rows: int) -> Totals:
    """Write a generic CSV of `rows` requests (ids `big-0`…, January to June 2025) fast; return its totals."""
    duckdb.connect().execute(
        f"""
        COPY (
          SELECT strftime(TIMESTAMP '2025-01-01' + to_seconds((i * 7919) % (180 * 86400)), '%Y-%m-%dT%H:%M:%SZ')
                     AS timestamp,
                 (['gpt-4o', 'gpt-4o-mini', 'claude-3-5-haiku-20241022'])[1 + i % 3] AS model,
                 100 + (i * 37) % 4000 AS input_tokens, 10 + (i * 13) % 800 AS output_tokens,
                 'proj-' || (i % 20) AS project, 'big-' || i AS request_id
          FROM range({int(rows)}) t(i)
        ) TO '{path}' (HEADER)
        """
    )
    n, inp, out = (
        duckdb.connect()
        .execute("SELECT count(*), sum(input_tokens), sum(output_tokens) FROM read_csv(?)", [str(path)])
        .fetchone()
    )  # type: ignore[misc]
    return Totals(rows=int(n), input_tokens=int(inp), output_tokens=int(out))
