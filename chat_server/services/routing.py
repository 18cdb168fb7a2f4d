"""Who may get a chat, and how long a queued visitor will wait: pure rules.

Kept apart from the handoff state machine (services/handoff.py), which asks
these questions and acts on the answers.

- An agent *can take* a chat when they are an agent or admin (never a
  marketer), not deactivated, online, not in their reconnect grace period
  (console closed, maybe coming back) and below their maximum of chats. Routing, transfers and the
  console's transfer list all use this one rule.
- The *wait estimate* comes from the waits measured recently (queued →
  assigned) and the seats online now; with no measured waits, or nobody
  connected who can answer, there is no estimate (None) rather than a
  made-up promise.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# Fewer measured waits than this is no basis for an estimate.
MIN_SAMPLES = 3

TAKING_ROLES = frozenset({"agent", "admin"})


@dataclass(frozen=True)
class Candidate:
    """What routing knows of one agent now."""

    role: str
    active: bool
    status: str
    in_grace: bool
    load: int
    max_chats: int


def refusal(candidate: Candidate) -> str | None:
    """Why this agent cannot take a chat now, or None when they can."""
    if candidate.role not in TAKING_ROLES:
        return "marketers do not take conversations"
    if not candidate.active:
        return "that agent is deactivated"
    if candidate.status != "online":
        return f"that agent is {candidate.status}, not online"
    if candidate.in_grace:
        return "that agent's console is disconnected (reconnecting)"
    if candidate.load >= candidate.max_chats:
        return f"that agent is at their maximum of {candidate.max_chats} chats"
    return None


def can_take(candidate: Candidate) -> bool:
    return refusal(candidate) is None


def estimate_wait(position: int, recent_waits: Sequence[float], seats: int) -> int | None:
    """Seconds the visitor at ``position`` (1 = next) will probably wait.

    ``recent_waits``: measured queue waits (seconds) of recently assigned
    chats; ``seats``: chats the agents who can answer now (online, not in
    grace) can hold together. One median wait passes for each ``seats`` visitors ahead:
    position 1..seats wait about one median, the next ``seats`` two, and so on.
    None when nobody can answer now or fewer than MIN_SAMPLES waits were measured.
    """
    if seats <= 0 or position <= 0 or len(recent_waits) < MIN_SAMPLES:
        return None
    typical = statistics.median(recent_waits)
    return max(1, round(typical * math.ceil(position / seats)))
