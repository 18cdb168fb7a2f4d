"""Outbound webhooks (docs/webhooks.md): admins register endpoints; a background
worker turns new interaction events into deliveries (a durable outbox table)
and POSTs them, signed, with retries and backoff.

Nothing here runs in the chat path: the chat transaction only appends to the
event log, and the worker reads it by id with a cursor per endpoint. A slow
or dead endpoint delays only its own deliveries; a restart resumes from the
tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from typing import Any

import aiohttp
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import metrics
from chat_server.db import paging
from chat_server.db.availability import report_failure
from chat_server.db.models import (
    InteractionEvent,
    Message,
    WebhookDelivery,
    WebhookEndpoint,
    as_utc,
    utcnow,
)
from chat_server.services.destinations import (
    DestinationRefused,
    Lookup,
    check_url,
    check_url_literal,
    pinned_connector,
    system_lookup,
)
from chat_server.services.webhook_payloads import (
    MAX_ATTEMPTS,
    backoff,
    delivery_json,
    endpoint_json,
    sign,
    topics_of,
)

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 5.0
BATCH = 200
# Seconds between re-reading whether any endpoint is enabled (another node may
# have changed it).
CONFIG_REFRESH = 30.0
PARALLEL_SENDS = 8


# An endpoint the server will not call (scheme, address); the guard, which
# resolves once and pins the checked addresses, is in destinations.py.
WebhookRefused = DestinationRefused


class WebhookService:
    """Endpoint configuration (admins) and the delivery worker."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        allow_private: bool = False,
        retry_base_seconds: float = 10.0,
        poll_seconds: float = 1.0,
        lookup: Lookup = system_lookup,
    ) -> None:
        self._sessions = sessionmaker
        # DNS for the save-time check and the delivery connector, read at call
        # time (a test seam: tests answer with a fake resolver, never the network).
        self.lookup = lookup
        self._lookup: Lookup = lambda host, port: self.lookup(host, port)
        self._allow_private = allow_private
        self._retry_base = retry_base_seconds
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        # Whether any endpoint is enabled, re-read every CONFIG_REFRESH seconds
        # and on every change made here: without one the worker queries nothing,
        # so an installation without webhooks pays nothing per message.
        self._enabled: bool | None = None
        self._enabled_read_at = 0.0
        self._changes = 0  # bumped on every change, so a read racing one is not kept

    # -- configuration --------------------------------------------------------

    async def create(
        self, url: str, topics: list[str], created_by: int | None
    ) -> tuple[dict[str, Any], str]:
        """Register an endpoint; returns it and its signing secret (shown once).
        It receives events from now on, not the history."""
        await check_url(url, self._allow_private, self._lookup)
        secret = f"whsec_{secrets.token_urlsafe(32)}"
        async with self._sessions.begin() as session:
            newest = await session.scalar(select(func.max(InteractionEvent.id)))
            endpoint = WebhookEndpoint(
                url=url,
                topics=sorted(set(topics)),
                secret=secret,
                enabled=True,
                last_event_id=newest or 0,
                created_by=created_by,
                created_at=utcnow(),
            )
            session.add(endpoint)
            await session.flush()
            result = endpoint_json(endpoint), secret
        self._config_changed()
        return result

    async def endpoints(self) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            rows = list(await session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))
            counted = await session.execute(
                select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count()).group_by(
                    WebhookDelivery.endpoint_id, WebhookDelivery.status
                )
            )
            counts: dict[int, dict[str, int]] = {}
            for endpoint_id, status, n in counted.all():
                counts.setdefault(endpoint_id, {})[status] = n
        return [endpoint_json(e, counts.get(e.id)) for e in rows]

    async def update(
        self, endpoint_id: int, enabled: bool | None, topics: list[str] | None
    ) -> dict[str, Any] | None:
        async with self._sessions.begin() as session:
            endpoint = await session.get(WebhookEndpoint, endpoint_id)
            if endpoint is None:
                return None
            if enabled is not None:
                endpoint.enabled = enabled
            if topics is not None:
                endpoint.topics = sorted(set(topics))
            result = endpoint_json(endpoint)
        self._config_changed()
        return result

    async def delete(self, endpoint_id: int) -> bool:
        async with self._sessions.begin() as session:
            endpoint = await session.get(WebhookEndpoint, endpoint_id)
            if endpoint is None:
                return False
            await session.delete(endpoint)
        self._config_changed()
        return True

    async def deliveries(
        self, endpoint_id: int, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None] | None:
        """A page of the endpoint's deliveries, newest first, and the next page's
        cursor; None when there is no such endpoint. Raises paging.BadCursor."""
        ordering = paging.DELIVERIES
        async with self._sessions() as session:
            if await session.get(WebhookEndpoint, endpoint_id) is None:
                return None
            query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
            rows = list(await session.scalars(ordering.apply(query, limit, cursor)))
            shown, next_cursor = ordering.page(rows, limit, lambda d: (d.id, d.id))
            return [delivery_json(d) for d in shown], next_cursor

    async def send_test(self, endpoint_id: int) -> dict[str, Any] | None:
        """Queue a ``ping`` delivery to check the endpoint and its signature check."""
        async with self._sessions.begin() as session:
            if await session.get(WebhookEndpoint, endpoint_id) is None:
                return None
            delivery = WebhookDelivery(
                endpoint_id=endpoint_id,
                topic="ping",
                status="pending",
                attempts=0,
                payload={"topic": "ping", "created_at": utcnow().isoformat(), "data": {}},
                next_attempt_at=utcnow(),
                created_at=utcnow(),
            )
            session.add(delivery)
            await session.flush()
            result = delivery_json(delivery)
        self.wake()
        return result

    # -- the worker -------------------------------------------------------------

    def wake(self) -> None:
        """Events were logged (or a test queued): look now, not at the next poll."""
        if self._enabled is not False:
            self._wake.set()

    def _config_changed(self) -> None:
        self._changes += 1
        self._enabled = None
        self._wake.set()

    async def _any_enabled(self) -> bool:
        if self._enabled is None or time.monotonic() - self._enabled_read_at > CONFIG_REFRESH:
            changes = self._changes
            async with self._sessions() as session:
                found = await session.scalar(
                    select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True)).limit(1)
                )
            if changes != self._changes:  # changed while we read: look again next round
                return True
            self._enabled, self._enabled_read_at = found is not None, time.monotonic()
        return self._enabled

    async def run(self) -> None:
        """Fan events out to deliveries and send what is due, until cancelled."""
        # Every connection resolves once through PinnedResolver (all answers
        # checked, only those dialled); no proxy from the environment.
        async with aiohttp.ClientSession(
            connector=pinned_connector(self._allow_private, self._lookup),
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            trust_env=False,
        ) as http:
            while True:
                self._wake.clear()  # what is logged from here on wakes the next round
                pause = self._poll
                try:
                    if await self._any_enabled():
                        await self.fan_out()
                        await self.send_due(http)
                        pause = await self._until_next_retry()
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # a database hiccup must not end the worker
                    report_failure(error, "webhook worker", log, "webhook worker round failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), pause)

    async def _until_next_retry(self) -> float:
        """Seconds to the earliest pending retry (at most the poll interval), so
        a retry goes out when it is due, not at the next poll."""
        async with self._sessions() as session:
            # Disabled endpoints keep their pending deliveries without being called.
            due = await session.scalar(
                select(func.min(WebhookDelivery.next_attempt_at))
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(WebhookDelivery.status == "pending", WebhookEndpoint.enabled.is_(True))
            )
        if due is None:
            return self._poll
        wait = (as_utc(due) - utcnow()).total_seconds()
        return min(self._poll, max(0.02, wait))

    async def fan_out(self) -> int:
        """Turn new events into deliveries for every enabled endpoint; returns how many."""
        created = 0
        async with self._sessions() as session:
            ids = list(
                await session.scalars(
                    select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True))
                )
            )
        for endpoint_id in ids:
            async with self._sessions.begin() as session:
                endpoint = await session.get(WebhookEndpoint, endpoint_id)
                if endpoint is None:
                    continue
                events = list(
                    await session.scalars(
                        select(InteractionEvent)
                        .where(InteractionEvent.id > endpoint.last_event_id)
                        .order_by(InteractionEvent.id)
                        .limit(BATCH)
                    )
                )
                for event in events:
                    for topic in topics_of(event):
                        if topic in endpoint.topics:
                            session.add(
                                WebhookDelivery(
                                    endpoint_id=endpoint.id,
                                    event_id=event.id,
                                    visitor_id=event.visitor_id,
                                    topic=topic,
                                    payload=await self._payload(session, topic, event),
                                    status="pending",
                                    attempts=0,
                                    next_attempt_at=utcnow(),
                                    created_at=utcnow(),
                                )
                            )
                            created += 1
                if events:
                    endpoint.last_event_id = events[-1].id
        return created

    async def _payload(
        self, session: AsyncSession, topic: str, event: InteractionEvent
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "event": event.type,
            "visitor_id": event.visitor_id,
            "conversation_id": event.conversation_id,
            **(event.data or {}),
        }
        message_id = (event.data or {}).get("message_id")
        if topic == "message.created" and isinstance(message_id, int):
            message = await session.get(Message, message_id)
            if message is not None:
                data["text"] = message.text
                data["direction"] = message.direction
        data.pop("tracker_events", None)
        return {"topic": topic, "created_at": event.created_at.isoformat(), "data": data}

    async def send_due(self, http: aiohttp.ClientSession) -> int:
        """POST every due delivery (a few at a time); returns how many were tried."""
        async with self._sessions() as session:
            due = list(
                await session.execute(
                    select(WebhookDelivery, WebhookEndpoint.url, WebhookEndpoint.secret)
                    .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                    .where(
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.next_attempt_at <= utcnow(),
                        WebhookEndpoint.enabled.is_(True),
                    )
                    .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                    .limit(BATCH)
                )
            )
        limit = asyncio.Semaphore(PARALLEL_SENDS)

        async def one(delivery: WebhookDelivery, url: str, secret: str) -> None:
            async with limit:
                await self._send(http, delivery, url, secret)

        await asyncio.gather(*(one(d, url, secret) for d, url, secret in due))
        return len(due)

    async def _send(
        self, http: aiohttp.ClientSession, delivery: WebhookDelivery, url: str, secret: str
    ) -> None:
        body = json.dumps({"id": delivery.id, **delivery.payload}, separators=(",", ":")).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Rapport-Webhooks/1",
            "X-Rapport-Event": delivery.topic,
            "X-Rapport-Delivery": str(delivery.id),
            "X-Rapport-Timestamp": str(timestamp),
            "X-Rapport-Signature": sign(secret, timestamp, body),
        }
        status: int | None = None
        error: str | None = None
        try:
            # A name is checked by the connector's PinnedResolver on the very
            # addresses it then dials; aiohttp dials an address literal directly.
            check_url_literal(url, self._allow_private)
            async with http.post(url, data=body, headers=headers, allow_redirects=False) as resp:
                status = resp.status
                if 300 <= status < 400:
                    location = resp.headers.get("Location", "-")
                    error = f"HTTP {status}: redirects are not followed (Location: {location})"
                elif not 200 <= status < 300:
                    error = f"HTTP {status}"
        except (aiohttp.ClientError, TimeoutError, DestinationRefused, OSError) as exc:
            error = str(exc) or type(exc).__name__
        attempts = delivery.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_status": status,
            "last_error": error[:500] if error else None,
        }
        if error is None:
            values.update(status="delivered", delivered_at=utcnow())
            outcome = "delivered"
        elif attempts >= MAX_ATTEMPTS:
            values.update(status="failed")
            outcome = "failed"
        else:
            values.update(next_attempt_at=utcnow() + backoff(attempts, self._retry_base))
            outcome = "retry"
        metrics.WEBHOOK_DELIVERIES.labels(outcome).inc()
        async with self._sessions.begin() as session:
            await session.execute(
                update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values)
            )
