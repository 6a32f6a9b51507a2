"""Runs against fake OpenAI-compatible servers with known behaviour: exact accuracy, intervals that cover the
true rate, usage present or missing, retries (429 bursts, 500s, malformed JSON, timeouts, cut streams),
resume, stop, judge scoring, and no API key anywhere but the wire."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time

import pytest

from costmodel.evals import (
    EvalInputError,
    EvalJob,
    RunSettings,
    Target,
    list_runs,
    load_results,
    load_run,
    parse_tasks,
    run_eval,
    run_eval_async,
    summarise,
)
from costmodel.evals.client import _retry_after
from tests.evals.conftest import RecordingFactory, answers, make_tasks
from tests.evals.fake_openai import is_right


def _settings(*servers, stream=(True, False), **kw) -> RunSettings:
    targets = [
        Target(label=f"t{i}", base_url=s.url, model=f"m{i}", stream=stream[i % len(stream)])
        for i, s in enumerate(servers)
    ]
    kw.setdefault("concurrency", 4)
    return RunSettings(targets=targets, **kw)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
def test_accuracy_is_exact_and_the_interval_covers_the_true_rate(store, fake, stream):
    ts = make_tasks(120)
    fake.behaviour.answers = answers(ts)
    fake.behaviour.p_right, fake.behaviour.seed, fake.behaviour.variants = 0.7, 11, True
    out = run_eval(store, task_set=ts, settings=_settings(fake, stream=(stream,), concurrency=8))
    right = {t.id for t in ts.tasks if is_right(t.messages[-1].content, seed=11, p_right=0.7)}
    s = summarise(store, out.run_id).targets[0]
    assert (out.status, out.attempted, out.errors) == ("finished", 120, 0)
    assert s.n == 120 and s.accuracy == len(right) / 120
    assert s.ci_low <= 0.7 <= s.ci_high
    for cls in ("triage", "extraction"):
        ids = [t.id for t in ts.tasks if t.task_class == cls]
        c = s.by_task_class[cls]
        assert (c.n, c.accuracy) == (len(ids), sum(i in right for i in ids) / len(ids))
        assert c.ci_low <= 0.7 <= c.ci_high
    rows = load_results(store, out.run_id)
    assert {r.task_id for r in rows if r.passed} == right
    assert all((r.ttft_ms is not None) == stream and r.latency_ms > 0 and r.attempts == 1 for r in rows)


def test_two_targets_and_the_paired_comparison(store, fake, fake2):
    ts = make_tasks(80)
    fake.behaviour.answers = fake2.behaviour.answers = answers(ts)
    fake.behaviour.p_right, fake2.behaviour.p_right = 0.5, 1.0
    out = run_eval(store, task_set=ts, settings=_settings(fake, fake2))
    summary = summarise(store, out.run_id)
    base_right = sum(is_right(t.messages[-1].content, seed=0, p_right=0.5) for t in ts.tasks)
    assert [t.accuracy for t in summary.targets] == [base_right / 80, 1.0]
    (cmp,) = summary.paired_comparison
    assert (cmp.label, cmp.baseline, cmp.n_pairs) == ("t1", "t0", 80)
    assert (cmp.target_only_right, cmp.baseline_only_right) == (80 - base_right, 0)
    assert cmp.difference == pytest.approx((80 - base_right) / 80) and cmp.significant


@pytest.mark.parametrize(("mode", "reported"), [("always", 30), ("never", 0), ("alternate", None)])
def test_usage_present_or_missing(store, fake, mode, reported):
    ts = make_tasks(30)
    fake.behaviour.answers, fake.behaviour.usage, fake.behaviour.reasoning_tokens = answers(ts), mode, 5
    out = run_eval(store, task_set=ts, settings=_settings(fake))
    s = summarise(store, out.run_id).targets[0]
    rows = load_results(store, out.run_id)
    with_usage = [r for r in rows if r.input_tokens is not None]
    if reported is not None:
        assert s.usage_reported == len(with_usage) == reported
    else:
        assert 0 < s.usage_reported == len(with_usage) < 30
    if with_usage:
        # "Question 12?" is 2 words; the fake counts words + 7 for the prompt and 1 for "answer-12"
        assert s.mean_input_tokens == 9 and s.mean_output_tokens == 1 and s.mean_reasoning_tokens == 5
        assert all(r.reasoning_tokens == 5 for r in with_usage)
    else:
        assert s.mean_input_tokens is None and s.mean_output_tokens is None
    assert s.accuracy == 1.0


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
def test_transient_failures_are_retried_and_accuracy_is_unchanged(store, fake, stream):
    ts = make_tasks(14)
    prompts = [t.messages[-1].content for t in ts.tasks]
    fake.behaviour.answers = answers(ts)
    fake.behaviour.retry_after = "0.25"
    fake.behaviour.hang_s = 1.0
    modes = ["429", "500", "malformed", "timeout", "cut", "error200"]
    fake.behaviour.script = {p: [m, "500"] for p, m in zip(prompts, modes, strict=False)}
    factory = RecordingFactory(backoff_base_s=0.01)  # random backoff stays under 0.04 s: only Retry-After is longer
    settings = _settings(fake, stream=(stream,), timeout_s=0.4, max_retries=3)
    out = run_eval(store, task_set=ts, settings=settings, client_factory=factory)
    rows = {r.task_id: r for r in load_results(store, out.run_id)}
    assert out.errors == 0 and summarise(store, out.run_id).targets[0].accuracy == 1.0
    for t, mode in zip(ts.tasks, modes, strict=False):
        if mode == "cut" and not stream:
            continue  # a JSON answer has nothing to cut
        assert rows[t.id].attempts == 3, (mode, rows[t.id])
    assert all(rows[t.id].attempts == 1 for t in ts.tasks[len(modes) :])
    assert sum(1 for w in factory.waits if w >= 0.25) == 1  # the 429's Retry-After honoured


def test_a_429_burst_waits_as_told(store, fake):
    ts = make_tasks(10)
    fake.behaviour.answers, fake.behaviour.burst_429, fake.behaviour.retry_after = answers(ts), 12, "0.5"
    factory = RecordingFactory()
    # 12 retries per request: however the threads share the 12 refusals, none runs out of retries
    out = run_eval(store, task_set=ts, settings=_settings(fake, concurrency=4, max_retries=12), client_factory=factory)
    assert out.errors == 0 and out.attempted == 10
    assert len(factory.waits) == 12 and all(w >= 0.5 for w in factory.waits)


def test_retry_after_forms():
    import httpx2

    assert _retry_after(httpx2.Headers({"retry-after": "3"})) == 3.0
    assert _retry_after(httpx2.Headers({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    assert _retry_after(httpx2.Headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0  # in the past
    assert _retry_after(httpx2.Headers({"retry-after": "soon"})) is None
    assert _retry_after(httpx2.Headers({})) is None


def test_failures_that_persist_become_errors_and_a_rerun_retries_only_them(store, fake):
    ts = make_tasks(12)
    fake.behaviour.answers = answers(ts)
    broken = {ts.tasks[2].messages[-1].content, ts.tasks[7].messages[-1].content}
    fake.behaviour.always_500 = set(broken)
    settings = _settings(fake, max_retries=2)
    out = run_eval(store, task_set=ts, settings=settings, client_factory=RecordingFactory())
    s = summarise(store, out.run_id).targets[0]
    assert (out.errors, s.errors, s.n, s.accuracy) == (2, 2, 10, 1.0)
    failed = [r for r in load_results(store, out.run_id) if r.error]
    assert [r.error for r in failed] == ['HTTP 500: {"error": {"message": "internal error"}} (after 3 attempts)'] * 2
    asked = len(fake.requests)
    fake.behaviour.always_500 = set()
    again = run_eval(store, task_set=ts, settings=settings, client_factory=RecordingFactory())
    assert (again.run_id, again.resumed, again.skipped, again.attempted, again.errors) == (out.run_id, True, 10, 2, 0)
    assert sorted(fake.prompts_asked()[asked:]) == sorted(broken)
    assert summarise(store, out.run_id).targets[0].n == 12


def test_resume_extends_a_limited_run_and_fresh_starts_over(store, fake):
    ts = make_tasks(30)
    fake.behaviour.answers = answers(ts)
    first = run_eval(store, task_set=ts, settings=_settings(fake, limit=10))
    assert (first.attempted, load_run(store, first.run_id).task_count) == (10, 10)
    second = run_eval(store, task_set=ts, settings=_settings(fake, concurrency=2))
    assert (second.run_id, second.skipped, second.attempted) == (first.run_id, 10, 20)
    assert len(fake.requests) == 30 and len(set(fake.prompts_asked())) == 30
    fresh = run_eval(store, task_set=ts, settings=_settings(fake), resume=False)
    assert fresh.run_id != first.run_id and fresh.attempted == 30
    other_model = _settings(fake)
    other_model.targets[0].model = "another"
    assert run_eval(store, task_set=ts, settings=other_model).run_id not in (first.run_id, fresh.run_id)


def test_wrong_key_or_model_stops_that_target_only(store, fake, fake2):
    ts = make_tasks(40)
    fake.behaviour.status = 401
    fake2.behaviour.answers = answers(ts)
    out = run_eval(store, task_set=ts, settings=_settings(fake, fake2, concurrency=3))
    assert list(out.stopped_targets) == ["t0"] and out.stopped_targets["t0"].startswith("HTTP 401")
    assert len(fake.requests) <= 3  # one per worker at most, not one per task
    s0, s1 = summarise(store, out.run_id).targets
    assert s0.n == 0 and 1 <= s0.errors <= 3 and s1.accuracy == 1.0 and s1.n == 40


def test_stream_options_refused_then_asked_without(store, fake):
    ts = make_tasks(6)
    fake.behaviour.answers, fake.behaviour.reject_stream_options, fake.behaviour.usage = answers(ts), True, "always"
    out = run_eval(store, task_set=ts, settings=_settings(fake, stream=(True,), concurrency=1))
    assert out.errors == 0 and summarise(store, out.run_id).targets[0].accuracy == 1.0
    assert "stream_options" in fake.requests[0] and all("stream_options" not in r for r in fake.requests[1:])


def test_ctrl_c_keeps_what_finished(store, fake):
    ts = make_tasks(40)
    fake.behaviour.answers = answers(ts)
    fake.behaviour.gate, fake.behaviour.gate_after = threading.Event(), 8

    async def main() -> None:
        me = asyncio.current_task()

        def cancel_at_8(p) -> None:
            if p.done >= 8:
                me.cancel()  # what asyncio.run does on Ctrl-C

        await run_eval_async(store, task_set=ts, settings=_settings(fake, concurrency=2), on_progress=cancel_at_8)

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
    (run,) = list_runs(store)
    assert run.status == "stopped" and run.results == 8
    fake.behaviour.gate.set()
    out = run_eval(store, task_set=ts, settings=_settings(fake, concurrency=2))
    assert (out.skipped, out.attempted, out.status) == (8, 32, "finished")


def test_background_job_stops_and_keeps_finished_items(store, fake):
    ts = make_tasks(30)
    fake.behaviour.answers = answers(ts)
    fake.behaviour.gate, fake.behaviour.gate_after = threading.Event(), 5
    job = EvalJob(store, task_set=ts, settings=_settings(fake, concurrency=2))
    job.start()
    deadline = time.monotonic() + 60
    while job.progress.done < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    job.stop()
    job.join(60)
    assert job.done
    out = job.outcome()
    assert (out.status, out.attempted) == ("stopped", 5)
    assert len(load_results(store, out.run_id)) == 5


def test_judge_scores_with_a_fake_judge(store, fake, fake2):
    lines = [
        json.dumps(
            {
                "id": f"j{i}",
                "task_class": "drafting",
                "prompt": f"Draft {i}",
                "reference": f"Reply {i}",
                "scorer": "judge",
                "rubric": "Same reply.",
            }
        )
        for i in range(20)
    ]
    ts = parse_tasks("\n".join(lines).encode(), name="judge.jsonl")
    fake.behaviour.answers = {f"Draft {i}": f"reply {i}" for i in range(20)}
    fake.behaviour.p_right, fake.behaviour.seed = 0.6, 5
    fake2.behaviour.judge = True
    settings = _settings(fake, judge=Target(label="judge", base_url=fake2.url, model="grader", stream=False))
    out = run_eval(store, task_set=ts, settings=settings)
    right = sum(is_right(f"Draft {i}", seed=5, p_right=0.6) for i in range(20))
    s = summarise(store, out.run_id).targets[0]
    assert (s.n, s.accuracy) == (20, right / 20)
    assert len(fake2.requests) == 20 and all(r["model"] == "grader" for r in fake2.requests)
    assert "Rubric: Same reply." in fake2.requests[0]["messages"][1]["content"]
    assert all(r.detail == "judge: compared with the reference" for r in load_results(store, out.run_id))

    fake2.behaviour.judge_reply = "I would rather not say."
    out2 = run_eval(store, task_set=ts, settings=settings, resume=False)
    assert out2.errors == 20
    assert {r.error for r in load_results(store, out2.run_id)} == {"judge: no pass/fail verdict in its reply"}


def test_judge_tasks_without_a_judge_are_refused_before_anything_is_stored(store, fake):
    ts = parse_tasks(
        json.dumps({"id": "a", "task_class": "c", "prompt": "p", "reference": "r", "scorer": "judge"}).encode(),
        name="j.jsonl",
    )
    with pytest.raises(EvalInputError, match="1 task\\(s\\) use the judge scorer"):
        run_eval(store, task_set=ts, settings=_settings(fake))
    assert list_runs(store) == [] and fake.requests == []


KEY = "sk-test-Zq81vXk3NwP0aL7mS2dR9tYb"


def test_the_api_key_is_sent_but_never_stored_or_logged(store, fake, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("OPENTCO_EVAL_TEST_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    ts = make_tasks(10)
    fake.behaviour.answers = answers(ts)
    fake.behaviour.script = {ts.tasks[3].messages[-1].content: ["leak400"]}
    target = Target(label="t", base_url=fake.url, model="m", api_key_env="OPENTCO_EVAL_TEST_KEY")
    out = run_eval(store, task_set=ts, settings=RunSettings(targets=[target]))
    assert set(fake.auth) == {f"Bearer {KEY}"}
    (failed,) = [r for r in load_results(store, out.run_id) if r.error]
    assert failed.error == 'HTTP 400: {"error": {"message": "bad auth Bearer [key]"}}'
    assert load_run(store, out.run_id).settings.targets[0].api_key_env == "OPENTCO_EVAL_TEST_KEY"
    store.execute("CHECKPOINT")
    store.close()
    for f in tmp_path.glob("evals.duckdb*"):
        assert KEY.encode() not in f.read_bytes()
    assert KEY not in caplog.text


def test_a_missing_key_variable_is_named_not_guessed(store, fake, monkeypatch):
    monkeypatch.delenv("OPENTCO_EVAL_NOT_SET", raising=False)
    target = Target(label="t", base_url=fake.url, model="m", api_key_env="OPENTCO_EVAL_NOT_SET")
    with pytest.raises(EvalInputError, match="the environment variable OPENTCO_EVAL_NOT_SET is not set"):
        run_eval(store, task_set=make_tasks(2), settings=RunSettings(targets=[target]))
    assert list_runs(store) == []
