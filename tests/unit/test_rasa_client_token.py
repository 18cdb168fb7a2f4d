"""Rasa's token never shows in the errors the chat server logs or puts in /healthz.

The fake is at this module's edge: a web server that answers like a
misconfigured proxy in front of Rasa (HTTP 200, an HTML page).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from chat_server.rasa_client import RasaClient, RasaUnavailable
from dev.devstack import free_port

TOKEN = "rasa-token-that-must-stay-secret"


@pytest.fixture
async def client() -> AsyncIterator[RasaClient]:
    async def html(_: web.Request) -> web.Response:
        return web.Response(text="<html>proxy says hello</html>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", html)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        url = str(server.make_url("")).rstrip("/")
        yield RasaClient(http, [url], url, TOKEN, timeout=5)
    await server.close()


async def test_health_error_does_not_show_the_token(client: RasaClient) -> None:
    status = await client.rasa_status()
    assert status["ok"] is False
    assert "mimetype" in status["error"]  # the real reason is kept
    assert TOKEN not in status["error"]


async def test_api_error_does_not_show_the_token(client: RasaClient) -> None:
    with pytest.raises(RasaUnavailable) as caught:
        await client.parse("hello")
    assert "mimetype" in str(caught.value)
    assert TOKEN not in str(caught.value)
