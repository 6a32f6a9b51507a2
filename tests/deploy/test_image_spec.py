"""What the Dockerfile, compose.yaml and .dockerignore promise, read from the files themselves.

The image is not built here (no container engine), so each promise of the deployment is checked where it is
written: a non-root user that owns the volume, a healthcheck with no curl or wget, the store on the VOLUME,
port 8501 everywhere, only PyPI at build time, and compose.yaml saying the same as the Dockerfile.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shlex
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.deploy.image import ROOT, Dockerfile, DockerIgnore, Instruction

DOCKERFILE = Dockerfile.parse((ROOT / "Dockerfile").read_text(encoding="utf-8"))
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
IGNORE = DockerIgnore((ROOT / ".dockerignore").read_text(encoding="utf-8"))
STREAMLIT_CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
ENV = DOCKERFILE.env()


def _entrypoint() -> ModuleType:
    spec = importlib.util.spec_from_file_location("opentco_entrypoint", ROOT / "docker" / "entrypoint.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _service() -> dict:
    (service,) = COMPOSE["services"].values()
    return service


def _healthcheck() -> tuple[dict[str, str], list[str]]:
    ins = DOCKERFILE.one("HEALTHCHECK")
    kind, _, argv = ins.rest.partition(" ")
    assert kind == "CMD"
    return ins.flags, yaml.safe_load(argv)  # a JSON array is YAML too


def _user_ids() -> tuple[str, int, int]:
    """The name, uid and gid of the user the final stage creates with useradd."""
    for ins in DOCKERFILE.all("RUN", stage=DOCKERFILE.final):
        m = re.search(r"useradd\b[^&;]*--uid (\d+)[^&;]*--gid (\S+)[^&;]* (\w+)\s*(?:&&|$)", ins.rest)
        g = re.search(r"groupadd\b[^&;]*--gid (\d+)", ins.rest)
        if m and g:
            return m[3], int(m[1]), int(g[1])
    pytest.fail("the final stage creates no user with a fixed uid and gid")


def _seconds(value: str) -> float:
    m = re.fullmatch(r"(\d+)s", value)
    assert m, f"write durations in seconds, e.g. 30s (got {value!r})"
    return float(m[1])


def test_every_stage_is_slim_python_311():
    assert [s[0].rest.split()[0] for s in DOCKERFILE.stages] == ["python:3.11-slim-bookworm"] * 2


def test_runs_as_a_fixed_non_root_user():
    name, uid, gid = _user_ids()
    user = DOCKERFILE.one("USER").rest
    assert user.split(":")[0] == name and name != "root" and uid >= 1000
    final = DOCKERFILE.final
    assert final.index(DOCKERFILE.one("USER")) < final.index(DOCKERFILE.one("ENTRYPOINT"))
    assert _service()["user"] == f"{uid}:{gid}"


def test_the_store_lives_on_the_volume_owned_by_the_app_user():
    (volume,) = yaml.safe_load(DOCKERFILE.one("VOLUME").rest)
    assert str(Path(ENV["OPENTCO_DB"]).parent) == volume == "/data"
    # Docker discards changes made to a volume path after VOLUME: the folder is made and chowned before it.
    name, _, _ = _user_ids()
    final = DOCKERFILE.final
    prepared = [
        i
        for i in final[: final.index(DOCKERFILE.one("VOLUME"))]
        if i.keyword == "RUN" and f"mkdir {volume}" in i.rest and f"chown {name}:{name} {volume}" in i.rest
    ]
    assert prepared, f"mkdir and chown {volume} to {name} before VOLUME"

    service = _service()
    assert service["environment"]["OPENTCO_DB"] == ENV["OPENTCO_DB"]
    mounts = [v.split(":") for v in service["volumes"]]
    assert [m[1] for m in mounts] == [volume]
    assert mounts[0][0] in COMPOSE["volumes"], "a named volume, declared at the top level"


def test_port_8501_everywhere():
    assert DOCKERFILE.one("EXPOSE").rest == "8501"
    assert ENV["STREAMLIT_SERVER_PORT"] == "8501" == str(STREAMLIT_CONFIG["server"]["port"])
    assert ENV["STREAMLIT_SERVER_ADDRESS"] == "0.0.0.0"  # inside the container; compose publishes on loopback
    # Sign-in is off until secrets.toml is mounted: every visitor would see every import, so the example
    # publishes on the host's loopback only.
    assert _service()["ports"] == ["127.0.0.1:8501:8501"]


def test_the_sign_in_mounts_put_secrets_where_the_image_streamlit_reads_them():
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    workdir = DOCKERFILE.one("WORKDIR").rest
    # commented out (sign-in is off by default), and read-only like the rest of the root filesystem
    assert f"# - ./secrets.toml:{workdir}/.streamlit/secrets.toml:ro" in text
    assert "# - ./workspaces.toml:/etc/opentco/workspaces.toml:ro" in text
    assert IGNORE.ignored(".streamlit/secrets.toml") and IGNORE.ignored("workspaces.toml")  # never in the image


def test_no_usage_statistics_and_the_project_config_is_copied_where_streamlit_reads_it():
    assert ENV["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
    assert STREAMLIT_CONFIG["browser"]["gatherUsageStats"] is False
    workdir = DOCKERFILE.one("WORKDIR").rest
    assert ([".streamlit/config.toml"], f"{workdir}/.streamlit/config.toml") in DOCKERFILE.copies()
    assert (["data"], ENV["OPENTCO_DATA_DIR"]) in DOCKERFILE.copies()


def test_the_server_spends_its_cpu_on_pages_with_many_sessions():
    """bench/bench_pages.py, 20 sessions at once on 2 cores: Streamlit's full garbage collection after every script
    run was two thirds of the server's CPU per page run (123 → 31 ms without it), and a file watcher per session
    costs CPU too. The image reads the same file (test above)."""
    assert STREAMLIT_CONFIG["runner"]["postScriptGC"] is False
    assert STREAMLIT_CONFIG["server"]["fileWatcherType"] == "none"


def test_healthcheck_asks_streamlit_with_python_and_compose_agrees():
    flags, argv = _healthcheck()
    entry = DOCKERFILE.one("ENTRYPOINT").exec_form
    assert entry == ["python", "/app/docker/entrypoint.py"]
    assert argv == [*entry, "health"]
    assert (["docker/entrypoint.py"], entry[1]) in DOCKERFILE.copies()
    assert DOCKERFILE.one("CMD").exec_form == ["dashboard"]
    # Docker must wait longer than the probe itself, or a slow answer counts as a failure with no reason given
    assert _seconds(flags["timeout"]) > _entrypoint().HEALTH_TIMEOUT_S

    check = _service()["healthcheck"]
    assert check["test"] == ["CMD", *argv]
    assert {k: check[k.replace("-", "_")] for k in flags} == {
        k: (int(v) if k == "retries" else v) for k, v in flags.items()
    }


def test_health_url_is_streamlits_on_loopback(monkeypatch):
    ep = _entrypoint()
    monkeypatch.setenv("STREAMLIT_SERVER_PORT", ENV["STREAMLIT_SERVER_PORT"])
    monkeypatch.delenv("STREAMLIT_SERVER_BASE_URL_PATH", raising=False)
    assert ep.health_url() == "http://127.0.0.1:8501/_stcore/health"
    monkeypatch.setenv("STREAMLIT_SERVER_PORT", "9000")
    monkeypatch.setenv("STREAMLIT_SERVER_BASE_URL_PATH", "/tco/")  # behind a reverse proxy on a sub-path
    assert ep.health_url() == "http://127.0.0.1:9000/tco/_stcore/health"


def _commands() -> list[str]:
    """Every command text the image or compose runs or builds with."""
    texts = [i.rest for s in DOCKERFILE.stages for i in s if i.keyword in ("RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK")]
    texts.append(" ".join(_service()["healthcheck"]["test"]))
    return texts


def test_no_download_tool_and_no_network_at_run_time():
    for text in _commands():
        assert not re.search(r"\b(curl|wget)\b", text), text
    # the entrypoint's code (docstrings aside) names one host: the local server it health-checks
    tree = ast.parse((ROOT / "docker" / "entrypoint.py").read_text(encoding="utf-8"))
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef) and ast.get_docstring(n) is not None
    }
    strings = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]
    hosts = {h for text in strings for h in re.findall(r"https?://([^/:]+)", text)}
    assert hosts == {"127.0.0.1"}


def test_pip_installs_the_package_from_pypi_only():
    installs = [
        shlex.split(part)
        for ins in DOCKERFILE.all("RUN")
        for part in ins.rest.split("&&")
        if re.search(r"\bpip install\b", part)
    ]
    assert installs == [["/opt/opentco/bin/pip", "install", "--index-url", "https://pypi.org/simple", "."]]
    for ins in DOCKERFILE.all("RUN", stage=DOCKERFILE.final):  # the runtime stage copies the built environment
        assert not re.search(r"\b(pip|apt-get|apt|uv)\b", ins.rest), ins.rest
    build = DOCKERFILE.stages[0]
    copied = {src for sources, _ in DOCKERFILE.copies(build) for src in sources}
    assert copied == {"pyproject.toml", "README.md", "costmodel", "dashboard"}
    (runtime_env,) = [i for i in DOCKERFILE.final if i.keyword == "COPY" and i.flags.get("from") == "build"]
    assert runtime_env.rest.split() == ["/opt/opentco", "/opt/opentco"]
    assert ENV["PATH"].startswith("/opt/opentco/bin:")


def test_compose_restarts_and_runs_read_only_with_a_tmpfs():
    service = _service()
    assert service["restart"] == "unless-stopped"
    assert service["read_only"] is True
    assert [t.split(":")[0] for t in service["tmpfs"]] == ["/tmp"]  # imports stage uploads in tempfile's /tmp
    assert service["cap_drop"] == ["ALL"]
    assert service["build"] == "."


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        "var/opentco.duckdb",
        "tests/conftest.py",
        "bench/bench_tco.py",
        ".pytest_cache/README.md",
        ".ruff_cache/CACHEDIR.TAG",
        ".hypothesis/examples/x",
        "costmodel/__pycache__/store.cpython-311.pyc",
        "data/opentco.duckdb",
        ".streamlit/secrets.toml",
        ".git/HEAD",
    ],
)
def test_dockerignore_keeps_out(path):
    assert IGNORE.ignored(path)


def _copied_files(ins_sources: list[str]) -> list[str]:
    out = []
    for source in ins_sources:
        p = ROOT / source
        files = [p] if p.is_file() else [f for f in p.rglob("*") if f.is_file()]
        out += [f.relative_to(ROOT).as_posix() for f in files if "__pycache__" not in f.parts]
    return out


@pytest.mark.parametrize("stage", range(len(DOCKERFILE.stages)))
def test_dockerignore_lets_in_everything_the_dockerfile_copies(stage):
    sources = [s for sources, _ in DOCKERFILE.copies(DOCKERFILE.stages[stage]) for s in sources]
    files = _copied_files(sources)
    assert len(files) > len(sources)
    assert [f for f in files if IGNORE.ignored(f)] == []


def test_the_instruction_reader_joins_continuations_and_reads_flags():
    parsed = Dockerfile.parse(
        "FROM a AS b\n# note\nENV X=1 \\\n    # inside\n    Y=$X/z\n"
        'HEALTHCHECK --interval=5s --retries=2 CMD ["p", "h"]\nCOPY --from=b /x /y\nCOPY m n/\n'
    )
    assert parsed.env() == {"X": "1", "Y": "1/z"}
    hc = parsed.one("HEALTHCHECK")
    assert hc == Instruction("HEALTHCHECK", {"interval": "5s", "retries": "2"}, 'CMD ["p", "h"]', 6)
    assert parsed.copies() == [(["m"], "n/")]
