"""Revenue that can be trusted (docs/security.md): only values the site's
backend vouches for count as revenue; browser-reported values are kept
apart, capped; a conversion id counts once. In-process server, Rasa absent,
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from chat_server.services.revenue import conversion_signature
from chat_server.verification import user_hash
from tests.integration.conftest import ADMIN_TOKEN, IDENTITY_SECRET, base, start_server
from tests.integration.helpers import stored_events
from tests.support.visitor import Visitor

API_TOKEN = "conversions-api-token-for-tests-0123"


@pytest.fixture
async def shop(database_url: str) -> AsyncIterator[TestServer]:
    srv = await start_server(database_url, conversions_api_token=API_TOKEN)
    yield srv
    await srv.close()


async def kpis(srv: TestServer) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{base(srv)}/api/analytics/summary",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ) as response,
    ):
        assert response.status == 200, await response.text()
        return dict((await response.json())["kpis"])


async def report(
    srv: TestServer, body: Any, token: str | None = API_TOKEN
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base(srv)}/api/conversions", json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


def purchase(order_id: str, value: float, **extra: Any) -> dict[str, Any]:
    return {"name": "purchase", "properties": {"value": value, "currency": "EUR",
                                               "order_id": order_id, **extra}}  # fmt: skip


async def test_an_anonymous_visitor_cannot_report_billions_as_revenue(shop: TestServer) -> None:
    """The attack in the issue: 90 purchases just under the per-event limit."""
    visitor = Visitor(rapport=True)
    await visitor.connect(base(shop))
    try:
        for n in range(90):
            ack = await visitor.sio.call("track", purchase(f"fake-{n}", 999_999_999), timeout=10)
            assert ack["ok"] is True, ack
    finally:
        await visitor.close()
    figures = await kpis(shop)
    assert figures["conversions"] == 90  # still conversions...
    assert figures["revenue"] == 0.0  # ...but none of it is revenue
    assert figures["conversions_verified"] == 0
    # Kept apart, at most 1,000 per event and 5,000 per visitor per day.
    assert figures["revenue_unverified"] == 5000.0


async def test_a_signed_conversion_is_verified_revenue(shop: TestServer) -> None:
    customer = "c-42"
    visitor = Visitor(rapport=True)
    await visitor.connect(
        base(shop),
        identity={"user_id": customer, "user_hash": user_hash(IDENTITY_SECRET, customer)},
    )
    try:
        signed = conversion_signature(IDENTITY_SECRET, "A-1001", "purchase", 129.9, "EUR", customer)
        ok = await visitor.sio.call(
            "track", purchase("A-1001", 129.9, signature=signed), timeout=10
        )
        retried = await visitor.sio.call(
            "track", purchase("A-1001", 129.9, signature=signed), timeout=10
        )
        # Changed value, or signed for someone else: refused, nothing stored.
        tampered = await visitor.sio.call(
            "track", purchase("A-1002", 9999.0, signature=signed), timeout=10
        )
        other = conversion_signature(IDENTITY_SECRET, "A-1003", "purchase", 10.0, "EUR", "c-7")
        foreign = await visitor.sio.call(
            "track", purchase("A-1003", 10.0, signature=other), timeout=10
        )
        guest = conversion_signature(IDENTITY_SECRET, "G-1", "purchase", 20.0, "EUR", None)
        as_guest = await visitor.sio.call(
            "track", purchase("G-1", 20.0, signature=guest), timeout=10
        )
    finally:
        await visitor.close()
    assert ok == {"ok": True, "duplicate": False, "verified": True}
    assert retried["duplicate"] is True
    assert tampered["ok"] is False and tampered["code"] == "invalid_goal", tampered
    assert "signature" in tampered["message"]
    assert foreign["ok"] is False, foreign
    assert as_guest["ok"] is True and as_guest["verified"] is True
    figures = await kpis(shop)
    assert figures["revenue"] == 149.9  # 129.90 once + 20.00 guest checkout
    assert figures["conversions"] == 2
    assert figures["revenue_unverified"] == 0.0


async def test_an_anonymous_visitor_cannot_sign(shop: TestServer) -> None:
    """Without the secret, a browser can only guess signatures."""
    visitor = Visitor(rapport=True)
    await visitor.connect(base(shop))
    try:
        ack = await visitor.sio.call(
            "track", purchase("A-9", 500.0, signature="0" * 64), timeout=10
        )
    finally:
        await visitor.close()
    assert ack["ok"] is False and ack["code"] == "invalid_goal"
    assert "does not match" in ack["message"]  # read and checked, not just refused
    assert (await kpis(shop))["conversions"] == 0


async def test_the_server_api_verifies_and_upgrades_a_browser_report(shop: TestServer) -> None:
    customer = "c-77"
    visitor = Visitor(rapport=True)
    await visitor.connect(
        base(shop),
        identity={"user_id": customer, "user_hash": user_hash(IDENTITY_SECRET, customer)},
    )
    try:
        # The thank-you page reports the order first, unsigned...
        first = await visitor.sio.call("track", purchase("B-500", 250.0), timeout=10)
    finally:
        await visitor.close()
    assert first == {"ok": True, "duplicate": False, "verified": False}
    before = await kpis(shop)
    assert (before["revenue"], before["revenue_unverified"]) == (0.0, 250.0)
    # ...then the shop's backend confirms it: the same conversion, now verified.
    body = {"conversion_id": "B-500", "goal": "purchase", "value": 249.5,
            "currency": "EUR", "customer_id": customer}  # fmt: skip
    status, upgraded = await report(shop, body)
    assert (status, upgraded["outcome"]) == (201, "upgraded"), upgraded
    assert upgraded["visitor_id"] == visitor.visitor_id
    status, again = await report(shop, body)  # the backend retried
    assert (status, again["outcome"]) == (200, "duplicate")
    # A server-only conversion (nobody we know): still revenue.
    status, new = await report(shop, {"conversion_id": "B-501", "goal": "purchase", "value": 10})
    assert (status, new["outcome"], new["visitor_id"]) == (201, "new", None)
    after = await kpis(shop)
    assert after["conversions"] == 2  # B-500 once, B-501
    assert after["revenue"] == 259.5  # the backend's value, not the browser's
    assert after["revenue_unverified"] == 0.0
    # One conversion event per id, upgraded in place; the upgrade is announced
    # (webhooks read new events only) by a conversion_verified event.
    url = shop.settings.database_url  # type: ignore[attr-defined]
    by_id = {row.data["order_id"]: row for row in await stored_events(url, "conversion")}
    assert sorted(by_id) == ["B-500", "B-501"]
    assert by_id["B-500"].data["verified"] is True
    assert by_id["B-500"].data["source"] == "server"
    assert by_id["B-500"].data["upgraded_from"] == {"value": 250.0}
    [announced] = await stored_events(url, "conversion_verified")
    assert announced.visitor_id == visitor.visitor_id
    assert announced.data["order_id"] == "B-500" and announced.data["unverified_value"] == 250.0


@pytest.mark.parametrize(
    ("token", "status"),
    [(None, 401), ("wrong-token", 401), (ADMIN_TOKEN, 201)],
)
async def test_the_server_api_needs_its_token(
    shop: TestServer, token: str | None, status: int
) -> None:
    got, body = await report(
        shop, {"conversion_id": "T-1", "goal": "purchase", "value": 5}, token=token
    )
    assert got == status, body
    if status == 401:
        assert (await kpis(shop))["conversions"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"conversion_id": "X", "goal": "purchase", "value": "5"},
        {"conversion_id": "X", "goal": "purchase", "value": 1e12},
        {"conversion_id": "", "goal": "purchase", "value": 1},
        {"conversion_id": "X", "goal": "refund", "value": 1},
        {"conversion_id": "X", "goal": "purchase", "value": 1, "extra": True},
        [1, 2],
    ],
)
async def test_the_server_api_refuses_bad_reports(shop: TestServer, body: Any) -> None:
    status, answer = await report(shop, body)
    assert status == 400, answer
    assert answer["message"]
