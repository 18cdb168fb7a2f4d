"""Rate limits: how much one connection, address or user name may do, how often.

Counting is done by the `limits` library (moving windows). Counters live in
this process's memory; a multi-node deployment would keep them in Redis
(`limits` supports it) so every node shares them. Every refusal is counted in
the ``rapport_rate_limited_total`` metric by limit name.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from chat_server import metrics

# Limit names (also the metric's label values and the keys of the rules).
MESSAGES = "messages"
MESSAGES_PER_IP = "messages_per_ip"
CONNECTIONS_PER_IP = "connections_per_ip"
NEW_VISITORS_PER_IP = "new_visitors_per_ip"
CARD_CLICKS = "card_clicks"
SIGNALS = "signals"
TRACK = "track"
LOGINS = "logins"
LOGINS_PER_IP = "logins_per_ip"


class RateLimited(Exception):
    """A rate limit refused the request; try again after ``retry_after`` seconds."""

    def __init__(self, limit: str, retry_after: int) -> None:
        super().__init__(f"rate limit {limit!r}: retry after {retry_after} s")
        self.limit = limit
        self.retry_after = retry_after


class RateLimits:
    """Named rate limits, each one or more windows (e.g. "8/10 seconds;40/minute")."""

    def __init__(self, rules: Mapping[str, str]) -> None:
        self._rules: dict[str, list[RateLimitItem]] = {
            name: parse_many(spec) for name, spec in rules.items()
        }
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def hit(self, limit: str, key: str) -> None:
        """Count one use of ``limit`` by ``key``; RateLimited when over a window."""
        for item in self._rules[limit]:
            if not await self._limiter.hit(item, limit, key):
                stats = await self._limiter.get_window_stats(item, limit, key)
                metrics.RATE_LIMITED.labels(limit).inc()
                raise RateLimited(limit, max(1, round(stats.reset_time - time.time())))

    async def allows(self, limit: str, key: str) -> bool:
        """Like `hit`, as a yes/no answer."""
        try:
            await self.hit(limit, key)
        except RateLimited:
            return False
        return True

    async def reset(self, limit: str, key: str) -> None:
        """Forget the uses of ``limit`` by ``key`` (e.g. a login that succeeded)."""
        for item in self._rules[limit]:
            await self._limiter.clear(item, limit, key)
