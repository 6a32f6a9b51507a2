"""Hostile scenario files: the loader and the engine fail only with user-facing errors, never a traceback."""

from __future__ import annotations

import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costmodel.demo import PRESETS, preset
from costmodel.errors import CostModelError, ScenarioError
from costmodel.scenario import Scenario
from costmodel.tco import evaluate

SEEDS = [preset(stem).model_dump_json().encode() for stem in sorted(PRESETS.values())]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def _mutate(doc: object, rnd: random.Random, value: object) -> object:
    """Replace one random node of a JSON document by `value`."""
    if isinstance(doc, dict) and doc and rnd.random() < 0.8:
        key = rnd.choice(sorted(doc))
        return {**doc, key: _mutate(doc[key], rnd, value)}
    if isinstance(doc, list) and doc and rnd.random() < 0.8:
        i = rnd.randrange(len(doc))
        return [*doc[:i], _mutate(doc[i], rnd, value), *doc[i + 1 :]]
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), cut=st.integers(0, 4000), flip=st.binary(max_size=8))
def test_truncated_or_corrupted_bytes_raise_scenario_error_only(seed, cut, flip):
    data = seed[:cut] + flip + seed[cut + len(flip) :]
    try:
        Scenario.from_json(data)
    except ScenarioError as ex:
        assert str(ex)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), rnd=st.randoms(use_true_random=False), value=json_values)
def test_mutated_documents_either_load_and_evaluate_or_fail_with_a_message(seed, rnd, value):
    doc = _mutate(json.loads(seed), rnd, value)
    try:
        s = Scenario.from_json(json.dumps(doc))
    except ScenarioError as ex:
        assert ":" in str(ex)  # names the field
        return
    try:
        evaluate(s, with_break_even=False)
    except CostModelError as ex:
        assert str(ex)
