"""The services' Notifier, implemented with Socket.IO rooms.

Rooms:
- ``<visitor id>``: the visitor's plain Rasa-protocol sockets (rasa-webchat);
- ``rapport:<visitor id>``: the visitor's Rapport widget sockets, which get
  extension fields and events;
- ``agents``: every agent socket; ``agent:<id>``: one agent's sockets;
  ``conv:<id>``: agents watching a conversation.
"""

from __future__ import annotations

from typing import Any

import socketio

from chat_server.protocol import agent as agent_protocol
from chat_server.protocol import visitor as protocol

VISITORS = "/"
AGENTS = agent_protocol.NAMESPACE
ALL_AGENTS = "agents"


def rapport_room(visitor_id: str) -> str:
    return f"rapport:{visitor_id}"


def agent_room(agent_id: int) -> str:
    return f"agent:{agent_id}"


def conversation_room(conversation_id: int) -> str:
    return f"conv:{conversation_id}"


class SocketNotifier:
    """Notifier for services: emits to rooms on the `/` and `/agent` namespaces."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio

    def _has(self, namespace: str, room: str) -> bool:
        return any(True for _ in self._sio.manager.get_participants(namespace, room))

    async def to_visitor(
        self,
        visitor_id: str,
        event: str,
        payload: dict[str, Any],
        extras: dict[str, Any] | None = None,
    ) -> None:
        if not extras:
            await self._sio.emit(
                event, payload, to=[visitor_id, rapport_room(visitor_id)], namespace=VISITORS
            )
            return
        await self._sio.emit(event, payload, to=visitor_id, namespace=VISITORS)
        await self._sio.emit(
            event, {**payload, **extras}, to=rapport_room(visitor_id), namespace=VISITORS
        )

    async def to_rapport_visitor(
        self, visitor_id: str, event: str, payload: dict[str, Any]
    ) -> None:
        await self._sio.emit(event, payload, to=rapport_room(visitor_id), namespace=VISITORS)

    async def to_basic_visitor(self, visitor_id: str, event: str, payload: dict[str, Any]) -> None:
        await self._sio.emit(event, payload, to=visitor_id, namespace=VISITORS)

    async def visitor_replaced(self, old_id: str, new_id: str, session_id: str) -> None:
        for old_room, new_room in ((old_id, new_id), (rapport_room(old_id), rapport_room(new_id))):
            for sid, _ in list(self._sio.manager.get_participants(VISITORS, old_room)):
                await self._sio.leave_room(sid, old_room, namespace=VISITORS)
                await self._sio.enter_room(sid, new_room, namespace=VISITORS)
                async with self._sio.session(sid, namespace=VISITORS) as state:
                    state["visitor_id"] = new_id
                    state["session_id"] = session_id
        await self.to_visitor(new_id, protocol.SESSION_CONFIRM, {"session_id": session_id})
        await self.to_visitor(new_id, protocol.HISTORY, {"messages": [], "reset": True})

    def visitor_online(self, visitor_id: str) -> bool:
        return self._has(VISITORS, visitor_id) or self._has(VISITORS, rapport_room(visitor_id))

    def visitors_online(self) -> int:
        visitors = set()
        for room, members in self._sio.manager.rooms.get(VISITORS, {}).items():
            # Every socket also sits in a room named after itself: not a visitor.
            if room is not None and members and room not in members:
                visitors.add(str(room).removeprefix(rapport_room("")))
        return len(visitors)

    def connections(self) -> dict[str, int]:
        rooms = self._sio.manager.rooms
        # The None room of a namespace holds every socket connected to it.
        return {ns: len(rooms.get(ns, {}).get(None, {})) for ns in (VISITORS, AGENTS)}

    async def to_agents(self, event: str, payload: dict[str, Any]) -> None:
        await self._sio.emit(event, payload, to=ALL_AGENTS, namespace=AGENTS)

    async def to_analytics(self, event: str, payload: dict[str, Any]) -> None:
        await self._sio.emit(
            event, payload, to=agent_protocol.ANALYTICS_ROOM, namespace=AGENTS
        )

    async def to_agent(self, agent_id: int, event: str, payload: dict[str, Any]) -> None:
        await self._sio.emit(event, payload, to=agent_room(agent_id), namespace=AGENTS)

    async def to_conversation(
        self, conversation_id: int, agent_id: int | None, event: str, payload: dict[str, Any]
    ) -> None:
        rooms = [conversation_room(conversation_id)]
        if agent_id is not None:
            rooms.append(agent_room(agent_id))
        await self._sio.emit(event, payload, to=rooms, namespace=AGENTS)

    def agents_connected(self) -> bool:
        return self._has(AGENTS, ALL_AGENTS)

    def agent_connected(self, agent_id: int) -> bool:
        return self._has(AGENTS, agent_room(agent_id))
