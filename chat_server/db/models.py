"""SQLAlchemy 2 models. The schema itself is owned by Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    true,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# The events handoff episodes are made of (partial indexes below).
HANDOFF_TYPES = "type IN ('handoff_transition', 'agent_message')"


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class Visitor(Base):
    """One person talking to us; its id is also Rasa's sender_id."""

    __tablename__ = "visitors"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    # The site's own user id, set once the host page proved it (HMAC).
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Session ids name the generation they were issued for; bumping it on a
    # new visit or an identity change retires every older copy.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    session_rotated_at: Mapped[datetime | None] = mapped_column()
    # The visitor_seq of their newest visible message (taken with UPDATE ... RETURNING).
    last_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    conversations: Mapped[list[Conversation]] = relationship(
        back_populates="visitor", lazy="raise_on_sql"
    )


class Agent(Base):
    """A console user: role ``agent``, ``admin`` or ``marketer`` (analytics, no transcripts)."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    role: Mapped[str] = mapped_column(String(20), default="agent")
    # online | away | offline; only ``online`` agents get new conversations.
    status: Mapped[str] = mapped_column(String(20), default="offline")
    max_chats: Mapped[int] = mapped_column(Integer, default=3)
    notify_mode: Mapped[str] = mapped_column(String(20), default="always")
    # sha256 of the agent's API token (the token itself is shown once).
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    last_assigned_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by an admin: no sign-in, no session, no token; the history stays.
    deactivated_at: Mapped[datetime | None] = mapped_column()

    @property
    def active(self) -> bool:
        return self.deactivated_at is None


class LoginFailure(Base):
    """Failed sign-ins for one account name (known or not), from any address."""

    __tablename__ = "login_failures"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
    # No attempt for this name is checked before then (growing, capped delay).
    blocked_until: Mapped[datetime] = mapped_column()


class AgentSession(Base):
    """A console login; the cookie holds the token, the table only its hash."""

    __tablename__ = "agent_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class Conversation(Base):
    """A thread between a visitor and the bot, and agents after a handoff.

    ``state``: ``bot`` while the bot answers, ``queued`` while waiting for a
    person, ``assigned`` while an agent owns it, ``resolved`` when done (the
    visitor's next message starts a new conversation with the bot). Only
    chat_server/services/handoff.py changes it.
    """

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    visitor_id: Mapped[str] = mapped_column(ForeignKey("visitors.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(20), default="bot")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    handoff_reason: Mapped[str | None] = mapped_column(String(40))
    queued_at: Mapped[datetime | None] = mapped_column()
    assigned_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    fallbacks_in_row: Mapped[int] = mapped_column(Integer, default=0)
    # Visitor messages the assigned agent has not read yet.
    unread: Mapped[int] = mapped_column(Integer, default=0)
    # Taking a message when nobody is online: None | "message" | "email".
    followup_stage: Mapped[str | None] = mapped_column(String(20))
    followup_text: Mapped[str | None] = mapped_column(Text)
    csat_score: Mapped[int | None] = mapped_column(Integer)
    csat_comment: Mapped[str | None] = mapped_column(Text)
    # The seq of the conversation's newest message (taken with UPDATE ... RETURNING).
    last_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The campaign and arm whose opener started it (db/engagement_models.py).
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    campaign_arm: Mapped[str | None] = mapped_column(String(32))

    visitor: Mapped[Visitor] = relationship(back_populates="conversations", lazy="raise_on_sql")

    __table_args__ = (
        Index("ix_conversations_visitor_updated", "visitor_id", "updated_at"),
        Index("ix_conversations_state_updated", "state", "updated_at"),
        Index("ix_conversations_agent_state", "assigned_agent_id", "state"),
    )


class Message(Base):
    """One stored message.

    ``seq`` numbers a conversation's messages without holes (the console's
    catch-up position); ``visitor_seq`` numbers what the visitor may see
    across their conversations (the widget's), None for notes and system
    lines. Both are taken in the inserting transaction (message_queries.add_message),
    so a higher number is never committed before a lower one.
    """

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    visitor_id: Mapped[str] = mapped_column(ForeignKey("visitors.id", ondelete="CASCADE"))
    # visitor | bot | agent | note (agents only) | system (agents only)
    direction: Mapped[str] = mapped_column(String(10))
    agent_id: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    intent: Mapped[str | None] = mapped_column(String(100))
    confidence: Mapped[float | None] = mapped_column(Float)
    page_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The sender's own name for the message (retries carry the same one).
    client_id: Mapped[str | None] = mapped_column(String(64))
    # False while the bot's turn for a visitor message is still to run.
    handled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # When a node's unanswered-message sweep last took this turn on (a lease:
    # no other node takes it before it expires; services/unanswered.py).
    turn_claimed_at: Mapped[datetime | None] = mapped_column()
    seq: Mapped[int | None] = mapped_column(Integer)
    visitor_seq: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        Index("ix_messages_conversation_seq", "conversation_id", "seq"),
        Index("ix_messages_visitor_seq", "visitor_id", "visitor_seq"),
        Index("ix_messages_visitor_id_id", "visitor_id", "id"),
        Index("ux_messages_visitor_client_id", "visitor_id", "client_id", unique=True),
        # Agent replies of the last days, for the reply mail sweep
        # (services/email/replies.py): a range scan, not the whole table.
        Index("ix_messages_direction_created", "direction", "created_at"),
        # Messages whose bot turn is still to run (services/unanswered.py).
        Index(
            "ix_messages_unhandled",
            "id",
            postgresql_where=sql_text("NOT handled"),
            sqlite_where=sql_text("NOT handled"),
        ),
    )


class InteractionEvent(Base):
    """Append-only log of everything that happened, read by analytics."""

    __tablename__ = "interaction_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(50))
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    conversation_id: Mapped[int | None] = mapped_column(BigId)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Idempotency: an event with a key is stored once (docs/analytics.md).
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_interaction_events_created", "created_at"),
        Index("ix_interaction_events_type_created_visitor", "type", "created_at", "visitor_id"),
        Index("ix_interaction_events_visitor_created", "visitor_id", "created_at"),
        Index("ix_interaction_events_conversation", "conversation_id"),
        # The dashboard's handoff episodes (analytics/episodes.py): a small
        # slice of the log, read without touching the table on PostgreSQL.
        Index(
            "ix_interaction_events_handoffs",
            "conversation_id",
            "created_at",
            "id",
            postgresql_where=sql_text(HANDOFF_TYPES),
            sqlite_where=sql_text(HANDOFF_TYPES),
            postgresql_include=["type", "data"],
        ),
        # A conversion's last message before it (analytics' attribution).
        Index(
            "ix_interaction_events_messages",
            "visitor_id",
            "created_at",
            postgresql_where=sql_text("type = 'message_received'"),
            sqlite_where=sql_text("type = 'message_received'"),
        ),
        Index(
            "ix_interaction_events_handoffs_created",
            "created_at",
            postgresql_where=sql_text(HANDOFF_TYPES),
            sqlite_where=sql_text(HANDOFF_TYPES),
            postgresql_include=["conversation_id"],
        ),
        Index("ux_interaction_events_dedupe_key", "dedupe_key", unique=True),
    )


class CannedResponse(Base):
    """A saved reply agents insert with ``/shortcut``."""

    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shortcut: Mapped[str] = mapped_column(String(32), unique=True)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Followup(Base):
    """A message a visitor left while nobody was online, to answer by email."""

    __tablename__ = "followups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    visitor_id: Mapped[str] = mapped_column(ForeignKey("visitors.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(BigId)
    email: Mapped[str] = mapped_column(String(320))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column()
    done_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))

    __table_args__ = (Index("ix_followups_status_created", "status", "created_at"),)


class TrackerOutbox(Base):
    """Events to append to a visitor's Rasa tracker, in id order.

    Written in the same transaction as the message they describe, so what was
    said while a human owned the conversation reaches the bot even if Rasa was
    down at the time.
    """

    __tablename__ = "tracker_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    visitor_id: Mapped[str] = mapped_column(String(64))
    events: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_tracker_outbox_visitor_id", "visitor_id", "id"),)


class WebhookEndpoint(Base):
    """Where to POST which interaction events (docs/webhooks.md).

    ``last_event_id`` is the endpoint's cursor in the event log: events after
    it are still to be turned into deliveries.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000))
    topics: Mapped[list[str]] = mapped_column(JSON)
    # The signing key; shown to the admin once, needed here to sign.
    secret: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One POST to make (the durable outbox), with its retries and outcome."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    # Whose event it carries: erasing a visitor erases their deliveries too.
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending | delivered | failed (gave up)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_visitor", "visitor_id"),
        Index("ix_webhook_deliveries_created", "created_at"),
    )


