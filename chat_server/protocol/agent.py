"""The agent wire protocol: Socket.IO namespace ``/agent`` and the REST API's bodies.

Event names and payload schemas for the console live here; docs/agent-api.md
describes them for humans and the console's constants are generated from this
module. Everything an agent sends is validated by one of these models.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator, model_validator

from chat_server.protocol import canned
from chat_server.protocol.ids import RowId
from chat_server.protocol.text import VisibleText, WellFormedText

NAMESPACE = "/agent"

# Client → server (socket)
WATCH = "watch"
UNWATCH = "unwatch"
TYPING = "typing"
SEND_MESSAGE = "send_message"
SET_STATUS = "set_status"

# Server → client (socket)
CONVERSATION_UPDATED = "conversation_updated"
MESSAGE_CREATED = "message_created"
VISITOR_TYPING = "visitor_typing"
VISITOR_PRESENCE = "visitor_presence"
# Several nodes: visitors on other nodes came or went as this node sees them.
VISITORS_PRESENCE = "visitors_presence"
AGENT_UPDATED = "agent_updated"
ASSIGNMENT = "assignment"
FOLLOWUP_CREATED = "followup_created"
# To admins and marketers: interaction events were logged (docs/analytics.md).
ANALYTICS_CHANGED = "analytics_changed"
# To agents and admins: who is on the site now changed (live visitors).
LIVE_VISITORS_CHANGED = "live_visitors_changed"
ERROR = "error"
# Live delivery between server nodes had a gap (Redis was unreachable):
# reload the lists and the open conversation, as after a reconnect.
RESYNC = "resync"

# Roles, statuses and conversation states.
ROLES = ("agent", "admin", "marketer")
# Marketers see analytics only: no transcripts, never routed conversations.
ROLE_MARKETER = "marketer"
ROLE_ADMIN = "admin"
# Socket room of the consoles that show the dashboard (admins and marketers).
ANALYTICS_ROOM = "analytics"
STATUSES = ("online", "away", "offline")
NOTIFY_MODES = ("always", "hidden")
STATES = ("bot", "queued", "assigned", "resolved")
VIEWS = ("queue", "mine", "open", "bot", "resolved")

# Why a conversation left the bot (handoff_reason), and who moved it.
REASON_REQUESTED = "requested"
REASON_COMPLAINT = "complaint"
REASON_FALLBACK = "fallback"
REASON_BOT_UNAVAILABLE = "bot_unavailable"
REASON_BARGE_IN = "barge_in"
REASON_AGENT_DISCONNECTED = "agent_disconnected"
REASON_TRANSFER = "transfer"
REASON_NOBODY_ONLINE = "nobody_online"
REASON_VISITOR_LEFT = "visitor_left"

MAX_TEXT = 5000
# Stated in the OpenAPI document as JSON Schema patterns; checked with fullmatch
# (a trailing newline is not allowed, as in JSON Schema's "$").
SHORTCUT_PATTERN = r"^/*[a-z0-9][a-z0-9_-]{0,31}$"  # leading slashes are dropped
_SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$"
_USERNAME = re.compile(USERNAME_PATTERN[1:-1])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WatchBody(_Strict):
    """`watch` / `unwatch`: follow one conversation's transcript live."""

    conversation_id: RowId


class TypingBody(_Strict):
    """`typing`: the agent started or stopped typing in a conversation."""

    conversation_id: RowId
    typing: bool


class SendBody(_Strict):
    """A message or internal note (REST body; the socket adds conversation_id)."""

    text: VisibleText = Field(max_length=MAX_TEXT)
    note: bool = False
    # The console's own name for the message: a retry with the same one is
    # answered with the message already stored, never stored twice.
    client_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{8,64}$")


class StartChatBody(_Strict):
    """``POST /api/visitors/{visitor_id}/conversation``: the agent's first message."""

    text: VisibleText = Field(max_length=MAX_TEXT)


