"""Where a dashboard answer's figures come from: the raw event log
(figures.py) or the hourly rollups (rolled.py), behind one interface.

The service picks :class:`Rolled` for windows the rollups can answer
(rolled.applies) and :class:`Raw` otherwise, or when rollups are off.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db import rollup_queries as rq
from chat_server.services.analytics import figures, rolled
from chat_server.services.analytics.window import Window


class Raw:
    """Every figure from the raw event log."""

    def __init__(self, session: AsyncSession, window: Window) -> None:
        self.session, self.window = session, window

    async def count(self, *types: str) -> int:
        return await figures.count(self.session, self.window, *types)

    async def counts(self, types: list[str]) -> dict[str, int]:
        """count() of each of ``types`` at once."""
        return await figures.counts(self.session, self.window, types)

    async def visitors_with(self, *types: str) -> int:
        return await figures.visitors_with(self.session, self.window, *types)

    async def widget_opened_without_message(self) -> int:
        return await figures.widget_opened_without_message(self.session, self.window)

    async def conversations_contained(self) -> int:
        return await figures.conversations_contained(self.session, self.window)

    async def conversations_asking(self) -> int:
        return await figures.conversations_asking(self.session, self.window)

    async def intents(self) -> list[tuple[Any, ...]]:
        return await figures.grouped(self.session, self.window, "bot_replied", "intent")

    async def cards(self) -> dict[tuple[str, str | None], list[int]]:
        return await figures.cards(self.session, self.window)

    async def conversions(self) -> list[figures.Conversion]:
        return await figures.conversions(self.session, self.window)

    async def series(self) -> list[dict[str, Any]]:
        return await figures.series(self.session, self.window)

    async def funnel(self) -> list[dict[str, Any]]:
        return await figures.funnel(self.session, self.window)

    async def utm_sources(self) -> list[dict[str, Any]]:
        return await figures.utm_sources(self.session, self.window)

    async def pages(self) -> list[dict[str, Any]]:
        return await figures.pages(self.session, self.window)


class Rolled(Raw):
    """The heavy figures from the rollups (same results, rolled.py)."""

    def __init__(self, session: AsyncSession, window: Window, cov: rq.Coverage) -> None:
        super().__init__(session, window)
        self.cov = cov
        self._visitors: dict[str, int] | None = None
        self._conversations: tuple[int, int] | None = None

    async def _visitor_counts(self) -> dict[str, int]:
        """The per-visitor figures, one pass for all (rolled.visitor_counts)."""
        if self._visitors is None:
            self._visitors = await rolled.visitor_counts(self.session, self.window, self.cov)
        return self._visitors

    async def count(self, *types: str) -> int:
        return await rolled.count(self.session, self.window, self.cov, *types)

    async def counts(self, types: list[str]) -> dict[str, int]:
        return await rolled.counts(self.session, self.window, self.cov, types)

    async def visitors_with(self, *types: str) -> int:
        if set(types) == {"page_view", "message_received"}:
            return (await self._visitor_counts())["visitors"]
        if set(types) == {"message_received"}:
            return (await self._visitor_counts())["chatters"]
        return await super().visitors_with(*types)

    async def widget_opened_without_message(self) -> int:
        return (await self._visitor_counts())["widget_only"]

    async def _conversation_counts(self) -> tuple[int, int]:
        if self._conversations is None:
            self._conversations = await rolled.conversation_counts(
                self.session, self.window, self.cov
            )
        return self._conversations

    async def conversations_contained(self) -> int:
        return (await self._conversation_counts())[1]

    async def conversations_asking(self) -> int:
        return (await self._conversation_counts())[0]

    async def intents(self) -> list[tuple[Any, ...]]:
        return await rolled.grouped(self.session, self.window, self.cov, "intent")

    async def cards(self) -> dict[tuple[str, str | None], list[int]]:
        return await rolled.cards(self.session, self.window, self.cov)

    async def conversions(self) -> list[figures.Conversion]:
        chatted = rolled.chatted(self.session, self.window, self.cov)
        return await figures.conversions(self.session, self.window, chatted)

    async def series(self) -> list[dict[str, Any]]:
        return await rolled.series(self.session, self.window, self.cov)

    async def funnel(self) -> list[dict[str, Any]]:
        found = await self._visitor_counts()
        counts = ("visitors", "chatters", "chat_click", "chat_click_buy")
        steps = ("visit", "chat", "recommendation_click", "conversion")
        return [{"step": s, "visitors": found[c]} for s, c in zip(steps, counts, strict=True)]

    async def utm_sources(self) -> list[dict[str, Any]]:
        return await rolled.utm_sources(self.session, self.window, self.cov)

    async def pages(self) -> list[dict[str, Any]]:
        return await rolled.pages(self.session, self.window, self.cov)
