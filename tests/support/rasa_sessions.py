"""Ending a visitor's Rasa session on demand (tests and benchmarks can't wait an hour)."""

from __future__ import annotations

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
