"""Manners table: when an opener may be shown (services/campaigns/manners.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chat_server.services.campaigns.manners import (
    Caps,
    MannersState,
    Shown,
    VisitorNow,
    answered,
    decide,
    dismissed,
    order,
    prune,
    shows_of,
    typing_now,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
VISIT = NOW - timedelta(minutes=10)
CAPS = Caps(per_visit=1, per_week=3, dismiss_cooldown_minutes=30)


@dataclass(frozen=True)
class Camp:
    id: int
    priority: int = 0
    per_visitor_cap: int = 2
    cooldown_hours: int = 72


def ago(**kw: float) -> datetime:
    return NOW - timedelta(**kw)


def state(*shown: Shown, **kw: Any) -> MannersState:
    return MannersState(version=4, shown=shown, **kw)


# (name, state, campaign, visitor overrides, caps, reason ("" = allowed))
ROWS: list[tuple[str, MannersState, Camp, dict[str, Any], Caps, str]] = [
    ("fresh visitor", state(), Camp(1), {}, CAPS, ""),
    ("in a conversation with a person", state(), Camp(1), {"in_person_conversation": True}, CAPS,
     "in_conversation"),
    ("typing in an open chat", state(), Camp(1), {"chat_open": True, "typing_recently": True},
     CAPS, "typing"),
    ("chat open but not typing", state(), Camp(1), {"chat_open": True}, CAPS, ""),
    ("typed lately, chat closed", state(), Camp(1), {"typing_recently": True}, CAPS, ""),
    ("another opener open in this visit", state(Shown(2, ago(minutes=5))), Camp(1), {},
     Caps(per_visit=5), "another_open"),
    ("same opener still open", state(Shown(1, ago(minutes=5))), Camp(1), {}, Caps(per_visit=5),
     "another_open"),
    ("open opener of an earlier visit does not block", state(Shown(2, ago(hours=5))), Camp(1), {},
     CAPS, ""),
    ("visit cap reached", state(Shown(2, ago(minutes=5), open=False)), Camp(1), {}, CAPS,
     "visit_cap"),
    ("visit cap 2 leaves room", state(Shown(2, ago(minutes=5), open=False)), Camp(1), {},
     Caps(per_visit=2), ""),
    ("shown just before the visit began is another visit",
     state(Shown(2, VISIT - timedelta(seconds=1), open=False)), Camp(1), {}, CAPS, ""),
    ("week cap reached", state(Shown(2, ago(days=1), open=False), Shown(3, ago(days=3), open=False),
     Shown(4, ago(days=6), open=False)), Camp(1), {}, CAPS, "week_cap"),
    ("week is rolling: 7 days ago is out", state(Shown(2, ago(days=1), open=False),
     Shown(3, ago(days=3), open=False), Shown(4, ago(days=7), open=False)), Camp(1), {}, CAPS, ""),
    ("campaign cap reached", state(Shown(1, ago(days=30), open=False, n=2)), Camp(1), {}, CAPS,
     "campaign_cap"),
    ("campaign cap counts only this campaign", state(Shown(9, ago(days=30), open=False, n=2)),
     Camp(1), {}, CAPS, ""),
    ("campaign cap 3 leaves room", state(Shown(1, ago(days=30), open=False, n=2)),
     Camp(1, per_visitor_cap=3), {}, CAPS, ""),
    ("global cooldown after any dismiss", state(last_dismiss_at=ago(minutes=29),
     dismissed={7: ago(minutes=29)}), Camp(1), {}, CAPS, "dismiss_cooldown"),
    ("global cooldown over", state(last_dismiss_at=ago(minutes=30), dismissed={7: ago(minutes=30)}),
     Camp(1), {}, CAPS, ""),
    ("this campaign dismissed within its cooldown", state(last_dismiss_at=ago(hours=71),
     dismissed={1: ago(hours=71)}), Camp(1), {}, CAPS, "campaign_cooldown"),
    ("this campaign's cooldown over", state(last_dismiss_at=ago(hours=72),
     dismissed={1: ago(hours=72)}), Camp(1), {}, CAPS, ""),
    ("cooldown 0 hours", state(last_dismiss_at=ago(hours=1), dismissed={1: ago(hours=1)}),
     Camp(1, cooldown_hours=0), {}, CAPS, ""),
    ("person beats everything", state(Shown(2, ago(minutes=1))), Camp(1),
     {"in_person_conversation": True}, CAPS, "in_conversation"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("st", "camp", "visitor", "caps", "reason"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_manners_table(
    st: MannersState, camp: Camp, visitor: dict[str, Any], caps: Caps, reason: str
) -> None:
    decision = decide(st, camp, NOW, caps, VisitorNow(visit_started_at=VISIT, **visitor))
    assert (decision.allowed, decision.reason) == (reason == "", reason)
    if reason:
        assert decision.new_state is st
    else:
        assert decision.new_state.version == st.version  # the store bumps it on write
        assert decision.new_state.shown[-1] == Shown(
            camp.id, NOW, open=True, n=shows_of(st, camp.id) + 1
        )


def test_a_second_campaign_in_the_same_visit_is_refused_until_the_first_is_settled() -> None:
    visitor = VisitorNow(visit_started_at=VISIT)
    caps = Caps(per_visit=2, per_week=5, dismiss_cooldown_minutes=0)
    first = decide(MannersState(), Camp(1), NOW, caps, visitor)
    assert first.allowed
    blocked = decide(first.new_state, Camp(2), NOW, caps, visitor)
    assert (blocked.allowed, blocked.reason) == (False, "another_open")
    after_reply = answered(first.new_state, 1)
    assert decide(after_reply, Camp(2), NOW, caps, visitor).allowed
    after_dismiss = dismissed(first.new_state, 1, NOW)
    assert decide(after_dismiss, Camp(2), NOW, caps, visitor).allowed
    # ...but the dismissed one itself waits for its own cooldown.
    again = decide(after_dismiss, Camp(1), NOW + timedelta(hours=1), caps, visitor)
    assert again.reason == "campaign_cooldown"


def test_counts_survive_pruning_and_round_trip_through_the_row() -> None:
    old = Shown(1, ago(days=20), open=False, n=2)
    recent = Shown(2, ago(days=2), open=False, n=1)
    stale = Shown(2, ago(days=9), open=False, n=1)
    kept = prune([stale, old, recent], NOW)
    assert kept == (old, recent)  # campaign 1's latest keeps its count; 2's old one goes
    assert prune([Shown(1, ago(days=401), open=False)], NOW) == ()
    st = MannersState(
        version=3,
        shown=kept,
        visit_started_at=VISIT,
        dismissed={5: ago(hours=2)},
        last_dismiss_at=ago(hours=2),
    )
    row = st.to_row()
    back = MannersState.from_row(
        3, row["shown"], row["visit_started_at"], row["dismissed"], row["last_dismiss_at"]
    )
    assert back == st
    # A naive time from SQLite is UTC.
    naive = MannersState.from_row(
        1, [{"campaign_id": 1, "at": "2026-12-06T11:00:00"}], None, None, None
    )
    assert naive.shown[0].at == datetime(2026, 12, 6, 11, tzinfo=UTC)


def test_typing_is_now_for_ten_seconds_and_never_written_by_a_decision() -> None:
    assert not typing_now(MannersState(), NOW)
    assert typing_now(MannersState(typing_at=ago(seconds=9)), NOW)
    assert not typing_now(MannersState(typing_at=ago(seconds=11)), NOW)
    st = MannersState(typing_at=ago(seconds=1))
    assert "typing_at" not in st.to_row()  # the typing signal alone writes it
    busy = VisitorNow(visit_started_at=VISIT, chat_open=True, typing_recently=True)
    assert decide(st, Camp(1), NOW, CAPS, busy).reason == "typing"


def test_order_by_priority_then_older_id() -> None:
    camps = [Camp(5, priority=1), Camp(2, priority=1), Camp(9, priority=10), Camp(1, priority=-3)]
    assert [c.id for c in order(camps)] == [9, 2, 5, 1]


def test_caps_from_settings() -> None:
    from pydantic import SecretStr

    from chat_server.settings import Settings

    settings = Settings(
        secret_key=SecretStr("x" * 32),
        campaign_cap_per_visit=2,
        campaign_cap_per_week=9,
        campaign_dismiss_cooldown_minutes=5,
    )
    assert Caps.from_settings(settings) == Caps(per_visit=2, per_week=9, dismiss_cooldown_minutes=5)
