"""One address's packets wait for its budget; other addresses' are not held
behind them (issue 21 §2-3: a flood does not slow visitors from other
addresses). Real in-process server, raw Engine.IO websockets behind a trusted
proxy (127.0.0.1) so that each side has its own address."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from chat_server import metrics
from tests.integration.conftest import base, start_server
from tests.support.raw_engineio import RawSocket

FLOOD = {"X-Forwarded-For": "198.51.100.7"}  # documentation addresses, header only
BYSTANDER = {"X-Forwarded-For": "203.0.113.9"}
PACKETS = 60


async def test_a_flooding_address_waits_for_its_budget_and_others_go_first(
    tmp_path: Path,
) -> None:
    srv = await start_server(
        f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        trusted_proxies="127.0.0.1",
        socket_packets_per_second_per_ip=20,
        socket_packet_burst_per_ip=5,
    )
    paced_before = metrics.PACKETS_PACED._value.get()
    try:
        async with aiohttp.ClientSession() as http:
            flood = await RawSocket.open(http, base(srv), FLOOD)
            await flood.join()
            # An unknown event is refused in its ack: cheap, answered, stores nothing.
            for ack in range(PACKETS):
                await flood.emit("flood", {}, ack=ack)

            bystander = await RawSocket.open(http, base(srv), BYSTANDER)
            await bystander.join()
            await bystander.emit("hello", {}, ack=1)
            assert (await bystander.wait_for_ack(1, 10))["code"] == "unknown_event"
            # The bystander was answered while the flood still waited.
            assert len(flood.acks) < PACKETS, len(flood.acks)

            # Nothing of the flood is lost: every packet is answered in turn.
            await flood.wait_for_ack(PACKETS - 1, 30)
            assert sorted(flood.acks) == list(range(PACKETS))
            assert all(a["code"] == "unknown_event" for a in flood.acks.values())
            # The join and 60 events against a burst of 5: all but the first
            # five waited (a float's width may let one more through at once),
            # less the budget that refills (20 a second) while a busy machine
            # reads the burst (seen: 51 paced under the full suite).
            paced = metrics.PACKETS_PACED._value.get() - paced_before
            assert PACKETS // 2 <= paced <= PACKETS + 1 - 5, paced
            await flood.close()
            await bystander.close()
    finally:
        await srv.close()