WEBHOOK_TOPICS = (
    "conversation.created",
    "message.created",
    "handoff",
    "conversation.resolved",
    "csat",
    "conversion",
    "lead",
    "campaign.shown",
    "campaign.converted",
)
WebhookTopic = Literal[
    "conversation.created",
    "message.created",
    "handoff",
    "conversation.resolved",
    "csat",
    "conversion",
    "lead",
    "campaign.shown",
    "campaign.converted",
]


class WebhookCreate(_Strict):
    """``POST /api/webhooks`` (admin)."""

    url: WellFormedText = Field(min_length=8, max_length=2000)
    topics: list[WebhookTopic] = Field(min_length=1, max_length=len(WEBHOOK_TOPICS))


class WebhookUpdate(_Strict):
    """``PATCH /api/webhooks/{id}`` (admin)."""

    enabled: bool | None = None
    topics: list[WebhookTopic] | None = Field(None, min_length=1, max_length=len(WEBHOOK_TOPICS))


class SocketSendBody(SendBody):
    """`send_message` over the socket."""

    conversation_id: RowId


class StatusBody(_Strict):
    """`set_status` (socket) and the status part of ``PATCH /api/me``."""

    status: Literal["online", "away", "offline"]


class MeUpdate(_Strict):
    """``PATCH /api/me``."""

    status: Literal["online", "away", "offline"] | None = None
    notify_mode: Literal["always", "hidden"] | None = None
    display_name: WellFormedText | None = Field(None, min_length=1, max_length=100)


class LoginBody(_Strict):
    """``POST /api/auth/login``."""

    username: WellFormedText = Field(min_length=1, max_length=64)
    password: WellFormedText = Field(min_length=1, max_length=1024)


class PasswordChange(_Strict):
    """``POST /api/me/password``."""

    current_password: WellFormedText = Field(min_length=1, max_length=1024)
    new_password: WellFormedText = Field(min_length=10, max_length=1024)


class PasswordReset(_Strict):
    """``POST /api/agents/{id}/password`` (admin): a one-time password."""

    password: WellFormedText = Field(min_length=10, max_length=1024)


class AgentCreate(_Strict):
    """``POST /api/agents`` (admin)."""

    username: WellFormedText = Field(json_schema_extra={"pattern": USERNAME_PATTERN})
    password: WellFormedText = Field(min_length=10, max_length=1024)
    display_name: WellFormedText = Field(min_length=1, max_length=100)
    role: Literal["agent", "admin", "marketer"] = "agent"
    max_chats: int = Field(3, ge=1, le=50)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not _USERNAME.fullmatch(value):
            raise ValueError("2-64 characters: letters, digits, and . _ @ -")
        return value


class TransferBody(_Strict):
    """``POST /api/conversations/{id}/transfer``: to an agent, or ``{"queue": true}``
    back to the queue (ahead of newer chats)."""

    # _one_target, stated: exactly one of the two targets.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": ["agent_id"], "properties": {"agent_id": {"type": "integer"}}},
                {"required": ["queue"], "properties": {"queue": {"const": True}}},
            ]
        },
    )

    agent_id: RowId | None = None
    queue: bool = False
    note: WellFormedText | None = Field(None, max_length=MAX_TEXT)

    @model_validator(mode="after")
    def _one_target(self) -> TransferBody:
        if (self.agent_id is None) == (not self.queue):
            raise ValueError('give either "agent_id" or "queue": true')
        return self


class CannedCreate(_Strict):
    """``POST /api/canned-responses``."""

    shortcut: StrictStr = Field(json_schema_extra={"pattern": SHORTCUT_PATTERN})
    text: VisibleText = Field(max_length=MAX_TEXT)

    @field_validator("shortcut")
    @classmethod
    def _shortcut(cls, value: str) -> str:
        value = value.lstrip("/")
        if not _SHORTCUT.fullmatch(value):
            raise ValueError("1-32 characters: lower-case letters, digits, _ and -")
        return value

    @field_validator("text")
    @classmethod
    def _variables(cls, value: str) -> str:
        return canned.validate(value)


def error(code: str, message: str) -> dict[str, Any]:
    """The body of an ``error`` event or an error response."""
    return {"error": code, "message": message}
