"""SQLAlchemy 2 models. The schema itself is owned by Alembic migrations."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


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

    conversations: Mapped[list[Conversation]] = relationship(
        back_populates="visitor", lazy="raise_on_sql"
    )


class Conversation(Base):
    """A thread between a visitor and the bot (and later, agents).

    ``state`` is ``bot`` while the bot answers; handoff adds ``queued``,
    ``assigned`` and ``resolved``.
    """

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    visitor_id: Mapped[str] = mapped_column(ForeignKey("visitors.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(20), default="bot")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    visitor: Mapped[Visitor] = relationship(back_populates="conversations", lazy="raise_on_sql")

    __table_args__ = (Index("ix_conversations_visitor_updated", "visitor_id", "updated_at"),)


class Message(Base):
    """One stored message. ``id`` orders messages and is the resume cursor."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    visitor_id: Mapped[str] = mapped_column(ForeignKey("visitors.id", ondelete="CASCADE"))
    # visitor | bot | agent | system
    direction: Mapped[str] = mapped_column(String(10))
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    intent: Mapped[str | None] = mapped_column(String(100))
    confidence: Mapped[float | None] = mapped_column(Float)
    page_url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        Index("ix_messages_visitor_id_id", "visitor_id", "id"),
    )


class InteractionEvent(Base):
    """Append-only log of everything that happened, read by analytics."""

    __tablename__ = "interaction_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(50))
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    conversation_id: Mapped[int | None] = mapped_column(BigId)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_interaction_events_type_created", "type", "created_at"),
        Index("ix_interaction_events_visitor", "visitor_id"),
    )
