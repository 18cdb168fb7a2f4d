"""LOG_FORMAT=json: one JSON object per line with the record's fields."""

from __future__ import annotations

import json
import logging

from chat_server.logs import JsonFormatter


def test_json_lines_carry_level_logger_message_extras_and_exceptions() -> None:
    record = logging.LogRecord(
        "chat_server.x", logging.WARNING, __file__, 1, "hi %s", ("you",), None
    )
    record.visitor_id = "v1"
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "WARNING"
    assert line["logger"] == "chat_server.x"
    assert line["message"] == "hi you"
    assert line["visitor_id"] == "v1"
    assert line["time"].endswith("+00:00")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    entry = json.loads(JsonFormatter().format(failed))
    assert "ValueError: boom" in entry["exception"]
    assert "\n" not in JsonFormatter().format(failed)  # one line per record
