"""The client's network address, for rate limits.

Behind a reverse proxy every connection comes from the proxy, so the
``X-Forwarded-For`` header is believed — but only when the peer is one of
TRUSTED_PROXIES (addresses, or networks such as ``172.30.0.0/24`` for a proxy
whose address a container network assigns); anyone else could write any
address into it.
"""

from __future__ import annotations

from collections.abc import Collection
from ipaddress import ip_address, ip_network
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
