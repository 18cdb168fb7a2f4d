"""Repeated log warnings collapse to one line per kind per interval, with a count.

A flood (a slowloris client, 1,000 refused sockets a second) makes the same
warning fire thousands of times a second: the log grew by 135 MB a minute,
filling disks and drowning everything else. Here a *kind* is the logger, the
level and the message template (``"rate limit %s refused socket %s"``, before
its arguments are filled in). The first record of a kind passes; the rest in
the next ``LOG_REPEAT_SECONDS`` are counted, and one line says how many::

    rate limit messages refused socket abc (repeated 1,234 times in the last 60 s)

Only WARNING and above collapse; INFO and DEBUG lines pass untouched.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Kind = tuple[str, int, str]
# Kinds remembered at once; beyond this, new kinds pass uncounted (bounded memory).
MAX_KINDS = 1000
TICK_SECONDS = 1.0


def kind_of(record: logging.LogRecord) -> Kind:
    return (record.name, record.levelno, str(record.msg))


@dataclass
class _Window:
    started: float
    suppressed: int = 0
    last: logging.LogRecord | None = field(default=None, repr=False)


class RepeatCollapser:
    """The bookkeeping, without a clock of its own (pure: time is passed in)."""

    def __init__(self, interval: float, max_kinds: int = MAX_KINDS) -> None:
        self.interval = interval
        self.max_kinds = max_kinds
        self._windows: dict[Kind, _Window] = {}

    def admit(self, record: logging.LogRecord, now: float) -> bool:
        """Whether ``record`` is written now (else it is counted for the summary)."""
        kind = kind_of(record)
        window = self._windows.get(kind)
        if window is None:
            if len(self._windows) < self.max_kinds:
                self._windows[kind] = _Window(now)
            return True
        if now - window.started >= self.interval and window.suppressed == 0:
            window.started = now  # a quiet interval: this one starts the next
            return True
        window.suppressed += 1
        window.last = record
        return False

    def due(self, now: float) -> list[logging.LogRecord]:
        """Summary records of the intervals that ended by ``now``."""
        summaries = []
        for kind, window in list(self._windows.items()):
            if now - window.started < self.interval:
                continue
            if window.suppressed == 0 or window.last is None:
                del self._windows[kind]  # nothing repeated: forget the kind
                continue
            summaries.append(self._summary(window.last, window.suppressed, now - window.started))
            # A flood goes on: the summary starts the next interval.
            self._windows[kind] = _Window(now)
        return summaries

    @staticmethod
    def _summary(last: logging.LogRecord, count: int, seconds: float) -> logging.LogRecord:
        record = logging.LogRecord(
            last.name,
            last.levelno,
            last.pathname,
            last.lineno,
            "%s (repeated %s times in the last %d s)",
            (last.getMessage(), f"{count:,}", round(seconds)),
            None,
        )
        record._repeat_summary = True
        return record


class CollapseRepeats(logging.Filter):
    """A handler filter around :class:`RepeatCollapser` (thread-safe)."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._collapser = RepeatCollapser(interval)
        self._clock = clock
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or getattr(record, "_repeat_summary", False):
            return True
        with self._lock:
            return self._collapser.admit(record, self._clock())

    def flush(self) -> None:
        """Write the summaries that are due (through the loggers they belong to)."""
        with self._lock:
            summaries = self._collapser.due(self._clock())
        for summary in summaries:
            logging.getLogger(summary.name).handle(summary)


def install_repeat_collapsing(interval: float, logger: logging.Logger | None = None) -> None:
    """Collapse repeats on every handler of ``logger`` (default: root); 0 turns it off."""
    if interval <= 0:
        return
    repeats = CollapseRepeats(interval)
    for handler in (logger or logging.getLogger()).handlers:
        handler.addFilter(repeats)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(TICK_SECONDS):
            repeats.flush()

    threading.Thread(target=tick, name="log-repeats", daemon=True).start()
