"""When the reach answers a range (db/reach_queries.low_of) and the UTC days
the daily table covers: pure functions, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from chat_server.db import reach_queries as reach
from chat_server.db.rollup_queries import Coverage

SEALED = datetime(2026, 3, 6, 10, tzinfo=UTC)
COV = Coverage(SEALED)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_a_range_up_to_now_starts_at_its_first_whole_hour() -> None:
    assert reach.low_of(at(1, 10, 17), at(6, 10, 31), COV) == at(1, 11)
    assert reach.low_of(at(1, 10), at(6, 10), COV) == at(1, 10)  # on the hour
    assert reach.low_of(at(1, 10), at(9, 0), COV) == at(1, 10)  # beyond the stored hours


def test_ranges_that_end_before_the_stored_hours_do_not_use_it() -> None:
    # "Did it by hour X" is not "did it in the range" when the range ends earlier.
    assert reach.low_of(at(1, 10), at(6, 9, 59), COV) is None
    assert reach.low_of(at(1, 10), at(5, 0), COV) is None


def test_ranges_with_no_whole_stored_hour_or_nothing_stored_do_not_use_it() -> None:
    assert reach.low_of(at(6, 9, 30), at(6, 12), COV) is None  # first whole hour is 10:00
    assert reach.low_of(at(6, 10), at(6, 12), COV) is None
    assert reach.low_of(at(1, 10), at(6, 12), Coverage(None)) is None


def test_days_are_utc_days() -> None:
    assert reach.floor_day(at(3, 23, 59)) == at(3, 0)
    assert reach.ceil_day(at(3, 0)) == at(3, 0)
    assert reach.ceil_day(at(3, 0) + timedelta(microseconds=1)) == at(4, 0)
    elsewhere = datetime(2026, 3, 3, 1, 30, tzinfo=UTC).astimezone(ZoneInfo("America/New_York"))
    assert reach.floor_day(elsewhere) == at(3, 0)
