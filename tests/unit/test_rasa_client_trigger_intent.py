"""RasaClient.trigger_intent at the module's edge: a local web server answers
as Rasa 3.6's ``POST /conversations/{id}/trigger_intent`` does (its real
behaviour is checked against Rasa in tests/integration/test_trigger_intent.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from chat_server import errors
from chat_server.rasa_client import (
    IntentNotInDomain,
    RasaClient,
    RasaNotFound,
    RasaUnavailable,
)
from dev.devstack import free_port

TOKEN = "rasa-token-for-trigger-tests"
OPENER = {
    "recipient_id": "visitor-1",
    "text": "Tents are 20% off this week.",
    "buttons": [{"title": "Show me", "payload": "/affirm"}],
}
CARDS = {"recipient_id": "visitor-1", "custom": {"type": "product_cards", "products": []}}


class FakeRasa:
    """Records requests; answers with ``status`` and ``body``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.status = 200
        self.body: Any = {
            "tracker": {"sender_id": "visitor-1", "slots": {"campaign_variant": "b"}},
            "messages": [OPENER, CARDS],
        }

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, dict(request.query), await request.json()))
        if isinstance(self.body, str):
            return web.Response(status=self.status, text=self.body)
        return web.json_response(self.body, status=self.status)


@pytest.fixture
async def rasa() -> AsyncIterator[tuple[FakeRasa, RasaClient]]:
    fake = FakeRasa()
    app = web.Application()
    app.router.add_post("/conversations/{sender}/trigger_intent", fake.handle)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        url = str(server.make_url("")).rstrip("/")
        yield fake, RasaClient(http, [url], url, TOKEN, timeout=5)
    await server.close()


async def test_posts_the_intent_and_entities_and_returns_the_messages(
    rasa: tuple[FakeRasa, RasaClient],
) -> None:
    fake, client = rasa
    entities = {"campaign": "12", "campaign_variant": "b", "campaign_content": {"text": "Hi"}}
    reply = await client.trigger_intent("visitor-1", "campaign_opener", entities)
    path, query, body = fake.requests[0]
    assert path == "/conversations/visitor-1/trigger_intent"
    assert body == {"name": "campaign_opener", "entities": entities}
    assert query["token"] == TOKEN
    # No output_channel: Rasa then collects the replies and returns them.
    assert "output_channel" not in query
    assert reply.messages == [OPENER, CARDS]
    assert reply.intent == "campaign_opener"
    assert reply.slots == {"campaign_variant": "b"}


async def test_an_intent_not_in_the_domain_is_a_typed_error(
    rasa: tuple[FakeRasa, RasaClient],
) -> None:
    fake, client = rasa
    fake.status = 404
    fake.body = {
        "version": "3.6.21",
        "status": "failure",
        "message": "The intent <function ...> does not exist in the domain.",
        "reason": "NotFound",
        "code": 404,
    }
    with pytest.raises(IntentNotInDomain) as caught:
        await client.trigger_intent("visitor-1", "no_such_intent", {})
    assert isinstance(caught.value, errors.NotFound)
    assert not isinstance(caught.value, RasaUnavailable)


async def test_another_404_stays_unavailable(rasa: tuple[FakeRasa, RasaClient]) -> None:
    """Rasa without --enable-api has no such route: a deployment fault, not a bad intent."""
    fake, client = rasa
    fake.status = 404
    fake.body = "Requested URL /conversations/visitor-1/trigger_intent not found"
    with pytest.raises(RasaNotFound) as caught:
        await client.trigger_intent("visitor-1", "campaign_opener", {})
    assert isinstance(caught.value, RasaUnavailable)
    assert not isinstance(caught.value, IntentNotInDomain)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"reason": "ConversationError", "message": "An unexpected error occurred."}),
        (409, {"reason": "Conflict", "message": "No agent loaded."}),
        (200, {"tracker": {}}),  # no messages
        (200, "<html>a proxy page</html>"),
    ],
)
async def test_errors_and_odd_answers_are_unavailable(
    rasa: tuple[FakeRasa, RasaClient], status: int, body: Any
) -> None:
    fake, client = rasa
    fake.status, fake.body = status, body
    with pytest.raises(RasaUnavailable) as caught:
        await client.trigger_intent("visitor-1", "campaign_opener", {})
    assert TOKEN not in str(caught.value)


async def test_rasa_down_is_unavailable_and_then_known_down() -> None:
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        client = RasaClient(http, [url], url, TOKEN, timeout=5)
        with pytest.raises(RasaUnavailable):
            await client.trigger_intent("visitor-1", "campaign_opener", {})
        assert client.rasa_known_down
        with pytest.raises(RasaUnavailable, match="known to be down"):
            await client.trigger_intent("visitor-1", "campaign_opener", {})
