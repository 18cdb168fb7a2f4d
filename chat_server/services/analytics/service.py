"""The dashboard's figures: KPIs, time series, funnel and breakdown tables.

Formulas: docs/analytics.md, "Metrics". Reads only; one short read
transaction per request (the summary: five, run concurrently).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import errors
from chat_server.protocol.agent import ROLE_MARKETER
from chat_server.services.analytics import episodes, figures, rolled
from chat_server.services.analytics.masking import mask_rows, mask_summary, merge_counts
from chat_server.services.analytics.rollups import Rollups
from chat_server.services.analytics.source import Raw, Rolled
from chat_server.services.analytics.stats import mean, percentile, rate
from chat_server.services.analytics.window import Window

_T = TypeVar("_T")

# A table: its column names and rows (also the CSV export).
Table = tuple[list[str], list[list[Any]]]

TABLES = (
    "handoff_reasons",
    "intents",
    "unrecognised",
    "agents",
    "csat",
    "products",
    "categories",
    "utm_sources",
    "pages",
    "series",
    "funnel",
)


# The event types the KPIs count, read in one query.
COUNTED = (
    "conversation_started",
    "bot_replied",
    "bot_fallback",
    "card_impression",
    "card_clicked",
    "lead_captured",
)

# The "Top unrecognised messages" table: rows shown, and rows read to merge.
UNRECOGNISED_SHOWN = 20
UNRECOGNISED_SCAN = 500


class UnknownTable(errors.NotFound):
    """No table has that name."""


class AnalyticsService:
    """Computes the dashboard's figures from the interaction event log."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        visitors_online: Callable[[], int],
        rollups: Rollups | None = None,
    ) -> None:
        self._sessions = sessionmaker
        self._online = visitors_online
        # None: every figure from the raw log (the rollups' reference).
        self.rollups = rollups

    async def run_rollups(self) -> None:
        """Keep the rollups current until cancelled (nothing without rollups)."""
        if self.rollups is not None:
            await self.rollups.run()

    async def rollups_after_purge(self, cutoff: datetime) -> None:
        """Retention deleted the events before ``cutoff`` (rollups.after_purge)."""
        if self.rollups is not None:
            await self.rollups.after_purge(cutoff)

    async def _source(self, session: AsyncSession, window: Window) -> Raw:
        """The rollups for the windows they answer, else the raw log."""
        if self.rollups is None or not rolled.applies(window):
            return Raw(session, window)
        return Rolled(session, window, await self.rollups.coverage(session))

    async def summary(self, window: Window) -> dict[str, Any]:
        """KPI tiles, time series and funnel for ``window``.

        Five independent reads, each in a short read transaction of its own,
        run concurrently: the handoff episodes, the conversions, the
        per-visitor figures, the event counts and the series (on 5 M events
        each is 100 to 250 ms of database work; in a row they added up:
        docs/performance.md)."""

        async def read(part: Callable[[Raw], Awaitable[_T]]) -> _T:
            async with self._sessions() as session:
                return await part(await self._source(session, window))

        async def handoffs() -> list[episodes.Episode]:
            async with self._sessions() as session:
                return await episodes.fetch(session, window)

        found, conversions, (people, funnel), activity, series = await asyncio.gather(
            handoffs(),
            read(lambda source: source.conversions()),
            read(_people),
            read(_activity),
            read(lambda source: source.series()),
        )
        chatters = people["chatters"]
        kpis: dict[str, Any] = {
            "visitors_online": self._online(),
            "visitors": people["visitors"],
            "conversations": activity["conversations"],
            "engagement_rate": rate(chatters, people["visitors"]),
            "widget_opened_no_message": people["widget_opened_no_message"],
            **activity["rates"],
        }
        durations = _handoff_kpis(found, window)
        resolutions = durations.pop("resolutions")
        kpis.update(durations)
        kpis["csat_response_rate"] = rate(kpis["csat_responses"], resolutions)
        kpis.update(_conversion_kpis(conversions, people["visitors"], chatters))
        # Numbers and dates only today; masked anyway, like every table.
        return mask_summary(
            {
                "range": {
                    "from": window.start.isoformat(),
                    "to": window.end.isoformat(),
                    "bucket": "hour" if window.hourly else "day",
                },
                "generated_at": datetime.now(UTC).isoformat(),
                "kpis": kpis,
                "series": series,
                "funnel": funnel,
            }
        )

    async def table(self, name: str, window: Window) -> Table:
        """One breakdown table by name (see TABLES), every text cell masked
        (masking.py): analytics never show a visitor's personal data."""
        builders: dict[str, Callable[[Raw], Awaitable[Table]]] = {
            "handoff_reasons": self._handoff_reasons,
            "intents": self._intents,
            "unrecognised": self._unrecognised,
            "agents": self._agents,
            "csat": self._csat,
            "products": self._products,
            "categories": self._categories,
            "utm_sources": _rows_of("utm_sources"),
            "pages": _rows_of("pages"),
            "series": _rows_of("series"),
            "funnel": _rows_of("funnel"),
        }
        if name not in builders:
            raise UnknownTable(name)
        async with self._sessions() as session:
            columns, rows = await builders[name](await self._source(session, window))
        return columns, mask_rows(rows)

    # -- tables -------------------------------------------------------------

    async def _handoff_reasons(self, source: Raw) -> Table:
        session, window = source.session, source.window
        conversations = await source.count("conversation_started")
        rows = await figures.reasons(session, window)
        return ["reason", "handoffs", "rate"], [
            [reason, n, rate(n, conversations)] for reason, n in rows
        ]

    async def _intents(self, source: Raw) -> Table:
        rows = await source.intents()
        total = sum(n for _, n in rows)
        return ["intent", "messages", "share"], [[intent, n, rate(n, total)] for intent, n in rows]

    async def _unrecognised(self, source: Raw) -> Table:
        session, window = source.session, source.window
        # Texts differing only by an email or number merge once masked, so
        # more are read than shown.
        found = await figures.unrecognised(session, window, limit=UNRECOGNISED_SCAN)
        return ["text", "times"], merge_counts(found, UNRECOGNISED_SHOWN)

    async def _agents(self, source: Raw) -> Table:
        session, window = source.session, source.window
        accounts = await figures.agent_roles(session)
        per_agent: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        found = await episodes.fetch(session, window)
        for key, values in _durations(found, window).items():
            for agent, seconds in values:
                if agent is not None:
                    per_agent[agent][key].append(seconds)
        for episode in found:
            for agent, at in episode.assignments:
                if agent is not None and episodes.in_window(at, window):
                    per_agent[agent]["assigned"].append(1)
        for agent, score in await figures.csat_scores(session, window):
            if agent is not None:
                per_agent[agent]["csat"].append(score)
        # People who take chats only: a marketer never appears, even if a
        # conversation was once (wrongly) given to one.
        for agent in list(per_agent):
            if accounts.get(agent, ("", ""))[1] == ROLE_MARKETER:
                del per_agent[agent]
        names = {agent: name for agent, (name, _) in accounts.items()}
        columns = [
            "agent_id",
            "agent",
            "handoffs_taken",
            "first_response_p50",
            "first_response_p90",
            "resolved",
            "resolution_p50",
            "csat_average",
            "csat_responses",
        ]
        rows: list[list[Any]] = [
            [
                agent,
                names.get(agent, f"#{agent}"),
                len(f["assigned"]),
                percentile(f["first_response"], 50),
                percentile(f["first_response"], 90),
                len(f["resolution"]),
                percentile(f["resolution"], 50),
                mean(f["csat"]),
                len(f["csat"]),
            ]
            for agent, f in per_agent.items()
        ]
        rows.sort(key=lambda r: (-r[2], str(r[1])))
        return columns, rows

    async def _csat(self, source: Raw) -> Table:
        session, window = source.session, source.window
        scores = [score for _, score in await figures.csat_scores(session, window)]
        return ["score", "ratings", "share"], [
            [score, scores.count(score), rate(scores.count(score), len(scores))]
            for score in range(1, 6)
        ]

    async def _products(self, source: Raw) -> Table:
        cards = await source.cards()
        rows: list[list[Any]] = [
            [product, category, shown, clicked, rate(clicked, shown)]
            for (product, category), (shown, clicked) in cards.items()
        ]
        rows.sort(key=lambda r: (-r[2], -r[3], r[0]))
        return ["product_id", "category", "impressions", "clicks", "ctr"], rows

    async def _categories(self, source: Raw) -> Table:
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for (_, category), (shown, clicked) in (await source.cards()).items():
            totals[category or "(none)"][0] += shown
            totals[category or "(none)"][1] += clicked
        rows: list[list[Any]] = [[c, s, k, rate(k, s)] for c, (s, k) in totals.items()]
        rows.sort(key=lambda r: (-r[1], r[0]))
        return ["category", "impressions", "clicks", "ctr"], rows


