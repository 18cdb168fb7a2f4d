"""The visitor namespace (`/`): Rasa's socketio channel protocol, plus opt-in extensions.

Each socket joins one room of its visitor: ``<visitor id>`` for plain Rasa
clients, ``rapport:<visitor id>`` for Rapport widgets that announced the
capability (see transport/notifier.py), so every tab of one visitor receives
the replies in the form it understands.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from typing import Any

import socketio

from chat_server import metrics
from chat_server.http.addresses import socket_address
from chat_server.protocol import visitor as protocol
from chat_server.services import ratelimit
from chat_server.services.container import Services
from chat_server.services.conversations import TooManyVisitors
from chat_server.services.locks import KeyedLocks
from chat_server.services.ratelimit import RateLimited
from chat_server.services.tracking import Goal, UnknownGoal
from chat_server.transport.guard import GuardedNamespace
from chat_server.transport.notifier import rapport_room
from chat_server.verification import IdentityClaim, verify_claim

log = logging.getLogger(__name__)


class VisitorNamespace(GuardedNamespace):
    """Handlers for widget sockets: parse, check the session, call a service."""

    error_event = protocol.ERROR  # Rasa clients use no acks: refusals come as events

    def __init__(
        self,
        services: Callable[[], Services],
        max_chars: int,
        identity_secret: str | None = None,
        *,
        trusted_proxies: Collection[str] = (),
        max_connections_per_ip: int = 100,
        identify_timeout: float = 30.0,
    ) -> None:
        # The services are built when the app starts (they need the database
        # and an HTTP session), after the namespace is registered: look them up late.
        super().__init__("/")
        self._services = services
        self._max_chars = max_chars
        self._identity_secret = identity_secret
        self._trusted_proxies = trusted_proxies
        self._max_per_ip = max_connections_per_ip
        self._identify_timeout = identify_timeout
        self._open_per_ip: dict[str, int] = {}
        # One socket's messages are handled in the order they arrived:
        # python-socketio runs handlers concurrently, and the checks before
        # the service (rate limits, shared in Redis) wait on the network.
        self._in_order = KeyedLocks()
        # Sockets that have not asked for a session yet, with their closing timer.
        self._unidentified: dict[str, asyncio.TimerHandle] = {}

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        address = socket_address(environ, self._trusted_proxies)
        if self._open_per_ip.get(address, 0) >= self._max_per_ip:
            metrics.RATE_LIMITED.labels("connections_open_per_ip").inc()
            raise socketio.exceptions.ConnectionRefusedError(protocol.TOO_MANY_CONNECTIONS)
        try:
            await self._services().limits.hit(ratelimit.CONNECTIONS_PER_IP, address)
        except RateLimited as exc:
            raise socketio.exceptions.ConnectionRefusedError(
                protocol.RATE_LIMITED, {"retry_after": exc.retry_after}
            ) from None
        self._open_per_ip[address] = self._open_per_ip.get(address, 0) + 1
        await self.save_session(sid, {"address": address})
        # A socket that never asks for a session is closed: idle sockets cost memory.
        self._unidentified[sid] = asyncio.get_running_loop().call_later(
            self._identify_timeout, self._close_unidentified, sid
        )

    def _close_unidentified(self, sid: str) -> None:
        if self._unidentified.pop(sid, None) is None:
            return

        async def close() -> None:
            await self.emit(
                protocol.ERROR,
                {"code": protocol.IDENTIFY_TIMEOUT, "message": "No session was requested."},
                to=sid,
            )
            await self.disconnect(sid)

        self.server.start_background_task(close)

    def _identified(self, sid: str) -> None:
        timer = self._unidentified.pop(sid, None)
        if timer is not None:
            timer.cancel()

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        self._identified(sid)
        state = await self.get_session(sid)
        address = state.get("address")
        if address is not None:
            left = self._open_per_ip.get(address, 1) - 1
            if left > 0:
                self._open_per_ip[address] = left
            else:
                self._open_per_ip.pop(address, None)
        self._services().presence.disconnected(sid)
        visitor_id = state.get("visitor_id")
        if visitor_id:
            # Leave first, so presence reflects the sockets that remain.
            await self.leave_room(sid, visitor_id)
            await self.leave_room(sid, rapport_room(visitor_id))
            services = self._services()
            if not services.desk.visitor_online(visitor_id):
                await services.desk.visitor_presence(visitor_id, online=False)

    async def on_session_request(self, sid: str, data: Any = None) -> None:
        presented = protocol.parse_session_request(data)
        async with self.session(sid) as state:
            state["rapport"] = protocol.wants_rapport_extras(data)
        identity = data.get("identity") if isinstance(data, dict) else None
        try:
            claim = verify_claim(identity, self._identity_secret)
        except protocol.ProtocolError as err:
            # Refused claim: say so, and carry on as an anonymous visitor.
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
            claim = None
        try:
            await self._start_session(
                sid, presented, claim, protocol.parse_last_message_id(data)
            )
        except protocol.ProtocolError as err:
            await self.emit(protocol.ERROR, err.as_event(), to=sid)

    async def on_user_uttered(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Store and answer a message; the ack (for clients that ask) says it is stored."""
        # Taken before the first await: handler tasks start in arrival order.
        async with self._in_order.hold(sid):
            return await self._user_uttered(sid, data)

    async def _user_uttered(self, sid: str, data: Any) -> dict[str, Any]:
        try:
            event = protocol.parse_user_uttered(data, self._max_chars)
            visitor_id = await self._visitor_for(sid, event.session_id)
            await self._limit(sid, ratelimit.MESSAGES, sid)
            await self._limit(sid, ratelimit.MESSAGES_PER_IP, await self._address(sid))
        except protocol.ProtocolError as err:
            # rasa-webchat listens to `error`; Rapport widgets read the ack.
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
            return {"ok": False, **err.as_event()}
        accepted = await self._services().conversations.handle_visitor_message(
            visitor_id, event.message, protocol.page_url(event.customData), event.client_id
        )
        return {
            "ok": True,
            "message_id": accepted.message_id,
            "client_id": event.client_id,
            "duplicate": accepted.duplicate,
        }

    async def on_card_clicked(self, sid: str, data: Any = None) -> None:
        try:
            event = protocol.parse_card_clicked(data)
            visitor_id = await self._visitor_for(sid, event.session_id)
            await self._limit(sid, ratelimit.CARD_CLICKS, sid)
        except protocol.ProtocolError as err:
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
            return
        if not await self._services().conversations.record_card_click(
            visitor_id, event.product_id
        ):
            await self.emit(
                protocol.ERROR,
                {"code": protocol.UNKNOWN_PRODUCT, "message": "There is no such product."},
                to=sid,
            )

    async def on_visitor_typing(self, sid: str, data: Any = None) -> None:
        try:
            event = protocol.parse_visitor_typing(data)
            await self._limit(sid, ratelimit.SIGNALS, sid)
        except protocol.ProtocolError as err:
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
            return
        visitor_id = (await self.get_session(sid)).get("visitor_id")
        if visitor_id:
            await self._services().desk.visitor_typing(visitor_id, event.typing)

    async def on_csat_submitted(self, sid: str, data: Any = None) -> None:
        try:
            event = protocol.parse_csat(data)
            await self._limit(sid, ratelimit.SIGNALS, sid)
        except protocol.ProtocolError as err:
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
            return
        visitor_id = (await self.get_session(sid)).get("visitor_id")
        if not visitor_id:
            await self.emit(
                protocol.ERROR,
                {"code": protocol.INVALID_SESSION, "message": "Start a session first."},
                to=sid,
            )
            return
        recorded = await self._services().handoff.record_csat(
            visitor_id, event.conversation_id, event.score, event.comment
        )
        if recorded:
            await self.emit(
                protocol.CSAT_RECORDED, {"conversation_id": event.conversation_id}, to=sid
            )
        else:
            await self.emit(
                protocol.ERROR,
                {
                    "code": protocol.INVALID_PAYLOAD,
                    "message": "That conversation cannot be rated "
                    "(not yours, not closed, or already rated).",
                },
                to=sid,
            )

    # -- analytics (Rapport widgets; docs/analytics.md) -------------------------

    async def on_page_view(self, sid: str, data: Any = None) -> None:
        try:
            event = protocol.parse_page_view(data)
            visitor_id = await self._identified_visitor(sid)
            await self._limit(sid, ratelimit.TRACK, sid)
        except protocol.ProtocolError as err:
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
            return
        services = self._services()
        services.presence.page_viewed(visitor_id, event.url, event.title)
        await services.tracking.page_view(visitor_id, event.url, event.title, event.referrer)

    async def on_page_left(self, sid: str, data: Any = None) -> None:
        try:
            event = protocol.parse_page_left(data)
            visitor_id = await self._identified_visitor(sid)
            await self._limit(sid, ratelimit.TRACK, sid)
        except protocol.ProtocolError as err:
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
            return
        await self._services().tracking.page_left(visitor_id, event.url, event.seconds)

    async def on_widget_opened(self, sid: str, data: Any = None) -> None:
        await self._widget_toggled(sid, data, opened=True)

    async def on_widget_closed(self, sid: str, data: Any = None) -> None:
        await self._widget_toggled(sid, data, opened=False)

    async def _widget_toggled(self, sid: str, data: Any, opened: bool) -> None:
        try:
            event = protocol.parse_widget_toggled(data)
            visitor_id = await self._identified_visitor(sid)
            await self._limit(sid, ratelimit.TRACK, sid)
        except protocol.ProtocolError as err:
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
            return
        await self._services().tracking.widget_toggled(visitor_id, opened, event.url)

    async def on_track(self, sid: str, data: Any = None) -> dict[str, Any]:
        """A conversion goal from ``Rapport.track()``; the ack says whether it counted."""
        try:
            event = protocol.parse_track(data)
            visitor_id = await self._identified_visitor(sid)
            await self._limit(sid, ratelimit.TRACK, sid)
            goal = Goal(
                event.name,
                event.properties.value,
                event.properties.currency,
                event.properties.order_id,
                event.url,
            )
            try:
                added = await self._services().tracking.conversion(visitor_id, goal)
            except UnknownGoal:
                raise protocol.ProtocolError(
                    protocol.UNKNOWN_GOAL,
                    f"'{event.name}' is not a conversion goal of this site (CONVERSION_GOALS).",
                ) from None
        except protocol.ProtocolError as err:
            metrics.TRACK_REFUSED.labels(err.code).inc()
            return {"ok": False, **err.as_event()}
        return {"ok": True, "duplicate": not added}

    async def _identified_visitor(self, sid: str) -> str:
        """The visitor of a socket that asked for its session; analytics never
        creates a visitor (a page view alone is not a conversation)."""
        visitor_id: str | None = (await self.get_session(sid)).get("visitor_id")
        if visitor_id is None:
            raise protocol.ProtocolError(protocol.INVALID_SESSION, "Start a session first.")
        return visitor_id

    async def _start_session(
        self,
        sid: str,
        presented: str | None,
        claim: IdentityClaim | None = None,
        last_message_id: int | None = None,
    ) -> str:
        services = self._services()
        self._identified(sid)
        address = await self._address(sid)

        async def may_create() -> bool:
            return await services.limits.allows(ratelimit.NEW_VISITORS_PER_IP, address)

        try:
            session = await services.conversations.start_session(presented, claim, may_create)
        except TooManyVisitors:
            raise protocol.slow_down("new_visitors", 3600) from None
        async with self.session(sid) as state:
            previous = state.get("visitor_id")
            state["visitor_id"] = session.visitor_id
            state["session_id"] = session.session_id
            rapport = bool(state.get("rapport"))
        if previous and previous != session.visitor_id:
            await self.leave_room(sid, previous)
            await self.leave_room(sid, rapport_room(previous))
        was_online = services.desk.visitor_online(session.visitor_id)
        await self.enter_room(
            sid, rapport_room(session.visitor_id) if rapport else session.visitor_id
        )
        await self.emit(protocol.SESSION_CONFIRM, {"session_id": session.session_id}, to=sid)
        services.presence.connected(sid, session.visitor_id)
        if session.resumed:
            same_visitor = (presented or "").split(".", 1)[0] == session.visitor_id
            if last_message_id is not None and same_visitor:
                # The same visitor reconnecting: only what it has not seen yet.
                missed = await services.conversations.history(
                    session.visitor_id, after_id=last_message_id
                )
                await self.emit(
                    protocol.HISTORY, {"messages": missed, "after": last_message_id}, to=sid
                )
            else:
                history = await services.conversations.history(session.visitor_id)
                await self.emit(protocol.HISTORY, {"messages": history}, to=sid)
        if rapport:
            status, unrated = await services.conversations.handoff_status(session.visitor_id)
            if status is not None:
                await self.emit(protocol.HANDOFF_STATUS, status, to=sid)
            if unrated is not None:
                await self.emit(protocol.CSAT_REQUEST, {"conversation_id": unrated}, to=sid)
        if not was_online:
            await services.desk.visitor_presence(session.visitor_id, online=True)
        return session.visitor_id

    async def _visitor_for(self, sid: str, presented: Any) -> str:
        """The visitor this socket speaks for.

        A socket that skipped `session_request` gets one implicitly (as Rasa's
        channel does); a socket may not speak with someone else's session id.
        """
        state = await self.get_session(sid)
        visitor_id: str | None = state.get("visitor_id")
        if visitor_id is None:
            return await self._start_session(sid, presented if isinstance(presented, str) else None)
        if presented not in (None, "", state.get("session_id")):
            raise protocol.ProtocolError(
                protocol.INVALID_SESSION, "This session id does not belong to this connection."
            )
        return visitor_id

    async def _address(self, sid: str) -> str:
        return str((await self.get_session(sid)).get("address", "unknown"))

    async def _limit(self, sid: str, limit: str, key: str) -> None:
        """Count one use of ``limit``; a refusal becomes a "slow down" ProtocolError."""
        try:
            await self._services().limits.hit(limit, key)
        except RateLimited as exc:
            log.info("rate limit %s refused socket %s", limit, sid)
            raise protocol.slow_down(limit.removesuffix("_per_ip"), exc.retry_after) from None
