"""Query parameters of the analytics API (docs/analytics.md, "Dashboard API")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chat_server.protocol.ids import ROW_ID_MAX
from chat_server.protocol.text import WellFormedText

Segment = Literal["all", "new", "returning", "identified", "anonymous"]
SEGMENTS: tuple[Segment, ...] = ("all", "new", "returning", "identified", "anonymous")

# The longest range one request may cover.
MAX_DAYS = 400
DEFAULT_DAYS = 7


class AnalyticsQuery(BaseModel):
    """``?from=&to=&segment=&utm_source=&page=&attribution_days=``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    # _range's rules JSON Schema cannot state: the OpenAPI document says them in words.
    start: datetime | None = Field(
        None,
        alias="from",
        description=f"must be before 'to' (else 400); the range covers at most {MAX_DAYS} "
        f"days; default: {DEFAULT_DAYS} days before 'to'",
    )
    end: datetime | None = Field(None, alias="to", description="default: now")
    segment: Segment = "all"
    utm_source: WellFormedText | None = Field(None, min_length=1, max_length=100)
    page: WellFormedText | None = Field(None, min_length=1, max_length=500)
    attribution_days: int | None = Field(None, ge=1, le=365)
    segment_id: int | None = Field(
        None,
        ge=1,
        le=ROW_ID_MAX,
        description="only the visitors in this saved segment now (/api/segments); "
        "404 if there is no such segment",
    )

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @model_validator(mode="after")
    def _range(self) -> AnalyticsQuery:
        end = self.end or datetime.now(UTC)
        start = self.start or end - timedelta(days=DEFAULT_DAYS)
        if start >= end:
            raise ValueError("'from' must be before 'to'")
        if end - start > timedelta(days=MAX_DAYS):
            raise ValueError(f"a range covers at most {MAX_DAYS} days")
        self.start, self.end = start, end
        return self

    def bounds(self) -> tuple[datetime, datetime]:
        """``(from, to)``, defaults filled in."""
        end = self.end or datetime.now(UTC)
        return self.start or end - timedelta(days=DEFAULT_DAYS), end
