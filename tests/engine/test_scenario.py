from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.demo import PRESETS, preset
from costmodel.errors import ScenarioError
from costmodel.scenario import HybridOption, Scenario, TaskClass, load_scenario
from tests.engine.helpers import api, gpu_option, scenario, workload


@pytest.mark.parametrize("stem", sorted(PRESETS.values()))
def test_every_preset_round_trips_json_exactly(stem):
    s = preset(stem)
    again = Scenario.model_validate_json(s.model_dump_json())
    assert again == s
    assert again.model_dump_json() == s.model_dump_json()


@settings(max_examples=60, deadline=None)
@given(
    requests=st.floats(min_value=1, max_value=1e11, allow_nan=False),
    inp=st.integers(1, 200_000),
    out=st.integers(1, 50_000),
    share=st.floats(0, 1),
    growth=st.floats(-50, 200),
    discount=st.floats(0, 100),
)
def test_json_round_trip_property(requests, inp, out, share, growth, discount):
    s = scenario(
        api(discount_pct=discount),
        gpu_option(),
        workload=workload(
            requests_per_month=requests,
            input_tokens_per_request=inp,
            output_tokens_per_request=out,
            cached_input_share=share,
            monthly_growth_pct=growth,
        ),
    )
    assert Scenario.model_validate_json(s.model_dump_json()) == s


def test_validation_error_names_field_value_and_range():
    text = json.dumps(
        {"options": [{"kind": "api", "name": "a", "provider": "openai", "model": "gpt-4o", "discount_pct": 120}]}
    )
    with pytest.raises(ScenarioError) as ex:
        Scenario.from_json(text, source="bad.json")
    msg = str(ex.value)
    assert "bad.json: options.0.api.discount_pct" in msg
    assert "less than or equal to 100" in msg
    assert "(got 120)" in msg


def test_not_json_is_a_scenario_error():
    with pytest.raises(ScenarioError, match="Invalid JSON"):
        Scenario.from_json(b"\x00not json")


def test_duplicate_option_names_rejected():
    with pytest.raises(ValueError, match="unique"):
        scenario(api("x"), api("x"))


def test_hybrid_must_reference_existing_options():
    with pytest.raises(ValueError, match="open_option 'nope'"):
        scenario(api("a"), HybridOption(name="h", open_option="nope", api_option="a"))


def test_hybrid_shares_must_sum_to_one():
    with pytest.raises(ValueError, match="add up to 1"):
        HybridOption(
            name="h",
            open_option="o",
            api_option="a",
            task_classes=[TaskClass(name="x", share=0.5, on_open_model=True)],
        )


def test_unknown_field_is_rejected_not_ignored():
    with pytest.raises(ScenarioError, match="Extra inputs are not permitted"):
        Scenario.from_json(
            json.dumps({"options": [{"kind": "api", "name": "a", "provider": "p", "model": "m", "discont_pct": 5}]})
        )


def test_load_scenario_missing_file_names_the_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"nope\.json: cannot read"):
        load_scenario(tmp_path / "nope.json")


def test_baseline_defaults_to_first_api_option():
    s = scenario(gpu_option(), api("first"), api("second"))
    assert s.baseline_option.name == "first"
