"""Rasa's lock store, chosen by the environment: Redis for several Rasa processes.

Rasa processes one conversation's turns one at a time by holding a lock on it.
The default lock lives in the process's memory, which is right for one Rasa
(`make run`) and wrong for two: both could then work on the same visitor at
once and save trackers over each other. With ``LOCK_STORE_URL`` set (e.g.
``redis://redis:6379/1``) every Rasa process takes its locks in that Redis,
with Rasa's own ``RedisLockStore``: turns of one conversation are processed
in the order their tickets were issued, whichever process receives them.

Three changes to Rasa's Redis store (``ResilientRedisLockStore``):

- **Atomic tickets:** Rasa 3.6 reads a conversation's ticket queue, changes
  it and writes it back with no guard, so two processes issuing tickets at
  the same moment both got the same number and ran one conversation's turns
  at once (measured: turns reordered and one lost with 8 overlapping
  requests). Every change of the queue here is a Redis WATCH/MULTI
  transaction, retried when another process changed it in between.
- **Redis unreachable:** the turn takes a lock in this process's memory
  instead of failing, so visitors are still answered during a Redis outage
  (the chat server already sends one visitor's turns one at a time); the
  shared locks are back with Redis.
- **Waiting turns** poll the lock every 50 ms, not Rasa's default 1 s, so a
  turn queued behind another of the same conversation is not held up a second.

bot/endpoints.yml names this class as the ``lock_store`` type; Rasa's ``${VAR}``
expansion there refuses unset variables, which would make Redis mandatory.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeVar
from urllib.parse import urlparse

from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    LOCK_LIFETIME,
    InMemoryLockStore,
    LockError,
    LockStore,
    RedisLockStore,
)
from redis.exceptions import RedisError, WatchError

logger = logging.getLogger(__name__)
# Seconds between two looks at a busy conversation's lock.
WAIT_SECONDS = 0.05
T = TypeVar("T")
# A change of a lock: the lock (None: absent) -> the lock to store (None: delete), a result.
Change = Callable[[TicketLock | None], tuple[TicketLock | None, T]]

# The Redis database number used when the URL names none (Rasa's default).
DEFAULT_DB = 1


def lock_store_from_url(url: str | None) -> LockStore:
    """The lock store for ``url``: Redis for redis:// and rediss://, else in memory."""
    if not url:
        return InMemoryLockStore()
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss") or not parsed.hostname:
        raise ValueError("LOCK_STORE_URL must look like redis://host:6379/1 (or rediss:// for TLS)")
    path = parsed.path.strip("/")
    return ResilientRedisLockStore(
        host=parsed.hostname,
        port=parsed.port or 6379,
        db=int(path) if path else DEFAULT_DB,
        username=parsed.username or None,
        password=parsed.password or None,
        use_ssl=parsed.scheme == "rediss",
        key_prefix="rapport",
    )


class ResilientRedisLockStore(RedisLockStore):
    """Rasa's ``RedisLockStore`` that falls back to local locks while Redis is down."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._local = InMemoryLockStore()
        self._redis_down = False

    def _change(self, conversation_id: str, change: Change[T]) -> T:
        """Apply ``change`` to the conversation's lock atomically (WATCH/MULTI)."""
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else None
                    new, result = change(lock)
                    pipe.multi()
                    if new is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, new.dumps())
                    pipe.execute()
                    return result
                except WatchError:
                    continue  # another process changed it meanwhile: again

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def change(lock: TicketLock | None) -> tuple[TicketLock | None, int]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, change)
        except RedisError as exc:
            raise LockError(f"Error while acquiring lock: {exc}") from exc

    def update_lock(self, conversation_id: str) -> None:
        def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, change)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, change)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
                if not lock.is_someone_waiting():
                    lock = None
            return lock, None

        self._change(conversation_id, change)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = WAIT_SECONDS,
    ) -> AsyncGenerator[TicketLock, None]:
        try:
            ticket = self.issue_ticket(conversation_id, lock_lifetime)
        except (LockError, RedisError) as exc:
            if not self._redis_down:
                logger.error(
                    "Redis lock store unreachable (%s): locking in this process until it is back",
                    type(exc.__cause__ or exc.__context__ or exc).__name__,
                )
            self._redis_down = True
            async with self._local.lock(
                conversation_id, lock_lifetime, wait_time_in_seconds
            ) as local:
                yield local
            return
        if self._redis_down:
            logger.warning("Redis lock store is back")
            self._redis_down = False
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            # Redis gone mid-turn: the ticket expires with its lifetime.
            with suppress(RedisError):
                self.cleanup(conversation_id, ticket)


class EnvironmentLockStore:
    """Factory Rasa calls as a lock store class: returns Rasa's own store for LOCK_STORE_URL."""

    def __new__(cls, endpoint_config: Any = None) -> LockStore:  # type: ignore[misc]
        return lock_store_from_url(os.environ.get("LOCK_STORE_URL"))
