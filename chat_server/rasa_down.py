"""Whether Rasa is known to be down, so a visitor is not made to wait for it.

Set when every Rasa server refused the connection, a turn timed out, or a
health probe failed; cleared by any answer. While it is set, turns skip Rasa
at once (the caller offers a person, services/conversations.py) instead of
waiting up to RASA_TIMEOUT each, and one background probe (Rasa's cheap
``GET /status``, 2-s timeout) asks again every ``recheck`` seconds until
Rasa answers. Zendesk and Intercom likewise route straight to a person when
their bot is unavailable rather than holding the customer on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class RasaDown:
    """The known-down flag and its recovery probe."""

    def __init__(self, probe: Callable[[], Awaitable[bool]], recheck: float = 5.0) -> None:
        self._probe = probe
        self._recheck = recheck
        self._since: float | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def known_down(self) -> bool:
        return self._since is not None

    def mark_down(self, why: str) -> None:
        if self._since is None:
            log.warning("Rasa is down (%s): visitors are offered a person at once", why)
            self._since = asyncio.get_running_loop().time()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._recover())

    def mark_up(self) -> None:
        if self._since is not None:
            down_for = asyncio.get_running_loop().time() - self._since
            log.warning("Rasa is back after %.0f s", down_for)
            self._since = None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _recover(self) -> None:
        while self._since is not None:
            await asyncio.sleep(self._recheck)
            try:
                if await self._probe():
                    self.mark_up()
            except Exception:  # a probe that fails is "still down"
                log.debug("Rasa probe failed", exc_info=True)
