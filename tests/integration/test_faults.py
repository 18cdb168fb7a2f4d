"""Rasa and the action server going down and coming back, with real processes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from dev.devstack import Stack
from tests.conftest import make_stack
from tests.integration.helpers import stored_messages
from tests.support.visitor import Visitor

pytestmark = pytest.mark.stack


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with make_stack(tmp_path) as s:
        yield s


def is_unavailable(replies: list[dict]) -> bool:
    return len(replies) == 1 and replies[0].get("custom") == {"type": "assistant_unavailable"}


async def test_rasa_and_action_server_down_then_back(stack: Stack) -> None:
    visitor = Visitor()
    await visitor.connect(stack.base_url)
    assert not is_unavailable(await visitor.say("hi"))

    # Action server down: Rasa itself answers nothing for an action turn.
    stack.stop_process("actions")
    assert is_unavailable(await visitor.say("show me backpacks"))
    status, body = stack.health()
    assert status == 503 and '"action_server": {"ok": false' in body

    # Rasa down too.
    stack.stop_process("rasa")
    assert is_unavailable(await visitor.say("are you there?"))
    status, body = stack.health()
    assert status == 503 and '"rasa": {"ok": false' in body

    # Both back: the next message works, no chat server restart.
    stack.start_actions()
    stack.start_rasa()
    # In a thread: blocking this loop would stop the socket answering pings.
    await asyncio.to_thread(stack.wait_healthy, 180)
    replies = await visitor.say("show me backpacks")
    assert any(r.get("custom", {}).get("type") == "product_cards" for r in replies)
    await visitor.close()

    texts = [
        r.text
        for r in await stored_messages(stack.config.database_url, visitor.session_id.split(".")[0])  # type: ignore[union-attr]
        if r.direction == "visitor"
    ]
    assert texts == ["hi", "show me backpacks", "are you there?", "show me backpacks"]
