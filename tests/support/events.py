"""A log of the Socket.IO events a test client received, and waiting on it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class EventLog:
    """Mixin: ``self.log`` holds every (event, payload) received, in order."""

    log: list[tuple[str, Any]]

    def seen(self, name: str, after: int = 0) -> list[Any]:
        """Payloads of every ``name`` event received after index ``after``."""
        return [data for event, data in self.log[after:] if event == name]

    async def wait_for(
        self,
        name: str,
        predicate: Callable[[Any], bool] | None = None,
        timeout: float = 30,  # noqa: ASYNC109 - a per-call deadline is this helper's interface
        after: int = 0,
    ) -> Any:
        """Wait for an event ``name`` (matching ``predicate``) received after index ``after``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for data in self.seen(name, after):
                if predicate is None or predicate(data):
                    return data
            if asyncio.get_running_loop().time() > deadline:
                recent = [event for event, _ in self.log[-20:]]
                raise TimeoutError(f"no matching {name} event; the latest were {recent}")
            await asyncio.sleep(0.05)
