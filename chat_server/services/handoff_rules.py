"""The handoff state machine's rules, as pure data and functions (no I/O).

States and the only transitions allowed (everything else is refused)::

    bot ──escalate──► queued ──assign/accept──► assigned ──resolve──► resolved
     ▲  └────────barge-in (accept)─────────────►  │  ▲ │
     └──────────────── hand back ─────────────────┘  │ └─ agent gone ─► queued
                                          transfer ──┘

services/handoff.py applies them to stored conversations; tests/unit checks
them without a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chat_server.db.models import Agent, Conversation, as_utc
from chat_server.errors import Conflict
from chat_server.protocol import agent as agent_protocol

TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("bot", "queued"),  # the visitor asked, complained, the bot failed or is down
        ("bot", "assigned"),  # an agent barged in
        ("queued", "assigned"),  # routing or an agent's accept
        ("assigned", "assigned"),  # transfer
        ("assigned", "queued"),  # the agent disconnected for good
        ("assigned", "resolved"),
        ("assigned", "bot"),  # hand back without resolving
        ("queued", "bot"),  # the last agent left: the bot takes a message instead
    }
)


def check_transition(origin: str, to: str) -> None:
    """Raise Conflict unless ``origin -> to`` is one of TRANSITIONS."""
    if (origin, to) not in TRANSITIONS:
        raise Conflict(f"a {origin} conversation cannot become {to}")


REASON_TEXT = {
    agent_protocol.REASON_REQUESTED: "visitor asked for a person",
    agent_protocol.REASON_COMPLAINT: "visitor complained",
    agent_protocol.REASON_FALLBACK: "bot failed twice in a row",
    agent_protocol.REASON_BOT_UNAVAILABLE: "bot unreachable",
    agent_protocol.REASON_BARGE_IN: "agent barged in",
    agent_protocol.REASON_AGENT_DISCONNECTED: "agent disconnected",
    agent_protocol.REASON_TRANSFER: "transferred",
    agent_protocol.REASON_NOBODY_ONLINE: "nobody left online",
    agent_protocol.REASON_VISITOR_LEFT: "visitor left",
}


def handoff_timings(
    origin: str, to: str, conversation: Conversation, now: datetime
) -> dict[str, Any]:
    """What analytics needs from a transition (docs/analytics.md), measured
    from the handoff, so the bot's turns before it never count.

    ``wait_seconds``: time in the queue, on queued → assigned (a requeued
    conversation keeps its first ``queued_at``). ``handoff_seconds``: from the
    handoff (queued, or an agent's barge-in) to resolved.
    """
    timings: dict[str, Any] = {"agent_id": conversation.assigned_agent_id}
    if origin == "queued" and to == "assigned" and conversation.queued_at is not None:
        timings["wait_seconds"] = _seconds_since(conversation.queued_at, now)
    started = conversation.queued_at or conversation.assigned_at
    if to == "resolved" and started is not None:
        timings["handoff_seconds"] = _seconds_since(started, now)
    return timings


def _seconds_since(moment: datetime, now: datetime) -> float:
    return round(max(0.0, (now - as_utc(moment)).total_seconds()), 3)


def transition_line(to: str, reason: str, actor: Actor, target: Agent | None) -> str:
    """The system line agents read in the transcript, e.g. "Assigned to Sam by Alex"."""
    why = REASON_TEXT.get(reason, reason)
    by_agent = actor.agent.display_name if actor.agent else None
    if to == "assigned" and target is not None:
        if reason == agent_protocol.REASON_BARGE_IN:
            return f"{target.display_name} joined the conversation"
        if reason == agent_protocol.REASON_TRANSFER and by_agent:
            return f"Transferred to {target.display_name} by {by_agent}"
        if by_agent:
            return f"{by_agent} accepted from the queue ({why})"
        return f"Assigned to {target.display_name} ({why})"
    if to == "resolved":
        return f"Resolved by {by_agent}" if by_agent else "Resolved"
    if to == "bot" and reason == agent_protocol.REASON_VISITOR_LEFT:
        return "The visitor left before anyone answered"
    if to == "queued" and reason == agent_protocol.REASON_VISITOR_LEFT:
        return "The visitor came back: waiting for a person again, in their old place"
    if to == "queued":
        return f"Waiting for a person: {why}"
    if to == "bot":
        return f"Handed back to the bot by {by_agent}" if by_agent else "Back to the bot"
    return f"{to.capitalize()}: {why}"


@dataclass(frozen=True)
class Actor:
    """Who caused a transition: the visitor, the bot, the system or an agent."""

    kind: str
    agent: Agent | None = None

    def as_json(self) -> dict[str, Any]:
        if self.agent is not None:
            return {"kind": self.kind, "agent_id": self.agent.id, "name": self.agent.display_name}
        return {"kind": self.kind}


VISITOR = Actor("visitor")
BOT = Actor("bot")
SYSTEM = Actor("system")


def by(agent: Agent) -> Actor:
    return Actor("agent", agent)


def can_act(agent: Agent, conversation: Conversation) -> bool:
    """The assigned agent, or an admin, may act on an assigned conversation."""
    return conversation.assigned_agent_id == agent.id or agent.role == "admin"
