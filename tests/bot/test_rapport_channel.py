"""The rapport channel's promise that every visitor message gets an answer."""

from __future__ import annotations

import sys
from pathlib import Path

from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bot"))

from connectors.rapport_rest import left_unanswered


def tracker(*events: object) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("visitor-1", list(events))


def said(text: str, intent: str = "inform") -> UserUttered:
    return UserUttered(text, intent={"name": intent, "confidence": 0.9})


def test_a_turn_that_ended_listening_without_a_word_is_unanswered() -> None:
    t = tracker(
        ActionExecuted("action_listen"),
        said("hello"),
        ActionExecuted("action_greet"),
        BotUttered("Hi!"),
        ActionExecuted("action_listen"),
        said("hello number 1"),
        ActionExecuted("action_listen"),
    )
    assert left_unanswered(t)


def test_a_turn_with_a_reply_or_a_control_message_is_answered() -> None:
    replied = tracker(ActionExecuted("action_listen"), said("hi"), BotUttered("Hi!"))
    handed_over = tracker(
        ActionExecuted("action_listen"),
        said("a person please", "human_handoff"),
        BotUttered(data={"custom": {"handoff": {"reason": "requested"}}}),
        ActionExecuted("action_listen"),
    )
    assert not left_unanswered(replied)
    assert not left_unanswered(handed_over)


def test_rasa_commands_and_paused_conversations_may_stay_silent() -> None:
    restart = tracker(ActionExecuted("action_listen"), said("/restart", "restart"))
    paused = tracker(ConversationPaused(), ActionExecuted("action_listen"), said("are you there?"))
    assert not left_unanswered(restart)
    assert not left_unanswered(paused)
    assert not left_unanswered(tracker())
