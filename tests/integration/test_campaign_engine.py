"""The campaign engine end to end on a real in-process chat server (SQLite and
PostgreSQL), with real socket.io clients: watch → ready → assigned, exposed, shown.

Rasa's port is closed here (no fake answers): NPS campaigns need no Rasa and
go the whole way; bot campaigns show what happens when Rasa is down. The
bot opener through the real Rasa is tests/integration/test_campaign_opener_stack.py.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.engagement_models import Segment
from chat_server.db.models import utcnow
from chat_server.services.campaigns.engine import arm_for
from chat_server.services.campaigns.tokens import WatchTokens
from chat_server.transport.visitor import STRIKES_BEFORE_CLOSE
from tests.integration.conftest import base, new_agent, start_server
from tests.support.campaigns import (
    add_campaign,
    assignments,
    campaign_events,
    campaign_values,
    known_units,
    live,
    manners_state,
    version_with_arm,
)
from tests.support.tokens import tampered
from tests.support.visitor import Visitor

PRODUCT = "http://127.0.0.1/products/42"
SECRET = "test-secret-key-0123456789"  # start_server's SECRET_KEY


async def rapport_visitor(srv: TestServer) -> Visitor:
    visitor = Visitor(rapport=True)
    await visitor.connect(base(srv))
    return visitor


async def watch(visitor: Visitor, url: str = PRODUCT) -> dict[str, Any]:
    await visitor.sio.emit("page_view", {"url": url, "title": "Product"})
    data: dict[str, Any] = await visitor.wait_for("campaign_watch", timeout=10)
    return data


def types(events: list[Any]) -> list[str]:
    return [e.type for e in events]


async def settle() -> None:
    await asyncio.sleep(1.5)  # the server had time to do (or not do) it


async def test_a_matching_page_view_sends_a_signed_watch_to_rapport_widgets_only(
    server: TestServer, database_url: str
) -> None:
    campaign_id = await add_campaign(
        database_url,
        rules={
            "url_include": ["http://127.0.0.1/products/*"],
            "active_seconds": 10,
            "scroll_percent": 50,
        },
    )
    widget, webchat = await rapport_visitor(server), Visitor()
    await webchat.connect(base(server))
    try:
        await widget.sio.emit("page_view", {"url": "http://127.0.0.1/about"})
        await webchat.sio.emit("page_view", {"url": PRODUCT})
        await settle()
        assert widget.seen("campaign_watch") == []  # not a product page
        data = await watch(widget)
        assert data["campaign_id"] == campaign_id
        assert data["when"] == {"active_seconds": 10, "scroll_percent": 50}
        WatchTokens(SECRET).verify(data["token"], campaign_id, widget.visitor_id)
        # rasa-webchat never hears of campaigns, and may not fire one.
        await webchat.sio.emit("campaign_ready", {"campaign_id": campaign_id, "token": "1.x"})
        error = await webchat.wait_for("error", timeout=10)
        assert error["code"] == "invalid_payload"
        assert "campaign_watch" not in webchat.received
        assert "campaign_shown" not in webchat.received
        assert await campaign_events(database_url) == []
    finally:
        await widget.close()
        await webchat.close()


async def test_two_tabs_ready_at_once_show_one_opener(
    server: TestServer, database_url: str
) -> None:
    campaign_id = await add_campaign(database_url)
    first = await rapport_visitor(server)
    second = Visitor(rapport=True)
    await second.connect(base(server), session_id=first.session_id)
    try:
        await known_units(database_url, [first.visitor_id])
        token = (await watch(first))["token"]
        ready = {"campaign_id": campaign_id, "token": token, "url": PRODUCT}
        await asyncio.gather(
            first.sio.emit("campaign_ready", ready), second.sio.emit("campaign_ready", ready)
        )
        shown = await first.wait_for("campaign_shown", timeout=10)
        assert shown["campaign_id"] == campaign_id and shown["kind"] == "nps"
        assert shown["message"]["text"] == "How likely ...?"
        await settle()
        events = types(await campaign_events(database_url))
        assert events.count("campaign_shown") == 1
        assert events.count("campaign_exposed") == 1
        assert len(first.seen("campaign_shown")) == 1  # both tabs get the one opener
        assert len(second.seen("campaign_shown")) == 1
    finally:
        await first.close()
        await second.close()


async def test_the_control_arm_logs_would_have_shown_and_receives_nothing(
    server: TestServer, database_url: str
) -> None:
    visitor = await rapport_visitor(server)
    try:
        values = campaign_values(holdout=0.5)
        values["version"] = version_with_arm(values, 1, visitor.visitor_id, "control")
        campaign_id = await add_campaign(database_url, **values)
        assert campaign_id == 1
        token = (await watch(visitor))["token"]
        await visitor.sio.emit("campaign_ready", {"campaign_id": campaign_id, "token": token})
        await settle()
        events = await campaign_events(database_url, visitor.visitor_id)
        assert types(events) == ["campaign_eligible", "campaign_assigned", "campaign_exposed"]
        exposed = events[-1].data
        assert exposed["arm"] == "control" and exposed["shown"] is False
        assert exposed["version"] == values["version"]
        assert visitor.seen("campaign_shown") == []
        [row] = await assignments(database_url)
        assert (row.arm, row.exposures) == ("control", 1)
    finally:
        await visitor.close()


async def test_rasa_down_shows_nothing_and_no_arm_logs_an_exposure(
    server: TestServer, database_url: str
) -> None:
    # Rasa's port is closed in this server: a bot opener cannot be delivered.
    treated, held_out = await rapport_visitor(server), await rapport_visitor(server)
    try:
        values = campaign_values(
            kind="bot",
            holdout=0.5,
            variants=[{"key": "A", "weight": 1.0, "content": {"text": "Hi!"}}],
            goal={"type": "reply", "window_hours": 24},
        )
        # One visitor in each arm of the same campaign version.
        for version in range(1, 500):
            campaign = live({**values, "version": version}, 1)
            if arm_for(campaign, treated.visitor_id) == "A" and (
                arm_for(campaign, held_out.visitor_id) == "control"
            ):
                values["version"] = version
                break
        campaign_id = await add_campaign(database_url, **values)
        for visitor in (treated, held_out):
            token = (await watch(visitor))["token"]
            await visitor.sio.emit("campaign_ready", {"campaign_id": campaign_id, "token": token})
        await asyncio.sleep(3)  # a Rasa call and a status probe fail within rasa_timeout
        assert await campaign_events(database_url) == []
        assert await assignments(database_url) == []
        for visitor in (treated, held_out):
            assert visitor.seen("campaign_shown") == []
            assert visitor.seen("bot_uttered") == []
            state = await manners_state(database_url, visitor.visitor_id)
            assert state is None or state.shown == []  # the claim was given back
    finally:
        await treated.close()
        await held_out.close()


async def test_unknown_campaign_forged_and_expired_tokens_are_refused_clearly(
    server: TestServer, database_url: str
) -> None:
    campaign_id = await add_campaign(database_url)
    visitor, other = await rapport_visitor(server), await rapport_visitor(server)
    try:
        token = (await watch(visitor))["token"]
        tokens = WatchTokens(SECRET)
        cases = [
            ({"campaign_id": 999, "token": token}, "unknown_campaign"),
            ({"campaign_id": campaign_id, "token": tampered(token)}, "invalid_campaign_token"),
            ({"campaign_id": campaign_id, "token": "garbage"}, "invalid_campaign_token"),
            (
                {
                    "campaign_id": campaign_id,
                    "token": tokens.issue(campaign_id, visitor.visitor_id, time.time() - 7200),
                },
                "invalid_campaign_token",
            ),
            ({"campaign_id": "one", "token": token}, "invalid_payload"),
        ]
        for payload, code in cases:
            mark = len(visitor.log)
            await visitor.sio.emit("campaign_ready", payload)
            error = await visitor.wait_for("error", timeout=10, after=mark)
            assert error["code"] == code, (payload, error)
            assert error["message"]
        # Another visitor's token is not yours.
        await other.sio.emit("campaign_ready", {"campaign_id": campaign_id, "token": token})
        error = await other.wait_for("error", timeout=10)
        assert error["code"] == "invalid_campaign_token"
        await settle()
        assert await campaign_events(database_url) == []
        assert await assignments(database_url) == []
    finally:
        await visitor.close()
        await other.close()


async def test_a_flood_of_site_triggers_is_limited(database_url: str) -> None:
    srv = await start_server(database_url, rate_limit_campaign_triggers="5/minute")
    visitor = await rapport_visitor(srv)
    try:
        await add_campaign(database_url, rules={"site_trigger": "added_to_cart"})
        for _ in range(30):
            await visitor.sio.emit("site_trigger", {"name": "added_to_cart"})
        error = await visitor.wait_for("error", timeout=30)
        assert error["code"] == "rate_limited" and error["retry_after"] > 0
        # The first trigger fired the campaign; the cap and the limit held the rest.
        # (The socket may be closed by then: it ignored the refusals.)
        for _ in range(60):
            if "campaign_exposed" in types(await campaign_events(database_url)):
                break
            await asyncio.sleep(0.5)
        await settle()
        assert types(await campaign_events(database_url)).count("campaign_exposed") == 1
        # Every trigger past the limit was refused (a socket that keeps going
        # after 20 refusals in a row is closed: transport/visitor.py).
        refused = [e for e in visitor.seen("error") if e["code"] == "rate_limited"]
        assert len(refused) >= STRIKES_BEFORE_CLOSE
    finally:
        await visitor.close()
        await srv.close()


async def test_a_restart_keeps_caps_and_assignments(database_url: str) -> None:
    srv = await start_server(database_url)
    visitor = await rapport_visitor(srv)
    campaign_id = await add_campaign(database_url, holdout=0.5, per_visitor_cap=1)
    session_id = visitor.session_id
    token = (await watch(visitor))["token"]
    await visitor.sio.emit("campaign_ready", {"campaign_id": campaign_id, "token": token})
    await settle()
    before = [(a.unit, a.arm, a.exposures) for a in await assignments(database_url)]
    assert len(before) == 1
    await visitor.close()
    await srv.close()

    srv = await start_server(database_url)
    visitor = Visitor(rapport=True)
    await visitor.connect(base(srv), session_id=session_id)
    try:
        token = (await watch(visitor))["token"]
        await visitor.sio.emit("campaign_ready", {"campaign_id": campaign_id, "token": token})
        await settle()
        after = [(a.unit, a.arm, a.exposures) for a in await assignments(database_url)]
        assert after == before  # no second exposure: the cap is stored, and the arm
        assert types(await campaign_events(database_url)).count("campaign_exposed") == 1
        assert visitor.seen("campaign_shown") == []
    finally:
        await visitor.close()
        await srv.close()


async def test_nps_answer_and_dismiss_are_logged_and_the_dismiss_starts_a_cooldown(
    server: TestServer, database_url: str
) -> None:
    campaign_id = await add_campaign(database_url, per_visitor_cap=5)
    visitor = await rapport_visitor(server)
    try:
        token = (await watch(visitor))["token"]
        await visitor.sio.emit("campaign_ready", {"campaign_id": campaign_id, "token": token})
        await visitor.wait_for("campaign_shown", timeout=10)
        await visitor.sio.emit("nps_submitted", {"campaign_id": campaign_id, "score": 9})
        await visitor.sio.emit("nps_submitted", {"campaign_id": campaign_id, "score": 11})
        error = await visitor.wait_for("error", timeout=10)
        assert error["code"] == "invalid_payload"
        await visitor.sio.emit("campaign_dismissed", {"campaign_id": campaign_id})
        await settle()
        events = await campaign_events(database_url)
        [nps] = [e.data for e in events if e.type == "nps_submitted"]
        assert (nps["score"], nps["category"], nps["arm"]) == (9, "promoter", "A")
        assert [e.type for e in events].count("campaign_dismissed") == 1
        state = await manners_state(database_url, visitor.visitor_id)
        assert str(campaign_id) in state.dismissed
    finally:
        await visitor.close()


PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


async def add_segment(database_url: str, conditions: list[dict[str, Any]]) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            now = utcnow()
            result = await conn.execute(
                insert(Segment).values(
                    name="Phones",
                    filter={"match": "all", "conditions": conditions},
                    created_at=now,
                    updated_at=now,
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]
    finally:
        await engine.dispose()


async def test_a_segment_campaign_watches_only_the_segments_members(
    server: TestServer, database_url: str
) -> None:
    segment_id = await add_segment(
        database_url, [{"field": "device", "op": "eq", "value": "mobile"}]
    )
    campaign_id = await add_campaign(
        database_url, segment_id=segment_id, rules={"segment_id": segment_id, "active_seconds": 5}
    )
    phone, desktop = Visitor(rapport=True), Visitor(rapport=True)
    await phone.connect(base(server), headers={"User-Agent": PHONE_UA})
    await desktop.connect(base(server), headers={"User-Agent": DESKTOP_UA})
    try:
        data = await watch(phone)
        assert data["campaign_id"] == campaign_id
        await desktop.sio.emit("page_view", {"url": PRODUCT, "title": "Product"})
        await settle()
        assert desktop.seen("campaign_watch") == []  # not in the segment
    finally:
        await phone.close()
        await desktop.close()


async def test_a_site_trigger_with_other_conditions_waits_for_them(
    server: TestServer, database_url: str
) -> None:
    """``Rapport.trigger`` alone does not fire a campaign that also waits for
    time on the page: the widget's watch sends campaign_ready when both hold."""
    campaign_id = await add_campaign(
        database_url, rules={"site_trigger": "added_to_cart", "active_seconds": 20}
    )
    visitor = await rapport_visitor(server)
    try:
        await known_units(database_url, [visitor.visitor_id])
        data = await watch(visitor)
        assert data["when"] == {"site_trigger": "added_to_cart", "active_seconds": 20}
        await visitor.sio.emit("site_trigger", {"name": "added_to_cart"})
        await settle()
        assert "campaign_exposed" not in types(await campaign_events(database_url))
        # Both hold now (the widget's watch says so): it fires.
        await visitor.sio.emit(
            "campaign_ready", {"campaign_id": campaign_id, "token": data["token"], "url": PRODUCT}
        )
        await visitor.wait_for("campaign_shown", timeout=10)
    finally:
        await visitor.close()


