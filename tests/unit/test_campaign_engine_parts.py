"""The campaign engine's pure parts: watch tokens, NPS categories, goal windows,
webhook topics of campaign events, and hash assignment stability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chat_server.db.models import InteractionEvent
from chat_server.services.campaigns.credit import goal_matches, within_window
from chat_server.services.campaigns.engine import arm_for, nps_category
from chat_server.services.campaigns.tokens import InvalidCampaignToken, WatchTokens
from chat_server.services.webhook_payloads import topics_of
from tests.support.campaigns import live

NOW = 1_800_000_000.0


def test_a_token_is_good_for_its_campaign_visitor_and_hour_only() -> None:
    tokens = WatchTokens("a-secret-key-for-tests")
    token = tokens.issue(7, "v1", NOW)
    tokens.verify(token, 7, "v1", NOW + 3599)
    for campaign_id, visitor, at in ((8, "v1", NOW), (7, "v2", NOW), (7, "v1", NOW + 3601)):
        with pytest.raises(InvalidCampaignToken):
            tokens.verify(token, campaign_id, visitor, at)
    with pytest.raises(InvalidCampaignToken):
        WatchTokens("another-secret-key-xx").verify(token, 7, "v1", NOW)
    for forged in ("", "x", "1.", f"{int(NOW)}.00", "9" * 13 + ".ab", token + "0"):
        with pytest.raises(InvalidCampaignToken):
            tokens.verify(forged, 7, "v1", NOW)


def test_nps_categories() -> None:
    assert [nps_category(s) for s in range(11)] == ["detractor"] * 7 + ["passive"] * 2 + [
        "promoter"
    ] * 2


def test_a_goal_counts_within_its_window_after_the_first_exposure() -> None:
    first = datetime(2026, 1, 1, 12, tzinfo=UTC)
    goal = {"type": "conversion", "name": "purchase", "window_hours": 24}
    assert within_window(goal, first, first)
    assert within_window(goal, first, first + timedelta(hours=24))
    assert not within_window(goal, first, first + timedelta(hours=24, seconds=1))
    assert not within_window(goal, first, first - timedelta(seconds=1))
    assert within_window({"type": "reply"}, first, first + timedelta(hours=71))  # default 72 h
    assert goal_matches(goal, "conversion", "purchase")
    assert not goal_matches(goal, "conversion", "signup")
    assert goal_matches({"type": "reply"}, "reply", None)
    assert not goal_matches({"type": "reply"}, "handoff", None)


def test_campaign_events_map_to_their_webhook_topics() -> None:
    assert topics_of(InteractionEvent(type="campaign_shown", data={})) == ["campaign.shown"]
    assert topics_of(InteractionEvent(type="campaign_converted", data={})) == ["campaign.converted"]
    assert topics_of(InteractionEvent(type="campaign_exposed", data={})) == []


def test_the_arm_depends_on_campaign_version_and_unit_only() -> None:
    values = {
        "holdout": 0.1,
        "variants": [
            {"key": "A", "weight": 0.5, "content": {"text": "a"}},
            {"key": "B", "weight": 0.5, "content": {"text": "b"}},
        ],
    }
    units = [f"visitor-{i}" for i in range(2000)]
    arms = [arm_for(live(values, 3), u) for u in units]
    assert arms == [arm_for(live(values, 3), u) for u in units]  # stable
    shares = {arm: arms.count(arm) / len(arms) for arm in ("control", "A", "B")}
    assert abs(shares["control"] - 0.1) < 0.03 and abs(shares["A"] - 0.45) < 0.05
    # A new version is a new experiment: units are shuffled again.
    moved = sum(
        a != arm_for(live({**values, "version": 2}, 3), u) for a, u in zip(arms, units, strict=True)
    )
    assert moved > 500
