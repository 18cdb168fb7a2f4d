"""The visitor namespace (`/`): Rasa's socketio channel protocol.

Each socket joins a room named after its visitor id, so every tab of one
visitor receives the bot's replies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import socketio

from chat_server.protocol import visitor as protocol
from chat_server.services.conversations import ConversationService
from chat_server.verification import IdentityClaim, verify_claim

log = logging.getLogger(__name__)


class SocketNotifier:
    """Notifier for services: emits to a visitor's room on the `/` namespace."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio

    async def to_visitor(self, visitor_id: str, event: str, payload: dict[str, Any]) -> None:
        await self._sio.emit(event, payload, room=visitor_id, namespace="/")

    async def visitor_replaced(self, old_id: str, new_id: str, session_id: str) -> None:
        for sid, _ in list(self._sio.manager.get_participants("/", old_id)):
            await self._sio.leave_room(sid, old_id, namespace="/")
            await self._sio.enter_room(sid, new_id, namespace="/")
            async with self._sio.session(sid, namespace="/") as state:
                state["visitor_id"] = new_id
                state["session_id"] = session_id
        await self.to_visitor(new_id, protocol.SESSION_CONFIRM, {"session_id": session_id})
        await self.to_visitor(new_id, protocol.HISTORY, {"messages": [], "reset": True})


class VisitorNamespace(socketio.AsyncNamespace):
    """Handlers for widget sockets."""

    def __init__(
        self,
        service: Callable[[], ConversationService],
        max_chars: int,
        identity_secret: str | None = None,
    ) -> None:
        # The service is built when the app starts (it needs the database and
        # an HTTP session), after the namespace is registered: look it up late.
        super().__init__("/")
        self._get_service = service
        self._max_chars = max_chars
        self._identity_secret = identity_secret

    @property
    def _service(self) -> ConversationService:
        return self._get_service()

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        log.debug("visitor socket %s connected", sid)

    async def on_session_request(self, sid: str, data: Any = None) -> None:
        presented = protocol.parse_session_request(data)
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
        await self._service.handle_visitor_message(
            visitor_id, event.message, protocol.page_url(event.customData)
        )

    async def on_card_clicked(self, sid: str, data: Any = None) -> None:
        try:
            event = protocol.parse_card_clicked(data)
            visitor_id = await self._visitor_for(sid, event.session_id)
        except protocol.ProtocolError as err:
            await self.emit(protocol.ERROR, err.as_event(), to=sid)
            return
        await self._service.record_card_click(visitor_id, event.product_id)

    async def _start_session(
        self, sid: str, presented: str | None, claim: IdentityClaim | None = None
    ) -> str:
        session = await self._service.start_session(presented, claim)
        async with self.session(sid) as state:
            previous = state.get("visitor_id")
            state["visitor_id"] = session.visitor_id
            state["session_id"] = session.session_id
        if previous and previous != session.visitor_id:
            await self.leave_room(sid, previous)
        await self.enter_room(sid, session.visitor_id)
        await self.emit(protocol.SESSION_CONFIRM, {"session_id": session.session_id}, to=sid)
        if session.resumed:
            history = await self._service.history(session.visitor_id)
            await self.emit(protocol.HISTORY, {"messages": history}, to=sid)
        return session.visitor_id

    async def _visitor_for(self, sid: str, presented: Any) -> str:
        """The visitor this socket speaks for.

        A socket that skipped `session_request` gets one implicitly (as Rasa's
        channel does); a socket may not speak with someone else's session id.
        """
        state = await self.get_session(sid)
        visitor_id = state.get("visitor_id")
        if visitor_id is None:
            return await self._start_session(sid, presented if isinstance(presented, str) else None)
        if presented not in (None, "", state.get("session_id")):
            raise protocol.ProtocolError(
                protocol.INVALID_SESSION, "This session id does not belong to this connection."
            )
        return visitor_id
