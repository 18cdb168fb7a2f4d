"""PostgreSQL briefly unreachable (the network to it cut, the real server
behind): clear errors, nothing stored twice or lost, recovery without a restart."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from chat_server.db.availability import AVAILABILITY, describe
from chat_server.db.engine import create_engine, is_unavailable
from tests.integration.conftest import ADMIN_TOKEN, base, start_server
from tests.integration.helpers import stored_messages
from tests.support import pg_cluster
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
        texts = [
            m.text
            for m in await stored_messages(url, visitor.visitor_id)
            if m.direction == "visitor"
        ]
        assert texts == ["before the outage", "during the outage"]


# -- PostgreSQL shutting down (a cluster of the test's own) ------------------------


def outage_lines(caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str]]:
    """(outage lines, recovery lines) the chat server logged."""
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "chat_server.database" and r.levelno >= logging.WARNING
    ]
    return (
        [m for m in lines if m.startswith("database unavailable")],
        [m for m in lines if m.startswith("database available again")],
    )


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.exc_info and r.name.startswith("chat_server")
    ]


async def terminate_other_sessions(held: asyncpg.Connection) -> None:
    """End every client session but ``held``, as a shutdown or a failover does."""
    await held.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
    )


@pytest.mark.skipif(not pg_cluster.available(), reason="PostgreSQL 15 server binaries")
async def test_postgres_shutting_down_then_stopped_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """PostgreSQL "shutting down" (57P03) is an outage like any
    other: the visitor is told ``unavailable`` (never ``internal_error``), the
    widget's resend is stored once after the restart, and the log holds one
    outage line, one recovery line and no traceback."""
    caplog.set_level(logging.INFO)
    AVAILABILITY.down_since = None  # another test's outage is not this one's
    async with pg_cluster.PgCluster() as cluster:
        srv = await start_server(cluster.url(), unanswered_sweep_seconds=1)
        visitor = Visitor(rapport=True)
        try:
            await visitor.connect(base(srv))
            assert (await send(visitor, "before the shutdown", "client-0001"))["ok"]

            # A smart shutdown waits for the last session (held here) and refuses
            # new ones with 57P03; the server's own sessions are ended, so it
            # must reconnect and meets "the database system is shutting down".
            held = await asyncpg.connect(cluster.url(driver="asyncpg").replace("+asyncpg", ""))
            await cluster.stop("smart", wait=False)
            await terminate_other_sessions(held)
            refused = await send(visitor, "during the shutdown", "client-0002")
            assert refused["ok"] is False
            assert refused["code"] == "unavailable", refused  # main: internal_error
            assert refused["retry_after"] >= 1

            await cluster.stop("fast")  # ends the held session too: down
            refused = await send(visitor, "during the shutdown", "client-0002")
            assert refused["code"] == "unavailable", refused
            await asyncio.sleep(2)  # the server polls the database meanwhile
            await cluster.start()

            deadline = asyncio.get_running_loop().time() + 30
            while not (ack := await send(visitor, "during the shutdown", "client-0002"))["ok"]:
                assert asyncio.get_running_loop().time() < deadline, ack
                await asyncio.sleep(0.5)
            while not outage_lines(caplog)[1]:  # the recovery is noticed by a poll
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.2)
        finally:
            await visitor.close()
            await srv.close()
        texts = [
            m.text
            for m in await stored_messages(cluster.url(), visitor.visitor_id)
            if m.direction == "visitor"
        ]
        assert texts == ["before the shutdown", "during the shutdown"]
    assert "internal_error" not in str(visitor.log)
    down, up = outage_lines(caplog)
    assert len(down) == 1 and len(up) == 1, (down, up)
    assert "57P03" in down[0] or "57P01" in down[0] or "08" in down[0], down
    assert tracebacks(caplog) == []


@pytest.mark.skipif(not pg_cluster.available(), reason="PostgreSQL 15 server binaries")
async def test_real_server_errors_of_an_outage_are_unavailable() -> None:
    """The errors a real PostgreSQL answers while going away, as SQLAlchemy raises them."""
    async with pg_cluster.PgCluster() as cluster:
        engine = create_engine(cluster.url())
        held = await asyncpg.connect(cluster.url().replace("+asyncpg", ""))
        errors: list[BaseException] = []
        try:
            # 25006: a read-only transaction (a standby, a demoted primary).
            async with engine.connect() as conn:
                await conn.execute(text("SET TRANSACTION READ ONLY"))
                with pytest.raises(DBAPIError) as read_only:
                    await conn.execute(text("CREATE TABLE t (i int)"))
                errors.append(read_only.value)
            # 53300: too many connections (for a role limited to none).
            await held.execute("CREATE ROLE limited LOGIN CONNECTION LIMIT 0")
            limited = create_engine(cluster.url().replace("postgres@", "limited@"))
            with pytest.raises(Exception) as too_many:
                async with limited.connect():
                    pass
            await limited.dispose()
            errors.append(too_many.value)
            # 57P01 in the middle of a query: fast shutdown.
            async with engine.connect() as conn:
                query = asyncio.create_task(conn.execute(text("SELECT pg_sleep(30)")))
                await asyncio.sleep(0.3)
                await cluster.stop("smart", wait=False)
                await terminate_other_sessions(held)
                with pytest.raises(Exception) as terminated:
                    await query
                errors.append(terminated.value)
            # 57P03: connecting while it shuts down.
            with pytest.raises(Exception) as shutting_down:
                async with engine.connect():
                    pass
            errors.append(shutting_down.value)
        finally:
            await held.close()
            await engine.dispose()
        codes = [describe(e) for e in errors]
        assert "25006" in codes[0] and "53300" in codes[1], codes
        assert "terminating connection" in codes[2] and "57P03" in codes[3], codes
        # main: only the too-many-connections one (raised at connect) was recognised
        assert [is_unavailable(e) for e in errors] == [True] * 4, codes
        # A bug on the same server is still a bug.
        assert not is_unavailable(read_only.value.__class__("x", {}, ValueError("bug")))
