"""Saved segments: create, list, change, archive; counts and membership.

A segment is a named filter (filter.py). Counting and membership compile it
to SQL (sql.py) over ``visitor_traits``, so they use the indexes; the campaign
engine asks ``contains`` for one visitor, analytics use ``members_query`` as a
subquery. A segment a live campaign uses cannot be archived.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import errors
from chat_server.db.engagement_models import Campaign, Segment, VisitorTraits
from chat_server.db.models import utcnow
from chat_server.services.segments import sql
from chat_server.services.segments.filter import Filter, parse_filter
from chat_server.services.serialize import iso


class SegmentNotFound(errors.NotFound):
    """No segment with this id."""


class SegmentExists(errors.Conflict):
    """Another segment has this name."""

    code = "segment_exists"


class SegmentInUse(errors.Conflict):
    """Campaigns that are not archived use this segment."""

    code = "segment_in_use"


class SegmentArchived(errors.Conflict):
    """An archived segment cannot be changed."""

    code = "segment_archived"


def segment_json(segment: Segment) -> dict[str, Any]:
    return {
        "id": segment.id,
        "name": segment.name,
        "description": segment.description,
        "filter": segment.filter,
        "created_by": segment.created_by,
        "created_at": iso(segment.created_at),
        "updated_at": iso(segment.updated_at),
        "archived_at": iso(segment.archived_at),
    }


class SegmentService:
    """Saved segments and their members."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessionmaker

    async def create(
        self,
        name: str,
        segment_filter: Filter,
        description: str | None = None,
        created_by: int | None = None,
    ) -> dict[str, Any]:
        """A new segment; SegmentExists if the name is taken."""
        now = utcnow()
        segment = Segment(
            name=name.strip(),
            description=description,
            filter=segment_filter.as_json(),
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        try:
            async with self._sessions.begin() as session:
                await self._name_free(session, segment.name)
                session.add(segment)
                await session.flush()
                return segment_json(segment)
        except IntegrityError:
            raise SegmentExists(f"a segment named {segment.name!r} exists") from None

    async def list(self, include_archived: bool = False) -> list[dict[str, Any]]:
        """Every segment by name (archived ones only when asked)."""
        query = select(Segment).order_by(Segment.name)
        if not include_archived:
            query = query.where(Segment.archived_at.is_(None))
        async with self._sessions() as session:
            return [segment_json(s) for s in await session.scalars(query)]

    async def get(self, segment_id: int) -> dict[str, Any]:
        """One segment; SegmentNotFound."""
        async with self._sessions() as session:
            return segment_json(await self._segment(session, segment_id))

    async def update(
        self,
        segment_id: int,
        name: str | None = None,
        description: str | None = None,
        segment_filter: Filter | None = None,
    ) -> dict[str, Any]:
        """Change what is given; SegmentArchived for an archived segment."""
        try:
            async with self._sessions.begin() as session:
                segment = await self._segment(session, segment_id)
                if segment.archived_at is not None:
                    raise SegmentArchived(f"segment {segment_id} is archived")
                if name is not None and name.strip() != segment.name:
                    await self._name_free(session, name.strip())
                    segment.name = name.strip()
                if description is not None:
                    segment.description = description
                if segment_filter is not None:
                    segment.filter = segment_filter.as_json()
                segment.updated_at = utcnow()
                await session.flush()
                return segment_json(segment)
        except IntegrityError:
            raise SegmentExists(f"a segment named {(name or '').strip()!r} exists") from None

    async def archive(self, segment_id: int) -> dict[str, Any]:
        """Archive (segments are never deleted); SegmentInUse names the campaigns."""
        async with self._sessions.begin() as session:
            segment = await self._segment(session, segment_id)
            users = list(
                await session.execute(
                    select(Campaign.id, Campaign.name)
                    .where(Campaign.segment_id == segment_id, Campaign.status != "archived")
                    .order_by(Campaign.id)
                )
            )
            if users:
                names = ", ".join(f"{name!r} (#{cid})" for cid, name in users)
                raise SegmentInUse(
                    f"segment {segment.name!r} is used by campaigns {names}: "
                    "archive them or change their segment first"
                )
            if segment.archived_at is None:
                segment.archived_at = segment.updated_at = utcnow()
            await session.flush()
            return segment_json(segment)

    async def preview_count(self, segment_filter: Filter, now: datetime | None = None) -> int:
        """How many visitors match a filter being edited."""
        async with self._sessions() as session:
            return int(await session.scalar(sql.count_query(segment_filter, now or utcnow())) or 0)

    async def count(self, segment_id: int) -> int:
        """How many visitors are in a saved segment now."""
        return await self.preview_count(await self.filter_of(segment_id))

    async def contains(self, segment_id: int, visitor_id: str) -> bool:
        """Whether one visitor is in the segment (the campaign engine asks)."""
        segment_filter = await self.filter_of(segment_id)
        query = select(
            exists().where(
                VisitorTraits.visitor_id == visitor_id, sql.where(segment_filter, utcnow())
            )
        )
        async with self._sessions() as session:
            return bool(await session.scalar(query))

    async def members_query(self, segment_id: int, now: datetime | None = None) -> Select[str]:
        """The segment's visitor ids as a query to use as a subquery (analytics)."""
        return sql.members(await self.filter_of(segment_id), now or utcnow())

    async def filter_of(self, segment_id: int) -> Filter:
        """The saved filter, validated; SegmentNotFound."""
        async with self._sessions() as session:
            segment = await self._segment(session, segment_id)
        return parse_filter(segment.filter)

    @staticmethod
    async def _segment(session: AsyncSession, segment_id: int) -> Segment:
        segment = await session.get(Segment, segment_id)
        if segment is None:
            raise SegmentNotFound(f"no segment {segment_id}")
        return segment

    @staticmethod
    async def _name_free(session: AsyncSession, name: str) -> None:
        taken = await session.scalar(select(Segment.id).where(Segment.name == name))
        if taken is not None:
            raise SegmentExists(f"a segment named {name!r} exists")
