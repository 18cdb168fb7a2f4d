"""The outbound destination guard (chat_server/services/destinations.py): the
address table in every spelling, and the aiohttp resolver adapter that looks a
host up once, checks every answer and dials only those — with a fake lookup.
Connections go to loopback listeners only; a "public" answer is asserted at
the resolve step and never dialled."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from chat_server.services.destinations import (
    DestinationRefused,
    IPAddress,
    PinnedResolver,
    check_url,
    check_url_literal,
    is_public_destination,
    literal_address,
    pinned_connector,
    refusal,
    why_refused,
)

PUBLIC = "93.184.215.14"  # never dialled: only ever asserted at the resolve step

# (address, public?) — every special range in both families, in every spelling
# that embeds an IPv4 address.
TABLE = [
    # IPv4
    ("93.184.215.14", True),
    ("8.8.8.8", True),
    ("1.1.1.1", True),
    ("0.0.0.0", False),  # noqa: S104 - an address judged, not bound
    ("0.1.2.3", False),
    ("10.0.0.1", False),
    ("100.64.0.1", False),  # carrier-grade NAT
    ("100.127.255.254", False),
    ("127.0.0.1", False),
    ("127.255.255.254", False),
    ("169.254.169.254", False),  # cloud metadata
    ("172.16.0.1", False),
    ("172.31.255.255", False),
    ("192.0.0.9", False),
    ("192.0.2.1", False),  # documentation
    ("192.88.99.1", False),
    ("192.168.1.1", False),
    ("198.18.0.1", False),  # benchmarking
    ("198.19.255.255", False),
    ("198.51.100.7", False),
    ("203.0.113.9", False),
    ("224.0.0.1", False),  # multicast (is_global on 3.11)
    ("239.255.255.250", False),
    ("240.0.0.1", False),
    ("255.255.255.255", False),
    ("172.32.0.1", True),  # just outside 172.16/12
    ("100.128.0.1", True),  # just outside 100.64/10
    # IPv6 of its own
    ("2606:4700:4700::1111", True),
    ("2a00:1450:4001::200e", True),
    ("::", False),
    ("::1", False),
    ("fe80::1", False),
    ("fe80::1%2", False),
    ("fc00::1", False),
    ("fd00:ec2::254", False),  # AWS metadata over IPv6
    ("fec0::1", False),  # site-local (is_global on 3.11)
    ("ff02::1", False),
    ("ff0e::1", False),
    ("2001:db8::1", False),
    ("3fff::1", False),  # documentation since RFC 9637 (is_global on 3.11)
    ("100::1", False),
    ("5f00::1", False),
    ("2001:2::1", False),
    ("2001:10::1", False),
    ("64:ff9b:1::a00:1", False),  # local-use NAT64 (is_global on 3.11)
    ("64:ff9b:1::808:808", False),
    # IPv4-mapped
    ("::ffff:127.0.0.1", False),
    ("::ffff:7f00:1", False),
    ("::ffff:169.254.169.254", False),
    ("::ffff:10.0.0.1", False),
    ("::ffff:8.8.8.8", True),
    # IPv4-translated (SIIT)
    ("::ffff:0:7f00:1", False),
    ("::ffff:0:808:808", True),
    # IPv4-compatible: [::127.0.0.1] (is_global on 3.11)
    ("::127.0.0.1", False),
    ("::7f00:1", False),
    ("::10.0.0.1", False),
    ("::a9fe:a9fe", False),
    ("::0.0.0.2", False),
    ("::8.8.8.8", True),
    # NAT64 well-known prefix: judged by the embedded address (DNS64 makes these)
    ("64:ff9b::a9fe:a9fe", False),
    ("64:ff9b::127.0.0.1", False),
    ("64:ff9b::10.1.2.3", False),
    ("64:ff9b::100.64.0.1", False),
    ("64:ff9b::8.8.8.8", True),
    # 6to4: the router's IPv4 address in bits 16-48
    ("2002:7f00:1::1", False),
    ("2002:c0a8:101::1", False),
    ("2002:a9fe:a9fe::", False),
    ("2002:0808:0808::1", True),
    # Teredo: the client's IPv4 address, inverted, in the last 32 bits
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", False),  # client 10.0.0.1
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # client 127.0.0.1
    ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", True),  # client 8.8.8.8
]


@pytest.mark.parametrize(("address", "public"), TABLE)
def test_every_special_range_and_embedding_is_judged(address: str, public: bool) -> None:
    ip = ipaddress.ip_address(address)
    assert is_public_destination(ip) is public, why_refused(ip)
    if not public:
        assert refusal(ip, allow_private=False)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7F.0.0.0x1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("0", "0.0.0.0"),  # noqa: S104
        ("[::127.0.0.1]", "::7f00:1"),
        ("::ffff:7f00:1", "::ffff:7f00:1"),
        ("example.com", None),
        ("256.1.1.1", None),
        ("1.2.3.256x", None),
        ("08.1.1.1", None),  # not octal: a name (whatever it resolves to is checked)
        ("0x100.1", None),
        ("1e3", None),
    ],
)
def test_address_literals_in_every_spelling(host: str, address: str | None) -> None:
    found = literal_address(host)
    assert (str(found) if found else None) == address


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://[::127.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "https://[::ffff:169.254.169.254]:8443/x",
    ],
)
def test_send_time_literal_check_needs_no_dns(url: str) -> None:
    with pytest.raises(DestinationRefused, match="non-public"):
        check_url_literal(url, allow_private=False)


def test_private_networks_allowed_on_request_but_never_metadata_or_link_local() -> None:
    for allowed in ("127.0.0.1", "10.0.0.1", "::1", "fd12::1", "::ffff:192.168.1.1"):
        assert refusal(ipaddress.ip_address(allowed), allow_private=True) is None, allowed
    never = ("169.254.169.254", "fe80::1", "0.0.0.0", "::", "224.0.0.1")  # noqa: S104
    for refused in (*never, "64:ff9b::a9fe:a9fe", "fd00:ec2::254"):
        assert refusal(ipaddress.ip_address(refused), allow_private=True), refused


class FakeDNS:
    """The lookup seam: scripted answers, counted calls, no network."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = [[ipaddress.ip_address(a) for a in answer] for answer in answers]
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.calls.append((host, port))
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


