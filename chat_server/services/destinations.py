"""Outbound destinations the server may call (SSRF guard; docs/security.md,
"Webhooks (SSRF)").

Pure functions judge an address (``why_refused`` / ``is_public_destination``)
and a URL's host in every spelling (``literal_address``); ``PinnedResolver``
is the one aiohttp adapter: the delivery connector asks it for the addresses
of a host, it looks the host up ONCE, refuses if ANY answer is not allowed,
and returns exactly the checked addresses, so the connection goes to what was
checked (no DNS-rebinding window) while the URL — and with it the Host header,
the TLS server name (SNI) and certificate verification — stays the hostname.

Policy is written out here rather than left to ``ipaddress.is_global``, whose
answers change between Python versions (3.11 calls 224.0.0.1, 64:ff9b::/96,
2002::/16, 3fff::/20 and fec0::/10 global; 3.13 narrowed 192.0.0.0/24 and
2001::/23), and which never looks at an IPv4 address embedded in an IPv6 one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import TCPConnector
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from chat_server import errors

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> every address the host resolves to (the injectable DNS edge).
Lookup = Callable[[str, int], Awaitable[Sequence[IPAddress]]]


class DestinationRefused(errors.Invalid, ValueError):
    """A destination the server will not call; the message says why."""


_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# First match wins; anything not listed must also be ``is_global``.
REFUSED_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), "unspecified / 'this network'"),
    (_V4("10.0.0.0/8"), "private network"),
    (_V4("100.64.0.0/10"), "carrier-grade NAT"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link-local (cloud metadata)"),
    (_V4("172.16.0.0/12"), "private network"),
    (_V4("192.0.0.0/24"), "IETF protocol assignments"),
    (_V4("192.0.2.0/24"), "documentation"),
    (_V4("192.88.99.0/24"), "6to4 relay anycast"),
    (_V4("192.168.0.0/16"), "private network"),
    (_V4("198.18.0.0/15"), "benchmarking"),
    (_V4("198.51.100.0/24"), "documentation"),
    (_V4("203.0.113.0/24"), "documentation"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("240.0.0.0/4"), "reserved"),  # includes 255.255.255.255 (broadcast)
)
REFUSED_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("64:ff9b:1::/48"), "local-use NAT64"),
    (_V6("::/8"), "reserved"),  # what is left of ::/8 after the embedded forms
    (_V6("100::/64"), "discard-only"),
    (_V6("2001:db8::/32"), "documentation"),
    (_V6("2001::/23"), "IETF protocol assignments"),
    (_V6("3fff::/20"), "documentation"),
    (_V6("5f00::/16"), "segment routing"),
    (_V6("fc00::/7"), "unique local (private network)"),
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "site-local"),
    (_V6("ff00::/8"), "multicast"),
)
# Refused even when WEBHOOK_ALLOW_PRIVATE allows loopback and private networks:
# nobody runs a webhook receiver there, and cloud metadata services do.
ALWAYS_REFUSED = frozenset(
    {
        "unspecified",
        "unspecified / 'this network'",
        "link-local",
        "link-local (cloud metadata)",
        "multicast",
        "reserved",
        "discard-only",
    }
)
AWS_METADATA_V6 = ipaddress.IPv6Address("fd00:ec2::254")

_MAPPED = _V6("::ffff:0:0/96")  # IPv4-mapped
_TRANSLATED = _V6("::ffff:0:0:0/96")  # IPv4-translated (SIIT)
_COMPATIBLE = _V6("::/96")  # IPv4-compatible (deprecated), e.g. [::127.0.0.1]
_NAT64 = _V6("64:ff9b::/96")  # NAT64 well-known prefix; DNS64 synthesises these
_SIX_TO_FOUR = _V6("2002::/16")
_TEREDO = _V6("2001::/32")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a packet to ``address`` really ends up at, if any."""
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _MAPPED or address in _TRANSLATED or address in _NAT64:
        return low32
    if address in _COMPATIBLE and int(address) > 1:  # :: and ::1 are IPv6's own
        return low32
    if address in _SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF)
    if address in _TEREDO:
        return ipaddress.IPv4Address(~int(address) & 0xFFFFFFFF)  # the client, obfuscated
    return None


