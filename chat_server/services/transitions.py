"""The one place a conversation's state changes in storage.

Every transition is one conditional UPDATE (``WHERE state = <from>`` and the
same owner), so two agents accepting at once cannot both win, on SQLite or
PostgreSQL, on one node or several. Each is stored as a system line in the
transcript and an interaction event with its reason, actor and timings. The
rules (which transitions exist, what the line says) are services/handoff_rules.py.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db import event_queries, message_queries
from chat_server.db.models import Agent, Conversation, utcnow
from chat_server.errors import Conflict
from chat_server.services.campaigns import credit
from chat_server.services.handoff_rules import (
    Actor,
    check_transition,
    handoff_timings,
    transition_line,
)


async def apply_transition(
    session: AsyncSession,
    conversation: Conversation,
    to: str,
    reason: str,
    actor: Actor,
    target: Agent | None = None,
    **values: Any,
) -> dict[str, Any]:
    """Move ``conversation`` to ``to`` if nobody changed it meanwhile; log it.

    ``target`` is the agent it is assigned to, for the transcript line.
    Returns the transition's timings (``wait_seconds`` on queued -> assigned).
    Raises Conflict when the transition is not allowed or someone was first.
    """
    origin = conversation.state
    check_transition(origin, to)
    now = utcnow()
    result = await session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation.id,
            Conversation.state == origin,
            # A transfer or a hand-back by someone who is no longer the owner loses.
            Conversation.assigned_agent_id.is_(None)
            if conversation.assigned_agent_id is None
            else Conversation.assigned_agent_id == conversation.assigned_agent_id,
        )
        .values(state=to, handoff_reason=reason, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("someone else changed this conversation first")
    await session.refresh(conversation)
    transition = {"from": origin, "to": to, "reason": reason, "actor": actor.as_json()}
    timings = handoff_timings(origin, to, conversation, now)
    await message_queries.add_message(
        session,
        conversation,
        "system",
        transition_line(to, reason, actor, target),
        payload={"transition": transition},
        agent_id=actor.agent.id if actor.agent else None,
    )
    await event_queries.log_event(
        session,
        "handoff_transition",
        conversation.visitor_id,
        conversation.id,
        {**transition, **timings},
    )
    await credit.handed_over(session, conversation, to)
    return timings
