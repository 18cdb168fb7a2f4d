"""A local mail catcher for development (``DEV_MAIL_CATCHER_PORT``, set by
``make run``): an SMTP server inside the chat server that keeps the last
mails in memory, for the console's developer page. A newcomer sees every
email Rapport would send without a mail account. Never used in production:
unset, nothing listens and the page does not exist.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from chat_server.db.models import utcnow

log = logging.getLogger(__name__)
KEEP = 200


class CaughtMail:
    """The catcher's memory: the last ``KEEP`` messages, newest first."""

    def __init__(self) -> None:
        self._mail: deque[dict[str, Any]] = deque(maxlen=KEEP)
        self._ids = itertools.count(1)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        self.add(data, list(envelope.rcpt_tos))
        return "250 Message caught"

    def add(self, data: bytes, recipients: list[str]) -> None:
        msg: EmailMessage = message_from_bytes(data, policy=default)
        text = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        self._mail.appendleft(
            {
                "id": next(self._ids),
                "received_at": utcnow().isoformat(timespec="seconds"),
                "from": str(msg.get("From", "")),
                "to": recipients,
                "subject": str(msg.get("Subject", "")),
                "headers": {k: str(v) for k, v in msg.items()},
                "text": text.get_content() if text is not None else "",
                "html": html.get_content() if html is not None else None,
            }
        )

    def messages(self) -> list[dict[str, Any]]:
        return list(self._mail)


class MailCatcher:
    """Runs the catcher on 127.0.0.1:``port`` (its own thread, aiosmtpd's way)."""

    def __init__(self, port: int) -> None:
        self.mail = CaughtMail()
        self._controller = Controller(self.mail, hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self._controller.start()
        log.info("development mail catcher on 127.0.0.1:%s", self._controller.port)

    def stop(self) -> None:
        self._controller.stop()
