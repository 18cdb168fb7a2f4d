"""A visitor speaking Rasa's socketio protocol, as rasa-webchat does."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import socketio

from tests.support.events import EventLog


class Visitor(EventLog):
    """A python-socketio client that records every event it receives."""

    def __init__(self, rapport: bool = False) -> None:
        """``rapport=True`` announces the Rapport capability (extension events)."""
        self.rapport = rapport
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.session_id: str | None = None
        self.received: list[str] = []  # every event name, in order
        self.log: list[tuple[str, Any]] = []  # every event with its payload, in order
        self.last_event_at = 0.0  # perf_counter() when the latest event arrived
        for name in (
            "session_confirm",
            "bot_uttered",
            "history",
            "error",
            "handoff_status",
            "agent_typing",
            "csat_request",
            "csat_recorded",
        ):
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name: str):  # type: ignore[no-untyped-def]
        async def record(data: Any = None) -> None:
            self.received.append(name)
            self.log.append((name, data))
            self.last_event_at = time.perf_counter()
            await self.events.put((name, data))

        return record

    async def connect(
        self, base_url: str, session_id: str | None = None, identity: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Connect and request a session; return the session_confirm payload."""
        await self.sio.connect(base_url, transports=["websocket"])
        request: dict[str, Any] = {"session_id": session_id}
        if self.rapport:
            request["rapport"] = 1
        if identity is not None:
            request["identity"] = identity
        await self.sio.emit("session_request", request)
        confirm = await self.next("session_confirm")
        self.session_id = confirm["session_id"]
        return confirm

    # The per-call deadline is this helper's interface (callers pass timeout=).
    async def next(self, name: str, timeout: float = 30) -> Any:  # noqa: ASYNC109
        """The next event called ``name`` (others before it are dropped)."""

        async def wait() -> Any:
            while True:
                event, data = await self.events.get()
                if event == name:
                    return data

        return await asyncio.wait_for(wait(), timeout)

    async def say(
        self,
        text: str,
        quiet: float = 0.5,
        timeout: float = 30,  # noqa: ASYNC109 - as next()
        **custom: Any,
    ) -> list[dict[str, Any]]:
        """Send a message; return the bot's replies (until ``quiet`` s of silence)."""
        while not self.events.empty():  # replies to earlier messages are not ours
            self.events.get_nowait()
        await self.sio.emit(
            "user_uttered",
            {
                "message": text,
                "session_id": self.session_id,
                "customData": {"page_url": "http://127.0.0.1/test", **custom},
            },
        )
        replies = [await self.next("bot_uttered", timeout)]
        while True:
            try:
                event, data = await asyncio.wait_for(self.events.get(), quiet)
            except TimeoutError:
                return replies
            if event == "bot_uttered":
                replies.append(data)

    @property
    def visitor_id(self) -> str:
        assert self.session_id is not None
        return self.session_id.split(".")[0]

    async def close(self) -> None:
        await self.sio.disconnect()
