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


def test_the_benchmark_baseline_turns_the_speedups_off(tmp_path) -> None:
    """bench/bot_path.py's "before" mode: whole sessions, domain to every action."""
    import subprocess
    import sys

    from conftest import BOT_DIR
    code = (
        "import speedups; speedups.apply_baseline();"
        "from storage.tracker_store import SessionScopedSQLTrackerStore as S;"
        f"s = S(host='sqlite:///{tmp_path}/t.db', window_turns=10);"
        "from rasa.core.actions.action import RemoteAction;"
        "from rasa.utils.endpoints import EndpointConfig;"
        "a = RemoteAction('x', EndpointConfig('http://h', enable_selective_domain=True));"
        "print(s.window_turns, a._is_selective_domain_enabled())"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=BOT_DIR, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == [str(10**9), "False"]
