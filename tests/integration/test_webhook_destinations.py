"""Webhook destinations (SSRF) through the real server: every non-global
spelling refused when saved, DNS rebinding between the check and the
connection, a redirect, and WEBHOOK_ALLOW_PRIVATE still pinning.

No traffic leaves this machine: the event loop's ``getaddrinfo`` is a scripted
fake DNS (numeric hosts only otherwise, never a real query), and a tripwire on
the loop's ``sock_connect`` refuses — and records — any dial to a non-loopback
address, so a "public" answer is seen at the connect step, never reached.
Receivers listen on 127.0.0.1 and count raw TCP connections."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.integration.conftest import ADMIN_TOKEN, base, start_server

OPERATOR = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PUBLIC = "93.184.215.14"  # what the fake DNS says first; the tripwire stops any dial


class Network:
    """Fake DNS (scripted answers per name, by call number) and a dial tripwire."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []
        self.blocked: list[str] = []  # non-loopback addresses something tried to dial
        loop = asyncio.get_running_loop()
        real_getaddrinfo, real_connect = loop.getaddrinfo, loop.sock_connect

        async def getaddrinfo(host: Any, port: Any, *args: Any, **kw: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else str(host)
            script = self.answers.get(name)
            if script is None:  # numeric hosts only: never a real DNS query
                kw["flags"] = kw.get("flags", 0) | socket.AI_NUMERICHOST
                return await real_getaddrinfo(host, port, *args, **kw)
            self.lookups.append(name)
            answer = script[min(len(self.lookups_of(name)), len(script)) - 1]
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, int(port)) if ":" not in a else (a, int(port), 0, 0),
                )
                for a in answer
            ]

        async def sock_connect(sock: socket.socket, address: Any) -> None:
            if not ipaddress.ip_address(address[0]).is_loopback:
                self.blocked.append(address[0])
                raise ConnectionRefusedError(111, "tripwire: off-machine dial refused")
            await real_connect(sock, address)

        monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(loop, "sock_connect", sock_connect)

    def lookups_of(self, name: str) -> list[str]:
        return [n for n in self.lookups if n == name]


class Listener:
    """A loopback HTTP listener counting raw TCP connections (and requests)."""

    def __init__(self, status: int = 204, headers: str = "") -> None:
        self.connections = 0
        self.hosts: list[str] = []
        self._reply = f"HTTP/1.1 {status} X\r\n{headers}Content-Length: 0\r\n\r\n".encode()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            for line in head.decode().split("\r\n"):
                if line.lower().startswith("host:"):
                    self.hosts.append(line.split(":", 1)[1].strip())
            length = [ln for ln in head.decode().lower().split("\r\n") if "content-length" in ln]
            if length:
                await reader.readexactly(int(length[0].split(":")[1]))
            writer.write(self._reply)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    async def __aenter__(self) -> Listener:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
async def network(monkeypatch: pytest.MonkeyPatch) -> Network:
    return Network(monkeypatch)


def server_with(private: bool) -> Callable[[str], Awaitable[TestServer]]:
    async def start(database_url: str) -> TestServer:
        return await start_server(
            database_url, webhook_allow_private=private, webhook_retry_base_seconds=0.3
        )

    return start


@pytest.fixture
async def guarded(database_url: str, network: Network) -> AsyncIterator[TestServer]:
    srv = await server_with(False)(database_url)
    yield srv
    await srv.close()


@pytest.fixture
async def private_ok(database_url: str, network: Network) -> AsyncIterator[TestServer]:
    srv = await server_with(True)(database_url)
    yield srv
    await srv.close()


async def api(srv: TestServer, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{base(srv)}{path}", json=body, headers=OPERATOR) as resp,
    ):
        return resp.status, await resp.json()


async def ping(srv: TestServer, url: str) -> int:
    status, data = await api(srv, "POST", "/api/webhooks", {"url": url, "topics": ["csat"]})
    assert status == 201, data
    webhook_id = int(data["webhook"]["id"])
    status, _ = await api(srv, "POST", f"/api/webhooks/{webhook_id}/test")
    assert status == 202
    return webhook_id


