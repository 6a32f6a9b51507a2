"""`opentco eval`: the --json object, bad input, resume after `kill -9` and after Ctrl-C, listing and deleting
runs, and tasks from logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costmodel.audit import audit_entries
from costmodel.cli import app
from costmodel.evals import list_runs, load_results, summarise
from costmodel.store import connect
from tests.evals.conftest import answers, make_tasks
from tests.evals.fake_openai import FakeServer, is_right

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
TARGET_KEYS = {
    "label",
    "n",
    "accuracy",
    "ci_low",
    "ci_high",
    "by_task_class",
    "mean_input_tokens",
    "mean_output_tokens",
    "p50_latency_ms",
    "p95_latency_ms",
    "errors",
}


def _write(tmp_path: Path, n: int) -> Path:
    ts = make_tasks(n)
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(t.model_dump_json(exclude_defaults=True) for t in ts.tasks) + "\n")
    return path


def test_json_output_is_the_documented_object(tmp_path, fake, fake2):
    path = _write(tmp_path, 40)
    ts = make_tasks(40)
    fake.behaviour.answers = fake2.behaviour.answers = answers(ts)
    fake.behaviour.p_right, fake.behaviour.seed = 0.5, 9
    db = tmp_path / "cli.duckdb"
    res = runner.invoke(
        app,
        [
            "eval",
            str(path),
            "--target",
            f"base={fake.url},model=m1",
            "--target",
            f"new={fake2.url},model=m2,stream=false",
            "--concurrency",
            "4",
            "--db",
            str(db),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out) == {"run_id", "scoring", "targets", "paired_comparison"}
    assert out["scoring"] == "accuracy"
    base, new = out["targets"]
    assert set(base) == TARGET_KEYS and set(new) == TARGET_KEYS
    right = sum(is_right(t.messages[-1].content, seed=9, p_right=0.5) for t in ts.tasks)
    assert (base["label"], base["n"], base["accuracy"], base["errors"]) == ("base", 40, right / 40, 0)
    assert (new["n"], new["accuracy"], new["mean_input_tokens"], new["mean_output_tokens"]) == (40, 1.0, 9.0, 1.0)
    assert set(base["by_task_class"]) == {"triage", "extraction"}
    assert set(base["by_task_class"]["triage"]) == {"n", "accuracy", "ci_low", "ci_high"}
    assert base["p50_latency_ms"] <= base["p95_latency_ms"]
    (cmp,) = out["paired_comparison"]
    assert (cmp["label"], cmp["baseline"], cmp["method"], cmp["n_pairs"]) == ("new", "base", "mcnemar_exact", 40)
    assert cmp["difference"] == pytest.approx((40 - right) / 40)
    assert {"ci_low", "ci_high", "p_value", "significant"} <= set(cmp)

    table = runner.invoke(app, ["eval", str(path), "--target", f"base={fake.url},model=m1", "--db", str(db)])
    assert table.exit_code == 0, table.output
    assert "stored as evaluation run #2" in table.stdout and "base" in table.stdout

    runs = runner.invoke(app, ["eval-runs", "--db", str(db), "--json"])
    assert [r["run_id"] for r in json.loads(runs.stdout)] == [2, 1]
    gone = runner.invoke(app, ["eval-delete", "1", "--db", str(db)], env={"OPENTCO_ACTOR": "ops@example.com"})
    assert gone.exit_code == 0 and "deleted evaluation run #1" in gone.stdout
    con = connect(db)
    (line,) = audit_entries(con)  # the deletion's audit line, written in the deletion's transaction
    con.close()
    assert (line.who, line.action, line.subject, line.rows) == (
        "ops@example.com",
        "delete",
        "evaluation run #1 tasks.jsonl",
        80,
    )
    again = runner.invoke(app, ["eval-delete", "1", "--db", str(db)])
    assert again.exit_code == 2 and "there is no evaluation run #1" in again.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "nolabel"], 'expected --target "LABEL=BASE_URL,model=NAME'),
        (["--target", "a=http://x/v1"], "model=NAME is missing"),
        (["--target", "a=http://x/v1,model=m,key=abc"], "'key' is not a setting"),
        (["--target", "a=http://x/v1,model=m,api_key_env=sk-live-123"], "NAME of an environment variable"),
        (["--target", "a=http://x/v1,model=m", "--target", "a=http://y/v1,model=n"], "labels must be unique"),
        (["--target", "a=http://x/v1,model=m", "--concurrency", "0"], "concurrency"),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path, args, message):
    path = _write(tmp_path, 2)
    res = runner.invoke(app, ["eval", str(path), *args, "--db", str(tmp_path / "x.duckdb")])
    assert res.exit_code == 2, res.output
    assert message in res.stderr
    assert "sk-live-123" not in res.output


def test_refused_target_exits_1(tmp_path, fake):
    fake.behaviour.status = 404
    res = runner.invoke(
        app,
        ["eval", str(_write(tmp_path, 5)), "--target", f"x={fake.url},model=nope", "--db", str(tmp_path / "x.duckdb")],
    )
    assert res.exit_code == 1
    assert "target 'x' was stopped: HTTP 404" in res.stderr


def _cli(tmp_path: Path, path: Path, url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "OPENTCO_DB": str(tmp_path / "kill.duckdb"), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "costmodel.cli",
            "eval",
            str(path),
            "--target",
            f"t={url},model=m",
            "--concurrency",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a CI shell may start the suite with SIGINT ignored; the child gets the terminal's default back
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_stored(proc: subprocess.Popen[str], at_least: int) -> list[str]:
    seen = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("run #") and int(line.split(": ")[1].split("/")[0]) >= at_least:
            return seen
    raise AssertionError(f"the run ended before storing {at_least} items: {''.join(seen)}")


@pytest.mark.parametrize("how", ["kill", "ctrl-c"])
def test_resume_after_kill_or_ctrl_c(tmp_path, how):
    path = _write(tmp_path, 30)
    ts = make_tasks(30)
    with FakeServer() as fake:
        fake.behaviour.answers = answers(ts)
        fake.behaviour.gate, fake.behaviour.gate_after = threading.Event(), 10
        proc = _cli(tmp_path, path, fake.url)
        try:
            _wait_stored(proc, 10)
            if how == "kill":
                proc.send_signal(signal.SIGKILL)
                proc.communicate(timeout=60)  # reaps it and closes the pipes
            else:
                proc.send_signal(signal.SIGINT)
                _, err = proc.communicate(timeout=60)
                assert proc.returncode == 130, err
                assert "stopped: 10 item(s) of run #1 kept" in err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=60)
        con = connect(tmp_path / "kill.duckdb")
        (run,) = list_runs(con)
        assert run.results == 10 and run.status == ("running" if how == "kill" else "stopped")
        # which ten: whichever answers came back first (requests run concurrently, so not always the first ten)
        by_id = {t.id: t.messages[-1].content for t in ts.tasks}
        kept = {by_id[r.task_id] for r in load_results(con, 1)}
        con.close()
        assert len(kept) == 10
        asked_before = list(fake.prompts_asked())
        fake.behaviour.gate.set()
        proc = _cli(tmp_path, path, fake.url)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "resumed run #1: 10 item(s) answered before were skipped" in err
        again = fake.prompts_asked()[len(asked_before) :]
        # exactly the twenty not kept, each once: nothing kept is asked again
        assert sorted(again) == sorted(set(by_id.values()) - kept)
    con = connect(tmp_path / "kill.duckdb")
    s = summarise(con, 1).targets[0]
    assert (s.n, s.accuracy, s.errors) == (30, 1.0, 0)
    assert len(load_results(con, 1)) == 30
    con.close()


def test_tasks_from_logs_cli(tmp_path):
    export = ROOT / "tests" / "fixtures" / "langfuse-observations" / "generations.json"
    out = tmp_path / "sample.jsonl"
    res = runner.invoke(app, ["eval-from-logs", str(export), "-o", str(out), "--per-group", "5", "--scorer", "exact"])
    assert res.exit_code == 0, res.output
    assert "2 tasks from 2 usable rows of 3" in res.stdout and "agreement with the current model" in res.stdout
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["reference"] for x in lines] == ["billing", "The customer asks for a refund."]
    bad = runner.invoke(app, ["eval-from-logs", str(ROOT / "data" / "gpus.csv"), "-o", str(out)])
    assert bad.exit_code == 2 and "not a Langfuse generations export nor LiteLLM spend logs" in bad.stderr
