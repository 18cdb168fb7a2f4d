"""A real SMTP server for tests (aiosmtpd on 127.0.0.1), holding what it receives."""

from __future__ import annotations

import asyncio
import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class Inbox:
    """aiosmtpd handler: keeps every message; ``refuse`` answers RCPT with that reply."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: str | None = None

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        self.messages.append(message_from_bytes(raw, policy=default))
        return "250 Message accepted"

    async def wait_for(self, count: int, seconds: float = 20) -> list[EmailMessage]:
        """The first ``count`` messages, once they are here."""
        async with asyncio.timeout(seconds):
            while len(self.messages) < count:  # noqa: ASYNC110 (filled on aiosmtpd's own thread and loop)
                await asyncio.sleep(0.05)
        return self.messages[:count]


class SmtpServer:
    """``async with SmtpServer(port) as smtp``: a real SMTP server on 127.0.0.1."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=port)

    async def __aenter__(self) -> SmtpServer:
        await asyncio.to_thread(self._controller.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self._controller.stop)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    return body.get_content() if body is not None else ""


def links_in(message: EmailMessage) -> list[str]:
    return re.findall(r"https?://\S+", text_of(message))
