"""The manners state in ``engagement_state``: read, then compare-and-set on ``version``.

Two tabs of one visitor, or two chat-server nodes, may decide at the same
moment; only one write of a given version succeeds (``UPDATE ... WHERE unit
= ? AND version = ?``, or the INSERT of a first row, whose primary key makes
the second INSERT fail). The loser reads again and decides again on the
winner's state, so a cap can never be passed twice. State survives restarts
because it lives in the database, not in a node's memory.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import errors
from chat_server.db.engagement_models import EngagementState
from chat_server.services.campaigns.manners import (
    CampaignLike,
    Caps,
    Decision,
    MannersState,
    VisitorNow,
    answered,
    decide,
    dismissed,
)

T = TypeVar("T")
# A unit's writes race only between its own tabs and nodes: a few tries settle it.
ATTEMPTS = 8
# The widget repeats "typing" every 2 s: store it at most this often.
TYPING_WRITE_EVERY = timedelta(seconds=4)


def state_of(row: EngagementState) -> MannersState:
    return MannersState.from_row(
        row.version,
        row.shown,
        row.visit_started_at,
        row.dismissed,
        row.last_dismiss_at,
        row.typing_at,
    )


async def answer_in(session: AsyncSession, unit: str, campaign_id: int) -> None:
    """In the caller's transaction (the one storing the visitor's reply): the
    opener is answered, so it no longer holds other campaigns back. The
    version goes up, so a decision racing with it reads again."""
    row = await session.get(EngagementState, unit, with_for_update=True)
    if row is None:
        return
    state = state_of(row)
    new = answered(state, campaign_id)
    if new.shown != state.shown:
        row.shown = new.to_row()["shown"]
        row.version = state.version + 1
        row.updated_at = datetime.now(UTC)


class StateConflict(errors.Conflict):
    """Others kept changing this unit's state; nothing was written."""

    code = "state_conflict"


class MannersStore:
    """Reads and compare-and-sets one unit's manners state."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def load(self, unit: str) -> MannersState:
        """The unit's state (version 0 and empty when it has none yet)."""
        async with self._sessions() as session:
            row = await session.scalar(select(EngagementState).where(EngagementState.unit == unit))
        return MannersState() if row is None else state_of(row)

    async def compare_and_set(self, unit: str, old: MannersState, new: MannersState) -> bool:
        """Store ``new`` if the version is still ``old.version``; False if another was first."""
        values = {**new.to_row(), "version": old.version + 1, "updated_at": datetime.now(UTC)}
        async with self._sessions() as session:
            result = await session.execute(
                update(EngagementState)
                .where(EngagementState.unit == unit, EngagementState.version == old.version)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1:
                await session.commit()
                return True
            if old.version != 0:
                return False
            # No row yet: the first INSERT wins, the primary key refuses the second.
            session.add(EngagementState(unit=unit, **values))
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                return False
            return True

    async def change(
        self, unit: str, step: Callable[[MannersState], tuple[T, MannersState | None]]
    ) -> T:
        """Run ``step`` on the current state and store what it returns, retrying on a lost race.

        ``step`` returns (result, new state or None for "write nothing").
        """
        for _ in range(ATTEMPTS):
            state = await self.load(unit)
            result, new = step(state)
            if new is None or await self.compare_and_set(unit, state, new):
                return result
        raise StateConflict("the visitor's campaign state kept changing; try again")

    async def try_show(
        self, unit: str, campaign: CampaignLike, now: datetime, caps: Caps, visitor: VisitorNow
    ) -> Decision:
        """Decide and, when allowed, record the show, atomically against other tabs and nodes."""

        def step(state: MannersState) -> tuple[Decision, MannersState | None]:
            decision = decide(state, campaign, now, caps, visitor)
            return decision, decision.new_state if decision.allowed else None

        return await self.change(unit, step)

    async def record_dismiss(self, unit: str, campaign_id: int, now: datetime) -> None:
        await self.change(unit, lambda s: (None, dismissed(s, campaign_id, now)))

    async def record_answer(self, unit: str, campaign_id: int) -> None:
        await self.change(unit, lambda s: (None, answered(s, campaign_id)))

    async def record_typing(self, unit: str, typing: bool) -> None:
        """The visitor started (or goes on) typing in the open chat, or stopped.

        One UPDATE at most every TYPING_WRITE_EVERY while they type; the
        version is left alone (decisions read ``typing_at``, never write it).
        """
        now = datetime.now(UTC)
        table = EngagementState
        async with self._sessions.begin() as session:
            if not typing:
                await session.execute(
                    update(table)
                    .where(table.unit == unit, table.typing_at.is_not(None))
                    .values(typing_at=None)
                    .execution_options(synchronize_session=False)
                )
                return
            result = await session.execute(
                update(table)
                .where(
                    table.unit == unit,
                    or_(table.typing_at.is_(None), table.typing_at < now - TYPING_WRITE_EVERY),
                )
                .values(typing_at=now)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1 or await session.get(table, unit) is not None:
                return
            first = EngagementState(unit=unit, version=0, typing_at=now, updated_at=now)
            try:
                async with session.begin_nested():
                    session.add(first)
            except IntegrityError:
                pass  # a decision stored the first row just now: the next signal sets it
