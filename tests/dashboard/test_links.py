"""A reload or a shared link opens the scenario the sender saw, whatever was changed and on whichever page."""

from __future__ import annotations

import base64
import zlib
from datetime import datetime

import pytest

from costmodel.demo import demo_scenario, preset
from costmodel.errors import ScenarioError
from costmodel.saved_scenarios import (
    MAX_LINK_CHARS,
    decode_scenario,
    encode_scenario,
    load_saved_scenario,
    save_scenario,
    scenario_id,
)
from costmodel.store import connect
from tests.dashboard.conftest import assert_compare_matches, new_app, page, scenario_of


def _rev(at) -> int:
    return at.session_state.get("scenario_rev", 0)


def _reopen(at, name: str = "compare"):
    """A fresh browser session on the address bar `at` shows now (what F5 or a shared link does)."""
    fresh = new_app()
    for k, v in at.query_params.items():
        fresh.query_params[k] = v
    fresh.run()
    assert not fresh.exception, fresh.exception
    if name != "compare":
        page(fresh, name)
    return fresh


def _edit_in_builder(at):
    """Change the workload in the builder: the scenario is no longer a preset with slider moves."""
    page(at, "builder")
    prefix = f"wl-{_rev(at)}-"
    at.number_input(key=prefix + "output_tokens_per_request").set_value(444)
    at.main.get_by_key(f"workload-form-{_rev(at)}").button[0].click().run()
    assert not at.exception and not at.error
    assert scenario_of(at).workload.output_tokens_per_request == 444
    return at


def test_landing_address_is_the_readable_preset_link(app):
    assert app.query_params["preset"] == "api-bill-10k-50k"
    assert "s" not in app.query_params and "id" not in app.query_params
    assert app.selectbox(key="preset_pick").value == "$10k–$50k/month API bill"


def test_slider_moves_survive_a_reload(app):
    app.select_slider(key="volume").set_value(10_000_000.0).run()
    app.slider(key="growth").set_value(7.5).run()
    fresh = _reopen(app)
    assert scenario_of(fresh) == scenario_of(app)
    assert fresh.selectbox(key="preset_pick").value == "$10k–$50k/month API bill"  # still the preset, moved
    assert_compare_matches(fresh, scenario_of(app))


def test_builder_edits_survive_a_reload_and_the_preset_box_says_custom(app):
    _edit_in_builder(app)
    edited = scenario_of(app)
    assert "preset" not in app.query_params and decode_scenario(app.query_params["s"]) == edited
    page(app, "compare")
    assert app.selectbox(key="preset_pick").value == "Custom"
    assert app.query_params["s"]  # every page keeps the link
    for name in ("builder", "hardware_fit", "business_case"):
        fresh = _reopen(app, name)
        assert scenario_of(fresh) == edited, name
    fresh = _reopen(app)
    assert fresh.selectbox(key="preset_pick").value == "Custom"
    assert_compare_matches(fresh, edited)


def test_builder_share_link_opens_the_rebuilt_scenario(app):
    _edit_in_builder(app)
    link = app.code[0].value
    query = link.split("?", 1)[1]
    key, value = query.split("=", 1)
    assert key == "s"
    fresh = new_app()
    fresh.query_params["s"] = value
    fresh.run()
    assert scenario_of(fresh) == scenario_of(app)


def test_picking_a_preset_after_custom_goes_back_to_the_preset(app):
    _edit_in_builder(app)
    page(app, "compare")
    app.selectbox(key="preset_pick").set_value("Code assistant").run()
    assert scenario_of(app) == preset("code-assistant")
    assert app.query_params["preset"] == "code-assistant" and "s" not in app.query_params


def test_a_big_scenario_is_saved_and_linked_by_a_short_id(app, monkeypatch):
    monkeypatch.setattr("dashboard.components.share.MAX_LINK_CHARS", 200)
    _edit_in_builder(app)
    sid = app.query_params["id"]
    assert sid == scenario_id(scenario_of(app)) and "s" not in app.query_params
    fresh = _reopen(app)
    assert scenario_of(fresh) == scenario_of(app)
    assert fresh.selectbox(key="preset_pick").value == "Custom"


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"s": "1.not-base64-at-all!"}, "damaged"),
        ({"s": "9.abc"}, "not in a format"),
        ({"id": "aaaaaaaaaaaa"}, "no saved scenario 'aaaaaaaaaaaa'"),
        ({"id": "../etc"}, "is not a saved-scenario id"),
        ({"preset": "nope"}, "unknown preset 'nope'"),
    ],
)
def test_a_bad_link_says_why_and_shows_the_demo(params, says):
    at = new_app()
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    assert says in at.warning[0].value
    assert scenario_of(at) == demo_scenario()


# ---------------------------------------------------------------- the engine side


def test_encoding_round_trips_every_preset_within_the_url_budget():
    for stem in ("api-bill-10k-50k", "code-assistant", "customer-service-triage"):
        s = preset(stem)
        text = encode_scenario(s)
        assert len(text) < MAX_LINK_CHARS and text.startswith("1.")
        assert set(text[2:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        assert decode_scenario(text) == s


def test_a_link_that_expands_to_gigabytes_is_refused():
    bomb = base64.urlsafe_b64encode(zlib.compress(b" " * 50_000_000, 9)).decode().rstrip("=")
    with pytest.raises(ScenarioError, match="expands beyond"):
        decode_scenario("1." + bomb)


def test_a_link_cut_short_says_so():
    text = encode_scenario(demo_scenario())
    with pytest.raises(ScenarioError, match="cut short"):
        decode_scenario(text[: len(text) // 2])


def test_a_link_with_a_bad_scenario_names_the_field():
    data = demo_scenario().model_dump_json().replace('"horizon_months":36', '"horizon_months":0')
    text = "1." + base64.urlsafe_b64encode(zlib.compress(data.encode())).decode().rstrip("=")
    with pytest.raises(ScenarioError, match="link: horizon_months"):
        decode_scenario(text)


def test_saving_twice_keeps_one_row_and_the_first_date(tmp_path):
    con = connect(tmp_path / "s.duckdb")
    s = demo_scenario()
    first = save_scenario(con, s, now=datetime(2026, 1, 2, 3, 4, 5))
    again = save_scenario(con, s, now=datetime(2027, 1, 1))
    other = save_scenario(con, preset("code-assistant"))
    assert first == again == scenario_id(s) and other != first and len(first) == 12
    assert con.execute("SELECT count(*), min(saved_at) FROM saved_scenarios").fetchone() == (
        2,
        datetime(2026, 1, 2, 3, 4, 5),
    )
    assert load_saved_scenario(con, first) == s
    con.close()
