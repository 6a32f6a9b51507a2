"""Tasks from logs: Langfuse and LiteLLM exports with prompts and completions, sampled per group, seeded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from costmodel.evals import EvalInputError, tasks_from_logs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize("name", ["generations.json", "generations.csv"])
def test_langfuse_export(name):
    data = (FIXTURES / "langfuse-observations" / name).read_bytes()
    ts, jsonl, sample = tasks_from_logs(data, name=name)
    assert (sample.format, sample.rows_read, sample.rows_usable) == ("langfuse", 3, 2)
    assert sample.skipped == {"not a generation": 1}
    assert ts.agreement and all(t.scorer == "judge" and t.rubric for t in ts.tasks)
    by_id = {t.id: t for t in ts.tasks}
    assert by_id["gpt-4o-mini:obs-1"].messages[0].content == "Summarise the ticket"
    assert by_id["gpt-4o-mini:obs-1"].reference == "The customer asks for a refund."
    assert by_id["claude-3-5-haiku-20241022:obs-2"].reference == "billing"
    assert by_id["claude-3-5-haiku-20241022:obs-2"].reference_from == "claude-3-5-haiku-20241022"
    assert len(jsonl.decode().splitlines()) == 2


def _litellm_rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        model = "gpt-4o" if i % 3 else "claude-3-5-sonnet"
        rows.append(
            {
                "request_id": f"req-{i}",
                "call_type": "acompletion",
                "startTime": "2025-03-01T10:00:00Z",
                "model": model,
                "team_id": f"team-{i % 2}",
                "status": "failure" if i == 5 else "success",
                "cache_hit": i == 7,
                "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": f"Q{i}"}],
                "response": {"choices": [{"message": {"role": "assistant", "content": f"A{i}"}}]} if i != 9 else {},
            }
        )
    return rows


def test_litellm_export_sampled_per_group_with_a_seed():
    data = json.dumps(_litellm_rows(60)).encode()
    ts, _, sample = tasks_from_logs(data, name="spend.json", per_group=5, scorer="exact", seed=1)
    assert sample.format == "litellm" and sample.rows_read == 60 and sample.rows_usable == 57
    assert sample.skipped == {"failed call or cache hit": 2, "no prompt or no completion kept": 1}
    assert sample.groups == {"claude-3-5-sonnet": 5, "gpt-4o": 5}
    for t in ts.tasks:
        i = t.id.split("req-")[1]
        assert t.reference == f"A{i}" and t.messages[-1].content == f"Q{i}" and t.scorer == "exact"
    again, _, _ = tasks_from_logs(data, name="spend.json", per_group=5, scorer="exact", seed=1)
    other, _, _ = tasks_from_logs(data, name="spend.json", per_group=5, scorer="exact", seed=2)
    assert [t.id for t in again.tasks] == [t.id for t in ts.tasks] != [t.id for t in other.tasks]
    by_team, _, s2 = tasks_from_logs(data, name="spend.json", per_group=100, group_by="project")
    # rows 5, 7 and 9 (odd rows: team-1) are left out
    assert s2.groups == {"team-0": 30, "team-1": 27} and len(by_team.tasks) == 57


def test_exports_without_prompts_say_why():
    plain = (FIXTURES / "litellm-spend-logs" / "spend_logs.json").read_bytes()
    with pytest.raises(EvalInputError, match="store_prompts_in_spend_logs"):
        tasks_from_logs(plain, name="spend_logs.json")
    with pytest.raises(EvalInputError, match="not a Langfuse generations export"):
        tasks_from_logs(b"a,b\n1,2\n", name="x.csv")
