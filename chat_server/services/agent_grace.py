"""An agent's grace period: their console closed, they may be back in a moment.

While it lasts the agent gets no new chats (routing asks ``in_grace``) but
keeps the ones they have, so a page reload costs them nothing. After
``notice_after`` seconds their visitors are told the agent is reconnecting
(``on_notice``); after ``grace`` seconds their chats go back to the queue,
ahead of newer ones (``on_expire``). A console connection coming back cancels
it all. Timers live in this process; whether the agent is back is asked of
``is_connected``, which covers every node.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


class AgentGrace:
    """The grace timers, one per agent whose last console connection closed."""

    def __init__(
        self,
        is_connected: Callable[[int], bool],
        on_notice: Callable[[int], Awaitable[Any]],
        on_expire: Callable[[int], Awaitable[Any]],
        grace: float,
        notice_after: float,
    ) -> None:
        self._is_connected = is_connected
        self._on_notice = on_notice
        self._on_expire = on_expire
        self._grace = grace
        self._notice_after = notice_after
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def in_grace(self, agent_id: int) -> bool:
        return agent_id in self._tasks

    def connected(self, agent_id: int) -> None:
        """A console connection of the agent arrived: cancel the pending requeue."""
        task = self._tasks.pop(agent_id, None)
        if task is not None:
            task.cancel()

    def disconnected(self, agent_id: int) -> None:
        """The agent's last console connection closed: start the grace period."""
        if agent_id not in self._tasks:
            self._tasks[agent_id] = asyncio.create_task(self._run(agent_id))

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    async def _run(self, agent_id: int) -> None:
        try:
            waited = 0.0
            if self._notice_after < self._grace:
                await asyncio.sleep(self._notice_after)
                waited = self._notice_after
                if self._is_connected(agent_id):
                    return
                await self._on_notice(agent_id)
            await asyncio.sleep(self._grace - waited)
            if self._is_connected(agent_id):
                return
            await self._on_expire(agent_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not requeue the conversations of agent %s", agent_id)
        finally:
            if self._tasks.get(agent_id) is asyncio.current_task():
                del self._tasks[agent_id]
