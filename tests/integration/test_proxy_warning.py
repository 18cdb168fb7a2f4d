"""A reverse proxy missing from TRUSTED_PROXIES is reported: in the log (once an
hour), in /healthz/details and to the console's admins — and nothing is refused.

In-process server (SQLite); the test client on 127.0.0.1 plays the proxy.
"""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest

from tests.integration.conftest import ADMIN_TOKEN, base, start_server
from tests.support.agents import AgentClient, create_agent


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"


FORWARDED = {"X-Forwarded-For": "198.51.100.23"}


async def test_forwarded_requests_from_an_untrusted_proxy_are_reported(
    sqlite_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    srv = await start_server(sqlite_url)  # TRUSTED_PROXIES unset
    caplog.set_level(logging.WARNING, logger="chat_server.http.proxy_warning")
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(base(srv) + "/healthz/details") as resp:
                assert (await resp.json())["warnings"] == []  # nothing seen yet
            for _ in range(5):
                async with http.get(base(srv) + "/catalog.json", headers=FORWARDED) as resp:
                    assert resp.status == 200  # served as before
            # Health details are for local callers (no X-Forwarded-For): a
            # supervisor on the machine sees the warning.
            async with http.get(base(srv) + "/healthz/details") as resp:
                details = await resp.json()
            [warning] = details["warnings"]
            assert warning["code"] == "untrusted_proxy"
            assert warning["setting"] == "TRUSTED_PROXIES"
            assert warning["peers"] == ["127.0.0.1"]
            assert "TRUSTED_PROXIES=127.0.0.1" in warning["message"]
            # Admins see it through the API the console reads; agents may not.
            async with http.get(
                base(srv) + "/api/system/warnings",
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            ) as resp:
                assert (await resp.json())["warnings"] == [warning]
            made = await create_agent(http, base(srv), ADMIN_TOKEN)
        agent = AgentClient(base(srv), made["username"])
        try:
            await agent.login()
            status, _ = await agent.call("GET", "/api/system/warnings")
            assert status == 403
        finally:
            await agent.http.close()
        # Logged once, however many requests came through.
        lines = [r for r in caplog.records if "TRUSTED_PROXIES" in r.getMessage()]
        assert len(lines) == 1 and "127.0.0.1" in lines[0].getMessage()
    finally:
        await srv.close()


async def test_a_trusted_proxy_is_not_reported(sqlite_url: str) -> None:
    srv = await start_server(sqlite_url, trusted_proxies="127.0.0.1")
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(base(srv) + "/catalog.json", headers=FORWARDED) as resp:
                assert resp.status == 200
            async with http.get(base(srv) + "/healthz/details") as resp:
                assert (await resp.json())["warnings"] == []
    finally:
        await srv.close()
