"""Ids as clients may send them: database row ids and visitor ids.

The views validate with these and the OpenAPI document (http/openapi.py)
states them, so the two cannot drift.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field

# A positive id the database can hold: SQLite and PostgreSQL integers are
# 64-bit, and a bigger number raises in the driver instead of finding nothing.
# The REST API's path ids have the same bound (http/agent_api.py int_param).
ROW_ID_MAX = 2**62 - 1
RowId = Annotated[int, Field(gt=0, le=ROW_ID_MAX)]
ROW_ID_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": ROW_ID_MAX}

# A visitor id: 32 lower-case hex digits (the widget's, the console's, exports').
VISITOR_ID_PATTERN = r"^[0-9a-f]{32}$"
VISITOR_ID = re.compile(r"[0-9a-f]{32}")
VISITOR_ID_SCHEMA: dict[str, Any] = {"type": "string", "pattern": VISITOR_ID_PATTERN}


def is_visitor_id(value: str) -> bool:
    """``value`` is a well-formed visitor id (the whole string, no trailing newline)."""
    return VISITOR_ID.fullmatch(value) is not None
