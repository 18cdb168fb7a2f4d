"""Operations: Prometheus /metrics (local callers or the operator only) moving
with real traffic. In-process chat server, Rasa absent."""

from __future__ import annotations

import re

import aiohttp
from aiohttp.test_utils import TestServer

from tests.integration.conftest import ADMIN_TOKEN, base
from tests.support.visitor import Visitor


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = (
        rf"^{re.escape(name)}(\{{{re.escape(wanted)}\}})? (\S+)$"
        if wanted
        else (rf"^{re.escape(name)} (\S+)$")
    )
    for line in text.splitlines():
        match = re.match(pattern, line)
        if match:
            return float(match.groups()[-1])
    return 0.0


async def scrape(server: TestServer, **headers: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{base(server)}/metrics", headers=headers) as resp,
    ):
        return resp.status, await resp.text()


async def test_metrics_move_with_a_visitor_turn(server: TestServer) -> None:
    status, before = await scrape(server)
    assert status == 200
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server))
    try:
        await visitor.say("hello")  # Rasa is down: an apology, and an error counted
        _, during = await scrape(server)
        assert sample(during, "rapport_connections", namespace="/") >= 1
    finally:
        await visitor.close()
    _, after = await scrape(server)
    for name, labels in [
        ("rapport_messages_total", {"direction": "visitor"}),
        ("rapport_messages_total", {"direction": "bot"}),
        ("rapport_events_logged_total", {"type": "message_received"}),
        ("rapport_errors_total", {"kind": "rasa_unavailable"}),
    ]:
        assert sample(after, name, **labels) >= sample(before, name, **labels) + 1, (name, labels)
    assert "rapport_queue_length" in after
    assert "rapport_agents_online" in after
    assert "# TYPE rapport_rasa_request_seconds histogram" in after


async def test_metrics_are_not_public(server: TestServer) -> None:
    # Through a proxy (or from another machine) only the operator's token opens it.
    status, body = await scrape(server, **{"X-Forwarded-For": "203.0.113.9"})
    assert status == 403 and "rapport_" not in body
    status, body = await scrape(
        server, **{"X-Forwarded-For": "203.0.113.9", "Authorization": "Bearer wrong"}
    )
    assert status == 403
    status, body = await scrape(
        server, **{"X-Forwarded-For": "203.0.113.9", "Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert status == 200 and "rapport_messages_total" in body
