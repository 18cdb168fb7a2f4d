"""The services' Notifier, implemented with Socket.IO rooms.

Rooms:
- ``<visitor id>``: the visitor's plain Rasa-protocol sockets (rasa-webchat);
- ``rapport:<visitor id>``: the visitor's Rapport widget sockets, which get
  extension fields and events;
- ``agents``: every agent socket; ``agent:<id>``: one agent's sockets;
  ``conv:<id>``: agents watching a conversation.

With several nodes (REDIS_URL) an emit reaches the rooms on every node
(transport/cluster.py), and "is anyone in this room" also asks the other
nodes' latest room lists.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import socketio

from chat_server.protocol import agent as agent_protocol
from chat_server.protocol import visitor as protocol
from chat_server.transport.cluster import ClusterPresence, RedisFanout, disconnect_local
from chat_server.transport.delivery import DELIVER, Deliveries, DeliveringManager, deliver_event

VISITORS = "/"
AGENTS = agent_protocol.NAMESPACE
ALL_AGENTS = "agents"


def rapport_room(visitor_id: str) -> str:
    return f"rapport:{visitor_id}"


def agent_room(agent_id: int) -> str:
    return f"agent:{agent_id}"


def conversation_room(conversation_id: int) -> str:
    return f"conv:{conversation_id}"


# Rooms that only exist to close sockets when a credential is revoked: every
# socket of an account, the sockets of one console session (by a short key of
# the session's hash, services/agents.py), and those opened with the API token.
def account_room(agent_id: int) -> str:
    return f"account:{agent_id}"


def session_room(session_key: str) -> str:
    return f"agent-session:{session_key}"


def token_room(agent_id: int) -> str:
    return f"agent-token:{agent_id}"


class SocketNotifier:
    """Notifier for services: emits to rooms on the `/` and `/agent` namespaces."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio
        # The other nodes' rooms; None on a single node.
        self.cluster: ClusterPresence | None = None

    def _has(self, namespace: str, room: str) -> bool:
        if any(True for _ in self._sio.manager.get_participants(namespace, room)):
            return True
        return self.cluster is not None and self.cluster.has(namespace, room)

    def local_rooms(self) -> dict[str, list[str]]:
        """The named rooms this node's sockets are in, by namespace (for the cluster)."""
        found: dict[str, list[str]] = {}
        for namespace in (VISITORS, AGENTS):
            rooms = self._sio.manager.rooms.get(namespace, {})
            # Every socket also sits in a room named after itself: not a room to share.
            found[namespace] = [
                str(room)
                for room, members in rooms.items()
                if room is not None and members and room not in members
            ]
        return found

    def local_connections(self) -> dict[str, int]:
        """Sockets connected to this node, by namespace."""
        rooms = self._sio.manager.rooms
        # The None room of a namespace holds every socket connected to it.
        return {ns: len(rooms.get(ns, {}).get(None, {})) for ns in (VISITORS, AGENTS)}

    @property
    def deliveries(self) -> Deliveries | None:
        manager = self._sio.manager
        return manager.deliveries if isinstance(manager, DeliveringManager) else None

    async def resync_local(self) -> None:
        """Tell this node's sockets to catch up from storage (live fan-out had a gap).

        Visitor sockets are sent what follows their position straight away
        (the server knows it); ``resync`` is for the console and older widgets.
        """
        if self.deliveries is not None:
            self.deliveries.catch_up_all()
        await self._sio.emit(protocol.RESYNC, {}, namespace=VISITORS, ignore_queue=True)
        await self._sio.emit(agent_protocol.RESYNC, {}, namespace=AGENTS, ignore_queue=True)

    async def to_visitor(
        self,
        visitor_id: str,
        event: str,
        payload: dict[str, Any],
        extras: dict[str, Any] | None = None,
    ) -> None:
        seq = (extras or {}).get("seq")
        if isinstance(seq, int) and self.deliveries is not None:
            # A stored message: each socket gets it once, in order.
            await self._sio.emit(
                DELIVER,
                deliver_event(visitor_id, seq, payload, event, {**payload, **(extras or {})}),
                to=[visitor_id, rapport_room(visitor_id)],
                namespace=VISITORS,
            )
            return
        if not extras:
            await self._sio.emit(
                event, payload, to=[visitor_id, rapport_room(visitor_id)], namespace=VISITORS
            )
            return
        await self._sio.emit(event, payload, to=visitor_id, namespace=VISITORS)
        await self._sio.emit(
            event, {**payload, **extras}, to=rapport_room(visitor_id), namespace=VISITORS
        )

    async def visitor_message_stored(self, visitor_id: str, item: dict[str, Any]) -> None:
        seq = item.get("seq")
        if not isinstance(seq, int) or self.deliveries is None:
            return
        await self._sio.emit(
            DELIVER,
            deliver_event(
                visitor_id,
                seq,
                None,
                protocol.HISTORY,
                {"messages": [item], "after_seq": seq - 1, "through_seq": seq},
            ),
            to=[visitor_id, rapport_room(visitor_id)],
            namespace=VISITORS,
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
                if self.deliveries is not None:
                    # A new visitor: nothing numbered yet.
                    self.deliveries.begin(sid, new_id, old_room != old_id, 0)
        await self.to_visitor(new_id, protocol.SESSION_CONFIRM, {"session_id": session_id})
        await self.to_visitor(new_id, protocol.HISTORY, {"messages": [], "reset": True})

    def visitor_online(self, visitor_id: str) -> bool:
        return self._has(VISITORS, visitor_id) or self._has(VISITORS, rapport_room(visitor_id))

    def visitors_online(self) -> int:
        rooms = set(self.local_rooms()[VISITORS])
        if self.cluster is not None:
            rooms |= self.cluster.rooms(VISITORS)
        return len({room.removeprefix(rapport_room("")) for room in rooms})

    def connections(self) -> dict[str, int]:
        counts = self.local_connections()
        if self.cluster is not None:
            counts = {ns: n + self.cluster.connections(ns) for ns, n in counts.items()}
        return counts

    async def to_agents(self, event: str, payload: dict[str, Any]) -> None:
        await self._sio.emit(event, payload, to=ALL_AGENTS, namespace=AGENTS)

    async def to_agents_here(self, event: str, payload: dict[str, Any]) -> None:
        await self._sio.emit(event, payload, to=ALL_AGENTS, namespace=AGENTS, ignore_queue=True)

    async def to_analytics(self, event: str, payload: dict[str, Any]) -> None:
        await self._sio.emit(event, payload, to=agent_protocol.ANALYTICS_ROOM, namespace=AGENTS)

    async def close_agent_sockets(
        self, agent_id: int, sessions: Collection[str] | None = None, include_token: bool = True
    ) -> None:
        rooms = (
            [account_room(agent_id)]
            if sessions is None
            else [
                *([token_room(agent_id)] if include_token else []),
                *(session_room(k) for k in sessions),
            ]
        )
        manager = self._sio.manager
        for room in rooms:
            await disconnect_local(self._sio, AGENTS, room)
            if isinstance(manager, RedisFanout):
                await manager.disconnect_room_elsewhere(AGENTS, room)

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
        if self.cluster is not None:
            # The other nodes' room lists are a second or two old: a console
            # that has just connected to one of them would miss a handoff
            # made meanwhile (seen: the chat never showed up in its queue).
            # So with several nodes every agent event is published.
            return True
        return self._has(AGENTS, ALL_AGENTS)

    def agent_connected(self, agent_id: int) -> bool:
        return self._has(AGENTS, agent_room(agent_id))