async def stored_typing(database_url: str, unit: str, typing: bool) -> None:
    for _ in range(100):
        row = await manners_state(database_url, unit)
        if row is not None and (row.typing_at is not None) == typing:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"typing={typing} never stored for {unit}")


async def test_no_opener_over_a_chat_the_visitor_is_typing_in(
    server: TestServer, database_url: str
) -> None:
    campaign_id = await add_campaign(database_url)
    visitor = await rapport_visitor(server)
    try:
        await known_units(database_url, [visitor.visitor_id])
        token = (await watch(visitor))["token"]
        ready = {"campaign_id": campaign_id, "token": token, "url": PRODUCT}
        await visitor.sio.emit("visitor_typing", {"typing": True})
        await stored_typing(database_url, visitor.visitor_id, True)
        await visitor.sio.emit("campaign_ready", ready)
        await settle()
        assert visitor.seen("campaign_shown") == []
        assert "campaign_exposed" not in types(await campaign_events(database_url))
        # They stopped typing (the widget says so 3 s after the last key): now it may show.
        await visitor.sio.emit("visitor_typing", {"typing": False})
        await stored_typing(database_url, visitor.visitor_id, False)
        await visitor.sio.emit("campaign_ready", ready)
        await visitor.wait_for("campaign_shown", timeout=10)
    finally:
        await visitor.close()


