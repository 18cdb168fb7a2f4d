"""Helpers for tests on the two-node cluster (the ``cluster`` fixture in tests/conftest.py):
node A is ``chat``, node B is ``chat2``."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from dev.devstack import Stack
from tests.support.agents import AgentClient, online_agent
from tests.support.visitor import Visitor


def node_a(cluster: Stack) -> str:
    return cluster.config.chat_urls[0]


def node_b(cluster: Stack) -> str:
    return cluster.config.chat_urls[1]


def agent_on_node_b(
    cluster: Stack, name: str = "Bea", max_chats: int = 10
) -> AbstractAsyncContextManager[AgentClient]:
    """An online agent whose console is connected to node B (tests/support/agents.py)."""
    return online_agent(node_b(cluster), cluster.config.admin_token, name, max_chats)


async def say_quietly(visitor: Visitor, text: str) -> None:
    """Send without waiting for the bot's answer."""
    await visitor.sio.emit("user_uttered", {"message": text, "session_id": visitor.session_id})


async def hand_over(visitor: Visitor, agent: AgentClient) -> int:
    """The visitor (on node A) asks for a person; the agent on node B gets the chat."""
    await visitor.say("hi")
    mark = len(visitor.log)
    await say_quietly(visitor, "I want to talk to a human")
    assignment = await agent.wait_for(
        "assignment", lambda a: a["conversation"]["visitor_id"] == visitor.visitor_id
    )
    await visitor.wait_for("handoff_status", lambda s: s["state"] == "assigned", after=mark)
    return int(assignment["conversation"]["id"])
