"""Rate limits: how much one connection, address or user name may do, how often.

Counting is done by the `limits` library (moving windows). On one node the
counters live in this process's memory. With several nodes (REDIS_URL) they
live in Redis, so a password guesser or a flood gains nothing by spreading
over the nodes; while Redis is unreachable each node counts on its own again
(limits still apply, per node) rather than refusing everyone. Every refusal is
counted in the ``rapport_rate_limited_total`` metric by limit name.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from chat_server import errors, metrics
from chat_server.services.local_limits import LocalStorage

log = logging.getLogger(__name__)

# Limit names (also the metric's label values and the keys of the rules).
MESSAGES = "messages"
MESSAGES_PER_IP = "messages_per_ip"
CONNECTIONS_PER_IP = "connections_per_ip"
NEW_VISITORS_PER_IP = "new_visitors_per_ip"
CARD_CLICKS = "card_clicks"
SIGNALS = "signals"
TRACK = "track"
CAMPAIGN_TRIGGERS = "campaign_triggers"
LOGINS = "logins"
LOGIN_FAILURES_PER_IP = "login_failures_per_ip"


class RateLimited(errors.RateLimited):
    """A rate limit refused the request; try again after ``retry_after`` seconds."""

    def __init__(self, limit: str, retry_after: int) -> None:
        super().__init__(f"rate limit {limit!r}: retry after {retry_after} s", retry_after)
        self.limit = limit


class RateLimits:
    """Named rate limits, each one or more windows (e.g. "8/10 seconds;40/minute")."""

    def __init__(self, rules: Mapping[str, str], redis_url: str | None = None) -> None:
        self._rules: dict[str, list[RateLimitItem]] = {
            name: parse_many(spec) for name, spec in rules.items()
        }
        self._local = MovingWindowRateLimiter(LocalStorage())
        self._shared: MovingWindowRateLimiter | None = None
        if redis_url:
            storage = RedisStorage(
                "async+" + redis_url,
                wrap_exceptions=True,
                implementation="redispy",
                key_prefix="rapport-limits",
                socket_connect_timeout=1,
                socket_timeout=1,
            )
            self._shared = MovingWindowRateLimiter(storage)
        self._shared_down = False

    async def hit(self, limit: str, key: str) -> None:
        """Count one use of ``limit`` by ``key``; RateLimited when over a window."""
        if self._shared is not None:
            try:
                await self._hit(self._shared, limit, key)
                if self._shared_down:
                    log.warning("rate limits: shared counters in Redis are back")
                    self._shared_down = False
                return
            except StorageError as exc:
                if not self._shared_down:
                    log.error(
                        "rate limits: Redis unreachable (%s), counting per node",
                        type(exc.storage_error).__name__,
                    )
                self._shared_down = True
        await self._hit(self._local, limit, key)

    async def _hit(self, limiter: MovingWindowRateLimiter, limit: str, key: str) -> None:
        for item in self._rules[limit]:
            if not await limiter.hit(item, limit, key):
                stats = await limiter.get_window_stats(item, limit, key)
                metrics.RATE_LIMITED.labels(limit).inc()
                raise RateLimited(limit, max(1, round(stats.reset_time - time.time())))

    async def check(self, limit: str, key: str) -> None:
        """RateLimited when ``key`` has used up ``limit``, without counting a use."""
        limiter = self._local
        if self._shared is not None and not self._shared_down:
            limiter = self._shared
        try:
            await self._check(limiter, limit, key)
        except StorageError:
            self._shared_down = True
            await self._check(self._local, limit, key)

    async def _check(self, limiter: MovingWindowRateLimiter, limit: str, key: str) -> None:
        for item in self._rules[limit]:
            if not await limiter.test(item, limit, key):
                stats = await limiter.get_window_stats(item, limit, key)
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
            await self._local.clear(item, limit, key)
            if self._shared is not None:
                try:
                    await self._shared.clear(item, limit, key)
                except StorageError:
                    self._shared_down = True
