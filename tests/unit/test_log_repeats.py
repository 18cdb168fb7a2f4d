"""Repeated log warnings collapse to one line per kind per interval, with a count."""

from __future__ import annotations

import io
import logging

from chat_server.log_repeats import CollapseRepeats, RepeatCollapser


def record(
    msg: str, *args: object, level: int = logging.WARNING, name: str = "aiohttp.server"
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_the_first_of_a_kind_passes_and_the_rest_are_counted() -> None:
    repeats = RepeatCollapser(60)
    assert repeats.admit(record("refused %s", "a"), now=0)
    assert not any(repeats.admit(record("refused %s", str(i)), now=i / 100) for i in range(999))
    assert repeats.due(now=59) == []  # the interval is not over
    [summary] = repeats.due(now=60)
    assert summary.getMessage() == "refused 998 (repeated 999 times in the last 60 s)"
    assert summary.levelno == logging.WARNING and summary.name == "aiohttp.server"


def test_kinds_are_counted_apart_by_logger_level_and_template() -> None:
    repeats = RepeatCollapser(60)
    assert repeats.admit(record("refused %s", "a"), now=0)
    assert repeats.admit(record("timeout %s", "a"), now=0)
    assert repeats.admit(record("refused %s", "a", name="other"), now=0)
    assert repeats.admit(record("refused %s", "a", level=logging.ERROR), now=0)
    assert not repeats.admit(record("refused %s", "b"), now=1)


def test_a_flood_that_goes_on_gives_one_line_per_interval() -> None:
    repeats = RepeatCollapser(60)
    written = 0
    for tick in range(0, 600 * 100):  # ten minutes, 100 warnings a second
        now = tick / 100
        written += repeats.admit(record("slow client %s", tick), now)
        written += len(repeats.due(now))
    assert written == 10  # the first line, then one summary a minute


def test_after_a_quiet_interval_the_next_one_is_written_at_once() -> None:
    repeats = RepeatCollapser(60)
    assert repeats.admit(record("x"), now=0)
    assert repeats.due(now=61) == []  # nothing repeated: no summary
    assert repeats.admit(record("x"), now=62)


def test_memory_stays_bounded_with_many_kinds() -> None:
    repeats = RepeatCollapser(60, max_kinds=10)
    for i in range(1000):
        assert repeats.admit(record(f"unique {i}"), now=0)  # unknown kinds still pass
    assert len(repeats._windows) == 10


def test_the_filter_on_a_real_handler_writes_one_line_and_one_summary() -> None:
    now = [0.0]
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(CollapseRepeats(60, clock=lambda: now[0]))
    log = logging.getLogger("test.log_repeats")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    try:
        for i in range(1234 + 1):
            log.warning("Error handling request from %s", f"10.0.0.{i % 250}")
        log.info("an info line is never collapsed")
        log.info("an info line is never collapsed")
        now[0] = 60.0
        handler.filters[0].flush()  # type: ignore[union-attr]
    finally:
        log.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert lines == [
        "WARNING Error handling request from 10.0.0.0",
        "INFO an info line is never collapsed",
        "INFO an info line is never collapsed",
        "WARNING Error handling request from 10.0.0.234 (repeated 1,234 times in the last 60 s)",
    ]
