"""A console agent for tests and benchmarks: REST (cookie + CSRF, or token) and the socket."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import socketio

from tests.support.events import EventLog

PASSWORD = "correct horse battery staple"


async def create_agent(
    http: aiohttp.ClientSession,
    base_url: str,
    admin_token: str,
    *,
    name: str | None = None,
    role: str = "agent",
    max_chats: int = 3,
) -> dict[str, Any]:
    """Create an agent with the operator's token; returns its JSON (plus ``password``)."""
    username = f"{(name or 'agent').lower()}-{uuid.uuid4().hex[:8]}"
    async with http.post(
        f"{base_url}/api/agents",
        json={
            "username": username,
            "password": PASSWORD,
            "display_name": name or username,
            "role": role,
            "max_chats": max_chats,
        },
        headers={"Authorization": f"Bearer {admin_token}"},
    ) as resp:
        assert resp.status == 201, await resp.text()
        agent: dict[str, Any] = (await resp.json())["agent"]
    return {**agent, "password": PASSWORD}


class AgentClient(EventLog):
    """One agent: a logged-in HTTP session (cookie + CSRF) and, once connected, a socket."""

    def __init__(self, base_url: str, username: str, password: str = PASSWORD) -> None:
        self.base_url = base_url
        self.username = username
        self.password = password
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""
        self.me: dict[str, Any] = {}
        self.token: str | None = None
        self.sio: socketio.AsyncClient | None = None
        self.log: list[tuple[str, Any]] = []

    async def login(self) -> AgentClient:
        async with self.http.post(
            f"{self.base_url}/api/auth/login",
            json={
                "username": self.username,
                "password": self.password,
            },
        ) as resp:
            assert resp.status == 200, await resp.text()
            data = await resp.json()
        self.csrf = data["csrf_token"]
        self.me = data["agent"]
        return self

    @property
    def id(self) -> int:
        return int(self.me["id"])

    async def call(self, method: str, path: str, json: Any = None) -> tuple[int, Any]:
        """A REST call with the session cookie and the CSRF header."""
        async with self.http.request(
            method, self.base_url + path, json=json, headers={"X-CSRF-Token": self.csrf}
        ) as resp:
            body = await resp.json() if resp.content_type == "application/json" else None
            return resp.status, body

    async def ok(self, method: str, path: str, json: Any = None) -> Any:
        status, body = await self.call(method, path, json)
        assert status < 300, (status, body)
        return body

    async def api_token(self) -> str:
        self.token = (await self.ok("POST", "/api/me/token"))["token"]
        return self.token

    async def set_status(self, status: str) -> None:
        await self.ok("PATCH", "/api/me", {"status": status})

    async def connect(self) -> None:
        """Open the /agent socket (with an API token) and record every event."""
        token = self.token or await self.api_token()
        self.sio = socketio.AsyncClient(reconnection=False)
        for name in (
            "conversation_updated",
            "message_created",
            "visitor_typing",
            "visitor_presence",
            "visitors_presence",
            "agent_updated",
            "assignment",
            "followup_created",
            "analytics_changed",
            "live_visitors_changed",
            "resync",
        ):
            self.sio.on(name, self._recorder(name), namespace="/agent")
        await self.sio.connect(
            self.base_url,
            namespaces=["/agent"],
            auth={"token": token},
            transports=["websocket"],
            wait_timeout=10,  # python-socketio's default of 1 s is short on a loaded machine
        )

    def _recorder(self, name: str):  # type: ignore[no-untyped-def]
        async def record(data: Any = None) -> None:
            self.log.append((name, data))

        return record

    async def emit(self, event: str, data: Any) -> Any:
        assert self.sio is not None
        return await self.sio.call(event, data, namespace="/agent", timeout=30)

    async def wait_for_message(self, conversation_id: int, text: str, timeout: float = 30) -> None:  # noqa: ASYNC109
        """Poll the transcript (REST) until a message with ``text`` is stored."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            body = await self.ok("GET", f"/api/conversations/{conversation_id}/messages")
            if text in [m["text"] for m in body["messages"]]:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{text!r} not stored in conversation {conversation_id}")
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        if self.sio is not None and self.sio.connected:
            await self.sio.disconnect()
        await self.http.close()


async def admin_and_victim(
    base_url: str, admin_token: str, name: str
) -> tuple[AgentClient, dict[str, Any]]:
    """An admin called ``name``, logged in, and a plain agent for it to act on (its JSON)."""
    async with aiohttp.ClientSession() as http:
        admin = await create_agent(http, base_url, admin_token, name=name, role="admin")
        victim = await create_agent(http, base_url, admin_token, name="Victim")
    return await AgentClient(base_url, admin["username"]).login(), victim


@asynccontextmanager
async def online_agent(
    base_url: str, admin_token: str, name: str, max_chats: int
) -> AsyncIterator[AgentClient]:
    """A new agent, online with its console connected to ``base_url``.

    On exit it leaves a shared server as found: nothing assigned (it would be
    requeued to the next agent who comes online), and offline.
    """
    async with aiohttp.ClientSession() as http:
        data = await create_agent(http, base_url, admin_token, name=name, max_chats=max_chats)
    client = await AgentClient(base_url, data["username"]).login()
    await client.connect()
    await client.set_status("online")
    try:
        yield client
    finally:
        mine = (await client.ok("GET", "/api/conversations?view=mine"))["conversations"]
        for conversation in mine:
            await client.call("POST", f"/api/conversations/{conversation['id']}/resolve")
        await client.set_status("offline")
        await client.close()