def why_refused(address: IPAddress) -> str | None:
    """Why ``address`` is not a public destination, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(address.compressed.split("%")[0])
        inner = embedded_ipv4(address)
        if inner is not None:
            reason = why_refused(inner)
            return f"embeds {inner}, {reason}" if reason else None
        table: Sequence[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = REFUSED_V6
    else:
        table = REFUSED_V4
    for network, reason in table:
        if address in network:
            return reason
    return None if address.is_global else "not globally routable"


def is_public_destination(address: IPAddress) -> bool:
    """Whether the server may call ``address`` with private destinations off."""
    return why_refused(address) is None


def refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why the server will not call ``address`` under this setting, or None."""
    reason = why_refused(address)
    if reason is None or not allow_private:
        return reason
    if address == AWS_METADATA_V6 or reason.split(", ")[-1] in ALWAYS_REFUSED:
        return reason
    return None


_HEX = frozenset("0123456789abcdefABCDEF")


def _ipv4_number(part: str) -> int | None:
    """One part of a legacy IPv4 spelling: decimal, 0x hex or 0-prefixed octal."""
    try:
        if part[:2].lower() == "0x":
            digits = part[2:] or "0"
            return int(digits, 16) if all(c in _HEX for c in digits) else None
        if not (part.isascii() and part.isdigit()):
            return None
        return int(part, 8) if len(part) > 1 and part.startswith("0") else int(part, 10)
    except ValueError:
        return None


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an address means, in any spelling the C
    library accepts (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``,
    ``[::127.0.0.1]``); None for a name."""
    host = host.strip("[]")
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(parts):
        return None
    numbers = [_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    *head, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def split_url(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL; refuses anything else."""
    # yarl, as aiohttp itself parses it: the host judged is the host dialled.
    try:
        parsed = URL(url)
        host, port = parsed.raw_host, parsed.port
    except (ValueError, TypeError):
        raise DestinationRefused("the URL is not valid") from None
    if parsed.scheme not in ("http", "https") or not host or port is None:
        raise DestinationRefused("the URL must be http:// or https:// with a host")
    return host, port


ALLOW_HINT = "set WEBHOOK_ALLOW_PRIVATE=true to allow private networks"


def check_addresses(host: str, addresses: Sequence[IPAddress], allow_private: bool) -> None:
    """Refuse if ANY address is not allowed (one bad answer among many is enough)."""
    if not addresses:
        raise DestinationRefused(f"{host} does not resolve")
    for address in addresses:
        reason = refusal(address, allow_private)
        if reason is not None:
            hint = f"; {ALLOW_HINT}" if refusal(address, True) is None else ""
            shown = f"{host} resolves to {address}" if str(address) != host else str(address)
            raise DestinationRefused(f"{shown}: a non-public address ({reason}){hint}")


async def system_lookup(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for ``host`` (TCP)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise DestinationRefused(f"{host} does not resolve") from None
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found


async def resolve_checked(
    host: str, port: int, allow_private: bool, lookup: Lookup = system_lookup
) -> list[IPAddress]:
    """Resolve once and check every answer; the result is what to connect to."""
    literal = literal_address(host)
    addresses = [literal] if literal is not None else list(await lookup(host, port))
    check_addresses(host, addresses, allow_private)
    return addresses


async def check_url(url: str, allow_private: bool, lookup: Lookup = system_lookup) -> None:
    """Save-time check of a URL (scheme, host, every address it resolves to)."""
    host, port = split_url(url)
    await resolve_checked(host, port, allow_private, lookup)


def check_url_literal(url: str, allow_private: bool) -> None:
    """Send-time check without DNS: aiohttp connects to an address literal
    without asking the resolver, so a literal host is judged here."""
    host, _ = split_url(url)
    literal = literal_address(host)
    if literal is not None:
        check_addresses(host, [literal], allow_private)


class PinnedResolver(AbstractResolver):
    """aiohttp resolver for outbound calls: one lookup per connection, every
    answer checked, only checked addresses returned (use with
    ``TCPConnector(resolver=..., use_dns_cache=False)``)."""

    def __init__(self, allow_private: bool, lookup: Lookup = system_lookup) -> None:
        self._allow_private = allow_private
        self._lookup = lookup

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await resolve_checked(host, port, self._allow_private, self._lookup)
        results: list[ResolveResult] = []
        for address in addresses:
            af = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            if family not in (socket.AF_UNSPEC, af):
                continue
            results.append(
                ResolveResult(
                    hostname=host,
                    host=str(address),
                    port=port,
                    family=af,
                    proto=0,
                    flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
                )
            )
        if not results:
            raise DestinationRefused(f"{host} has no address of the connection's family")
        return results

    async def close(self) -> None:
        return None


def pinned_connector(allow_private: bool, lookup: Lookup = system_lookup) -> TCPConnector:
    """A connector whose every connection goes through PinnedResolver (no DNS
    cache, so each connection is one fresh, checked lookup)."""
    return TCPConnector(resolver=PinnedResolver(allow_private, lookup), use_dns_cache=False)
