"""The room index answers as socketio's own scan does, and a disconnect leaves no trace."""

from __future__ import annotations

import random

import socketio

from chat_server.transport.rooms import IndexedRooms

NS = "/"


def managers() -> tuple[IndexedRooms, socketio.AsyncManager]:
    return IndexedRooms(), socketio.AsyncManager()


def test_random_joins_leaves_and_disconnects_agree_with_socketio() -> None:
    rng = random.Random(7)  # noqa: S311 (a reproducible sequence, not a secret)
    indexed, stock = managers()
    live: list[str] = []
    for step in range(3_000):
        action = rng.random()
        if action < 0.3 or not live:
            sid = f"s{step}"
            for m in (indexed, stock):
                m.basic_enter_room(sid, NS, None, eio_sid=f"e{step}")
                m.basic_enter_room(sid, NS, sid, eio_sid=f"e{step}")
            live.append(sid)
        elif action < 0.6:
            sid, room = rng.choice(live), f"v{rng.randrange(40)}"
            for m in (indexed, stock):
                m.basic_enter_room(sid, NS, room)
        elif action < 0.8:
            sid, room = rng.choice(live), f"v{rng.randrange(40)}"
            for m in (indexed, stock):
                m.basic_leave_room(sid, NS, room)
        else:
            sid = live.pop(rng.randrange(len(live)))
            for m in (indexed, stock):
                m.pre_disconnect(sid, NS)
            # Between the two steps the socket no longer counts as connected.
            assert indexed.is_connected(sid, NS) is stock.is_connected(sid, NS) is False
            for m in (indexed, stock):
                m.basic_disconnect(sid, NS)
        if step % 97 == 0:
            assert indexed.rooms == stock.rooms
            for sid in live:
                assert sorted(indexed.get_rooms(sid, NS)) == sorted(stock.get_rooms(sid, NS))
    assert indexed.rooms == stock.rooms
    assert indexed.pending_disconnect == stock.pending_disconnect == {}


def test_the_last_disconnect_empties_everything() -> None:
    indexed = IndexedRooms()
    indexed.basic_enter_room("a", NS, None, eio_sid="ea")
    indexed.basic_enter_room("a", NS, "a", eio_sid="ea")
    indexed.basic_enter_room("a", NS, "visitor-1")
    indexed.basic_disconnect("a", NS)
    assert indexed.rooms == {}
    assert indexed._rooms_of == {}
    assert indexed.get_rooms("a", NS) == []
