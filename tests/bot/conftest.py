"""Fixtures for the bot's action tests: trackers built from small dicts."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOT_DIR = ROOT / "bot"
# The action server runs with cwd=bot/ and imports the package as `actions`.
sys.path.insert(0, str(BOT_DIR))
# dev.devstack (standard library only): free_port() for the live tests.
sys.path.append(str(ROOT))

from rasa_sdk import Tracker  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402


def make_tracker(
    text: str = "",
    intent: str | None = None,
    entities: dict[str, Any] | None = None,
    slots: dict[str, Any] | None = None,
    active_loop: str | None = None,
) -> Tracker:
    """A tracker whose latest user message has ``intent`` and ``entities``."""
    ents = [{"entity": k, "value": v} for k, v in (entities or {}).items()]
    message = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": ents}
    return Tracker(
        sender_id="test-visitor",
        slots=dict(slots or {}),
        latest_message=message,
        events=[{"event": "user", "text": text, "parse_data": message}],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def run_action(action: Any, tracker: Tracker, domain: dict[str, Any] | None = None):
    """Run an async action; return (events, messages)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain or {}))
    return events, dispatcher.messages


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.fixture
def tracker():
    return make_tracker


@pytest.fixture
def run():
    return run_action
