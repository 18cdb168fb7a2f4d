"""The email outbox: mail is queued in the transaction that decides to send it
and delivered by a worker, with retries, so nothing is lost while the relay is
down and nothing is sent twice when two nodes run the worker.

- :func:`enqueue` adds a row in the caller's transaction. A ``dedupe_key``
  already queued queues nothing (a request retried, a message seen twice).
- :class:`Outbox` ``run()`` sends what is due. A node *claims* a row with a
  compare-and-set (``queued`` → ``sending`` with a lease) before it talks to the
  relay; another node skips it. A node that dies mid-send leaves a lease that
  expires, and the row is sent again, with the same Message-ID, so the
  receiving side can tell (the only way a mail can go twice: a crash between
  the relay's "250 OK" and the row's update).
- A temporary failure (relay down, 4xx) waits ``EMAIL_RETRY_BASE_SECONDS``,
  doubling up to 6 h, for ``EMAIL_MAX_ATTEMPTS`` attempts; a 5xx refusal ends
  it at once as ``failed`` with the relay's answer, shown where the mail was
  asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import metrics
from chat_server.db.availability import report_failure
from chat_server.db.email_models import OutgoingEmail
from chat_server.db.models import as_utc, utcnow
from chat_server.services.email import relay as smtp
from chat_server.services.email.relay import PermanentFailure, Relay, TemporaryFailure

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)  # longer than a send can take (SMTP_TIMEOUT_SECONDS)
MAX_BACKOFF = timedelta(hours=6)
BATCH = 50
POLL_SECONDS = 30.0


def backoff(attempts: int, base_seconds: float) -> timedelta:
    """The wait after the ``attempts``-th failed try: base, doubling, at most 6 h."""
    return min(timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


async def enqueue(
    session: AsyncSession,
    kind: str,
    message: EmailMessage,
    *,
    visitor_id: str | None = None,
    conversation_id: int | None = None,
    dedupe_key: str | None = None,
    through_message_id: int | None = None,
) -> OutgoingEmail | None:
    """Queue ``message`` (in the caller's transaction); None when ``dedupe_key``
    is queued already."""
    if dedupe_key is not None:
        found = await session.scalar(
            select(OutgoingEmail.id).where(OutgoingEmail.dedupe_key == dedupe_key)
        )
        if found is not None:
            return None
    row = OutgoingEmail(
        kind=kind,
        dedupe_key=dedupe_key,
        to_address=str(message["To"].addresses[0].addr_spec),
        visitor_id=visitor_id,
        conversation_id=conversation_id,
        through_message_id=through_message_id,
        message=message.as_string(),
        status="queued",
        attempts=0,
        next_attempt_at=utcnow(),
        created_at=utcnow(),
    )
    try:
        async with session.begin_nested():  # another node queued the same key just now
            session.add(row)
            await session.flush()
    except IntegrityError:
        return None
    metrics.EMAILS.labels(kind, "queued").inc()
    return row


async def record_skipped(
    session: AsyncSession,
    kind: str,
    reason: str,
    visitor_id: str | None,
    conversation_id: int | None,
    dedupe_key: str,
    through_message_id: int | None,
) -> None:
    """Note an email that was decided against (e.g. the visitor saw the reply
    on the page), so it is not considered again; nothing is sent."""
    try:
        async with session.begin_nested():
            session.add(
                OutgoingEmail(
                    kind=kind,
                    dedupe_key=dedupe_key,
                    to_address="",
                    visitor_id=visitor_id,
                    conversation_id=conversation_id,
                    through_message_id=through_message_id,
                    message="",
                    status="skipped",
                    attempts=0,
                    next_attempt_at=utcnow(),
                    last_error=reason[:500],
                    created_at=utcnow(),
                )
            )
            await session.flush()
    except IntegrityError:
        return  # another node decided the same just now


async def sent_since(
    session: AsyncSession,
    kind: str,
    *,
    to: str | None = None,
    visitor_id: str | None = None,
    hours: float = 24,
) -> int:
    """Mail of ``kind`` queued in the last ``hours`` to ``to`` or for ``visitor_id``."""
    query = select(func.count(OutgoingEmail.id)).where(
        OutgoingEmail.kind == kind,
        OutgoingEmail.created_at >= utcnow() - timedelta(hours=hours),
    )
    if to is not None:
        query = query.where(func.lower(OutgoingEmail.to_address) == to.lower())
    if visitor_id is not None:
        query = query.where(OutgoingEmail.visitor_id == visitor_id)
    return int(await session.scalar(query) or 0)


class Outbox:
    """Sends queued mail through the relay (one worker per node)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        relay: Relay | None,
        sender: str,
        max_attempts: int,
        retry_base_seconds: float,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._sessions = sessionmaker
        self.relay = relay
        self._sender = sender
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self._poll = poll_seconds
        self._wake = asyncio.Event()

    @property
    def enabled(self) -> bool:
        """Whether mail can be sent at all (``SMTP_URL`` is set)."""
        return self.relay is not None

    def wake(self) -> None:
        """Something was queued: send now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        if self.relay is None:
            return  # nothing is ever queued without a relay
        log.info("email outbox: sending through %s:%s", self.relay.host, self.relay.port)
        while True:
            self._wake.clear()
            pause = self._poll
            try:
                await self.send_due()
                pause = await self._until_next()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a database hiccup must not end the worker
                report_failure(error, "email outbox", log, "email outbox round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    async def _until_next(self) -> float:
        async with self._sessions() as session:
            due = await session.scalar(
                select(func.min(OutgoingEmail.next_attempt_at)).where(
                    OutgoingEmail.status == "queued"
                )
            )
        if due is None:
            return self._poll
        return min(self._poll, max(0.05, (as_utc(due) - utcnow()).total_seconds()))

    async def send_due(self) -> int:
        """Send every due row this node can claim; returns how many were tried."""
        now = utcnow()
        async with self._sessions() as session:
            ids = list(
                await session.scalars(
                    select(OutgoingEmail.id)
                    .where(
                        or_(
                            (OutgoingEmail.status == "queued")
                            & (OutgoingEmail.next_attempt_at <= now),
                            (OutgoingEmail.status == "sending") & (OutgoingEmail.lease_until < now),
                        )
                    )
                    .order_by(OutgoingEmail.next_attempt_at, OutgoingEmail.id)
                    .limit(BATCH)
                )
            )
        tried = 0
        for email_id in ids:
            row = await self._claim(email_id)
            if row is not None:
                tried += 1
                await self._send(row)
        return tried

    async def _claim(self, email_id: int) -> OutgoingEmail | None:
        now = utcnow()
        async with self._sessions.begin() as session:
            claimed = await session.execute(
                update(OutgoingEmail)
                .where(
                    OutgoingEmail.id == email_id,
                    or_(
                        OutgoingEmail.status == "queued",
                        (OutgoingEmail.status == "sending") & (OutgoingEmail.lease_until < now),
                    ),
                )
                .values(status="sending", lease_until=now + LEASE)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None  # another node has it
            return await session.get(OutgoingEmail, email_id)

    async def _send(self, row: OutgoingEmail) -> None:
        if self.relay is None:  # run() never starts without one
            return
        values: dict[str, Any]
        attempts = row.attempts + 1
        try:
            await smtp.send(self.relay, row.message, self._sender, row.to_address)
        except PermanentFailure as exc:
            log.warning("email %s (%s) refused by the relay: %s", row.id, row.kind, exc)
            values = {"status": "failed", "last_error": str(exc)[:500]}
            outcome = "failed"
        except TemporaryFailure as exc:
            log.warning("email %s (%s) not sent yet: %s", row.id, row.kind, exc)
            if attempts >= self._max_attempts:
                values = {"status": "failed", "last_error": f"gave up: {exc}"[:500]}
                outcome = "failed"
            else:
                values = {
                    "status": "queued",
                    "last_error": str(exc)[:500],
                    "next_attempt_at": utcnow() + backoff(attempts, self._retry_base),
                }
                outcome = "retry"
        else:
            values = {"status": "sent", "sent_at": utcnow(), "last_error": None}
            outcome = "sent"
        metrics.EMAILS.labels(row.kind, outcome).inc()
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutgoingEmail)
                .where(OutgoingEmail.id == row.id)
                .values(attempts=attempts, lease_until=None, **values)
            )
