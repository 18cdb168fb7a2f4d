"""Manners: may this campaign be shown to this visitor now? Pure: no I/O.

The state is one unit's ``engagement_state`` row (services/campaigns/store.py
reads and compare-and-sets it, so two tabs or two nodes never both pass a
cap). ``decide`` refuses, first reason wins:

- ``in_conversation``: the visitor is queued for or talking with a person;
- ``typing``: the chat is open and the visitor typed in it within
  ``TYPING_WINDOW`` (the widget's typing signal, kept in ``typing_at``);
- ``another_open``: an opener shown in this visit is neither dismissed nor
  answered (one campaign at a time; ``order`` says which goes first);
- ``dismiss_cooldown``: any dismiss within CAMPAIGN_DISMISS_COOLDOWN_MINUTES;
- ``campaign_cooldown``: this campaign was dismissed within its cooldown_hours;
- ``visit_cap``: CAMPAIGN_CAP_PER_VISIT openers already shown in this visit;
- ``week_cap``: CAMPAIGN_CAP_PER_WEEK openers in the rolling 7 days;
- ``campaign_cap``: this campaign was shown per_visitor_cap times already.

An allowed decision carries the new state with the show recorded.

``shown`` entries are ``{"campaign_id", "at", "open", "n"}``: ``open`` until
dismissed or answered, ``n`` the campaign's running count for this unit.
Entries older than 7 days are dropped, except each campaign's latest (it
holds the count), which is kept for ``KEEP_LATEST_DAYS``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from chat_server.settings import Settings

WEEK = timedelta(days=7)
# A typing signal this recent means the visitor is typing now (the widget
# repeats it every 2 s while they type and says when they stop).
TYPING_WINDOW = timedelta(seconds=10)
KEEP_LATEST_DAYS = 400


class CampaignLike(Protocol):
    """What manners need of a campaign (a ``Campaign`` row has all of it)."""

    @property
    def id(self) -> int: ...
    @property
    def priority(self) -> int: ...
    @property
    def per_visitor_cap(self) -> int: ...
    @property
    def cooldown_hours(self) -> int: ...


@dataclass(frozen=True)
class Caps:
    """The global caps (settings CAMPAIGN_CAP_PER_VISIT, _PER_WEEK, _DISMISS_COOLDOWN_MINUTES)."""

    per_visit: int = 1
    per_week: int = 3
    dismiss_cooldown_minutes: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Caps:
        return cls(
            per_visit=settings.campaign_cap_per_visit,
            per_week=settings.campaign_cap_per_week,
            dismiss_cooldown_minutes=settings.campaign_dismiss_cooldown_minutes,
        )


@dataclass(frozen=True)
class VisitorNow:
    """The visitor at the moment of the decision."""

    visit_started_at: datetime
    # Queued for or assigned to a person.
    in_person_conversation: bool = False
    chat_open: bool = False
    # Typed within the last few seconds (the widget's typing signal).
    typing_recently: bool = False


@dataclass(frozen=True)
class Shown:
    campaign_id: int
    at: datetime
    open: bool = True
    n: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "at": self.at.isoformat(),
            "open": self.open,
            "n": self.n,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Shown:
        return cls(
            campaign_id=int(data["campaign_id"]),
            at=_aware(datetime.fromisoformat(str(data["at"]))),
            open=bool(data.get("open", False)),
            n=int(data.get("n", 1)),
        )


@dataclass(frozen=True)
class MannersState:
    """One unit's state. ``version`` is what the store compares on write."""

    version: int = 0
    shown: tuple[Shown, ...] = ()
    visit_started_at: datetime | None = None
    # campaign id -> when it was last dismissed.
    dismissed: dict[int, datetime] = field(default_factory=dict)
    last_dismiss_at: datetime | None = None
    # When the visitor last typed in the open chat (None: not typing).
    typing_at: datetime | None = None

    def to_row(self) -> dict[str, Any]:
        """The columns of ``engagement_state`` a decision writes (version is the
        store's; ``typing_at`` is written by the typing signal alone)."""
        return {
            "shown": [s.to_json() for s in self.shown],
            "visit_started_at": self.visit_started_at,
            "dismissed": {str(k): v.isoformat() for k, v in self.dismissed.items()},
            "last_dismiss_at": self.last_dismiss_at,
        }

    @classmethod
    def from_row(
        cls,
        version: int,
        shown: list[dict[str, Any]] | None,
        visit_started_at: datetime | None,
        dismissed: dict[str, Any] | None,
        last_dismiss_at: datetime | None,
        typing_at: datetime | None = None,
    ) -> MannersState:
        return cls(
            version=version,
            shown=tuple(Shown.from_json(s) for s in shown or []),
            visit_started_at=_aware(visit_started_at) if visit_started_at else None,
            dismissed={
                int(k): _aware(datetime.fromisoformat(str(v))) for k, v in (dismissed or {}).items()
            },
            last_dismiss_at=_aware(last_dismiss_at) if last_dismiss_at else None,
            typing_at=_aware(typing_at) if typing_at else None,
        )


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    new_state: MannersState


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def typing_now(state: MannersState, now: datetime) -> bool:
    """The visitor is typing in the open chat (the signal is within TYPING_WINDOW)."""
    return state.typing_at is not None and _aware(now) - state.typing_at < TYPING_WINDOW


