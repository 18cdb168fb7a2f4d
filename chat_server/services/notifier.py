"""How services reach connected clients without knowing the transport."""

from __future__ import annotations

from typing import Any, Protocol


class Notifier(Protocol):
    """Delivers events to everyone watching a visitor (all their tabs)."""

    async def to_visitor(self, visitor_id: str, event: str, payload: dict[str, Any]) -> None:
        """Send ``event`` to every connection of the visitor."""
        ...

    async def visitor_replaced(self, old_id: str, new_id: str, session_id: str) -> None:
        """Move the visitor's connections to a new identity (after erasure)."""
        ...