async def test_the_resolver_returns_exactly_the_checked_public_answers() -> None:
    dns = FakeDNS([PUBLIC, "2606:4700:4700::1111"])
    resolved = await PinnedResolver(False, dns).resolve("hooks.example.com", 443, socket.AF_UNSPEC)
    assert [(r["host"], r["port"], r["hostname"]) for r in resolved] == [
        (PUBLIC, 443, "hooks.example.com"),
        ("2606:4700:4700::1111", 443, "hooks.example.com"),
    ]
    assert all(r["flags"] & socket.AI_NUMERICHOST for r in resolved)
    assert dns.calls == [("hooks.example.com", 443)]  # looked up once
    only_v4 = await PinnedResolver(False, dns).resolve("hooks.example.com", 443, socket.AF_INET)
    assert [r["host"] for r in only_v4] == [PUBLIC]


@pytest.mark.parametrize(
    "answer",
    [
        [PUBLIC, "10.0.0.5"],
        ["10.0.0.5", PUBLIC],
        [PUBLIC, "::1"],
        [PUBLIC, "64:ff9b::a9fe:a9fe"],
        ["127.0.0.1"],
        [],
    ],
)
async def test_one_bad_answer_among_many_refuses_the_host(answer: list[str]) -> None:
    dns = FakeDNS(answer)
    with pytest.raises(DestinationRefused) as refused:
        await PinnedResolver(False, dns).resolve("hooks.example.com", 443, socket.AF_UNSPEC)
    assert "hooks.example.com" in str(refused.value)
    with pytest.raises(DestinationRefused):
        await check_url("https://hooks.example.com/h", False, dns)


