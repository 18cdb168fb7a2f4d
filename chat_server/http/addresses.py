"""The client's network address, for rate limits.

Behind a reverse proxy every connection comes from the proxy, so the
``X-Forwarded-For`` header is believed — but only when the peer is one of
TRUSTED_PROXIES (addresses, or networks such as ``172.30.0.0/24`` for a proxy
whose address a container network assigns); anyone else could write any
address into it.
"""

from __future__ import annotations

from collections.abc import Collection
from ipaddress import IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

from aiohttp import web


def is_trusted(address: str, trusted_proxies: Collection[str]) -> bool:
    """Whether ``address`` is one of ``trusted_proxies`` or inside one of its networks."""
    if address in trusted_proxies:
        return True
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any("/" in t and ip in ip_network(t, strict=False) for t in trusted_proxies)


def client_address(request: web.BaseRequest, trusted_proxies: Collection[str]) -> str:
    """The address of the client behind ``request`` (the peer, or what a trusted proxy says)."""
    peer = request.remote or "unknown"
    if not is_trusted(peer, trusted_proxies):
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    # The right-most address a trusted proxy did not add is the client.
    for hop in reversed(hops):
        if not is_trusted(hop, trusted_proxies):
            return hop[:64]
    return peer


def socket_address(environ: dict[str, Any], trusted_proxies: Collection[str]) -> str:
    """Like `client_address`, for a Socket.IO handshake's environ."""
    request = environ.get("aiohttp.request")
    if isinstance(request, web.BaseRequest):
        return client_address(request, trusted_proxies)
    return "unknown"


def limit_key(address: str) -> str:
    """The key every per-address limit counts under: the IPv4 address, or the /64 of an IPv6 one.

    One IPv6 subscriber is given a whole /64 (RFC 6177), and picks a new
    address in it at will (privacy extensions): counting per address would let
    one person be a million "addresses". An IPv4-mapped IPv6 address
    (``::ffff:203.0.113.7``, as a dual-stack socket reports IPv4 peers) is the
    IPv4 address it maps. Anything that is not an address (``unknown``) is its
    own key.
    """
    try:
        ip = ip_address(address.split("%", 1)[0])  # drop a zone ("fe80::1%eth0")
    except ValueError:
        return address
    if isinstance(ip, IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


# Where a site's own reverse proxy runs: loopback, RFC 1918, CGNAT (some
# clouds), link-local, IPv6 unique-local.
PROXY_NETWORKS = tuple(
    ip_network(n)
    for n in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)


def is_private_peer(address: str) -> bool:
    """Whether ``address`` is loopback or on a private network: where a reverse proxy runs."""
    try:
        ip = ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in PROXY_NETWORKS)


def untrusted_forwarder(request: web.BaseRequest, trusted_proxies: Collection[str]) -> str | None:
    """The peer of a request that looks proxied but whose proxy is not trusted, else None.

    A request carrying ``X-Forwarded-For`` from a loopback or private address
    almost certainly came through this site's own reverse proxy: if that proxy
    is not in TRUSTED_PROXIES, every visitor shares the proxy's address.
    """
    if "X-Forwarded-For" not in request.headers:
        return None
    peer = request.remote or ""
    if not is_private_peer(peer) or is_trusted(peer, trusted_proxies):
        return None
    return peer
