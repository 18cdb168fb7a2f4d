"""A turn is idempotent by the chat server's message id (metadata.message_id).

If Rasa saved a turn but its answer never reached the chat server (the
database went away before the replies were stored), the chat server runs the
turn again after recovery. The rapport channel then sends the replies the
tracker already holds instead of running the message a second time.
Needs the model `make test` trained (RAPPORT_MODEL).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import UserUttered
from rasa.utils.endpoints import EndpointConfig

from connectors.rapport_rest import handle_message
from dev.devstack import free_port  # below the ephemeral range: no port race

BOT_DIR = Path(__file__).resolve().parents[2] / "bot"


@pytest.fixture(scope="module")
def action_server() -> Iterator[str]:
    """The bot's real action server (rasa_sdk) on a free loopback port."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", str(port)],
        cwd=BOT_DIR,
        env={**os.environ, "SANIC_HOST": "127.0.0.1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=1).close()  # noqa: S310 (http://127.0.0.1)
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "no action server"
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def agent(action_server: str) -> Agent:
    model = os.environ.get("RAPPORT_MODEL")
    assert model, "set RAPPORT_MODEL to the trained model (make test does)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Agent.load(model, action_endpoint=EndpointConfig(action_server + "/webhook"))


def turn(agent: Agent, text: str, message_id: int) -> tuple[list, object]:
    async def run() -> tuple[list, object]:
        collector = CollectingOutputChannel()
        message = UserMessage(
            text,
            collector,
            "visitor-1",
            parse_data=await agent.parse_message(text),
            input_channel="rapport",
            metadata={"message_id": message_id},
        )
        tracker = await handle_message(agent, message)
        return collector.messages, tracker

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return asyncio.run(run())


def test_a_retried_turn_gets_the_same_replies_and_runs_once(agent: Agent) -> None:
    first, _ = turn(agent, "what is your return policy?", 41)
    assert first
    again, tracker = turn(agent, "what is your return policy?", 41)
    assert [m.get("text") for m in again] == [m.get("text") for m in first]
    said = [e.text for e in tracker.events if isinstance(e, UserUttered)]
    assert said == ["what is your return policy?"]  # main: twice
    # A new message (a new id) is a new turn, even with the same words.
    turn(agent, "what is your return policy?", 42)
    _, tracker = turn(agent, "what is your return policy?", 42)
    said = [e.text for e in tracker.events if isinstance(e, UserUttered)]
    assert said == ["what is your return policy?"] * 2
