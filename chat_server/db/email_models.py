"""The email outbox: every email Rapport sends, queued in the transaction that
decides to send it and delivered by a worker (services/email/outbox.py).

Kept apart from models.py (the chat's own tables); both share ``Base`` and the
schema is owned by Alembic (0018). docs/email.md says what is sent when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chat_server.db.models import Base, BigId, utcnow


class OutgoingEmail(Base):
    """One email to send, with its retries and outcome."""

    __tablename__ = "email_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # consent_confirm | ... (what it is; docs/email.md)
    kind: Mapped[str] = mapped_column(String(30))
    # The same key never queues a second email (a retried request, a message
    # that arrives twice): unique, NULL for mail that may repeat.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    to_address: Mapped[str] = mapped_column(String(320))
    # Whose email it is: erasing a visitor erases their mail too.
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    conversation_id: Mapped[int | None] = mapped_column(BigId)
    # An agent reply mail: the newest message it carries (the next one starts after it).
    through_message_id: Mapped[int | None] = mapped_column(BigId)
    # The whole RFC 5322 message as built by services/email/compose.py (its
    # Message-ID is fixed here, so a retry is the same email).
    message: Mapped[str] = mapped_column(Text)
    # queued | sending | sent | failed (permanently refused, or gave up) |
    # skipped (decided against, e.g. the visitor saw the reply on the page)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # While "sending": the node that claimed it may hold it until then.
    lease_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_email_outbox_due", "status", "next_attempt_at"),
        Index("ix_email_outbox_to", "to_address", "kind", "created_at"),
        Index("ix_email_outbox_visitor", "visitor_id", "kind", "created_at"),
        Index("ix_email_outbox_created", "created_at"),
        Index("ix_email_outbox_conversation", "conversation_id", "kind"),
    )
