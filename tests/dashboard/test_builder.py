"""The Scenario builder: edit, add, duplicate and remove options; save, load and share the scenario."""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest

from costmodel.demo import demo_scenario, preset
from costmodel.errors import CostModelError
from costmodel.fmt import money
from costmodel.prices import api_price, list_api_prices
from costmodel.saved_scenarios import decode_scenario
from costmodel.scenario import ApiOption, CloudGpuOption, Scenario
from costmodel.tco import evaluate
from dashboard.components.text import md
from tests.dashboard.conftest import assert_compare_matches, page, scenario_of


@pytest.fixture
def builder(app):
    return page(app, "builder")


def _rev(at) -> int:
    return at.session_state.get("scenario_rev", 0)


def _click(at, label: str, index: int = 0):
    [b for b in at.button if b.label == label][index].click().run()
    assert not at.exception, at.exception
    return at


def _submit(at, form: str):
    """Press the submit button of the form with key `form` (`workload`, `frame` or `option-<index>`)."""
    at.main.get_by_key(f"{form}-form-{_rev(at)}").button[0].click().run()
    assert not at.exception, at.exception
    return at


def test_builder_shows_every_option_and_the_share_link(builder):
    s = demo_scenario()
    labels = [e.label for e in builder.expander]
    for o in s.options:
        assert any(md(o.name) in label for label in labels), o.name
    link = builder.code[0].value
    assert "preset=api-bill-10k-50k" in link and "requests=3000000" in link and "share=0.7" in link


def _bad_uploads() -> list[tuple[str, bytes]]:
    good = demo_scenario().model_dump(mode="json")
    impossible = json.loads(json.dumps(good))
    impossible["workload"]["requests_per_month"] = -5
    impossible["horizon_months"] = 0
    unknown_model = json.loads(json.dumps(good))
    unknown_model["options"][0]["model"] = "gpt-17-ultra"
    too_big = json.loads(json.dumps(good))
    too_big["options"][2].update(model="llama-3.1-405b", gpu="T4", gpus_per_replica=1)
    return [
        ("notes.json", b"this is not JSON at all"),
        ("list.json", b"[1, 2, 3]"),
        ("shape.json", json.dumps({"workload": {"requests": 5}, "options": "gpt-4o"}).encode()),
        ("impossible.json", json.dumps(impossible).encode()),
        ("unknown-model.json", json.dumps(unknown_model).encode()),
        ("does-not-fit.json", json.dumps(too_big).encode()),
    ]


