"""bot/speedups.py: action answers are still validated, with the schema checked once."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

import speedups


@pytest.fixture
def action() -> RemoteAction:
    speedups.apply()
    return RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1/webhook"))


def test_a_valid_answer_passes(action: RemoteAction) -> None:
    answer = {"events": [{"event": "slot", "name": "name", "value": "Priya"}],
              "responses": [{"text": "hi"}]}
    assert action._validate_action_result(answer) is True
    assert action._validate_action_result(answer) is True  # the cached validator again


@pytest.mark.parametrize("answer", [
    {"events": [{"event": "no_such_event"}]},
    {"events": "not a list"},
    {"responses": [42]},
    {"events": [{"event": "slot", "name": 7}]},
])
def test_an_invalid_answer_raises_rasas_error(action: RemoteAction, answer: dict) -> None:
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result(answer)


def test_the_launcher_installs_it() -> None:
    from conftest import BOT_DIR
    assert "speedups.apply()" in (BOT_DIR / "launch_rasa.py").read_text()
