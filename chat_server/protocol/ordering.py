"""Once-only, in-order delivery of a visitor's messages: the pure rules.

Every message a visitor may see has a ``visitor_seq`` (1, 2, 3, ... without
holes, committed in order: db/message_queries.add_message). A socket's *position* is
the highest number up to which it holds every message. A message numbered
``position + 1`` is the next one; one at or below the position is already
there; one further ahead means something in between was not delivered (live
delivery between nodes had a gap) and has to be read from storage first.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from chat_server.protocol.visitor import split_for_plain_clients


class Step(Enum):
    SEND = "send"  # the next one: send it, the position moves on
    SKIP = "skip"  # already delivered to this socket
    FETCH = "fetch"  # ahead of a gap: read what follows the position from storage


def step(position: int, seq: int) -> Step:
    """What to do with message ``seq`` for a socket holding everything up to ``position``."""
    if seq <= position:
        return Step.SKIP
    if seq == position + 1:
        return Step.SEND
    return Step.FETCH


def advanced(position: int, items: list[dict[str, Any]]) -> int:
    """The position after a catch-up read from storage: it holds everything it returned."""
    seqs: list[int] = [i["seq"] for i in items if isinstance(i.get("seq"), int)]
    return max([position, *seqs])


def plain_bot_uttered(item: dict[str, Any]) -> dict[str, Any] | None:
    """A stored message (a `history` item) as a plain client's live `bot_uttered`, or
    None for what such a client shows on its own (the visitor's messages)."""
    if item.get("direction") == "bot":
        payload = item.get("payload")
        if isinstance(payload, dict) and payload:
            return split_for_plain_clients(payload)[0]
        return {"text": item.get("text") or ""}
    if item.get("direction") == "agent":
        return {"text": item.get("text") or ""}
    return None
