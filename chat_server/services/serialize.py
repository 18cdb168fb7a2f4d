"""Stored rows as the agent API's JSON objects (docs/agent-api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chat_server.db.engagement_models import Campaign
from chat_server.db.models import Agent, Conversation, Message, Visitor, as_utc


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with the UTC offset (SQLite returns naive datetimes; they are UTC)."""
    return as_utc(value).isoformat() if value is not None else None


def agent_ref(agent: Agent | None) -> dict[str, Any] | None:
    return {"id": agent.id, "display_name": agent.display_name} if agent else None


def agent_json(agent: Agent, active_chats: int = 0, connected: bool = False) -> dict[str, Any]:
    return {
        "id": agent.id,
        "username": agent.username,
        "display_name": agent.display_name,
        "role": agent.role,
        "status": agent.status,
        "max_chats": agent.max_chats,
        "active_chats": active_chats,
        "notify_mode": agent.notify_mode,
        "connected": connected,
        "active": agent.active,
    }


def message_json(message: Message, agent: Agent | None = None) -> dict[str, Any]:
    return {
        "id": message.id,
        "seq": message.seq,
        "conversation_id": message.conversation_id,
        "direction": message.direction,
        "text": message.text,
        "payload": message.payload,
        "intent": message.intent,
        "confidence": message.confidence,
        "agent": agent_ref(agent),
        "created_at": iso(message.created_at),
    }


def conversation_json(
    conversation: Conversation,
    visitor: Visitor | None,
    agent: Agent | None,
    last_message: Message | None,
    online: bool,
    queue_position: int | None = None,
    last_author: Agent | None = None,
    campaign: Campaign | None = None,
) -> dict[str, Any]:
    csat = (
        {"score": conversation.csat_score, "comment": conversation.csat_comment}
        if conversation.csat_score is not None
        else None
    )
    return {
        "id": conversation.id,
        "visitor_id": conversation.visitor_id,
        "state": conversation.state,
        "handoff_reason": conversation.handoff_reason,
        "assigned_agent": agent_ref(agent),
        "visitor": {
            "id": conversation.visitor_id,
            "name": visitor.name if visitor else None,
            "email": visitor.email if visitor else None,
            "online": online,
        },
        "last_message": {
            "id": last_message.id,
            "direction": last_message.direction,
            "text": last_message.text,
            "agent": agent_ref(last_author),
            "created_at": iso(last_message.created_at),
        }
        if last_message
        else None,
        "unread": conversation.unread,
        "queue_position": queue_position,
        "created_at": iso(conversation.created_at),
        "updated_at": iso(conversation.updated_at),
        "queued_at": iso(conversation.queued_at),
        "assigned_at": iso(conversation.assigned_at),
        "resolved_at": iso(conversation.resolved_at),
        "csat": csat,
        # The campaign and variant whose opener started it (null: the visitor did).
        "campaign_id": conversation.campaign_id,
        "campaign_arm": conversation.campaign_arm,
        "campaign_name": campaign.name if campaign is not None else None,
    }