class AnalyticsRollup(Base):
    """One row of the dashboard's hourly rollups (db/rollup_queries.py).

    Every row is computed from the interaction events of one UTC hour only,
    so an hour can be recomputed alone (late events, retention) and the rows
    of stored hours and of raw events read live combine without overlap.
    ``kind`` says what the row counts; the other columns are its dimensions
    and figures (docs/analytics.md, "Rollups")."""

    __tablename__ = "analytics_rollups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    hour: Mapped[datetime] = mapped_column()
    kind: Mapped[str] = mapped_column(String(20))
    dim1: Mapped[str | None] = mapped_column(Text)
    dim2: Mapped[str | None] = mapped_column(Text)
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    conversation_id: Mapped[int | None] = mapped_column(BigInteger)
    flags: Mapped[int] = mapped_column(Integer, default=0)
    n: Mapped[int] = mapped_column(BigInteger, default=0)
    v1: Mapped[float | None] = mapped_column(Float)
    v2: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        Index("ix_analytics_rollups_kind_hour", "kind", "hour"),
        Index("ix_analytics_rollups_visitor", "visitor_id"),
        Index(
            "ix_analytics_rollups_conversation",
            "conversation_id",
            postgresql_where=sql_text("kind = 'conversation'"),
            sqlite_where=sql_text("kind = 'conversation'"),
        ),
    )