async def test_an_agent_opener_names_the_agent_and_a_reply_answers_it(
    server: TestServer, database_url: str
) -> None:
    sam = await new_agent(server, "Sam")
    await sam.connect()  # online in the console, with room for a chat
    campaign_id = await add_campaign(
        database_url,
        kind="agent",
        agent_id=sam.me["id"],
        variants=[{"key": "A", "weight": 1.0, "content": {"text": "Hi, I'm Sam. Sizes?"}}],
        goal={"type": "reply", "window_hours": 24},
    )
    visitor = await rapport_visitor(server)
    try:
        await known_units(database_url, [visitor.visitor_id])
        token = (await watch(visitor))["token"]
        await visitor.sio.emit(
            "campaign_ready", {"campaign_id": campaign_id, "token": token, "url": PRODUCT}
        )
        shown = await visitor.wait_for("campaign_shown", timeout=10)
        assert shown["message"]["sender"] == {"type": "agent", "name": "Sam"}
        # The widget is told it talks with Sam before the opener arrives.
        opener = await visitor.wait_for("bot_uttered", timeout=10)
        status = visitor.seen("handoff_status")
        assert status and status[0] == {"state": "assigned", "agent_name": "Sam"}
        names = [name for name, _ in visitor.log]
        assert names.index("handoff_status") < names.index("bot_uttered")
        assert opener["sender"]["name"] == "Sam"
        [entry] = (await manners_state(database_url, visitor.visitor_id)).shown
        assert entry["open"] is True
        # The visitor answers: the opener no longer holds other campaigns back.
        await visitor.sio.emit(
            "user_uttered", {"message": "Yes, a size 42", "session_id": visitor.session_id}
        )
        await sam.wait_for_message(shown["conversation_id"], "Yes, a size 42")
        [entry] = (await manners_state(database_url, visitor.visitor_id)).shown
        assert entry["open"] is False
        assert "campaign_replied" in types(await campaign_events(database_url))
    finally:
        await visitor.close()
        await sam.close()
