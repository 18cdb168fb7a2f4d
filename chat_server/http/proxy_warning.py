"""A reverse proxy that is not in TRUSTED_PROXIES: say so, loudly but rarely.

Behind a proxy every connection comes from the proxy's address. Unless that
address is in TRUSTED_PROXIES, its ``X-Forwarded-For`` is (rightly) ignored,
so every visitor shares the proxy's address and its per-address limits: the
whole site is one "office". The sign is easy to see — requests that carry
``X-Forwarded-For`` from a loopback or private peer — so the operator is told,
with the setting that fixes it: in the log (once an hour), in
``/healthz/details`` and on the console for admins (``/api/system/warnings``).
Nothing is refused because of it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from chat_server.http.addresses import untrusted_forwarder

log = logging.getLogger(__name__)
LOG_EVERY_SECONDS = 3600.0
CODE = "untrusted_proxy"
SETTING = "TRUSTED_PROXIES"


class UntrustedProxyWarning:
    """What was seen, and when the log was last told (the clock is injectable)."""

    def __init__(
        self, clock: Callable[[], float] = time.time, log_every: float = LOG_EVERY_SECONDS
    ) -> None:
        self._clock = clock
        self._log_every = log_every
        self._peers: dict[str, float] = {}  # peer → last seen (a handful at most)
        self._logged_at: float | None = None

    def seen(self, peer: str) -> bool:
        """Record a forwarded request from ``peer``; True when the log should hear of it."""
        now = self._clock()
        if peer in self._peers or len(self._peers) < 16:
            self._peers[peer] = now
        if self._logged_at is None or now - self._logged_at >= self._log_every:
            self._logged_at = now
            return True
        return False

    def warnings(self) -> list[dict[str, Any]]:
        """The warning for health details and the console (empty: all is well)."""
        if not self._peers:
            return []
        peers = sorted(self._peers, key=self._peers.__getitem__, reverse=True)
        return [
            {
                "code": CODE,
                "setting": SETTING,
                "peers": peers,
                "last_seen": datetime.fromtimestamp(max(self._peers.values()), UTC).isoformat(),
                "message": message(peers),
            }
        ]


def message(peers: list[str]) -> str:
    listed = ",".join(peers)
    return (
        f"Requests from {listed} carry X-Forwarded-For, but {SETTING} does not list "
        f"{'it' if len(peers) == 1 else 'them'}: every visitor behind that proxy shares "
        f"its address and its rate limits. Set {SETTING}={listed} (or its network) "
        "and restart the chat server."
    )


def proxy_check(warning: UntrustedProxyWarning, trusted: Collection[str]) -> Middleware:
    """Middleware: note (and now and then log) forwarded requests from an untrusted proxy."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = untrusted_forwarder(request, trusted)
        if peer is not None and warning.seen(peer):
            log.warning("%s (logged at most once an hour)", message([peer]))
        return await handler(request)

    return middleware
