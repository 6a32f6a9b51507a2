"""Task-set loading: JSON lines and CSV, every bad line named `file:line:field`, the rest kept."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from costmodel.evals import EvalInputError, load_tasks, parse_tasks

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "data" / "eval").glob("*.jsonl")) + sorted((ROOT / "data" / "eval").glob("*.csv"))


def _line(**fields: object) -> str:
    base: dict[str, object] = {"id": "x", "task_class": "c", "prompt": "p", "reference": "r", "scorer": "exact"}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None})


BAD = [
    (_line(id="a", scorer="fuzzy"), "scorer", "not a scorer"),
    (_line(id="b", prompt=None), "prompt", "missing"),
    (_line(id="c", reference=None), "reference", "missing"),
    (_line(id="d", scorer="regex", reference="(unclosed"), "reference", "not a valid regular expression"),
    (_line(id="e", scorer="number", reference="about ten"), "reference", "not a number"),
    (_line(id="f", scorer="json_fields", reference="text"), "reference", "JSON object"),
    (_line(id="g", scorer="choice", labels=["yes"]), "labels", "at least two labels"),
    (_line(id="h", scorer="choice", labels=["yes", "no"], reference="maybe"), "reference", "not one of the labels"),
    (_line(id="i", colour="red"), "colour", "unknown field"),
    (_line(id="j", messages=[{"role": "user", "content": "hi"}]), "prompt", "not both"),
    (
        _line(id="k", messages=[{"role": "robot", "content": "hi"}], prompt=None),
        "messages.0.role",
        "'system', 'user' or 'assistant'",
    ),
    (_line(id="l", task_class="  "), "task_class", "must not be empty"),
    (_line(id="m", scorer="json_fields", reference={"a": 1}, fields=["b"]), "fields", "not in the reference"),
    ("{not json", "-", "invalid JSON"),
    ("[1, 2]", "-", "one JSON object per line"),
]


def test_each_bad_line_is_named_and_the_rest_runs():
    good = [_line(id="ok-1"), _line(id="ok-2", scorer="number", reference=42, tolerance=0.5)]
    text = "\n".join([good[0], *[b[0] for b in BAD], good[1], _line(id="ok-1")])
    ts = parse_tasks(text.encode(), name="mine.jsonl")
    assert [t.id for t in ts.tasks] == ["ok-1", "ok-2"]
    assert len(ts.errors) == len(BAD) + 1
    for n, ((_, field, words), err) in enumerate(zip(BAD, ts.errors, strict=False), start=2):
        assert err.startswith(f"mine.jsonl:{n}:{field}: "), err
        assert words in err, err
    assert ts.errors[-1] == f"mine.jsonl:{len(BAD) + 3}:id: 'ok-1' repeats line 1"


def test_prompt_with_system_becomes_messages_and_numbers_become_text_references():
    ts = parse_tasks(_line(system="Be brief.", reference=7).encode(), name="t.jsonl")
    task = ts.tasks[0]
    assert [(m.role, m.content) for m in task.messages] == [("system", "Be brief."), ("user", "p")]
    assert task.reference == "7"


def test_csv_with_the_same_columns():
    text = (
        "id,task_class,prompt,reference,scorer,labels,fields,tolerance\n"
        'a,triage,"Ticket, with comma",bug,choice,bug|billing,,\n'
        'b,extraction,Invoice,"{""total"": 12.5, ""vendor"": ""ACME""}",json_fields,,"[""total""]",0.01\n'
        "c,triage,Hi,x,choice\n"
        "d,triage,Hi,x,exact,,,lots\n"
    )
    ts = parse_tasks(text.encode(), name="t.csv")
    assert [t.id for t in ts.tasks] == ["a", "b"]
    assert ts.tasks[0].labels == ["bug", "billing"]
    assert ts.tasks[1].reference == {"total": 12.5, "vendor": "ACME"}
    assert ts.tasks[1].fields == ["total"] and ts.tasks[1].tolerance == 0.01
    assert ts.errors == [
        "t.csv:4:-: expected 8 columns, found 5 (an unquoted comma?)",
        "t.csv:5:tolerance: 'lots' is not a number",
    ]


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "e.jsonl", "e.jsonl: the file is empty"),
        (b"\xff\xfe{", "u.jsonl", "u.jsonl:1: not UTF-8"),
        (b"id,prompt\n1,hi\n", "h.csv", "h.csv:1: missing column(s) task_class, reference, scorer"),
        (b"{oops\n", "n.jsonl", "n.jsonl: no usable task.\nn.jsonl:1:-: invalid JSON"),
    ],
)
def test_file_level_problems(data, name, message):
    with pytest.raises(EvalInputError) as ex:
        parse_tasks(data, name=name)
    assert str(ex.value).startswith(message)


def test_same_bytes_same_hash_so_a_rerun_resumes(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text(_line())
    assert load_tasks(p).sha256 == parse_tasks(p.read_bytes(), name="other.jsonl").sha256
    with pytest.raises(EvalInputError, match="cannot read the task set"):
        load_tasks(tmp_path / "missing.jsonl")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_sets_load_cleanly(path):
    ts = load_tasks(path)
    assert ts.errors == []
    assert len(ts.tasks) >= 6
    assert not ts.agreement


def test_example_invoices_add_up():
    ts = load_tasks(ROOT / "data" / "eval" / "invoice_extraction.jsonl")
    invoices = [t for t in ts.tasks if t.scorer == "json_fields"]
    assert len(invoices) == 20
    for t in invoices:
        text = t.messages[-1].content
        lines = [Decimal(m) for m in re.findall(r"= (\d+\.\d\d)$", text, re.MULTILINE)]
        net = Decimal(re.search(r"Net: (\d+\.\d\d)", text).group(1))
        rate = Decimal(re.search(r"VAT ([\d.]+)%", text).group(1))
        vat = Decimal(re.search(r"VAT [\d.]+%: (\d+\.\d\d)", text).group(1))
        total = Decimal(re.search(r"Total due: (\d+\.\d\d)", text).group(1))
        assert sum(lines) == net, t.id
        assert vat == (net * rate / 100).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"), t.id
        assert total == net + vat and Decimal(str(t.reference["total"])) == total, t.id
        assert t.reference["invoice_number"] in text and t.reference["vendor"] in text
