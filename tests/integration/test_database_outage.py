"""PostgreSQL briefly unreachable (the network to it cut, the real server
behind): clear errors, nothing stored twice or lost, recovery without a restart."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.integration.conftest import ADMIN_TOKEN, base, start_server
from tests.integration.helpers import stored_messages
from tests.support.databases import PG_ADMIN_URL, PostgresDatabase
from tests.support.tcp_proxy import TcpProxy
from tests.support.visitor import Visitor

pytestmark = pytest.mark.postgres


async def send(visitor: Visitor, text: str, client_id: str) -> dict[str, Any]:
    ack: dict[str, Any] = await visitor.sio.call(
        "user_uttered",
        {"message": text, "session_id": visitor.session_id, "client_id": client_id},
        timeout=30,
    )
    return ack


async def test_postgres_unreachable_for_a_while() -> None:
    host_port = PG_ADMIN_URL.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    async with PostgresDatabase() as url:
        proxy = TcpProxy(host, int(port))
        await proxy.start()
        srv = await start_server(url.replace(host_port, f"127.0.0.1:{proxy.port}"))
        visitor = Visitor(rapport=True)
        try:
            await visitor.connect(base(srv))
            first = await send(visitor, "before the outage", "client-0001")
            assert first["ok"], first

            await proxy.cut()
            refused = await send(visitor, "during the outage", "client-0002")
            assert refused["ok"] is False
            assert refused["code"] == "unavailable" and refused["retry_after"] >= 1
            async with aiohttp.ClientSession() as http:
                async with http.get(base(srv) + "/healthz/details") as resp:
                    assert resp.status == 503
                    assert (await resp.json())["database"]["ok"] is False
                async with http.get(
                    base(srv) + "/api/conversations",
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                ) as resp:
                    assert resp.status == 503
                    assert (await resp.json())["error"] == "unavailable"
                    assert resp.headers["Retry-After"]

                await proxy.restore()
                # The client sends the same message again (the widget does, after retry_after).
                deadline = asyncio.get_running_loop().time() + 20
                while not (ack := await send(visitor, "during the outage", "client-0002"))["ok"]:
                    assert asyncio.get_running_loop().time() < deadline, ack
                    await asyncio.sleep(0.5)
                async with http.get(base(srv) + "/healthz/details") as resp:
                    assert (await resp.json())["database"]["ok"] is True
        finally:
            await visitor.close()
            await srv.close()
            await proxy.close()
        texts = [m.text for m in await stored_messages(url, visitor.visitor_id)
                 if m.direction == "visitor"]
        assert texts == ["before the outage", "during the outage"]
