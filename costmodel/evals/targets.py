"""Targets: the OpenAI-compatible chat endpoints a task set runs against, and the run's settings.

A target names its API key only by environment variable (`api_key_env`); the key itself is read when the
run starts, sent as a bearer token and never stored, logged or put in a message.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator

from costmodel._base import StrictModel
from costmodel.evals.errors import EvalInputError

__all__ = ["RunSettings", "Target", "parse_target"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Target(StrictModel):
    """One model behind an OpenAI-compatible endpoint (OpenAI, Anthropic's compatible endpoint, Together,
    Fireworks, OpenRouter, vLLM, Ollama, llama.cpp, TGI …)."""

    label: Annotated[str, Field(min_length=1, max_length=80)]
    """Name shown in results; unique within a run."""
    base_url: Annotated[str, Field(min_length=1, max_length=2000)]
    """Endpoint base, e.g. `http://localhost:8000/v1` (`/chat/completions` is appended)."""
    model: Annotated[str, Field(min_length=1, max_length=300)]
    """Model name as the endpoint knows it."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (never the key itself); empty: no key."""
    stream: bool = True
    """Stream the answer (measures time to first token); False: one JSON response."""

    @field_validator("label", "model")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("must not be empty")
        return v

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{v!r} is not an http(s) URL; write it like http://localhost:8000/v1")
        return v

    @field_validator("api_key_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip()
        if not _ENV_NAME.match(v):
            # a pasted key lands here: say so without repeating it
            raise ValueError("must be the NAME of an environment variable (letters, digits, _), not the key itself")
        return v

    @property
    def chat_url(self) -> str:
        return self.base_url if self.base_url.endswith("/chat/completions") else self.base_url + "/chat/completions"

    def api_key(self) -> str | None:
        """The key from the environment (None when the target has none).

        Raises:
            EvalInputError: the variable is named but not set (the message names the variable only).
        """
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise EvalInputError(f"target {self.label!r}: the environment variable {self.api_key_env} is not set")
        return key


class RunSettings(StrictModel):
    """Everything a run depends on; stored with the run (no key, only variable names)."""

    targets: Annotated[list[Target], Field(min_length=1, max_length=16)]
    """The endpoints compared; the first is the baseline of the paired comparison."""
    judge: Target | None = None
    """Endpoint grading `judge` tasks."""
    concurrency: Annotated[int, Field(ge=1, le=1024)] = 8
    """Requests in flight per target at most."""
    limit: Annotated[int, Field(ge=1)] | None = None
    """Run only the first N tasks."""
    max_tokens: Annotated[int, Field(ge=1, le=200_000)] = 1024
    """Answer length cap (a task's own `max_tokens` wins)."""
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.0
    """Sampling temperature (0: as repeatable as the endpoint allows)."""
    timeout_s: Annotated[float, Field(gt=0, le=3600)] = 120.0
    """Seconds one request may take, start to last token."""
    max_retries: Annotated[int, Field(ge=0, le=20)] = 5
    """Retries after a 429, a 5xx, a timeout or a malformed response."""

    @model_validator(mode="after")
    def _unique_labels(self) -> RunSettings:
        labels = [t.label for t in self.targets]
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ValueError(f"target labels must be unique; repeated: {', '.join(dup)}")
        return self

    def run_key(self, task_set_sha256: str) -> str:
        """Identity of a run for resuming: the task set and what changes answers (not speed or limits)."""
        what = self.model_dump(mode="json", include={"targets", "judge", "max_tokens", "temperature"})
        return hashlib.sha256((task_set_sha256 + json.dumps(what, sort_keys=True)).encode()).hexdigest()


def parse_target(spec: str, *, what: str = "--target") -> Target:
    """`LABEL=BASE_URL,model=NAME[,api_key_env=VAR][,stream=false]` → `Target`.

    Raises:
        EvalInputError: the text does not follow that shape; the message shows the shape and the problem.
    """
    shape = f'{what} "LABEL=BASE_URL,model=NAME[,api_key_env=VAR][,stream=false]"'
    label, eq, rest = spec.partition("=")
    if not eq or not label.strip():
        raise EvalInputError(f"{what} {spec!r}: expected {shape}")
    base_url, *pairs = [p.strip() for p in rest.split(",")]
    fields: dict[str, object] = {"label": label.strip(), "base_url": base_url}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        key = key.strip().lower()
        if not eq or key not in ("model", "api_key_env", "stream"):
            raise EvalInputError(f"{what} {label.strip()!r}: {key or pair!r} is not a setting; expected {shape}")
        if key == "stream":
            if value.strip().lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise EvalInputError(f"{what} {label.strip()!r}: stream is true or false")
            fields[key] = value.strip().lower() in ("true", "1", "yes")
        else:
            fields[key] = value
    if "model" not in fields:
        raise EvalInputError(f"{what} {label.strip()!r}: model=NAME is missing; expected {shape}")
    try:
        return Target.model_validate(fields)
    except ValidationError as ex:
        # not render_validation_error: it repeats the input, and a key pasted as api_key_env must not echo
        lines = [f"{what} {label.strip()}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in ex.errors()]
        raise EvalInputError("\n".join(lines)) from None
