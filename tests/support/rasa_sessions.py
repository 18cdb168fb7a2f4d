"""A visitor's Rasa conversation from outside: its tracker, and ending its session on
demand (tests and benchmarks can't wait an hour)."""

from __future__ import annotations

from typing import Any

import aiohttp

from dev.devstack import Stack


async def start_new_session(http: aiohttp.ClientSession, stack: Stack, visitor_id: str) -> None:
    """What Rasa does when a session expires: run action_session_start (slots carried over)."""
    async with http.post(
        f"{stack.config.rasa_url}/conversations/{visitor_id}/execute",
        params={"token": stack.config.rasa_token, "include_events": "NONE"},
        json={"name": "action_session_start"},
    ) as resp:
        if resp.status != 200:
            raise RuntimeError(f"action_session_start failed: {resp.status} {await resp.text()}")


async def rasa_tracker(stack: Stack, sender: str, rasa_url: str | None = None) -> dict[str, Any]:
    """The tracker Rasa holds for ``sender`` (from ``rasa_url``, else the stack's first Rasa)."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{rasa_url or stack.config.rasa_url}/conversations/{sender}/tracker",
            params={"token": stack.config.rasa_token},
        ) as resp,
    ):
        assert resp.status == 200
        data: dict[str, Any] = await resp.json()
        return data
