"""Who is on the site now: the visitors with a widget connection to this server,
the page they are on and since when (the console's live visitors).

Kept in this process's memory. With several chat-server nodes each node
knows its own visitors, and ``remote`` (set by the app when REDIS_URL is set)
gives the other nodes' visits, so every console sees everyone. A visitor
moving to another page closes one connection and opens the next a moment
later, so a visit ends only ``LEAVE_GRACE`` seconds after its last connection
closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from chat_server.db.models import utcnow

# Seconds a visit outlives its last connection (a page load in between).
LEAVE_GRACE = 15.0
# At most one "live visitors changed" notice per this many seconds.
NOTICE_INTERVAL = 1.0


@dataclass
class Visit:
    """One visitor on the site now."""

    visitor_id: str
    since: datetime
    page_url: str | None = None
    page_title: str | None = None
    sockets: set[str] = field(default_factory=set)


class Presence:
    """Tracks visits from socket connections and page views; tells listeners of changes."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self._visits: dict[str, Visit] = {}
        self._socket_visitor: dict[str, str] = {}
        self._leaving: dict[str, asyncio.TimerHandle] = {}
        # Called (debounced) when someone arrives, leaves or changes page.
        self.on_change = on_change
        self._notice: asyncio.TimerHandle | None = None
        # The visits on the other nodes (several nodes only).
        self.remote: Callable[[], list[Visit]] | None = None

    def connected(self, sid: str, visitor_id: str) -> None:
        """Socket ``sid`` now speaks for ``visitor_id`` (after its session was confirmed)."""
        previous = self._socket_visitor.get(sid)
        if previous == visitor_id:
            return
        if previous is not None:
            self.disconnected(sid)
        timer = self._leaving.pop(visitor_id, None)
        if timer is not None:
            timer.cancel()
        visit = self._visits.setdefault(visitor_id, Visit(visitor_id, utcnow()))
        visit.sockets.add(sid)
        self._socket_visitor[sid] = visitor_id
        self._changed()

    def disconnected(self, sid: str) -> None:
        """Socket ``sid`` closed; the visit ends after LEAVE_GRACE without another."""
        visitor_id = self._socket_visitor.pop(sid, None)
        visit = self._visits.get(visitor_id) if visitor_id else None
        if visit is None or visitor_id is None:
            return
        visit.sockets.discard(sid)
        if not visit.sockets and visitor_id not in self._leaving:
            self._leaving[visitor_id] = asyncio.get_running_loop().call_later(
                LEAVE_GRACE, self._left, visitor_id
            )

    def page_viewed(self, visitor_id: str, url: str, title: str | None) -> None:
        """The visitor's widget reported the page it is on."""
        visit = self._visits.get(visitor_id)
        if visit is not None:
            visit.page_url, visit.page_title = url, title
            self._changed()

    def visits(self) -> list[Visit]:
        """Everyone on the site now (on any node), longest first."""
        visits = dict(self._visits)
        for visit in self.remote() if self.remote is not None else []:
            # Connected to two nodes at once (two tabs): one visit, the longer.
            mine = visits.get(visit.visitor_id)
            if mine is None or visit.since < mine.since:
                visits[visit.visitor_id] = visit
        return sorted(visits.values(), key=lambda v: v.since)

    def local_visits(self) -> list[Visit]:
        """The visits of this node's own sockets."""
        return list(self._visits.values())

    def remote_changed(self) -> None:
        """The other nodes' visits changed: tell listeners, as for a local change."""
        self._changed()

    def close(self) -> None:
        """Cancel timers (server shutdown)."""
        for timer in self._leaving.values():
            timer.cancel()
        self._leaving.clear()
        if self._notice is not None:
            self._notice.cancel()
            self._notice = None

    def _left(self, visitor_id: str) -> None:
        self._leaving.pop(visitor_id, None)
        visit = self._visits.get(visitor_id)
        if visit is not None and not visit.sockets:
            del self._visits[visitor_id]
            self._changed()

    def _changed(self) -> None:
        if self.on_change is None or self._notice is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._notice = loop.call_later(NOTICE_INTERVAL, self._notify)

    def _notify(self) -> None:
        self._notice = None
        if self.on_change is not None:
            self.on_change()