async def delivery_when(
    srv: TestServer, webhook_id: int, done: Callable[[dict[str, Any]], bool], within: float = 15
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        _, data = await api(srv, "GET", f"/api/webhooks/{webhook_id}/deliveries")
        [delivery] = data["deliveries"]
        if done(delivery) or time.monotonic() > deadline:
            return dict(delivery)
        await asyncio.sleep(0.05)


SPELLINGS = [
    ("http://127.0.0.1/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://017700000001/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://0x7f.1/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://127.0.0.1./", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[::127.0.0.1]/", "embeds 127.0.0.1"),
    ("http://[::ffff:127.0.0.1]/", "embeds 127.0.0.1"),
    ("http://[::ffff:0:7f00:1]/", "embeds 127.0.0.1"),
    ("http://[64:ff9b::a9fe:a9fe]/latest/meta-data", "embeds 169.254.169.254"),
    ("http://[64:ff9b::10.0.0.1]/", "embeds 10.0.0.1"),
    ("http://[64:ff9b:1::a00:1]/", "local-use NAT64"),
    ("http://[2002:7f00:1::1]/", "embeds 127.0.0.1"),
    ("http://[2002:c0a8:101::1]/", "embeds 192.168.1.1"),
    ("http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/", "embeds 10.0.0.1"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fd00:ec2::254]/", "unique local"),
    ("http://[fec0::1]/", "site-local"),
    ("http://[ff02::1]/", "multicast"),
    ("http://[::]/", "unspecified"),
    ("http://[2001:db8::1]/", "documentation"),
    ("http://[3fff::1]/", "documentation"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://10.1.2.3/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.0.1/", "private"),
    ("http://169.254.169.254/", "link-local"),
    ("http://100.64.0.1/", "carrier-grade NAT"),
    ("http://198.18.0.1/", "benchmarking"),
    ("http://192.0.2.1/", "documentation"),
    ("http://203.0.113.1/", "documentation"),
    ("http://224.0.0.1/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("https://mixed.example.com/hook", "10.0.0.5"),  # one private answer among public ones
    ("https://nat64.example.com/hook", "embeds 169.254.169.254"),  # a DNS64-style answer
]


async def test_every_non_global_spelling_is_refused_when_saved(
    guarded: TestServer, network: Network
) -> None:
    network.answers["mixed.example.com"] = [[PUBLIC, "10.0.0.5"]]
    network.answers["nat64.example.com"] = [["64:ff9b::a9fe:a9fe"]]
    accepted, unclear = [], []
    for url, says in SPELLINGS:
        status, error = await api(
            guarded, "POST", "/api/webhooks", {"url": url, "topics": ["csat"]}
        )
        if status != 400:
            accepted.append(url)
        elif "non-public" not in error["message"] or says not in error["message"]:
            unclear.append((url, error["message"]))
    assert accepted == [], f"accepted: {accepted}"
    assert unclear == [], unclear
    _, listed = await api(guarded, "GET", "/api/webhooks")
    assert listed["webhooks"] == []
    assert network.blocked == []


@pytest.mark.parametrize("rebound", [["127.0.0.1"], [PUBLIC, "127.0.0.1"]])
async def test_dns_rebinding_after_the_check_never_reaches_loopback(
    guarded: TestServer, network: Network, rebound: list[str]
) -> None:
    # Public for the first two lookups, then rebound to this machine. Two
    # separate lookups (check, then connect) end up on loopback; one pinned
    # lookup per connection cannot.
    async with Listener() as listener:
        network.answers["rebind.example.com"] = [[PUBLIC], [PUBLIC], rebound]
        webhook_id = await ping(guarded, f"http://rebind.example.com:{listener.port}/hook")
        delivery = await delivery_when(
            guarded,
            webhook_id,
            lambda d: d["status"] != "pending" or "127.0.0.1" in (d["last_error"] or ""),
        )
    assert listener.connections == 0, "a rebound name reached a loopback listener"
    assert delivery["status"] == "pending" and delivery["last_status"] is None
    assert "resolves to 127.0.0.1" in delivery["last_error"]
    assert "loopback" in delivery["last_error"]
    # What was dialled is exactly what was checked: the public answer, and only
    # the tripwire stood between it and the network.
    assert set(network.blocked) == {PUBLIC}


async def test_a_redirect_is_a_failed_delivery_and_never_followed(
    private_ok: TestServer, network: Network
) -> None:
    async with Listener() as target:
        moved = f"Location: http://127.0.0.1:{target.port}/internal\r\n"
        async with Listener(302, moved) as hook:
            webhook_id = await ping(private_ok, f"http://127.0.0.1:{hook.port}/hook")
            delivery = await delivery_when(private_ok, webhook_id, lambda d: d["attempts"] >= 1)
    assert hook.connections >= 1
    assert target.connections == 0
    assert delivery["status"] == "pending" and delivery["last_status"] == 302
    assert "redirects are not followed" in delivery["last_error"]
    assert f"127.0.0.1:{target.port}/internal" in delivery["last_error"]


async def test_private_allowed_still_pins_and_never_reaches_metadata(
    private_ok: TestServer, network: Network
) -> None:
    # Cloud metadata stays refused with private networks allowed, when saved...
    network.answers["metadata.internal.test"] = [["169.254.169.254"]]
    status, error = await api(
        private_ok,
        "POST",
        "/api/webhooks",
        {"url": "http://metadata.internal.test/latest", "topics": ["csat"]},
    )
    assert status == 400 and "link-local" in error["message"], error
    async with Listener() as listener:
        # An internal receiver by name: delivered to the address looked up,
        # with the name in the Host header.
        network.answers["hooks.internal.test"] = [["127.0.0.1"]]
        good = await ping(private_ok, f"http://hooks.internal.test:{listener.port}/hook")
        delivered = await delivery_when(private_ok, good, lambda d: d["status"] == "delivered")
        # ...and when a name saved as internal later points at it: refused on
        # the very answer the connection would use.
        network.answers["meta.internal.test"] = [["127.0.0.1"]]
        status, data = await api(
            private_ok,
            "POST",
            "/api/webhooks",
            {"url": f"http://meta.internal.test:{listener.port}/latest", "topics": ["csat"]},
        )
        assert status == 201, data
        network.answers["meta.internal.test"] = [["169.254.169.254"]]
        bad = int(data["webhook"]["id"])
        assert (await api(private_ok, "POST", f"/api/webhooks/{bad}/test"))[0] == 202
        refused = await delivery_when(private_ok, bad, lambda d: d["attempts"] >= 1)
    assert delivered["status"] == "delivered", delivered
    assert listener.hosts == [f"hooks.internal.test:{listener.port}"]
    assert network.blocked == [], "the metadata address was dialled"
    assert "169.254.169.254" in refused["last_error"] and "link-local" in refused["last_error"]
