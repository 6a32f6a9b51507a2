"""Read the Dockerfile and .dockerignore as Docker does, so tests can check them and lay out the image without Docker.

No container engine runs on the development machines or in CI, so the image is never built there. Instead
`Dockerfile.parse` reads the instructions (continuation lines, exec and shell forms, `--flag=value` options)
following https://docs.docker.com/reference/dockerfile/, `DockerIgnore` applies .dockerignore rules (last
matching rule wins, `!` re-includes, `**` spans folders) following
https://docs.docker.com/build/concepts/context/#dockerignore-files, and `lay_out` copies what the final
stage's COPY instructions would put in the image under a temporary root, so the entrypoint can be run in
the same layout, with the same environment, as in the container.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from setuptools import find_namespace_packages, find_packages

__all__ = ["ROOT", "DockerIgnore", "Dockerfile", "Instruction", "install_like_pip", "lay_out"]

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: `keyword` upper-cased, leading `--flags`, the rest as written."""

    keyword: str
    flags: dict[str, str]
    rest: str
    line: int

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form ENTRYPOINT/CMD/RUN, or None for the shell form."""
        if self.rest.startswith("["):
            value = json.loads(self.rest)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
        return None


@dataclass
class Dockerfile:
    """A parsed Dockerfile, split into build stages (each begins with FROM)."""

    stages: list[list[Instruction]] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> Dockerfile:
        out = cls()
        logical, start = "", 0
        for n, raw in enumerate(text.splitlines(), 1):
            stripped = raw.strip()
            if not logical and (not stripped or stripped.startswith("#")):
                continue
            if logical and stripped.startswith("#"):
                continue  # comment lines inside a continued instruction are dropped
            if not logical:
                start = n
            if stripped.endswith("\\"):
                logical += stripped[:-1] + " "
                continue
            logical += stripped
            keyword, _, rest = logical.partition(" ")
            flags: dict[str, str] = {}
            rest = rest.strip()
            while rest.startswith("--"):
                flag, _, rest = rest.partition(" ")
                name, _, value = flag[2:].partition("=")
                flags[name] = value
                rest = rest.strip()
            ins = Instruction(keyword.upper(), flags, rest, start)
            if ins.keyword == "FROM":
                out.stages.append([])
            out.stages[-1].append(ins)
            logical = ""
        return out

    @property
    def final(self) -> list[Instruction]:
        return self.stages[-1]

    def all(self, keyword: str, *, stage: list[Instruction] | None = None) -> list[Instruction]:
        """Every `keyword` instruction, of one stage or of the whole file."""
        found = stage if stage is not None else [i for s in self.stages for i in s]
        return [i for i in found if i.keyword == keyword]

    def one(self, keyword: str) -> Instruction:
        """The final stage's `keyword` instruction (Docker keeps only the last ENTRYPOINT, CMD, USER …)."""
        found = self.all(keyword, stage=self.final)
        assert found, f"the final stage has no {keyword}"
        return found[-1]

    def env(self) -> dict[str, str]:
        """The final stage's ENV, with `$VAR`/`${VAR}` expanded from earlier ENV (or the caller's environment)."""
        values: dict[str, str] = {}
        for ins in self.all("ENV", stage=self.final):
            for pair in shlex.split(ins.rest):
                key, sep, value = pair.partition("=")
                assert sep, f"line {ins.line}: write ENV as KEY=VALUE ({pair!r})"
                values[key] = re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m[1], os.environ.get(m[1], "")), value)
        return values

    def copies(self, stage: list[Instruction] | None = None) -> list[tuple[list[str], str]]:
        """A stage's (default: the final one's) COPYs from the build context, as (sources, destination)."""
        out = []
        for ins in self.all("COPY", stage=self.final if stage is None else stage):
            if "from" in ins.flags:
                continue
            *sources, dest = ins.exec_form or shlex.split(ins.rest)
            out.append((sources, dest))
        return out


class DockerIgnore:
    """The rules of a .dockerignore file, applied to paths relative to the build context."""

    def __init__(self, text: str) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            keep = line.startswith("!")
            pattern = str(PurePosixPath(line.lstrip("!").strip("/")))
            self.rules.append((keep, re.compile(_translate(pattern))))

    def ignored(self, path: str) -> bool:
        """Whether `path` stays out of the build context: a rule matching it or any folder above it decides."""
        parts = PurePosixPath(path).parts
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        result = False
        for keep, rx in self.rules:
            if any(rx.fullmatch(c) for c in candidates):
                result = not keep
        return result


def _translate(pattern: str) -> str:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1].replace("[!", "[^"), end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return out


def install_like_pip(site: Path) -> list[str]:
    """Copy into `site` what `pip install .` puts in site-packages: the packages pyproject.toml selects.

    Building a real wheel needs the build backend from an index (network); the selection rule is what
    matters here — a page folder the wheel leaves out breaks the image — and it is setuptools' own
    `find_namespace_packages` (the default for `[tool.setuptools.packages.find]` in pyproject.toml) with the
    project's include/exclude, plus its package-data globs.

    Returns:
        The package names copied.
    """
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    find = cfg["packages"]["find"]
    finder = find_namespace_packages if find.get("namespaces", True) else find_packages
    packages = [
        p
        for p in finder(where=str(ROOT), include=find.get("include", ["*"]), exclude=find.get("exclude", []))
        if "__pycache__" not in p.split(".")
    ]
    for pkg in packages:
        src, dst = ROOT / pkg.replace(".", "/"), site / pkg.replace(".", "/")
        dst.mkdir(parents=True, exist_ok=True)
        for f in src.glob("*.py"):
            shutil.copy2(f, dst / f.name)
        for pattern in cfg.get("package-data", {}).get(pkg, []):
            for f in src.glob(pattern):
                shutil.copy2(f, dst / f.name)
    return packages


def lay_out(dockerfile: Dockerfile, ignore: DockerIgnore, root: Path) -> None:
    """Copy what the final stage's context COPYs would put in the image to the same paths under `root`.

    Files the .dockerignore keeps out of the build context are not copied, as Docker would not see them.
    """
    for sources, dest in dockerfile.copies():
        for source in sources:
            src = ROOT / source
            target = root / dest.lstrip("/")
            if dest.endswith("/") or len(sources) > 1:
                target = target / src.name
            files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
            for f in files:
                rel = f.relative_to(ROOT).as_posix()
                if ignore.ignored(rel):
                    continue
                out = target if f == src else target / f.relative_to(src)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, out)