def shows_of(state: MannersState, campaign_id: int) -> int:
    """How often this campaign was shown to the unit (the latest entry's count)."""
    latest = [s for s in state.shown if s.campaign_id == campaign_id]
    return max((s.n for s in latest), default=0)


def prune(shown: Iterable[Shown], now: datetime) -> tuple[Shown, ...]:
    """Entries of the last 7 days, plus each campaign's latest (its count) for a while longer."""
    entries = sorted(shown, key=lambda s: s.at)
    latest: dict[int, Shown] = {}
    for s in entries:
        latest[s.campaign_id] = s
    keep_latest = now - timedelta(days=KEEP_LATEST_DAYS)
    return tuple(
        s
        for s in entries
        if s.at > now - WEEK or (latest[s.campaign_id] is s and s.at > keep_latest)
    )


def refusal(
    state: MannersState, campaign: CampaignLike, now: datetime, caps: Caps, visitor: VisitorNow
) -> str:
    """Why the campaign may not be shown now ("" when it may)."""
    now = _aware(now)
    visit_start = _aware(visitor.visit_started_at)
    if visitor.in_person_conversation:
        return "in_conversation"
    if visitor.chat_open and visitor.typing_recently:
        return "typing"
    this_visit = [s for s in state.shown if s.at >= visit_start]
    if any(s.open for s in this_visit):
        return "another_open"
    if state.last_dismiss_at is not None and now - state.last_dismiss_at < timedelta(
        minutes=caps.dismiss_cooldown_minutes
    ):
        return "dismiss_cooldown"
    dismissed_at = state.dismissed.get(campaign.id)
    if dismissed_at is not None and now - dismissed_at < timedelta(hours=campaign.cooldown_hours):
        return "campaign_cooldown"
    if len(this_visit) >= caps.per_visit:
        return "visit_cap"
    if sum(1 for s in state.shown if now - s.at < WEEK) >= caps.per_week:
        return "week_cap"
    if shows_of(state, campaign.id) >= campaign.per_visitor_cap:
        return "campaign_cap"
    return ""


def decide(
    state: MannersState, campaign: CampaignLike, now: datetime, caps: Caps, visitor: VisitorNow
) -> Decision:
    """Allowed or not, why, and the state with the show recorded when allowed."""
    now = _aware(now)
    reason = refusal(state, campaign, now, caps, visitor)
    if reason:
        return Decision(False, reason, state)
    entry = Shown(campaign.id, now, open=True, n=shows_of(state, campaign.id) + 1)
    new_state = replace(
        state,
        shown=prune((*state.shown, entry), now),
        visit_started_at=_aware(visitor.visit_started_at),
    )
    return Decision(True, "", new_state)


def _close(state: MannersState, campaign_id: int) -> tuple[Shown, ...]:
    return tuple(replace(s, open=False) if s.campaign_id == campaign_id else s for s in state.shown)


def dismissed(state: MannersState, campaign_id: int, now: datetime) -> MannersState:
    """The visitor dismissed the opener: it stops blocking, and cooldowns start."""
    now = _aware(now)
    return replace(
        state,
        shown=_close(state, campaign_id),
        dismissed={**state.dismissed, campaign_id: now},
        last_dismiss_at=now,
    )


def answered(state: MannersState, campaign_id: int) -> MannersState:
    """The visitor replied to the opener: it is a conversation now, no longer an open teaser."""
    return replace(state, shown=_close(state, campaign_id))


C = TypeVar("C", bound=CampaignLike)


def order(campaigns: Sequence[C]) -> list[C]:
    """Which campaign goes first: higher priority, then the older (lower) id."""
    return sorted(campaigns, key=lambda c: (-c.priority, c.id))