class AnalyticsReach(Base):
    """The last stored hour in which a visitor did something (db/
    reach_queries.py), derived from the stored rollup rows: "did it in the
    last N days" becomes one index range instead of a pass over every
    visitor-hour. ``kind`` ``visitor``: per visitor, the last hour of each
    flag; ``utm`` and ``page``: per source or path and visitor, the last hour
    of a page view carrying it. ``visitor_key`` '' stands for events without
    a visitor (the rollups' NULL)."""

    __tablename__ = "analytics_reach"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    dim: Mapped[str] = mapped_column(Text, primary_key=True)
    visitor_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_hour: Mapped[datetime | None] = mapped_column()
    message_hour: Mapped[datetime | None] = mapped_column()
    widget_hour: Mapped[datetime | None] = mapped_column()
    click_hour: Mapped[datetime | None] = mapped_column()
    conversion_hour: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        # Covering on PostgreSQL: the dashboard's counts read the index alone.
        Index(
            "ix_analytics_reach_seen",
            "kind",
            "dim",
            "seen_hour",
            postgresql_include=[
                "visitor_key",
                "message_hour",
                "widget_hour",
                "click_hour",
                "conversion_hour",
            ],
        ),
        # One range for every source's (or path's) pairs seen since an hour
        # (the UTM table), and a probe per visitor with its kind's rows
        # (conversions by source; erasure): migration 0021.
        Index(
            "ix_analytics_reach_kind_seen",
            "kind",
            "seen_hour",
            postgresql_include=["dim", "visitor_key", "message_hour"],
        ),
        Index(
            "ix_analytics_reach_visitor",
            "visitor_key",
            "kind",
            postgresql_include=["dim", "seen_hour"],
        ),
    )


class AnalyticsConversationFlags(Base):
    """Per conversation, what its stored rollup rows of any hour say it
    ever did (rollup_queries ASKED, BARGED), derived from them like the
    reach (db/conversation_flags.py): containment and handoff rates join one
    row per conversation instead of aggregating every conversation row."""

    __tablename__ = "analytics_conversation_flags"

    conversation_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    flags: Mapped[int] = mapped_column(Integer, default=0)


class AnalyticsReachHours(Base):
    """How many known visitors' ``visitor`` reach rows have ``hour`` as the
    last hour of ``measure`` (db/reach_hours.py): "did it since an hour" for
    every visitor at once, summed over hours instead of visitors."""

    __tablename__ = "analytics_reach_hours"

    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    visitors: Mapped[int] = mapped_column(BigInteger, default=0)


class AnalyticsDaily(Base):
    """Distinct visitors (a page view or a message) per UTC day, over the
    stored hours of that day (db/reach_queries.py): exact for a day once all
    its hours are stored."""

    __tablename__ = "analytics_daily"

    day: Mapped[datetime] = mapped_column(primary_key=True)
    visitors: Mapped[int] = mapped_column(BigInteger, default=0)


class AnalyticsRollupState(Base):
    """The rollups' progress (one row, id 1): hours before ``sealed_through``
    are stored; ``latest_id`` is the highest event id the last fold saw, and
    ``watermark`` the one the fold before it saw (the next fold looks at the
    events above it again: an insert that took its id before a fold and
    committed after it is still folded in)."""

    __tablename__ = "analytics_rollup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watermark: Mapped[int] = mapped_column(BigInteger, default=0)
    latest_id: Mapped[int] = mapped_column(BigInteger, default=0)
    sealed_through: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime | None] = mapped_column()
