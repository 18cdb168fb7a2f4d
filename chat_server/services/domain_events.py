"""Domain events: what happened, fanned out to whoever listens.

Every change worth telling anyone about is appended to ``interaction_events``
in the transaction that makes it (the durable record: analytics read it, the
webhook worker follows it with a cursor, the export streams it; the bot's
tracker has its own outbox, ``tracker_outbox``). When such a transaction
commits, the session factory calls :meth:`DomainEvents.committed` with the
types it wrote, and every subscriber hears them: the Prometheus counters, the
dashboards' live feed, the webhook worker's wake-up. A subscriber never
hears a rolled-back event, and one that fails does not stop the others.

To react to a new kind of event, subscribe in app.py; to tell others
something new, log an interaction event (docs/architecture.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

Subscriber = Callable[[list[str]], None]


class DomainEvents:
    """Subscribers to committed interaction-event types, called in order."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def committed(self, types: list[str]) -> None:
        """A transaction that wrote events of ``types`` committed: tell everyone."""
        for subscriber in list(self._subscribers):
            try:
                subscriber(types)
            except Exception:
                log.exception("a subscriber to committed events failed")
