"""Analytics carry no visitor personal data: every text cell is masked.

The dashboard, its tables and their CSV exports are read by marketers, who
never see conversations. Visitors type emails, phone numbers and card numbers
into the chat (and sometimes into URLs), so every string that leaves
:class:`AnalyticsService` goes through the same masker as the logs
(:func:`chat_server.redaction.redact`). The transcript in the inbox is the
only place personal data is shown, to agents and admins.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from chat_server.redaction import redact, redact_value


def mask_rows(rows: Iterable[Iterable[Any]]) -> list[list[Any]]:
    """``rows`` with every string cell masked; numbers and None untouched."""
    return [[redact(v) if isinstance(v, str) else v for v in row] for row in rows]


def mask_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """``summary`` with every string inside it masked (defence in depth)."""
    masked: dict[str, Any] = redact_value(summary)
    return masked


def merge_counts(rows: Iterable[tuple[str, int]], limit: int) -> list[list[Any]]:
    """``(text, times)`` rows masked, texts that became equal counted together
    ("[email] wants a refund" once, not once per address), most frequent
    first, then by text; at most ``limit`` rows."""
    totals: Counter[str] = Counter()
    for text, times in rows:
        totals[redact(text)] += times
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return [[text, times] for text, times in ranked[:limit]]
