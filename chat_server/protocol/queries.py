"""Integer query parameters of the REST API: one definition for the view that
parses a parameter and the OpenAPI document that states it (http/openapi.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chat_server.protocol.ids import ROW_ID_MAX


@dataclass(frozen=True)
class IntQuery:
    """``?name=<integer in lo..hi>``; absent or empty means ``default``."""

    name: str
    lo: int
    hi: int
    default: int | None = None
    description: str = ""

    def parameter(self) -> dict[str, Any]:
        """The OpenAPI parameter object."""
        out: dict[str, Any] = {
            "name": self.name,
            "in": "query",
            "schema": {"type": "integer", "minimum": self.lo, "maximum": self.hi},
        }
        if self.description:
            out["description"] = self.description
        return out


def limit(maximum: int, default: int) -> IntQuery:
    return IntQuery("limit", 1, maximum, default, f"rows per page (default {default})")


BEFORE_ID = IntQuery(
    "before_id", 1, ROW_ID_MAX, None, "only ids below this (older clients; use cursor to page)"
)
CONVERSATION_ID = IntQuery(
    "conversation_id",
    1,
    ROW_ID_MAX,
    None,
    "fill in the variables for this conversation's visitor and agent",
)
AFTER_ID = IntQuery(
    "after_id", 0, 2**62, None, "only messages newer than this id (a reconnecting client)"
)
AFTER_SEQ = IntQuery(
    "after_seq",
    0,
    2**31 - 1,
    None,
    "only messages numbered after this seq, in seq order (a console catching up from "
    "the highest seq it holds without a gap)",
)
AGENTS_LIMIT = limit(500, 500)
CONVERSATIONS_LIMIT = limit(200, 50)
MESSAGES_LIMIT = limit(500, 100)
LIVE_VISITORS_LIMIT = limit(500, 100)
VISITOR_CONVERSATIONS_LIMIT = limit(100, 10)
FOLLOWUPS_LIMIT = limit(500, 100)
DELIVERIES_LIMIT = limit(500, 50)
CAMPAIGNS_LIMIT = limit(200, 50)
FOLLOWUP_STATUSES = ("open", "done")
