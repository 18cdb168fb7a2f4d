"""Rooms indexed by socket: a disconnect costs that socket's rooms, not every room.

python-socketio 5.x's ``BaseManager.basic_disconnect`` copies and scans every
room of the namespace to find the closing socket's. With 10,000 visitors
(three rooms each) that is about 30,000 checks per disconnect, and when a
node shuts down and all of them close, 10,000 of those scans: over a minute
of one core (bench/idle_capacity.py's shutdown phase). This keeps
``(namespace, sid) -> rooms`` beside socketio's own structure, updated by the
same two primitives every join and leave goes through. Sockets waiting to
disconnect are kept in a set for the same reason.
"""

from __future__ import annotations

from typing import Any

import socketio


class IndexedRooms(socketio.AsyncManager):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rooms_of: dict[tuple[str, str], set[Any]] = {}

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self._rooms_of.setdefault((namespace, sid), set()).add(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        rooms = self._rooms_of.get((namespace, sid))
        if rooms is not None:
            rooms.discard(room)
            if not rooms:
                del self._rooms_of[(namespace, sid)]

    def pre_disconnect(self, sid: str, namespace: str) -> Any:
        """socketio's, with a set: its list made each disconnect of a mass close
        scan every other pending one (``sid in list``, ``list.remove``)."""
        self.pending_disconnect.setdefault(namespace, set()).add(sid)
        return self.rooms[namespace][None].get(sid)

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        """socketio's, with the socket's rooms from the index instead of a scan."""
        rooms = self._rooms_of.pop((namespace, sid), set())
        if namespace not in self.rooms:
            return
        for room in rooms:
            super().basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            waiting = pending.get(namespace)
            if waiting is not None and sid in waiting:
                waiting.remove(sid)  # a list (connect) or a set (disconnect)
                if not waiting:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        return [room for room in self._rooms_of.get((namespace, sid), ()) if room is not None]


def leave_while_disconnecting(
    server: socketio.AsyncServer, sid: str, namespace: str, room: Any
) -> None:
    """Take a socket this node is disconnecting out of ``room``, here only.

    Once a disconnect has begun, socketio no longer counts the socket as
    connected, so ``leave_room`` on a Redis manager takes it for another
    node's and publishes the leave to every node: two publishes per visitor
    disconnect, each handled by every node, and the larger part of a node's
    loop while thousands of sockets come and go (bench/failover.py).
    """
    server.manager.basic_leave_room(sid, namespace, room)
