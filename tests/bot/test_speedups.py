"""bot/speedups.py: action answers are still validated, with the schema checked once;
models loaded for prediction without tracing a training step predict exactly the same."""

from __future__ import annotations

import asyncio
import os
import warnings
from typing import Any

import numpy as np
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
    answer = {
        "events": [{"event": "slot", "name": "name", "value": "Priya"}],
        "responses": [{"text": "hi"}],
    }
    assert action._validate_action_result(answer) is True
    assert action._validate_action_result(answer) is True  # the cached validator again


@pytest.mark.parametrize(
    "answer",
    [
        {"events": [{"event": "no_such_event"}]},
        {"events": "not a list"},
        {"responses": [42]},
        {"events": [{"event": "slot", "name": 7}]},
    ],
)
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
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=BOT_DIR, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(10**9), "False"]


TEXTS = [
    "hello",
    "how much is shipping?",
    "I want to talk to a human",
    "do you sell tents?",
    "my order TR-10031 is late",
    "this is useless, I'm angry",
    "thanks bye",
    "show me red jackets under 100",
    "my name is Priya",
    "asdf qwerty",
]


def predictions(agent: Any) -> list[tuple[Any, ...]]:
    """DIET's intent ranking and entities, and TED's action probabilities, per text."""
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    found = []
    for text in TEXTS:
        parsed = asyncio.run(agent.parse_message(text))
        ranking = [(r["name"], r["confidence"]) for r in parsed["intent_ranking"]]
        entities = [
            (e["entity"], e["value"], e.get("confidence_entity")) for e in parsed["entities"]
        ]
        tracker = DialogueStateTracker.from_events(
            "s",
            [
                ActionExecuted("action_listen"),
                UserUttered(text, parsed["intent"], parsed["entities"], parse_data=parsed),
            ],
            agent.domain.slots,
        )
        ted = agent.processor._predict_next_with_tracker(tracker).probabilities
        found.append((ranking, entities, np.array(ted)))
    return found


def test_loading_for_prediction_predicts_exactly_as_rasas_own_load(monkeypatch) -> None:
    from rasa.core.agent import Agent
    from rasa.utils.tensorflow.models import RasaModel

    model = os.environ.get("RAPPORT_MODEL")
    assert model, "set RAPPORT_MODEL to the trained model (make test does)"
    speedups.apply()
    with warnings.catch_warnings():  # Rasa 3.6 warns about slot auto-fill on every load
        warnings.simplefilter("ignore")
        fast = predictions(Agent.load(model))
        with monkeypatch.context() as stock_rasa:
            stock_rasa.setattr(RasaModel, "load", speedups._STOCK_LOAD["load"])
            stock = predictions(Agent.load(model))
    assert [f[0][0][0] for f in fast][:3] == ["greet", "ask_shipping", "request_human"]
    for (f_rank, f_ents, f_ted), (s_rank, s_ents, s_ted) in zip(fast, stock, strict=True):
        assert [n for n, _ in f_rank] == [n for n, _ in s_rank]
        assert np.allclose([c for _, c in f_rank], [c for _, c in s_rank], atol=1e-6)
        assert f_ents == pytest.approx(s_ents)
        assert np.allclose(f_ted, s_ted, atol=1e-6)
