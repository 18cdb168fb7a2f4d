"""Support hours: when people answer chats (``SUPPORT_HOURS``).

Format: ``<days> <from>-<to> [<IANA time zone>]``, e.g.
``mon-fri 09:00-17:00 Europe/Berlin`` or ``mon,wed,fri 08:30-12:00`` (UTC).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC = re.compile(
    r"^\s*(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})"
    r"(?:\s+(?P<tz>\S+))?\s*$",
    re.IGNORECASE,
)


def _days(spec: str) -> frozenset[int]:
    out: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"unknown day in {spec!r}; use {', '.join(DAYS)}")
        a, b = DAYS.index(first), DAYS.index(last or first)
        out.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(out)


def _time(value: str) -> time:
    hours, minutes = (int(x) for x in value.split(":"))
    if hours == 24 and minutes == 0:
        return time.max
    return time(hours, minutes)


@dataclass(frozen=True)
class SupportHours:
    """Days and a daily window in a time zone."""

    days: frozenset[int]
    start: time
    end: time
    tz: ZoneInfo | timezone
    text: str

    @classmethod
    def parse(cls, spec: str) -> SupportHours:
        """Parse ``SUPPORT_HOURS``; raises ValueError saying what is wrong."""
        match = _SPEC.match(spec)
        if not match:
            raise ValueError(
                f"SUPPORT_HOURS {spec!r} is not like 'mon-fri 09:00-17:00 Europe/Berlin'"
            )
        try:
            start, end = _time(match["start"]), _time(match["end"])
        except ValueError as exc:
            raise ValueError(f"SUPPORT_HOURS {spec!r}: bad time ({exc})") from None
        if start >= end:
            raise ValueError(f"SUPPORT_HOURS {spec!r}: the window must end after it starts")
        tz: ZoneInfo | timezone = UTC
        if match["tz"]:
            try:
                tz = ZoneInfo(match["tz"])
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"SUPPORT_HOURS {spec!r}: unknown time zone") from None
        return cls(_days(match["days"].lower()), start, end, tz, spec.strip())

    def is_open(self, now: datetime) -> bool:
        """Whether ``now`` (aware) falls inside the support hours."""
        local = now.astimezone(self.tz)
        return local.weekday() in self.days and self.start <= local.time() < self.end
