"""Every stored visitor message gets its bot turn, even across a database outage.

A visitor message is stored first (``handled = false`` while its bot turn is
still to come) and answered after. If the database or the bot's tracker
store goes away in between, the turn fails, the visitor is told
``unavailable`` and the message waits. A widget that resends by ``client_id``
gets it answered on its retry; rasa-webchat and other Rasa clients never
resend. So this loop looks for stored-but-unanswered messages every few
seconds and runs their turn — idempotent by message id: a node first claims
the message (a lease in ``turn_claimed_at``, taken by one conditional UPDATE,
so with several nodes only one runs it; the lease expires if that node fails
mid-turn), the turn runs under the visitor's lock and only if the message is
still unhandled, and the bot skips a message id its tracker already has
(bot/connectors/rapport_rest.py). A message is only taken once it is
``min_age`` old (by its creation or its last claim): a turn still running on
the node that stored it is left alone.

The loop is also the database's heartbeat for the log: its query failing
starts an outage (one line), its first success ends it (one line); see
db/availability.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db.availability import AVAILABILITY
from chat_server.db.engine import is_unavailable
from chat_server.db.models import Message, utcnow

log = logging.getLogger(__name__)

# While the database is away, look again this often (recovery is noticed fast).
OUTAGE_POLL_SECONDS = 1.0
BATCH = 100

Answer = Callable[[str, int], Awaitable[bool]]


def taken_before(moment: datetime) -> ColumnElement[bool]:
    """The message's turn was last taken on (stored: a live turn; or claimed) before ``moment``."""
    return func.coalesce(Message.turn_claimed_at, Message.created_at) <= moment


class UnansweredSweep:
    """Finds visitor messages whose bot turn never ran and runs it."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        answer: Answer,
        interval_seconds: float,
        min_age_seconds: float,
        max_age_minutes: float,
    ) -> None:
        self._sessions = sessionmaker
        self._answer = answer
        self.interval = interval_seconds
        self.min_age = timedelta(seconds=min_age_seconds)
        self.max_age = timedelta(minutes=max_age_minutes)

    async def pending(self) -> list[tuple[str, int]]:
        """(visitor id, message id) of unanswered visitor messages, oldest first."""
        now = utcnow()
        async with self._sessions() as session:
            rows = await session.execute(
                select(Message.visitor_id, Message.id)
                .where(
                    ~Message.handled,
                    Message.direction == "visitor",
                    taken_before(now - self.min_age),
                    Message.created_at >= now - self.max_age,
                )
                .order_by(Message.id)
                .limit(BATCH)
            )
            return [(str(v), int(i)) for v, i in rows.all()]

    async def claim(self, message_id: int) -> bool:
        """Take the turn of ``message_id`` for this node (False: handled or claimed)."""
        now = utcnow()
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Message)
                .where(
                    Message.id == message_id,
                    ~Message.handled,
                    taken_before(now - self.min_age),
                )
                .values(turn_claimed_at=now)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0))

    async def sweep(self) -> int:
        """One pass; returns how many messages were answered. Raises on an outage."""
        answered = 0
        for visitor_id, message_id in await self.pending():
            if await self.claim(message_id) and await self._answer(visitor_id, message_id):
                answered += 1
        if answered:
            log.info("answered %d message(s) whose bot turn had not run", answered)
        return answered

    async def run(self) -> None:
        """Background loop: sweep every ``interval`` seconds (faster during an outage)."""
        while True:
            delay = self.interval
            try:
                await self.sweep()
                AVAILABILITY.succeeded()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if is_unavailable(error):
                    AVAILABILITY.failed(error, "unanswered-message sweep")
                    delay = min(self.interval, OUTAGE_POLL_SECONDS)
                else:
                    log.exception("unanswered-message sweep failed; retrying")
            await asyncio.sleep(delay)
