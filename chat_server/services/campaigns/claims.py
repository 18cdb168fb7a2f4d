"""The engine's use of the manners state: claim a show, give it back, dismiss, answer.

The state is campcore's store (store.py: ``engagement_state`` read, then
compare-and-set on ``version``), so two tabs, or two nodes, claiming at once
never both pass a cap: the loser reads the winner's state and decides again.
A claim whose opener then cannot be delivered is given back the same way.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db.engagement_models import VisitorTraits
from chat_server.db.models import utcnow
from chat_server.services.campaigns import manners
from chat_server.services.campaigns.context import visit_started
from chat_server.services.campaigns.store import MannersStore


def last_activity(state: manners.MannersState) -> datetime | None:
    """The state's latest show or dismiss (a long gap since then starts a new visit)."""
    times = [s.at for s in state.shown]
    if state.last_dismiss_at is not None:
        times.append(state.last_dismiss_at)
    return max(times, default=None)


class Claims:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        store: MannersStore,
        caps: manners.Caps,
    ):
        self._sessions = sessionmaker
        self._store = store
        self._caps = caps

    async def claim(
        self, unit: str, campaign: manners.CampaignLike, in_person_conversation: bool
    ) -> str:
        """Reserve the right to show ``campaign`` now: "" when granted, else the refusal."""
        async with self._sessions() as session:
            traits = await session.get(VisitorTraits, unit)
        traits_start = traits.visit_started_at if traits is not None else None

        def step(
            state: manners.MannersState,
        ) -> tuple[str, manners.MannersState | None]:
            now = utcnow()
            visitor = manners.VisitorNow(
                visit_started_at=visit_started(
                    traits_start, state.visit_started_at, last_activity(state), now
                ),
                in_person_conversation=in_person_conversation,
                # The widget sends typing only from the open chat's message box.
                chat_open=manners.typing_now(state, now),
                typing_recently=manners.typing_now(state, now),
            )
            decision = manners.decide(state, campaign, now, self._caps, visitor)
            return decision.reason, decision.new_state if decision.allowed else None

        return await self._store.change(unit, step)

    async def release(self, unit: str, campaign_id: int, claimed_after: datetime) -> None:
        """Give back a claim whose opener could not be delivered."""

        def step(state: manners.MannersState) -> tuple[None, manners.MannersState | None]:
            kept = tuple(
                s
                for s in state.shown
                if not (s.campaign_id == campaign_id and s.at >= claimed_after)
            )
            return None, replace(state, shown=kept) if kept != state.shown else None

        await self._store.change(unit, step)

    async def dismissed(self, unit: str, campaign_id: int) -> None:
        """Remember a dismiss (cooldowns start now), on every device of the unit."""
        await self._store.record_dismiss(unit, campaign_id, utcnow())

    async def answered(self, unit: str, campaign_id: int) -> None:
        """The visitor answered the opener: it no longer blocks other campaigns."""
        await self._store.record_answer(unit, campaign_id)