@pytest.fixture
async def listener() -> AsyncIterator[tuple[int, list[str]]]:
    """A loopback HTTP listener that records every TCP connection and Host header."""
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append("connection")
        head = await reader.readuntil(b"\r\n\r\n")
        for line in head.decode().split("\r\n"):
            if line.lower().startswith("host:"):
                seen.append(line.split(":", 1)[1].strip())
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port, seen
    server.close()
    await server.wait_closed()


async def test_rebinding_to_loopback_at_connect_time_never_connects(
    listener: tuple[int, list[str]],
) -> None:
    port, seen = listener
    dns = FakeDNS([PUBLIC], ["127.0.0.1"])  # public when checked, loopback afterwards
    url = f"http://rebind.example.com:{port}/hook"
    await check_url(url, False, dns)  # the save-time answer is public: accepted
    async with aiohttp.ClientSession(connector=pinned_connector(False, dns)) as http:
        with pytest.raises(DestinationRefused, match=r"127\.0\.0\.1"):
            await http.post(url, data=b"{}")
    assert seen == []  # the loopback listener got no connection at all
    assert len(dns.calls) == 2  # one lookup at save, one for the connection


async def test_private_allowed_still_pins_and_keeps_the_host_header(
    listener: tuple[int, list[str]],
) -> None:
    port, seen = listener
    dns = FakeDNS(["127.0.0.1"], ["10.9.9.9"])  # a second lookup would not be loopback
    url = f"http://hooks.internal.test:{port}/hook"
    async with (
        aiohttp.ClientSession(connector=pinned_connector(True, dns)) as http,
        http.post(url, data=b"{}") as resp,
    ):
        assert resp.status == 204
    assert seen == ["connection", f"hooks.internal.test:{port}"]
    assert dns.calls == [("hooks.internal.test", port)]


def _certificates(tmp: Path, name: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for ``name`` signed by it (openssl CLI)."""

    def run(args: str, *more: str) -> None:
        command = ["openssl", *args.split(), *more]
        subprocess.run(command, check=True, capture_output=True, cwd=tmp)

    run("req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj", "/CN=CA")
    run("req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj", f"/CN={name}")
    (tmp / "ext").write_text(f"subjectAltName=DNS:{name}\n")
    run(
        "x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 1"
        " -extfile ext"
    )
    return tmp / "ca.pem", tmp / "leaf.pem", tmp / "leaf.key"


@pytest.mark.parametrize(
    ("certified", "ok"), [("hooks.internal.test", True), ("other.test", False)]
)
async def test_tls_keeps_the_server_name_and_verifies_it(
    tmp_path: Path, certified: str, ok: bool
) -> None:
    ca, cert, key = _certificates(tmp_path, certified)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    names: list[str | None] = []

    def sni(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        names.append(name)

    async def hook(request: web.Request) -> web.Response:
        return web.Response(text=request.host)

    server_ctx.sni_callback = sni
    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    port = runner.addresses[0][1]
    client_ctx = ssl.create_default_context(cafile=str(ca))
    dns = FakeDNS(["127.0.0.1"])
    try:
        async with aiohttp.ClientSession(connector=pinned_connector(True, dns)) as http:
            url = f"https://hooks.internal.test:{port}/hook"
            if ok:
                async with http.post(url, data=b"{}", ssl=client_ctx) as resp:
                    assert await resp.text() == f"hooks.internal.test:{port}"
            else:
                with pytest.raises(aiohttp.ClientConnectorCertificateError):
                    await http.post(url, data=b"{}", ssl=client_ctx)
    finally:
        await runner.cleanup()
    assert names and names[0] == "hooks.internal.test"  # SNI is the hostname, not the IP
    assert dns.calls == [("hooks.internal.test", port)]
