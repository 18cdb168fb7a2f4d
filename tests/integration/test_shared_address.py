"""Many people behind one address (office NAT, school, a proxy not yet in
TRUSTED_PROXIES) are served with the default limits; IPv6 is counted per /64.

The 500 people talk to a real server process (``python -m chat_server``, so
through its connection gate too) with every limit at its shipped default;
SQLite; real websockets. Rasa is absent, so bot replies are "unavailable" —
what matters here is that every message is accepted and stored.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.conftest import base, start_server
from tests.integration.helpers import stored_messages
from tests.support.raw_engineio import RawSocket
from tests.support.server_process import chat_server_process

PEOPLE = 500


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"


async def person(
    http: aiohttp.ClientSession,
    url: str,
    n: int,
    all_done: asyncio.Event,
    everyone_spoke: asyncio.Event,
    results: dict[int, Any],
) -> None:
    """One person: opens the page (a socket), gets a session, says something, stays."""
    sock = await RawSocket.open(http, url)
    try:
        await sock.join()
        await sock.emit("session_request", {"session_id": None})
        session = await sock.wait_for("session_confirm")
        await sock.emit(
            "user_uttered",
            {"message": f"hello from person {n}", "session_id": session["session_id"]},
            ack=1,
        )
        results[n] = await sock.wait_for_ack(1, seconds=120)
        if len(results) == PEOPLE:
            everyone_spoke.set()
        await all_done.wait()  # everyone stays connected until all have spoken
    finally:
        await sock.close()


@pytest.mark.slow
async def test_500_people_behind_one_address_are_all_served_with_default_limits(
    tmp_path: Path,
) -> None:
    with chat_server_process(tmp_path) as srv:
        await five_hundred_people(srv.base, srv.database_url)


async def five_hundred_people(url: str, database_url: str) -> None:
    results: dict[int, Any] = {}
    all_done, everyone_spoke = asyncio.Event(), asyncio.Event()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        tasks = []
        for n in range(PEOPLE):
            tasks.append(
                asyncio.create_task(person(http, url, n, all_done, everyone_spoke, results))
            )
            if n % 25 == 24:
                await asyncio.sleep(0.05)  # arrivals spread a little, as in life
        # Until everyone has spoken, or someone gave up (an error).
        waiter = asyncio.create_task(everyone_spoke.wait())
        await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        all_done.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert failures == [], f"{len(failures)} people were not served: {failures[:3]}"
    refused = [r for r in results.values() if not r.get("ok")]
    assert refused == [] and len(results) == PEOPLE
    texts = {m.text for m in await stored_messages(database_url) if m.direction == "visitor"}
    assert texts == {f"hello from person {n}" for n in range(PEOPLE)}


def via_proxy(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def test_ipv6_addresses_in_one_64_share_a_bucket_and_other_64s_do_not(
    sqlite_url: str,
) -> None:
    # The test client is the trusted proxy; the forwarded addresses are the clients.
    srv = await start_server(sqlite_url, trusted_proxies="127.0.0.1", max_connections_per_ip=2)
    socks: list[RawSocket] = []
    try:
        async with aiohttp.ClientSession() as http:
            # Two addresses of one /64 fill its two places...
            for address in ("2001:db8:1:2::a", "2001:db8:1:2:ffff:ffff:ffff:fffe"):
                socks.append(await RawSocket.open(http, base(srv), via_proxy(address)))
            # ...so a third address in that /64 is refused,
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await RawSocket.open(http, base(srv), via_proxy("2001:db8:1:2::77"))
            assert refused.value.status == 401
            # while the neighbouring /64 and an IPv4 client have their own places.
            for address in ("2001:db8:1:3::a", "2001:db8:1:3::b", "198.51.100.7"):
                socks.append(await RawSocket.open(http, base(srv), via_proxy(address)))
            # An IPv4-mapped IPv6 address is that IPv4 address: one place left of two.
            socks.append(await RawSocket.open(http, base(srv), via_proxy("::ffff:198.51.100.7")))
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await RawSocket.open(http, base(srv), via_proxy("198.51.100.7"))
            for sock in socks:
                await sock.close()
    finally:
        await srv.close()
