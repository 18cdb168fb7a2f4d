"""A visitor speaking Rasa's socketio protocol, as rasa-webchat does."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import socketio

from tests.support.events import EventLog
from tests.support.sequence import Position

# Seconds to wait for the Socket.IO namespace handshake (python-socketio's default: 1).
WAIT_TIMEOUT = 10


class Visitor(EventLog):
    """A python-socketio client that records every event it receives."""

    def __init__(self, rapport: bool = False, reconnect: bool = False) -> None:
        """``rapport=True`` announces the Rapport capability (extension events);
        ``reconnect=True`` reconnects after a drop and resumes the session from
        its position (the highest ``seq`` up to which it holds every message,
        and the last message id seen for servers without ``seq``), as the
        widget does; a live message that skips ahead asks for the gap."""
        self.rapport = rapport
        # python-socketio does not reconnect after the server closed the
        # connection (a restart); the widget does, and so does this client.
        self.sio = socketio.AsyncClient(reconnection=False)
        self.reconnect = reconnect
        self.base_url: str | None = None
        self.closing = False
        self._reconnecting: asyncio.Task[None] | None = None
        self.confirmed = asyncio.Event()
        self.last_message_id = 0
        self.position = Position()
        self._asked_at = 0.0
        self._gap_check: asyncio.Task[None] | None = None
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
            "resync",
            "campaign_watch",
            "campaign_shown",
        ):
            self.sio.on(name, self._recorder(name))

        if reconnect:
            self.sio.on("connect", self._resume)
            self.sio.on("disconnect", self._dropped)

    async def _dropped(self, *reason: Any) -> None:
        self.confirmed.clear()
        if not self.closing and (self._reconnecting is None or self._reconnecting.done()):
            self._reconnecting = asyncio.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        assert self.base_url is not None
        while not self.closing and not self.sio.connected:
            await asyncio.sleep(0.2)
            try:
                await self.sio.connect(
                    self.base_url, transports=["websocket"], wait_timeout=WAIT_TIMEOUT
                )
            # ValueError: the client is still winding the old connection down.
            except (socketio.exceptions.ConnectionError, ValueError):
                continue

    async def _resume(self) -> None:
        if self.session_id is None:
            return  # the first connect: connect() asks for the session
        self._asked_at = time.perf_counter()
        request: dict[str, Any] = {
            "session_id": self.session_id,
            "last_message_id": self.last_message_id,
            "after_seq": self.position.value,
        }
        if self.rapport:
            request["rapport"] = 1
        await self.sio.emit("session_request", request)

    async def _check_gap_after(self, wait: float) -> None:
        await asyncio.sleep(wait)
        if self.position.gap and self.sio.connected and not self.closing:
            await self._resume()

    def _recorder(self, name: str):  # type: ignore[no-untyped-def]
        async def record(data: Any = None) -> None:
            if name == "session_confirm" and isinstance(data, dict):
                self.session_id = data.get("session_id")
                self.confirmed.set()
            if isinstance(data, dict) and isinstance(data.get("message_id"), int):
                self.last_message_id = max(self.last_message_id, data["message_id"])
            gap = False
            if name == "bot_uttered" and isinstance(data, dict):
                self.position.offer(data.get("seq"))
                gap = self.position.gap
            if name == "history" and isinstance(data, dict):
                for item in data.get("messages") or []:
                    self.last_message_id = max(self.last_message_id, item.get("id") or 0)
                    self.position.offer(item.get("seq"))
                after = data.get("after_seq")
                self.position.covered(
                    after if isinstance(after, int) else self.position.value,
                    data.get("through_seq"),
                )
            self.received.append(name)
            self.log.append((name, data))
            self.last_event_at = time.perf_counter()
            await self.events.put((name, data))
            wait = self._asked_at + 1 - time.perf_counter()
            if gap and wait > 0:
                gap = False  # asked a moment ago (the widget waits 2 s), so look again then
                if self.reconnect and (self._gap_check is None or self._gap_check.done()):
                    self._gap_check = asyncio.create_task(self._check_gap_after(wait))
            if (name == "resync" or gap) and self.reconnect:
                # The server's nodes lost touch, or a message skipped ahead:
                # ask for what follows our position, as the widget does.
                await self._resume()

        return record

    async def connect(
        self,
        base_url: str,
        session_id: str | None = None,
        identity: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Connect and request a session; return the session_confirm payload."""
        self.base_url = base_url
        # The namespace handshake may take over the client's default 1 s on a
        # loaded machine (seen under the full suite): wait longer.
        await self.sio.connect(
            base_url, headers=headers or {}, transports=["websocket"], wait_timeout=WAIT_TIMEOUT
        )
        request: dict[str, Any] = {"session_id": session_id}
        if self.rapport:
            request["rapport"] = 1
        if identity is not None:
            request["identity"] = identity
        await self.sio.emit("session_request", request)
        confirm: dict[str, Any] = await self.next("session_confirm")
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

    async def send_reliably(
        self, text: str, client_id: str, deadline: float = 60
    ) -> dict[str, Any]:
        """Send until the server acks it (as the widget does): retried with the
        same ``client_id`` after a timeout or a reconnect. Returns the ack."""
        give_up = asyncio.get_running_loop().time() + deadline
        payload = {"message": text, "client_id": client_id}
        while True:
            if asyncio.get_running_loop().time() > give_up:
                raise TimeoutError(f"{text!r} was never acknowledged")
            try:
                await asyncio.wait_for(self.confirmed.wait(), 5)
                ack = await self.sio.call(
                    "user_uttered", {**payload, "session_id": self.session_id}, timeout=5
                )
            except (TimeoutError, socketio.exceptions.SocketIOError):
                await asyncio.sleep(0.2)
                continue
            # Like the widget, its own message's id does not count as seen:
            # a reply stored before it but never delivered would be skipped.
            return ack  # type: ignore[no-any-return]

    @property
    def visitor_id(self) -> str:
        assert self.session_id is not None
        return self.session_id.split(".")[0]

    async def close(self) -> None:
        self.closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        await self.sio.disconnect()
