"""Keeps the bot's tracker up to date with what was said while a human owned the chat.

The bot is silent during a handoff, but on hand-back it must know what
happened (the order id the visitor gave, the discount code the agent sent).
Each visitor or agent message of the human phase is written to the
``tracker_outbox`` table in the transaction that stores it; this service
appends the outbox to the visitor's Rasa tracker in order (HTTP API) and
deletes what was delivered. When Rasa is down the rows wait and are retried,
and a visitor's next bot turn first flushes their outbox, so the bot never
answers without the human phase in its tracker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db.availability import AVAILABILITY, is_unavailable
from chat_server.db.models import TrackerOutbox
from chat_server.rasa_client import RasaClient, RasaUnavailable
from chat_server.services.locks import KeyedLocks

log = logging.getLogger(__name__)

# Entities a visitor may mention to an agent that the bot keeps as slots.
SLOT_ENTITIES = ("order_id", "email", "name")
RETRY_SECONDS = 5.0
# Rows left behind (e.g. written before a restart) are looked for this often.
SCAN_SECONDS = 30.0


def visitor_said(text: str) -> dict[str, Any]:
    """Outbox record of a visitor message (parsed when it is delivered)."""
    return {"kind": "visitor", "text": text}


def agent_said(text: str, agent_name: str, agent_id: int) -> dict[str, Any]:
    return {"kind": "agent", "text": text, "agent": agent_name, "agent_id": agent_id}


def slots_set(slots: dict[str, Any]) -> dict[str, Any]:
    """Outbox record of profile slots set from outside a turn while Rasa was away."""
    return {"kind": "slots", "slots": slots}


class TrackerSync:
    """Delivers the tracker outbox to Rasa, per visitor and in order."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], rasa: RasaClient) -> None:
        self._sessions = sessionmaker
        self._rasa = rasa
        self._locks = KeyedLocks()
        self._wake = asyncio.Event()
        self._due: set[str] = set()  # visitors with fresh outbox rows
        self._failing: set[str] = set()  # visitors whose delivery failed; retried later

    def kick(self, visitor_id: str) -> None:
        """The visitor's outbox got a row: deliver it soon.

        While Rasa is failing for a visitor, new rows wait for the periodic
        retry instead of each message causing another doomed attempt.
        """
        if visitor_id not in self._failing:
            self._due.add(visitor_id)
            self._wake.set()

    async def flush(self, visitor_id: str) -> bool:
        """Deliver the visitor's pending events; True when none are left."""
        async with self._locks.hold(visitor_id):
            async with self._sessions() as session:
                rows = list(
                    await session.scalars(
                        select(TrackerOutbox)
                        .where(TrackerOutbox.visitor_id == visitor_id)
                        .order_by(TrackerOutbox.id)
                    )
                )
            for row in rows:
                try:
                    events = await self._rasa_events(row.events)
                    await self._rasa.append_events(visitor_id, events)
                except RasaUnavailable as exc:
                    log.info("tracker of %s not caught up yet: %s", visitor_id, exc)
                    self._failing.add(visitor_id)
                    return False
                async with self._sessions.begin() as session:
                    await session.execute(delete(TrackerOutbox).where(TrackerOutbox.id == row.id))
            self._failing.discard(visitor_id)
            return True

    async def _rasa_events(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for record in records:
            if record.get("kind") == "visitor":
                parsed = await self._rasa.parse(record["text"])
                events.append(
                    {
                        "event": "user",
                        "text": record["text"],
                        "parse_data": {
                            "intent": parsed.get("intent") or {},
                            "entities": parsed.get("entities") or [],
                            "text": record["text"],
                        },
                        "metadata": {"human_phase": True},
                    }
                )
                for entity in parsed.get("entities") or []:
                    if entity.get("entity") in SLOT_ENTITIES and entity.get("value"):
                        events.append(
                            {"event": "slot", "name": entity["entity"], "value": entity["value"]}
                        )
            elif record.get("kind") == "slots":
                events.extend(
                    {"event": "slot", "name": name, "value": value}
                    for name, value in (record.get("slots") or {}).items()
                )
            elif record.get("kind") == "agent":
                events.append(
                    {
                        "event": "bot",
                        "text": record["text"],
                        "metadata": {
                            "human_phase": True,
                            "agent": record.get("agent"),
                            "agent_id": record.get("agent_id"),
                        },
                    }
                )
        return events

    async def run(self) -> None:
        """Background loop: deliver what was kicked; retry failures; sweep for leftovers."""
        loop = asyncio.get_running_loop()
        next_retry = loop.time() + RETRY_SECONDS
        next_scan = loop.time()  # at start-up: rows from before a restart
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), RETRY_SECONDS)
            self._wake.clear()
            try:
                visitors, self._due = self._due, set()
                now = loop.time()
                if now >= next_retry:
                    visitors |= self._failing
                    next_retry = now + RETRY_SECONDS
                if now >= next_scan:
                    async with self._sessions() as session:
                        visitors |= set(
                            await session.scalars(
                                select(TrackerOutbox.visitor_id).distinct().limit(1000)
                            )
                        )
                    next_scan = now + SCAN_SECONDS
                for visitor_id in visitors:
                    if not await self.flush(visitor_id):
                        # Rasa is failing: the others would fail the same way.
                        self._failing |= visitors
                        break
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if is_unavailable(error):  # an outage: one log line, no traceback
                    AVAILABILITY.failed(error, "tracker outbox")
                else:
                    log.exception("tracker outbox delivery failed; retrying")
