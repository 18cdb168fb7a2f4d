"""The visitor namespace (`/`): Rasa's socketio channel protocol, plus opt-in extensions.

Each socket joins one room of its visitor: ``<visitor id>`` for plain Rasa
clients, ``rapport:<visitor id>`` for Rapport widgets that announced the
capability (see transport/notifier.py), so every tab of one visitor receives
the replies in the form it understands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from chat_server.protocol import visitor as protocol
from chat_server.services.container import Services
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
    ) -> None:
        # The services are built when the app starts (they need the database
        # and an HTTP session), after the namespace is registered: look them up late.
        super().__init__("/")
        self._services = services
        self._max_chars = max_chars
        self._identity_secret = identity_secret

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        log.debug("visitor socket %s connected", sid)

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        state = await self.get_session(sid)
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
        await self._start_session(sid, presented, claim)

    async def on_user_uttered(self, sid: str, data: Any = None) -> None:
        try:
            event = protocol.parse_user_uttered(data, self._max_chars)
            visitor_id = await self._visitor_for(sid, event.session_id)
        except protocol.ProtocolError as err:
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
            return
        await self._services().conversations.handle_visitor_message(
            visitor_id, event.message, protocol.page_url(event.customData)
        )

    async def on_card_clicked(self, sid: str, data: Any = None) -> None:
        try:
            event = protocol.parse_card_clicked(data)
            visitor_id = await self._visitor_for(sid, event.session_id)
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
        except protocol.ProtocolError as err:
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
            return
        visitor_id = (await self.get_session(sid)).get("visitor_id")
        if visitor_id:
            await self._services().desk.visitor_typing(visitor_id, event.typing)

    async def on_csat_submitted(self, sid: str, data: Any = None) -> None:
        try:
            event = protocol.parse_csat(data)
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

    async def _start_session(
        self, sid: str, presented: str | None, claim: IdentityClaim | None = None
    ) -> str:
        services = self._services()
        session = await services.conversations.start_session(presented, claim)
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
        if session.resumed:
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
