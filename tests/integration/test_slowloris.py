"""Slow clients cannot exhaust the server: a real slowloris against a real
chat-server process (``python -m chat_server``), and a slow request body.

The server runs with a small open-file limit (256) and small settings, so the
attack that took 20,000 descriptors in production takes seconds here.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import psutil
import pytest

from chat_server.http.connections import ACCEPT_BACKLOG, ACCEPT_BURSTS
from tests.integration.conftest import base, start_server
from tests.support.server_process import chat_server_process

FILE_LIMIT = 256
RESERVE = 16
HANDSHAKING = 64
SLOW_CLIENTS = 400
# What the server may hold: below its descriptor limit, less the reserve and
# the sockets accepted but not yet seen (48 here).
BUDGET = FILE_LIMIT - RESERVE - ACCEPT_BURSTS * ACCEPT_BACKLOG


def small_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, psutil.Process]]:
    settings = {
        "HTTP_HEADER_TIMEOUT_SECONDS": "3",
        "HTTP_MAX_HANDSHAKING": str(HANDSHAKING),
        "HTTP_MAX_HANDSHAKING_PER_IP": "48",
        "HTTP_FD_RESERVE": str(RESERVE),
    }
    with chat_server_process(tmp_path, settings, preexec_fn=small_file_limit) as srv:
        yield srv.port, psutil.Process(srv.pid)
    server_log = srv.log.read_text()
    # Thousands of refusals, but the log stays short (no line per connection),
    # and the process never ran out of descriptors.
    assert len(server_log.splitlines()) < 50, server_log[-3000:]
    assert "Too many open files" not in server_log


async def slow_client(port: int, stop: asyncio.Event, closed_by_server: list[int]) -> None:
    """Opens a connection and sends a request head one byte a second, forever."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        closed_by_server.append(1)
        return
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        head = b"X-Slow: " + b"a" * 1000
        for byte in head:
            if stop.is_set():
                return
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                # Anything (or EOF) from the server before our head is done: cut off.
                await asyncio.wait_for(reader.read(1), 1.0)
                closed_by_server.append(1)
                return
            except TimeoutError:
                pass
    except OSError:
        closed_by_server.append(1)
    finally:
        writer.close()


def server_connections(proc: psutil.Process, port: int) -> int:
    return sum(
        1
        for c in proc.net_connections("tcp")
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )


@pytest.mark.slow
async def test_a_slowloris_flood_leaves_health_checks_answered_and_connections_bounded(
    server: tuple[int, psutil.Process],
) -> None:
    port, proc = server
    stop = asyncio.Event()
    closed_by_server: list[int] = []
    attackers = []
    for _ in range(SLOW_CLIENTS):
        attackers.append(asyncio.create_task(slow_client(port, stop, closed_by_server)))
        await asyncio.sleep(0.01)
    peak = 0
    answered = 0
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(20):  # 10 s of attack: longer than the header timeout
                async with http.get(
                    f"http://127.0.0.1:{port}/healthz", timeout=aiohttp.ClientTimeout(total=5)
                ) as resp:
                    assert resp.status == 200
                    answered += 1
                peak = max(peak, server_connections(proc, port))
                assert proc.num_fds() < FILE_LIMIT
                await asyncio.sleep(0.5)
    finally:
        stop.set()
        await asyncio.gather(*attackers, return_exceptions=True)
    assert answered == 20
    # The server held at most its budget of slow clients (plus the health check),
    assert peak <= min(HANDSHAKING, BUDGET) + 2, peak
    # and hung up on every slow client it had accepted.
    assert len(closed_by_server) == SLOW_CLIENTS


async def test_a_request_body_sent_slowly_is_cut_off(tmp_path: Path) -> None:
    srv = await start_server(
        f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", http_body_timeout_seconds=1
    )
    try:
        host, port = srv.host, srv.port
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        await writer.drain()
        status_line = b""
        for _ in range(30):  # one byte a second: never 100 bytes in time
            try:
                status_line = await asyncio.wait_for(reader.readline(), 1.0)
                break
            except TimeoutError:
                writer.write(b" ")
                await writer.drain()
        writer.close()
        assert status_line.startswith(b"HTTP/1.1 408"), status_line
        # A body that arrives in time is served as before.
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                base(srv) + "/api/auth/login", json={"username": "nobody", "password": "x" * 12}
            ) as resp,
        ):
            assert resp.status == 401
    finally:
        await srv.close()
