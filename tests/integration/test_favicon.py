"""The favicon: /favicon.ico answers with an icon and the pages link the SVG one."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from tests.integration.conftest import base, start_server


async def test_favicon_is_served_and_linked(database_url: str) -> None:
    server: TestServer = await start_server(database_url, serve_demo=True)
    try:
        await check(server)
    finally:
        await server.close()


async def check(server: TestServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(base(server) + "/favicon.ico") as resp:
            assert resp.status == 200
            assert resp.content_type == "image/x-icon"
            assert (await resp.read())[:4] == b"\x00\x00\x01\x00"  # an ICO header
        async with http.get(base(server) + "/static/favicon.svg") as resp:
            assert resp.status == 200
            assert resp.content_type == "image/svg+xml"
            assert (await resp.text()).startswith("<svg")
        for page in ("/", "/console"):  # the demo store and the console
            async with http.get(base(server) + page) as resp:
                assert resp.status == 200
                assert '<link rel="icon" href="/static/favicon.svg"' in await resp.text()
