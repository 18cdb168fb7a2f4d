"""Database row ids as clients may send them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# A positive id the database can hold: SQLite and PostgreSQL integers are
# 64-bit, and a bigger number raises in the driver instead of finding nothing.
# The REST API's path ids have the same bound (http/agent_api.py int_param).
RowId = Annotated[int, Field(gt=0, lt=2**62)]
