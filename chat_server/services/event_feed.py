"""Live dashboards: tell the consoles showing analytics that events were logged.

Every committed transaction that logged interaction events reports their
types here (see ``create_sessionmaker``); the feed sends one
``analytics_changed`` per ``interval`` at most, naming the types logged since
the last one, so a busy site cannot flood the dashboards with refetches.
"""

from __future__ import annotations

import asyncio
import logging

from chat_server.db.availability import report_failure
from chat_server.protocol import agent as agent_protocol
from chat_server.services.notifier import Notifier

log = logging.getLogger(__name__)


class EventFeed:
    """Coalesces committed event types into at most one notice per interval."""

    def __init__(self, notifier: Notifier, interval: float = 1.0) -> None:
        self._notifier = notifier
        self._interval = interval
        self._pending: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def committed(self, types: list[str]) -> None:
        """Events of ``types`` were committed (called from SQLAlchemy's commit hook)."""
        self._pending.update(types)
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # a command-line tool committing outside the server
                return
            self._timer = loop.call_later(self._interval, self._flush)

    def _flush(self) -> None:
        self._timer = None
        types, self._pending = sorted(self._pending), set()
        if types:
            task = asyncio.create_task(self._send(types))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, types: list[str]) -> None:
        try:
            await self._notifier.to_analytics(agent_protocol.ANALYTICS_CHANGED, {"types": types})
        except Exception as error:  # a dashboard notice must never break anything else
            report_failure(error, "dashboard feed", log, "could not notify dashboards")

    def close(self) -> None:
        """Stop the pending notice (server shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
