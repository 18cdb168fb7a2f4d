"""The agent namespace (`/agent`): live updates for the console.

Connections authenticate at connect time with the console's session cookie
(same origin only: a page on another site cannot borrow it) or with
``auth: {"token": <agent API token>}``; anything else is refused. A socket
is closed as soon as the credential it came with is revoked (logout, "sign
out everywhere", password change or reset, deactivation). Each event
answers through the Socket.IO ack with ``{"ok": true, ...}`` or
``{"ok": false, "error", "message"}``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import socketio
from pydantic import BaseModel, ValidationError

from chat_server.db.models import Agent
from chat_server.errors import ServiceError
from chat_server.http.auth import agent_from_credentials, cookie_value
from chat_server.protocol import agent as protocol
from chat_server.services.agents import AuthError, session_key
from chat_server.services.container import Services
from chat_server.transport.guard import GuardedNamespace
from chat_server.transport.notifier import (
    ALL_AGENTS,
    account_room,
    agent_room,
    conversation_room,
    session_room,
    token_room,
)
from chat_server.transport.rooms import leave_while_disconnecting

log = logging.getLogger(__name__)
Reply = dict[str, Any]


def same_origin(environ: dict[str, Any]) -> bool:
    """Whether the handshake's Origin (if any) is this server itself."""
    origin = str(environ.get("HTTP_ORIGIN") or "")
    if not origin:
        return True  # not a browser page (scripts, tests)
    return urlsplit(origin).netloc == str(environ.get("HTTP_HOST", ""))


class AgentNamespace(GuardedNamespace):
    """Handlers for console sockets: authenticate, parse, call a service."""

    error_key = "error"  # acks say {"ok": false, "error": code, "message"}

    def __init__(self, services: Callable[[], Services]) -> None:
        super().__init__(protocol.NAMESPACE)
        self._services = services

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        cookie = cookie_value(environ.get("HTTP_COOKIE", ""))
        if cookie and not token and not same_origin(environ):
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        try:
            caller = await agent_from_credentials(
                self._services().agents, token if isinstance(token, str) else None, cookie
            )
        except AuthError:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized") from None
        if caller.agent.must_change_password:
            raise socketio.exceptions.ConnectionRefusedError("password_change_required")
        agent_id = caller.agent.id
        # The socket remembers the credential it came with: revoking that
        # credential (logout, password change, deactivation) closes it.
        await self.enter_room(sid, account_room(agent_id))
        if caller.session_token:
            await self.enter_room(sid, session_room(session_key(caller.session_token)))
        else:
            await self.enter_room(sid, token_room(agent_id))
        try:
            # Revoked between the check above and joining its rooms? Then the
            # revocation's close found no socket here yet: check once more.
            await agent_from_credentials(
                self._services().agents, token if isinstance(token, str) else None, cookie
            )
        except AuthError:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized") from None
        if caller.agent.role in (protocol.ROLE_ADMIN, protocol.ROLE_MARKETER):
            await self.enter_room(sid, protocol.ANALYTICS_ROOM)
        if caller.agent.role == protocol.ROLE_MARKETER:
            # Analytics only: no conversation rooms, no presence, no routing.
            await self.save_session(sid, {"marketer_id": agent_id})
            return
        await self.save_session(sid, {"agent_id": agent_id})
        await self.enter_room(sid, ALL_AGENTS)
        await self.enter_room(sid, agent_room(agent_id))
        services = self._services()
        services.handoff.agent_connected(agent_id)
        await services.handoff.publish_agent(agent_id)

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        agent_id = (await self.get_session(sid)).get("agent_id")
        if agent_id is None:
            return
        leave_while_disconnecting(self.server, sid, self.namespace, agent_room(agent_id))
        services = self._services()
        if not any(
            True
            for _ in self.server.manager.get_participants(protocol.NAMESPACE, agent_room(agent_id))
        ):
            services.handoff.agent_disconnected(agent_id)
        await services.handoff.publish_agent(agent_id)

    async def _agent(self, sid: str) -> Agent:
        agent_id = (await self.get_session(sid)).get("agent_id")
        if agent_id is None:
            raise AuthError("not authenticated")
        return await self._services().agents.get(agent_id)

    async def _run(
        self,
        sid: str,
        data: Any,
        model: type[BaseModel],
        act: Callable[[Agent, Any], Awaitable[Reply | None]],
    ) -> Reply:
        try:
            body = model.model_validate(data)
            agent = await self._agent(sid)
            result = await act(agent, body)
        except ValidationError as exc:
            return {"ok": False, **protocol.error("invalid", str(exc.errors()[0]["msg"]))}
        except AuthError as exc:
            return {"ok": False, **protocol.error("unauthenticated", str(exc))}
        except ServiceError as exc:
            return {"ok": False, **protocol.error(exc.code, str(exc))}
        return {"ok": True, **(result or {})}

    async def on_watch(self, sid: str, data: Any = None) -> Reply:
        async def act(agent: Agent, body: protocol.WatchBody) -> None:
            await self._services().desk.require_conversation(body.conversation_id)
            await self.enter_room(sid, conversation_room(body.conversation_id))

        return await self._run(sid, data, protocol.WatchBody, act)

    async def on_unwatch(self, sid: str, data: Any = None) -> Reply:
        async def act(agent: Agent, body: protocol.WatchBody) -> None:
            await self.leave_room(sid, conversation_room(body.conversation_id))

        return await self._run(sid, data, protocol.WatchBody, act)

    async def on_typing(self, sid: str, data: Any = None) -> Reply:
        async def act(agent: Agent, body: protocol.TypingBody) -> None:
            await self._services().signals.agent_typing(body.conversation_id, agent, body.typing)

        return await self._run(sid, data, protocol.TypingBody, act)

    async def on_send_message(self, sid: str, data: Any = None) -> Reply:
        async def act(agent: Agent, body: protocol.SocketSendBody) -> Reply:
            message = await self._services().desk.send(
                body.conversation_id, agent, body.text, body.note, body.client_id
            )
            return {"message": message}

        return await self._run(sid, data, protocol.SocketSendBody, act)

    async def on_set_status(self, sid: str, data: Any = None) -> Reply:
        async def act(agent: Agent, body: protocol.StatusBody) -> Reply:
            await self._services().handoff.set_status(agent.id, body.status)
            return {"agent": await self._services().desk.agent(agent.id)}

        return await self._run(sid, data, protocol.StatusBody, act)
