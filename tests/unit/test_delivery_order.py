"""Once-only, in-order delivery to visitor sockets: the rules (protocol/ordering.py)
and the per-socket bookkeeping (transport/delivery.py) with a recording server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chat_server.protocol.ordering import Step, advanced, plain_bot_uttered, step
from chat_server.transport.delivery import Deliveries, deliver_event


@pytest.mark.parametrize(
    ("position", "seq", "expected"),
    [
        (0, 1, Step.SEND),
        (4, 5, Step.SEND),
        (5, 5, Step.SKIP),
        (5, 2, Step.SKIP),
        (5, 7, Step.FETCH),
        (0, 3, Step.FETCH),
    ],
)
def test_step(position: int, seq: int, expected: Step) -> None:
    assert step(position, seq) is expected


def test_a_catch_up_holds_everything_it_returned() -> None:
    assert advanced(3, []) == 3
    assert advanced(3, [{"seq": 4}, {"seq": 6}, {"seq": None}]) == 6


def test_stored_messages_as_a_plain_client_sees_them() -> None:
    quick = {"text": "Pick one", "quick_replies": [{"title": "A", "payload": "/a"}]}
    assert plain_bot_uttered({"direction": "bot", "text": "Pick one", "payload": quick}) == quick
    # Rapport-only markers are not for plain clients (as when sent live).
    marked = {"text": "Hi", "custom": {"type": "assistant_unavailable"}}
    item = {"direction": "bot", "text": "Hi", "payload": marked}
    assert plain_bot_uttered(item) == {"text": "Hi"}
    assert plain_bot_uttered({"direction": "agent", "text": "Sam here"}) == {"text": "Sam here"}
    assert plain_bot_uttered({"direction": "bot", "text": "plain", "payload": None}) == {
        "text": "plain"
    }
    assert plain_bot_uttered({"direction": "visitor", "text": "mine"}) is None


class Server:
    """Records what Deliveries sends, per socket."""

    def __init__(self) -> None:
        self.sent: dict[str, list[tuple[str, Any]]] = {}

    async def emit(self, event: str, data: Any, to: str, **_: Any) -> None:
        self.sent.setdefault(to, []).append((event, data))


STORED = {  # visitor_seq -> history item
    n: {"id": 100 + n, "seq": n, "direction": "agent", "text": f"m{n}"} for n in range(1, 11)
}


def live(n: int) -> dict[str, Any]:
    text = f"m{n}"
    rich = {"text": text, "message_id": 100 + n, "seq": n}
    return deliver_event("v", n, {"text": text}, "bot_uttered", rich)


def setup() -> tuple[Deliveries, Server, list[int]]:
    deliveries, server, fetched = Deliveries(), Server(), []

    async def fetch(visitor_id: str, after: int, limit: int) -> list[dict[str, Any]]:
        fetched.append(after)
        return [STORED[n] for n in sorted(STORED) if n > after][:limit]

    deliveries.server = server
    deliveries.fetch = fetch
    return deliveries, server, fetched


def texts(server: Server, sid: str) -> list[str]:
    found: list[str] = []
    for event, data in server.sent.get(sid, []):
        if event == "bot_uttered":
            found.append(data["text"])
        elif event == "history":
            found.extend(m["text"] for m in data["messages"])
    return found


async def settle(deliveries: Deliveries) -> None:
    for _ in range(20):
        await asyncio.sleep(0)
    while deliveries._tasks:
        await asyncio.gather(*list(deliveries._tasks))


async def test_live_messages_in_order_go_straight_out_once() -> None:
    deliveries, server, fetched = setup()
    deliveries.begin("plain", "v", rapport=False, position=0)
    deliveries.begin("rich", "v", rapport=True, position=0)
    for n in (1, 2, 2, 1, 3):
        await deliveries.offer(["plain", "rich"], live(n))
    await settle(deliveries)
    assert texts(server, "plain") == texts(server, "rich") == ["m1", "m2", "m3"]
    # Plain sockets get the plain form (rasa-webchat draws nothing with extra keys).
    assert server.sent["plain"][0] == ("bot_uttered", {"text": "m1"})
    assert server.sent["rich"][0][1]["seq"] == 1
    assert fetched == []


async def test_a_message_after_a_gap_brings_the_gap_from_storage_first() -> None:
    deliveries, server, fetched = setup()
    deliveries.begin("plain", "v", rapport=False, position=2)
    deliveries.begin("rich", "v", rapport=True, position=2)
    # 3 and 4 were lost between nodes; 5 arrives, then 3 and 4 come late.
    for n in (5, 3, 4, 6):
        await deliveries.offer(["plain", "rich"], live(n))
        await settle(deliveries)
    assert texts(server, "plain") == ["m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10"]
    assert texts(server, "rich") == texts(server, "plain")
    rich = [data for event, data in server.sent["rich"] if event == "history"]
    assert rich[0]["after_seq"] == 2 and rich[0]["through_seq"] == 10
    assert deliveries.position("plain") == 10
    assert fetched  # read from storage, not waited for


async def test_a_socket_starting_gets_what_arrived_meanwhile_from_storage() -> None:
    deliveries, server, _ = setup()
    deliveries.starting("s", "v", rapport=False)
    await deliveries.offer(["s"], live(9))  # arrives before its history was sent
    assert texts(server, "s") == []
    deliveries.started("s", 8)
    await settle(deliveries)
    assert texts(server, "s") == ["m9", "m10"]


async def test_a_repeated_request_is_answered_from_the_servers_position() -> None:
    deliveries, server, _ = setup()
    deliveries.begin("rich", "v", rapport=True, position=10)
    # Asked again (after `resync`): what this socket was sent is not sent again.
    await deliveries.catch_up("rich", reply=True)
    assert server.sent["rich"] == [
        ("history", {"messages": [], "after_seq": 10, "through_seq": 10})
    ]


async def test_a_plain_clients_position_outlives_its_socket() -> None:
    deliveries, _, _ = setup()
    deliveries.begin("a", "v", rapport=False, position=6)
    deliveries.end("a")
    assert deliveries.remembered("v") == 6
    deliveries.begin("b", "w", rapport=True, position=3)
    deliveries.end("b")
    assert deliveries.remembered("w") is None  # Rapport clients say where they are


async def test_other_visitors_messages_are_not_delivered() -> None:
    deliveries, server, _ = setup()
    deliveries.begin("s", "someone-else", rapport=False, position=0)
    await deliveries.offer(["s"], live(1))
    assert server.sent == {}


class SlowServer(Server):
    """Sending yields to the event loop (a socket's write buffer, a busy node)."""

    async def emit(self, event: str, data: Any, to: str, **kw: Any) -> None:
        for _ in range(3):
            await asyncio.sleep(0)
        await super().emit(event, data, to, **kw)


async def test_a_message_arriving_while_another_is_sent_is_not_left_behind() -> None:
    """Two messages for one socket at once (the visitor's own and an agent's):
    the second finds the first still being sent. It is the visitor's last
    message, so no later one would notice the gap: it must go out anyway."""
    deliveries, server = Deliveries(), SlowServer()

    async def fetch(visitor_id: str, after: int, limit: int) -> list[dict[str, Any]]:
        return [STORED[n] for n in (1, 2) if n > after][:limit]

    deliveries.server = server
    deliveries.fetch = fetch
    deliveries.begin("rich", "v", rapport=True, position=0)
    deliveries.begin("plain", "v", rapport=False, position=0)
    await asyncio.gather(
        deliveries.offer(["rich", "plain"], live(1)), deliveries.offer(["rich", "plain"], live(2))
    )
    await settle(deliveries)
    assert texts(server, "rich") == texts(server, "plain") == ["m1", "m2"]
    assert deliveries.position("rich") == deliveries.position("plain") == 2
