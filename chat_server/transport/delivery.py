"""Each visitor socket gets each of its visitor's messages once, in order.

Messages reach a visitor's sockets as one internal event, ``DELIVER``, emitted
to the visitor's rooms (through Redis to every node). It never leaves the
server: the node that holds a socket intercepts it (``DeliveringManager``)
and, knowing the position the socket holds (protocol/ordering.py), sends the
next message in the form the socket speaks, drops one it already sent, or —
when the message is ahead of a gap (Redis lost it on the way, or another
node's emit is still under way) — reads what follows the position from
storage and sends that, in order. So a socket never gets a message twice
(live and again in a catch-up): rasa-webchat, which has no ids, shows no
duplicates and misses nothing, whatever the timing of ``resync``.

A plain socket's position outlives it on this node (per visitor): a
rasa-webchat that reconnects is sent, as ``bot_uttered``, what it missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import socketio

from chat_server.protocol import visitor as protocol
from chat_server.protocol.ordering import Step, advanced, plain_bot_uttered, step
from chat_server.transport.rooms import IndexedRooms

log = logging.getLogger(__name__)

# The internal event (never sent to a client).
DELIVER = "rapport:deliver"
NAMESPACE = "/"
# Messages read from storage per round of a catch-up.
FETCH_LIMIT = 500
# Plain clients' positions kept for their reconnects, per node.
REMEMBERED_VISITORS = 10_000

# (visitor id, after visitor_seq, limit) -> the `history` items numbered after it, in order.
Fetch = Callable[[str, int, int], Awaitable[list[dict[str, Any]]]]


@dataclass
class _Socket:
    visitor_id: str
    rapport: bool
    position: int
    # False while the session is starting (its history not sent yet): live
    # messages meanwhile only mark it behind.
    ready: bool = True
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # A message arrived ahead of the position while a catch-up was running.
    behind: bool = False


def deliver_event(
    visitor_id: str,
    seq: int,
    plain: dict[str, Any] | None,
    rapport_event: str,
    rapport_payload: dict[str, Any],
) -> dict[str, Any]:
    """The DELIVER payload: one stored message in both of its forms."""
    return {
        "visitor_id": visitor_id,
        "seq": seq,
        "plain": plain,
        "rapport": {"event": rapport_event, "data": rapport_payload},
    }


class Deliveries:
    """The positions of this node's visitor sockets, and the sending by them."""

    def __init__(self) -> None:
        self.server: socketio.AsyncServer | None = None
        self.fetch: Fetch | None = None
        self._sockets: dict[str, _Socket] = {}
        self._plain: OrderedDict[str, int] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    def position(self, sid: str) -> int | None:
        state = self._sockets.get(sid)
        return None if state is None else state.position

    def remembered(self, visitor_id: str) -> int | None:
        """Where this visitor's last plain socket on this node stopped, if known."""
        return self._plain.get(visitor_id)

    def begin(self, sid: str, visitor_id: str, rapport: bool, position: int) -> None:
        """The socket speaks for ``visitor_id`` and holds everything up to ``position``."""
        current = self._sockets.get(sid)
        if current is not None and current.visitor_id == visitor_id:
            current.rapport = rapport
            current.position = max(current.position, position)
            return
        self._sockets[sid] = _Socket(visitor_id, rapport, position)

    def following(self, sid: str, visitor_id: str) -> bool:
        """Whether the socket already has a position for this visitor (a repeated request)."""
        state = self._sockets.get(sid)
        return state is not None and state.ready and state.visitor_id == visitor_id

    def starting(self, sid: str, visitor_id: str, rapport: bool) -> None:
        """A new session: live messages wait until ``started`` gives the position."""
        self._sockets[sid] = _Socket(visitor_id, rapport, 0, ready=False)

    def started(self, sid: str, position: int) -> None:
        """What the client holds is known (its history was sent): deliver from there."""
        state = self._sockets.get(sid)
        if state is None:
            return
        state.position = max(state.position, position)
        state.ready = True
        if state.behind:
            self.catch_up_soon(sid)

    def end(self, sid: str) -> None:
        state = self._sockets.pop(sid, None)
        if state is not None and not state.rapport:
            self._remember(state.visitor_id, state.position)

    def _remember(self, visitor_id: str, position: int) -> None:
        self._plain[visitor_id] = max(position, self._plain.get(visitor_id, 0))
        self._plain.move_to_end(visitor_id)
        while len(self._plain) > REMEMBERED_VISITORS:
            self._plain.popitem(last=False)

    # -- live -------------------------------------------------------------

    async def offer(self, sids: list[str], data: dict[str, Any]) -> None:
        """A DELIVER event for these local sockets (the visitor's rooms)."""
        seq = data.get("seq")
        if not isinstance(seq, int):
            return
        for sid in sids:
            state = self._sockets.get(sid)
            if state is None or state.visitor_id != data.get("visitor_id"):
                continue
            if not state.ready or state.lock.locked():
                # Starting, a catch-up reading storage, or another message being
                # sent: whoever holds the socket reads on after it (below, in
                # catch_up, or in started).
                state.behind = True
                continue
            async with state.lock:
                action = step(state.position, seq)
                if action is Step.SEND:
                    state.position = seq
                    await self._send_live(sid, state, data)
            if action is Step.FETCH or state.behind:
                # A gap, or a message that arrived while this one was being
                # sent (with none after it, nothing else would fetch it).
                self.catch_up_soon(sid)

    async def _send_live(self, sid: str, state: _Socket, data: dict[str, Any]) -> None:
        if state.rapport:
            rapport = data.get("rapport") or {}
            await self._emit(str(rapport.get("event")), rapport.get("data"), sid)
        elif data.get("plain") is not None:
            await self._emit(protocol.BOT_UTTERED, data["plain"], sid)

    # -- from storage -----------------------------------------------------

    def catch_up_soon(self, sid: str) -> None:
        task = asyncio.get_running_loop().create_task(self.catch_up(sid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop catch-ups in flight (server shutdown), before the engine goes:
        none may hold a database connection past its disposal."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def catch_up_all(self) -> None:
        """Live delivery had a gap (Redis was away): every local socket reads on."""
        for sid in list(self._sockets):
            self.catch_up_soon(sid)

    async def catch_up(self, sid: str, *, reply: bool = False) -> None:
        """Send the socket, in order, every message after its position.

        ``reply``: a Rapport socket asked (session_request), so it gets a
        ``history`` even when there is nothing new (it says where it stands).
        The position is what this socket was sent, whatever the client says.
        """
        state = self._sockets.get(sid)
        if state is None or self.fetch is None or not state.ready:
            return
        async with state.lock:
            while True:
                state.behind = False
                after = state.position
                try:
                    items = await self.fetch(state.visitor_id, after, FETCH_LIMIT)
                except Exception:  # storage away: the next message or resync tries again
                    log.warning("catch-up for a visitor socket failed", exc_info=True)
                    return
                if self._sockets.get(sid) is not state:
                    return  # gone, or now another visitor (forgotten)
                state.position = advanced(after, items)
                if state.rapport:
                    if items or reply:
                        await self._emit(
                            protocol.HISTORY,
                            {"messages": items, "after_seq": after, "through_seq": state.position},
                            sid,
                        )
                        reply = False
                else:
                    for item in items:
                        plain = plain_bot_uttered(item)
                        if plain is not None:
                            await self._emit(protocol.BOT_UTTERED, plain, sid)
                if not state.behind and len(items) < FETCH_LIMIT:
                    return

    async def _emit(self, event: str, data: Any, sid: str) -> None:
        if self.server is None:
            raise RuntimeError("Deliveries used before the server was set")
        await self.server.emit(event, data, to=sid, namespace=NAMESPACE, ignore_queue=True)


class DeliveringManager(IndexedRooms):
    """The client manager's last step before sockets: DELIVER goes through Deliveries.

    The Redis fan-out subclasses it too (transport/cluster.py), so the event is
    intercepted on every node, for that node's sockets.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deliveries = Deliveries()

    def set_server(self, server: socketio.AsyncServer) -> None:
        super().set_server(server)
        self.deliveries.server = server

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if event == DELIVER:
            if (namespace or NAMESPACE) == NAMESPACE and isinstance(data, dict):
                sids = [sid for sid, _ in self.get_participants(NAMESPACE, to or room)]
                await self.deliveries.offer(sids, data)
            return
        await super().emit(
            event,
            data,
            namespace=namespace,
            room=room,
            skip_sid=skip_sid,
            callback=callback,
            to=to,
            **kwargs,
        )
