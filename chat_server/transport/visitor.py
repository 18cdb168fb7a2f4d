"""The visitor namespace (`/`): Rasa's socketio channel protocol, plus opt-in extensions.

Each socket joins one room of its visitor: ``<visitor id>`` for plain Rasa
clients, ``rapport:<visitor id>`` for Rapport widgets that announced the
capability (see transport/notifier.py), so every tab of one visitor receives
the replies in the form it understands.

Why one file over 400 lines: one namespace, one module. Each handler only
parses, authenticates and calls a service; what remains here is the list of
events a visitor socket may send (per-socket delivery order lives in
transport/delivery.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

from chat_server import metrics
from chat_server.errors import ServiceError
from chat_server.http.addresses import limit_key, socket_address
from chat_server.protocol import visitor as protocol
from chat_server.services import ratelimit
from chat_server.services.container import Services
from chat_server.services.email.transcript import NoConfirmedAddress, NothingToSend
from chat_server.services.fair_queue import TurnsBusy
from chat_server.services.locks import KeyedLocks
from chat_server.services.ratelimit import RateLimited
from chat_server.services.segments.traits import browser_language, device_class
from chat_server.services.tracking import BadSignature, Goal, UnknownGoal
from chat_server.transport.delivery import Deliveries, DeliveringManager
from chat_server.transport.guard import GuardedNamespace
from chat_server.transport.notifier import rapport_room
from chat_server.transport.rooms import leave_while_disconnecting
from chat_server.verification import IdentityClaim, verify_claim

log = logging.getLogger(__name__)

# Rate-limit refusals in a row after which a visitor socket is closed.
STRIKES_BEFORE_CLOSE = 20


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
    ) -> None:
        # The services are built when the app starts (they need the database
        # and an HTTP session), after the namespace is registered: look them up late.
        super().__init__("/")
        self._services = services
        self._max_chars = max_chars
        self._identity_secret = identity_secret
        self._trusted_proxies = trusted_proxies
        # One socket's messages are handled in the order they arrived:
        # python-socketio runs handlers concurrently, and the checks before
        # the service (rate limits, shared in Redis) wait on the network.
        self._in_order = KeyedLocks()
        # Refusals in a row per socket: a client that ignores `rate_limited`
        # (keeps sending instead of waiting retry_after) is closed, as chat
        # gateways do (Discord closes such a socket with 4008): each refused
        # packet still costs the event loop that every other visitor shares.
        self._strikes: dict[str, int] = {}
        # Set when the server is shutting down (app.py, close_sockets).
        self.draining = False

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        # Open connections, new connections per address and the identify
        # timeout are enforced per Engine.IO connection (transport/admission.py).
        # Per-address limits count under the address's limit key (an IPv6 /64).
        address = limit_key(socket_address(environ, self._trusted_proxies))
        # Parsed once per connection for the visitor's traits (segments).
        device = device_class(environ.get("HTTP_USER_AGENT"))
        language = browser_language(environ.get("HTTP_ACCEPT_LANGUAGE"))
        await self.save_session(sid, {"address": address, "device": device, "language": language})

    def _identified(self, sid: str) -> None:
        identified = getattr(self.server, "identified", None)
        if identified is not None:
            identified(sid, self.namespace)

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        self._strikes.pop(sid, None)
        self._deliveries().end(sid)
        state = await self.get_session(sid)
        self._services().presence.disconnected(sid)
        visitor_id = state.get("visitor_id")
        if visitor_id and self.draining:
            # The server is going away and the visitor reconnects to another
            # node: not "offline", not leaving the queue (its timers end with
            # this process anyway). Nothing but this process's memory to clear.
            return
        if visitor_id:
            # Leave first, so presence reflects the sockets that remain.
            leave_while_disconnecting(self.server, sid, self.namespace, visitor_id)
            leave_while_disconnecting(self.server, sid, self.namespace, rapport_room(visitor_id))
            services = self._services()
            if not services.signals.visitor_online(visitor_id):
                await services.signals.visitor_presence(visitor_id, online=False)
                services.departures.visitor_disconnected(visitor_id)

    async def on_session_request(self, sid: str, data: Any = None) -> None:
        try:
            # Sessions are free (no row) but not unlimited: a socket asking
            # again and again counts against its signals limit.
            await self._limit(sid, ratelimit.SIGNALS, sid)
        except protocol.ProtocolError as err:
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
            return
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
                sid,
                presented,
                claim,
                protocol.parse_last_message_id(data),
                protocol.parse_after_seq(data),
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
            await self._stored(sid, visitor_id)
        except protocol.ProtocolError as err:
            # rasa-webchat listens to `error`; Rapport widgets read the ack.
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
            return {"ok": False, **err.as_event()}
        try:
            accepted = await self._services().conversations.handle_visitor_message(
                visitor_id,
                event.message,
                protocol.page_url(event.customData),
                event.client_id,
                address=await self._address(sid),
            )
        except TurnsBusy as busy:
            # Stored, not answered yet: the widget sends it again (same client id).
            metrics.RATE_LIMITED.labels("bot_turns_per_ip").inc()
            refusal = protocol.slow_down("bot_turns", busy.retry_after).as_event()
            await self.emit(protocol.ERROR, refusal, to=sid)
            return {"ok": False, **refusal}
        return {
            "ok": True,
            "message_id": accepted.message_id,
            "seq": accepted.seq,
            "client_id": event.client_id,
            "duplicate": accepted.duplicate,
        }

    async def on_card_clicked(self, sid: str, data: Any = None) -> None:
        try:
            event = protocol.parse_card_clicked(data)
            visitor_id = await self._visitor_for(sid, event.session_id)
            await self._limit(sid, ratelimit.CARD_CLICKS, sid)
            await self._stored(sid, visitor_id)
        except protocol.ProtocolError as err:
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
            return
        if not await self._services().conversations.record_card_click(visitor_id, event.product_id):
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
            await self._services().signals.visitor_typing(visitor_id, event.typing)

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
        state = await self.get_session(sid)
        await services.tracking.page_view(
            visitor_id,
            event.url,
            event.title,
            event.referrer,
            state.get("device"),
            state.get("language"),
        )
        # Campaigns address Rapport widgets only: rasa-webchat would not know the events.
        if state.get("rapport"):
            watch = await services.campaign_engine.page_view(visitor_id, event.url)
            if watch is not None:
                await self.emit(protocol.CAMPAIGN_WATCH, watch.as_event(), to=sid)

    # -- proactive campaigns (Rapport widgets; docs/campaigns.md) ---------------

    async def on_campaign_ready(self, sid: str, data: Any = None) -> None:
        try:
            event = protocol.parse_campaign_ready(data)
            visitor_id = await self._campaign_visitor(sid)
            await self._limit(sid, ratelimit.CAMPAIGN_TRIGGERS, sid)
            await self._services().campaign_engine.ready(
                visitor_id, event.campaign_id, event.token, event.url
            )
        except protocol.ProtocolError as err:
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
        except ServiceError as err:
            await self.emit(protocol.ERROR, {"code": err.code, "message": str(err)}, to=sid)

    async def on_site_trigger(self, sid: str, data: Any = None) -> None:
        try:
            event = protocol.parse_site_trigger(data)
            visitor_id = await self._campaign_visitor(sid)
            await self._limit(sid, ratelimit.CAMPAIGN_TRIGGERS, sid)
            await self._services().campaign_engine.site_trigger(visitor_id, event.name, event.url)
        except protocol.ProtocolError as err:
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
        except ServiceError as err:
            await self.emit(protocol.ERROR, {"code": err.code, "message": str(err)}, to=sid)

    async def on_campaign_dismissed(self, sid: str, data: Any = None) -> None:
        try:
            event = protocol.parse_campaign_dismissed(data)
            visitor_id = await self._campaign_visitor(sid)
            await self._limit(sid, ratelimit.SIGNALS, sid)
            await self._services().campaign_engine.dismissed(visitor_id, event.campaign_id)
        except protocol.ProtocolError as err:
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
        except ServiceError as err:
            await self.emit(protocol.ERROR, {"code": err.code, "message": str(err)}, to=sid)

    async def on_nps_submitted(self, sid: str, data: Any = None) -> None:
        try:
            event = protocol.parse_nps(data)
            visitor_id = await self._campaign_visitor(sid)
            await self._limit(sid, ratelimit.SIGNALS, sid)
            await self._services().campaign_engine.nps(visitor_id, event.campaign_id, event.score)
        except protocol.ProtocolError as err:
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
        except ServiceError as err:
            await self.emit(protocol.ERROR, {"code": err.code, "message": str(err)}, to=sid)

    async def _campaign_visitor(self, sid: str) -> str:
        """The visitor of a Rapport widget socket (campaign events are its alone)."""
        visitor_id = await self._identified_visitor(sid)
        if not (await self.get_session(sid)).get("rapport"):
            raise protocol.ProtocolError(
                protocol.INVALID_PAYLOAD, "Campaign events need the Rapport capability."
            )
        return visitor_id

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
            await self._stored(sid, visitor_id)
            goal = Goal(
                event.name,
                event.properties.value,
                event.properties.currency,
                event.properties.order_id,
                event.url,
                event.properties.signature,
            )
            try:
                added = await self._services().tracking.conversion(visitor_id, goal)
            except UnknownGoal:
                raise protocol.ProtocolError(
                    protocol.UNKNOWN_GOAL,
                    f"'{event.name}' is not a conversion goal of this site (CONVERSION_GOALS).",
                ) from None
            except BadSignature as exc:
                raise protocol.ProtocolError(protocol.INVALID_GOAL, f"signature: {exc}") from None
        except protocol.ProtocolError as err:
            metrics.TRACK_REFUSED.labels(err.code).inc()
            return {"ok": False, **err.as_event()}
        return {"ok": True, "duplicate": not added, "verified": goal.signature is not None}

    async def on_email_transcript(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Email me this conversation: to the visitor's verified or confirmed
        address only; the ack names it, masked."""
        try:
            visitor_id = await self._identified_visitor(sid)
            await self._limit(sid, ratelimit.SIGNALS, sid)
            try:
                to, already = await self._services().transcript_mail.send(visitor_id)
            except NoConfirmedAddress:
                raise protocol.ProtocolError(
                    protocol.NO_CONFIRMED_EMAIL,
                    "There is no verified or confirmed email address to send it to.",
                ) from None
            except NothingToSend:
                raise protocol.ProtocolError(
                    protocol.NOTHING_TO_SEND, "There is no conversation to send yet."
                ) from None
        except protocol.ProtocolError as err:
            return {"ok": False, **err.as_event()}
        return {"ok": True, "to": to, "duplicate": already}

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
        after_seq: int | None = None,
    ) -> str:
        services = self._services()
        deliveries = self._deliveries()
        self._identified(sid)
        # No row and no rate limit here: a session costs nothing until used.
        session = await services.conversations.start_session(presented, claim)
        async with self.session(sid) as state:
            previous = state.get("visitor_id")
            state["visitor_id"] = session.visitor_id
            state["session_id"] = session.session_id
            rapport = bool(state.get("rapport"))
        if previous and previous != session.visitor_id:
            await self.leave_room(sid, previous)
            await self.leave_room(sid, rapport_room(previous))
        same_visitor = (presented or "").split(".", 1)[0] == session.visitor_id
        # Asked again on a socket that already follows this visitor (after
        # `resync`): it reads on from its position, nothing is sent twice.
        again = session.resumed and same_visitor and deliveries.following(sid, session.visitor_id)
        if not again:
            deliveries.starting(sid, session.visitor_id, rapport)
        was_online = services.signals.visitor_online(session.visitor_id)
        await self.enter_room(
            sid, rapport_room(session.visitor_id) if rapport else session.visitor_id
        )
        confirm: dict[str, Any] = {"session_id": session.session_id}
        # Offered only to a known visitor with a verified or confirmed address
        # (a new anonymous session costs no query).
        known = session.resumed or (claim is not None and claim.verified_email is not None)
        if rapport and known and await services.transcript_mail.can_send(session.visitor_id):
            confirm["email_transcript"] = True
        await self.emit(protocol.SESSION_CONFIRM, confirm, to=sid)
        services.presence.connected(sid, session.visitor_id)
        await services.departures.visitor_connected(session.visitor_id, session.resumed)
        if again:
            await deliveries.catch_up(sid, reply=rapport)
        else:
            await self._resume(
                sid,
                session.visitor_id,
                session.resumed and same_visitor,
                session.resumed,
                rapport,
                last_message_id,
                after_seq,
            )
        if rapport:
            status, unrated = await services.conversations.handoff_status(session.visitor_id)
            if status is not None:
                await self.emit(protocol.HANDOFF_STATUS, status, to=sid)
            if unrated is not None:
                await self.emit(protocol.CSAT_REQUEST, {"conversation_id": unrated}, to=sid)
        if not was_online and session.resumed:
            # Only a stored visitor can have a conversation to show as online.
            await services.signals.visitor_presence(session.visitor_id, online=True)
        return session.visitor_id

    async def _resume(
        self,
        sid: str,
        visitor_id: str,
        same_visitor: bool,
        resumed: bool,
        rapport: bool,
        last_message_id: int | None,
        after_seq: int | None,
    ) -> None:
        """A new session's `history`, and the position the socket is delivered from."""
        services = self._services()
        deliveries = self._deliveries()
        if not resumed:
            deliveries.started(sid, 0)
            return
        remembered = deliveries.remembered(visitor_id) if same_visitor else None
        items, position = await services.visitor_history.resume(
            visitor_id,
            after_seq if same_visitor else None,
            last_message_id if same_visitor else None,
        )
        payload: dict[str, Any] = {"messages": items, "through_seq": position}
        if same_visitor and after_seq is not None and after_seq <= position:
            payload["after_seq"] = after_seq
        elif same_visitor and last_message_id is not None:
            payload["after"] = last_message_id
        await self.emit(protocol.HISTORY, payload, to=sid)
        if not rapport and remembered is not None:
            # A plain client (rasa-webchat shows no `history`) back on this
            # node: what it missed since its last socket, as `bot_uttered`.
            deliveries.started(sid, remembered)
            await deliveries.catch_up(sid)
            return
        deliveries.started(sid, position)

    def _deliveries(self) -> Deliveries:
        manager = self.server.manager
        if not isinstance(manager, DeliveringManager):
            raise TypeError("the visitor namespace needs a DeliveringManager (app.py)")
        return manager.deliveries

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

    async def _stored(self, sid: str, visitor_id: str) -> None:
        """Make sure the visitor has a row before storing what it did.

        Creating one is what the per-address new-visitor limit counts (a
        session that never sends anything costs no row and no count).
        """
        state = await self.get_session(sid)
        if state.get("row_of") == visitor_id:
            return  # known to exist: one read per socket, not one per message
        services = self._services()
        address = str(state.get("address", "unknown"))

        async def may_create() -> bool:
            await services.limits.hit(ratelimit.NEW_VISITORS_PER_IP, address)
            return True

        try:
            await services.conversations.ensure_visitor(visitor_id, may_create)
        except RateLimited as exc:
            log.info("new visitor limit refused socket %s", sid)
            raise protocol.slow_down("new_visitors", exc.retry_after) from None
        async with self.session(sid) as saved:
            saved["row_of"] = visitor_id

    async def _address(self, sid: str) -> str:
        return str((await self.get_session(sid)).get("address", "unknown"))

    async def _limit(self, sid: str, limit: str, key: str) -> None:
        """Count one use of ``limit``; a refusal becomes a "slow down" ProtocolError.

        After STRIKES_BEFORE_CLOSE refusals in a row the socket is closed: a
        widget waits `retry_after` and never gets there.
        """
        try:
            await self._services().limits.hit(limit, key)
        except RateLimited as exc:
            strikes = self._strikes[sid] = self._strikes.get(sid, 0) + 1
            if strikes == 1:
                log.info("rate limit %s refused socket %s", limit, sid)
            elif strikes >= STRIKES_BEFORE_CLOSE:
                metrics.RATE_LIMITED.labels("closed_ignoring_limits").inc()
                self._strikes.pop(sid, None)
                log.info("socket %s closed: it ignored %d rate-limit refusals", sid, strikes)
                self.server.start_background_task(self._close_ignoring, sid)
            raise protocol.slow_down(limit.removesuffix("_per_ip"), exc.retry_after) from None
        self._strikes.pop(sid, None)

    async def _close_ignoring(self, sid: str) -> None:
        await self.emit(
            protocol.ERROR,
            {"code": protocol.RATE_LIMITED, "message": "Too many requests: disconnected."},
            to=sid,
        )
        await self.disconnect(sid)