@pytest.mark.parametrize(("name", "content"), _bad_uploads(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_bad_upload_shows_the_specific_error_and_keeps_the_scenario(builder, name, content):
    before = scenario_of(builder)
    builder.file_uploader(key="scenario-upload").upload(name, content, "application/json").run()
    assert not builder.exception
    with pytest.raises(CostModelError) as ex:
        evaluate(Scenario.from_json(content, source=name))
    assert [e.value for e in builder.error] == [
        md(f"{name} was not loaded; the previous scenario is kept.\n{ex.value}")
    ]
    assert scenario_of(builder) == before
    page(builder, "compare")
    assert_compare_matches(builder, before)


def test_the_field_level_messages_name_the_field(builder):
    bad = demo_scenario().model_dump(mode="json")
    bad["workload"]["requests_per_month"] = -5
    builder.file_uploader(key="scenario-upload").upload("x.json", json.dumps(bad).encode()).run()
    assert "x.json: workload.requests_per_month: Input should be greater than 0 (got -5)" in builder.error[0].value


def test_a_good_upload_replaces_the_scenario(builder):
    rag = preset("internal-search-rag")
    builder.file_uploader(key="scenario-upload").upload("rag.json", rag.model_dump_json().encode()).run()
    assert not builder.error
    assert scenario_of(builder) == rag
    assert builder.success and "rag.json" in builder.success[0].value
    link = builder.code[0].value  # no preset behind it: the link carries the whole scenario
    assert "preset=" not in link
    assert decode_scenario(parse_qs(urlsplit(link).query)["s"][0]) == rag
    page(builder, "compare")
    assert_compare_matches(builder, rag)


def test_workload_form_applies_and_compare_follows(builder):
    prefix = f"wl-{_rev(builder)}-"
    builder.number_input(key=prefix + "requests_per_month").set_value(8_000_000.0)
    builder.number_input(key=prefix + "output_tokens_per_request").set_value(400)
    _submit(builder, "workload")
    data = demo_scenario().model_dump(mode="json")
    data["workload"].update(requests_per_month=8_000_000, output_tokens_per_request=400)
    expected = Scenario.model_validate(data)
    assert scenario_of(builder) == expected
    page(builder, "compare")
    assert_compare_matches(builder, expected)


def test_an_impossible_workload_is_refused_with_the_field_named(builder):
    prefix = f"wl-{_rev(builder)}-"
    builder.number_input(key=prefix + "peak_to_average").set_value(0.5)
    _submit(builder, "workload")
    assert builder.error[0].value == md("Peak ÷ average load: must be greater than or equal to 1 (you entered 0.50)")
    assert scenario_of(builder) == demo_scenario()


def test_currency_and_fx(builder):
    prefix = f"fr-{_rev(builder)}-"
    builder.selectbox(key=prefix + "currency").set_value("EUR")
    builder.number_input(key=prefix + "usd_fx_rate").set_value(0.92)
    _submit(builder, "frame")
    s = scenario_of(builder)
    assert (s.currency, str(s.usd_fx_rate)) == ("EUR", "0.9200")
    page(builder, "compare")
    assert_compare_matches(builder, s)
    assert "€" in builder.main.get_by_key("kpi-0").metric[0].value


def test_add_duplicate_and_remove_options(builder):
    n = len(demo_scenario().options)
    builder.selectbox(key="add-kind").set_value("on_prem")
    _click(builder, "Add option")
    s = scenario_of(builder)
    assert len(s.options) == n + 1 and s.options[-1].name == "New own server" and s.options[-1].kind == "on_prem"
    _click(builder, "Duplicate", 0)
    s = scenario_of(builder)
    assert s.options[1].name == "GPT-4o (today) (copy)"
    assert s.options[1].model_dump(exclude={"name"}) == s.options[0].model_dump(exclude={"name"})
    _click(builder, "Remove", 1)
    _click(builder, "Remove", n)
    assert scenario_of(builder) == demo_scenario()


def test_removing_the_baseline_asks_for_a_new_one_in_plain_words(builder):
    _click(builder, "Remove", 0)  # GPT-4o: the baseline, and the hybrid's API part
    assert not builder.error and scenario_of(builder) == demo_scenario()
    panel = builder.main.get_by_key("removing-0")
    text = panel.warning[0].value
    assert "is the baseline" in text and "Hybrid: routine → 8B, hard → GPT-4o" in text and "would go too" in text
    assert "must name" not in text and "api_option" not in text  # no validator text
    panel.selectbox[0].set_value("Llama 3.3 70B on Together")
    _click(builder, "Remove 2 options and set the baseline")
    s = scenario_of(builder)
    gone = {"GPT-4o (today)", "Hybrid: routine → 8B, hard → GPT-4o"}
    assert [o.name for o in s.options] == [o.name for o in demo_scenario().options if o.name not in gone]
    assert s.baseline == "Llama 3.3 70B on Together"
    assert any("The baseline is now Llama 3.3 70B on Together" in m.value for m in builder.success)
    page(builder, "compare")
    assert_compare_matches(builder, s)


def test_removing_an_option_a_hybrid_needs_can_be_cancelled(builder):
    _click(builder, "Remove", 2)  # the hybrid's open-model part
    assert "would go too" in builder.main.get_by_key("removing-2").warning[0].value
    _click(builder, "Cancel")
    assert scenario_of(builder) == demo_scenario()
    with pytest.raises(KeyError):
        builder.main.get_by_key("removing-2")


def test_removing_a_plain_option_needs_no_question(builder):
    _click(builder, "Remove", 3)
    assert [o.name for o in scenario_of(builder).options] == [
        o.name for o in demo_scenario().options if o.name != "Llama 3.3 70B FP8 on 2× H100"
    ]


def test_apply_confirms_what_changed_and_the_new_verdict(builder):
    prefix = f"wl-{_rev(builder)}-"
    builder.number_input(key=prefix + "requests_per_month").set_value(8_000_000.0)
    _submit(builder, "workload")
    text = builder.success[0].value
    assert md("Requests per month (month 1): 3000000.0 → 8000000.0") in text
    assert md(evaluate(scenario_of(builder)).verdict) in text


def test_an_error_clears_once_it_is_fixed(builder):
    prefix = f"wl-{_rev(builder)}-"
    builder.number_input(key=prefix + "peak_to_average").set_value(0.5)
    _submit(builder, "workload")
    assert builder.error
    builder.number_input(key=prefix + "peak_to_average").set_value(3.0)
    _submit(builder, "workload")
    assert not builder.error and scenario_of(builder).workload.peak_to_average == 3.0
    builder.run()
    assert not builder.error


def test_start_blank_asks_then_replaces_the_scenario_and_the_link_follows(builder):
    from dashboard.components.starts import blank_scenario

    _click(builder, "Start blank")
    assert scenario_of(builder) == demo_scenario()  # not yet: it asks first
    assert "will be replaced" in builder.main.get_by_key("start-confirm").warning[0].value
    _click(builder, "Start")
    assert scenario_of(builder) == blank_scenario()
    assert "preset" not in builder.query_params and decode_scenario(builder.query_params["s"]) == blank_scenario()
    page(builder, "compare")
    assert builder.selectbox(key="preset_pick").value == "Custom"
    assert_compare_matches(builder, blank_scenario())


def test_start_from_usage_logs_without_logs_says_to_import_first(builder):
    _click(builder, "Start from my usage logs")
    _click(builder, "Start")
    assert "no usage imported yet" in builder.error[0].value
    assert scenario_of(builder) == demo_scenario()


def test_start_from_usage_logs_uses_the_logged_workload_and_model(builder):
    from costmodel.store import connect
    from costmodel.usage import import_file, workload_from_usage
    from tests.dashboard.conftest import ROOT

    con = connect()  # the test's own store (OPENTCO_DB)
    import_file(con, ROOT / "tests/fixtures/litellm-spend-logs/spend_logs.json")
    expected = workload_from_usage(con)
    con.close()
    _click(builder, "Start from my usage logs")
    _click(builder, "Start")
    s = scenario_of(builder)
    assert not builder.error and s.workload == expected
    assert [(o.kind, o.provider, o.model) for o in s.options] == [("api", "anthropic", "claude-3-5-sonnet-20241022")]


def test_new_self_hosted_options_carry_the_presets_people_and_setup_costs(builder):
    from dashboard.components.forms import self_hosted_defaults

    demo_costs = demo_scenario().options[2].costs  # type: ignore[union-attr]
    for kind in ("cloud_gpu", "on_prem"):
        builder.selectbox(key="add-kind").set_value(kind)
        _click(builder, "Add option")
        assert scenario_of(builder).options[-1].costs == demo_costs  # type: ignore[union-attr]
    assert str(demo_costs.setup_usd) == "15000"
    assert "$15,000" in builder.caption[-1].value and self_hosted_defaults()[1] in builder.caption[-1].value


def test_api_options_take_negotiated_per_token_prices(builder):
    prefix = f"opt-{_rev(builder)}-0-"
    builder.number_input(key=prefix + "input_usd_per_mtok").set_value(1.75)
    builder.number_input(key=prefix + "output_usd_per_mtok").set_value(7.0)
    _submit(builder, "option-0")
    opt = scenario_of(builder).options[0]
    assert isinstance(opt, ApiOption)
    assert (str(opt.input_usd_per_mtok), opt.cached_input_usd_per_mtok, str(opt.output_usd_per_mtok)) == (
        "1.7500",
        None,
        "7.0000",
    )
    assert builder.number_input(key=f"opt-{_rev(builder)}-0-cached_input_usd_per_mtok").placeholder == "list $1.25"
    page(builder, "compare")
    assert_compare_matches(builder, scenario_of(builder))


def test_api_picker_lists_prices_with_their_date_and_switches_the_model(builder):
    prefix = f"opt-{_rev(builder)}-0-"
    picker = builder.selectbox(key=prefix + "pick")
    price = next(
        p for p in list_api_prices(at=date(2026, 11, 25)) if p.provider_id == "anthropic" and "sonnet-4" in p.model_id
    )
    choice = f"{price.provider_id}/{price.model_id}"
    assert picker.format_func(choice) in picker.options
    picker.set_value(choice)
    builder.text_input(key=prefix + "name").set_value("Claude")
    _submit(builder, "option-0")
    s = scenario_of(builder)
    opt = s.options[0]
    assert isinstance(opt, ApiOption) and (opt.name, f"{opt.provider}/{opt.model}") == ("Claude", choice)
    assert s.baseline == "Claude"  # the rename follows into the baseline and the hybrid
    assert s.options[4].api_option == "Claude"  # type: ignore[union-attr]
    page(builder, "compare")
    assert_compare_matches(builder, s)


def test_picker_labels_show_price_and_date(builder):
    picker = builder.selectbox(key=f"opt-{_rev(builder)}-0-pick")
    gpt4o = api_price("openai", "gpt-4o", at=date(2026, 11, 25))
    assert picker.value == "openai/gpt-4o"
    assert picker.format_func(picker.value) == (
        f"OpenAI · {gpt4o.model_name} — in {money(gpt4o.input_usd_per_mtok, decimals=2)} / out "
        f"{money(gpt4o.output_usd_per_mtok, decimals=2)} per 1M · batch rate · as of 2026-11-25"
    )
    managed = builder.selectbox(key=f"opt-{_rev(builder)}-1-pick")
    assert len(picker.options) > 100 and len(managed.options) > 100
    assert all(" per 1M" in o and "as of 2026-11-25" in o for o in picker.options[1:])
    assert not set(picker.options) & set(managed.options)  # proprietary APIs vs open-model endpoints


def test_self_hosted_editor_changes_gpu_and_people_costs(builder):
    prefix = f"opt-{_rev(builder)}-2-"
    builder.selectbox(key=prefix + "gpu").set_value("L40S")
    builder.selectbox(key=prefix + "provider").set_value("")  # the cheapest cloud
    builder.number_input(key=prefix + "costs-engineering_fte").set_value(0.5)
    _submit(builder, "option-2")
    opt = scenario_of(builder).options[2]
    assert isinstance(opt, CloudGpuOption)
    assert (opt.gpu, opt.provider, opt.costs.engineering_fte) == ("L40S", None, 0.5)
    page(builder, "compare")
    assert_compare_matches(builder, scenario_of(builder))


def test_a_self_hosted_option_names_its_serving_engine(builder):
    prefix = f"opt-{_rev(builder)}-2-"
    engine = builder.selectbox(key=prefix + "runtime")
    assert engine.label == "Serving engine" and engine.value == "" and "tensorrt-llm" in engine.options
    engine.set_value("tensorrt-llm")
    _submit(builder, "option-2")
    opt = scenario_of(builder).options[2]
    assert isinstance(opt, CloudGpuOption) and opt.runtime == "tensorrt-llm"
    page(builder, "compare")
    assert_compare_matches(builder, scenario_of(builder))


def test_a_self_hosted_option_that_cannot_fit_is_refused(builder):
    prefix = f"opt-{_rev(builder)}-2-"
    builder.selectbox(key=prefix + "model").set_value("llama-3.1-405b")
    builder.selectbox(key=prefix + "gpu").set_value("T4")
    builder.number_input(key=prefix + "gpus_per_replica").set_value(1)
    _submit(builder, "option-2")
    assert builder.error and "Llama 3.1 405B" in builder.error[0].value
    assert scenario_of(builder) == demo_scenario()
