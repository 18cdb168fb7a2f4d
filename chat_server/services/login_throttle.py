"""Sign-in throttling per account name, across every address (cluster-wide).

OWASP ASVS 2.2.1 asks for anti-automation that works against guessing spread
over many addresses, without letting anyone lock an account out for long.
So each account name (whether an agent has it or not, so the answers tell
nothing about which names exist) gets a few free failures, then a delay that
doubles with every further failure, capped (15 minutes by default). During the
delay no password for that name is even checked. The counts live in the
database, so every node sees them; a successful sign-in clears them, and a
name with no failure for a day starts from zero again.

Per address, the HTTP view only counts *failures* (``limits``), generously:
colleagues behind one office proxy sign in all day without touching it.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import errors
from chat_server.db.models import LoginFailure, as_utc, utcnow

# Failures older than this are forgotten (the name starts from zero).
FORGET_AFTER = timedelta(days=1)


def backoff_seconds(failures: int, free: int, cap: float, first: float = 1.0) -> float:
    """How long a name waits after its ``failures``-th failure in a row.

    ``free`` failures cost nothing; the next waits ``first`` seconds, and each
    one after that twice as long as the one before, never more than ``cap``.
    """
    over = failures - free
    if over <= 0:
        return 0.0
    if over > 64:  # 2**64 seconds is past any cap; avoid huge floats
        return cap
    return min(cap, first * math.pow(2, over - 1))


def account_key(username: str) -> str:
    """One key per account name however it is spelled (case, spaces)."""
    return username.strip().lower()[:64]


class Throttled(errors.RateLimited):
    """Sign-ins for this name wait ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"sign-ins for this name wait {retry_after} s", retry_after)


class LoginThrottle:
    """Counts failed sign-ins per account name in the database."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        free_failures: int = 5,
        max_delay_seconds: float = 900.0,
    ) -> None:
        self._sessions = sessionmaker
        self._free = free_failures
        self._cap = max_delay_seconds

    async def attempt(self, username: str, now: datetime | None = None) -> None:
        """Count one sign-in attempt for the name as a failure, before the password
        is checked (a success then clears it: `succeeded`); Throttled, counting
        nothing, while the name still waits after its last failure.

        Checking and counting in one locked transaction means a burst of
        parallel guesses cannot all pass the check before any is counted.
        """
        try:
            await self._count(account_key(username), now)
        except IntegrityError:  # a concurrent first attempt inserted the row
            await self._count(account_key(username), now)

    async def _count(self, key: str, at: datetime | None) -> None:
        now = at or utcnow()
        stale = now - FORGET_AFTER
        async with self._sessions.begin() as session:
            # One atomic statement counts the attempt unless the name is waiting
            # (a row waits when its block reaches past its last failure and now).
            counted = await session.execute(
                update(LoginFailure)
                .where(
                    LoginFailure.account == key,
                    or_(
                        LoginFailure.blocked_until <= LoginFailure.last_failure_at,
                        LoginFailure.blocked_until <= now,
                        LoginFailure.last_failure_at < stale,
                    ),
                )
                .values(
                    failures=case(
                        (LoginFailure.last_failure_at < stale, 1),
                        else_=LoginFailure.failures + 1,
                    ),
                    last_failure_at=now,
                )
                .returning(LoginFailure.failures)
            )
            failures = counted.scalar_one_or_none()
            if failures is None:
                row = await session.get(LoginFailure, key)
                if row is not None:
                    wait = (as_utc(row.blocked_until) - now).total_seconds()
                    raise Throttled(max(1, math.ceil(wait)))
                # The name's first failure (IntegrityError if a parallel one won).
                session.add(
                    LoginFailure(account=key, failures=1, last_failure_at=now, blocked_until=now)
                )
                await session.flush()
                failures = 1
                # Keep the table small: names nobody tried for a day are forgotten.
                await session.execute(
                    delete(LoginFailure).where(LoginFailure.last_failure_at < stale)
                )
            delay = backoff_seconds(failures, self._free, self._cap)
            await session.execute(
                update(LoginFailure)
                .where(LoginFailure.account == key)
                .values(blocked_until=now + timedelta(seconds=delay))
            )

    async def succeeded(self, username: str) -> None:
        """The right password: the name starts from zero."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(LoginFailure).where(LoginFailure.account == account_key(username))
            )