def _durations(
    found: list[episodes.Episode], window: Window
) -> dict[str, list[tuple[int | None, float]]]:
    """``(agent, seconds)`` per measure, of every episode whose measure ended
    in the range: queue wait (to the first assignment), first response (to
    the first agent message of the handoff), resolution (to resolved)."""
    measures: dict[str, list[tuple[int | None, float]]] = {
        "wait": [],
        "first_response": [],
        "resolution": [],
    }
    for episode in found:
        for key, measured in (
            ("wait", episode.wait()),
            ("first_response", episode.first_response_seconds()),
            ("resolution", episode.resolution()),
        ):
            if measured is not None and episodes.in_window(measured[1], window):
                measures[key].append((measured[0], measured[2]))
    return measures


def _rows_of(figure: str) -> Callable[[Raw], Awaitable[Table]]:
    """A table from the source's ``figure``: a list of dicts (one per row,
    the same keys in each)."""

    async def table(source: Raw) -> Table:
        records: list[dict[str, Any]] = await getattr(source, figure)()
        columns = list(records[0]) if records else []
        return columns, [list(r.values()) for r in records]

    return table


async def _people(source: Raw) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The per-visitor KPIs and the funnel (one pass over the reach rows)."""
    people = {
        "visitors": await source.visitors_with("page_view", "message_received"),
        "chatters": await source.visitors_with("message_received"),
        "widget_opened_no_message": await source.widget_opened_without_message(),
    }
    return people, await source.funnel()


async def _activity(source: Raw) -> dict[str, Any]:
    """The conversation count and the KPIs counted from events."""
    n = await source.counts(list(COUNTED))
    conversations = n["conversation_started"]
    contained = await source.conversations_contained()
    asking = await source.conversations_asking()
    scores = [score for _, score in await figures.csat_scores(source.session, source.window)]
    return {
        "conversations": conversations,
        "rates": {
            "containment_rate": rate(contained, conversations),
            "handoff_rate": rate(asking, conversations),
            "fallback_rate": rate(n["bot_fallback"], n["bot_replied"]),
            "csat_average": mean(scores),
            "csat_responses": len(scores),
            "recommendation_ctr": rate(n["card_clicked"], n["card_impression"]),
            "leads": n["lead_captured"],
        },
    }


def _handoff_kpis(found: list[episodes.Episode], window: Window) -> dict[str, Any]:
    """The queue wait, first response and resolution KPIs of ``found``."""
    timed = _durations(found, window)
    waits = [s for _, s in timed["wait"]]
    firsts = [s for _, s in timed["first_response"]]
    resolutions = [s for _, s in timed["resolution"]]
    return {
        "queue_wait_p50": percentile(waits, 50),
        "queue_wait_p90": percentile(waits, 90),
        "first_response_p50": percentile(firsts, 50),
        "first_response_p90": percentile(firsts, 90),
        "resolution_p50": percentile(resolutions, 50),
        "resolution_p90": percentile(resolutions, 90),
        "resolutions": len(resolutions),  # for the CSAT response rate; not shown
    }


def _conversion_kpis(
    conversions: list[figures.Conversion], visitors: int, chatters: int
) -> dict[str, Any]:
    """The conversion and revenue KPIs."""
    attributed = [c for c in conversions if c.attributed]
    verified = [c for c in conversions if c.verified]
    # Visitors who bought within the window after chatting, and buyers who
    # never chatted in the range (a chatter buying later is in neither).
    chat_buyers = {c.visitor for c in attributed}
    silent_buyers = {c.visitor for c in conversions if not c.chatter and c.visitor}
    return {
        "conversions": len(conversions),
        # Revenue is what the site's backend vouched for; values browsers
        # reported on their own are shown apart, never added to it.
        "conversions_verified": len(verified),
        "revenue": round(sum(c.value for c in verified), 2),
        "revenue_unverified": round(sum(c.value for c in conversions if not c.verified), 2),
        "conversion_rate_chatted": rate(len(chat_buyers), chatters),
        "conversion_rate_not_chatted": rate(len(silent_buyers), visitors - chatters),
        "revenue_chatted": round(sum(c.value for c in verified if c.attributed), 2),
        "revenue_not_chatted": round(sum(c.value for c in verified if not c.attributed), 2),
    }
