"""The inbound SMTP listener (``INBOUND_SMTP_PORT``): an aiosmtpd server, put
behind the MX of ``REPLY_DOMAIN``, that accepts mail for ``reply+…@`` that
domain only and hands it to :class:`InboundMail` on the server's event loop.

Mail over ``INBOUND_MAX_BYTES`` is refused during the SMTP dialogue (552),
as is any recipient outside the reply domain (550): nothing is relayed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from chat_server.services.email.inbound import InboundMail
from chat_server.services.email.replies import ReplyTokens

log = logging.getLogger(__name__)
HANDLE_SECONDS = 30.0


class _Handler:
    def __init__(
        self, inbound: InboundMail, tokens: ReplyTokens, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._inbound = inbound
        self._tokens = tokens
        self._loop = loop

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self._tokens.conversation(address) is None:
            return "550 5.1.1 No such recipient here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        future = asyncio.run_coroutine_threadsafe(
            self._inbound.receive(raw, envelope.mail_from or "", list(envelope.rcpt_tos)),
            self._loop,
        )
        try:
            received = await asyncio.wait_for(asyncio.wrap_future(future), HANDLE_SECONDS)
        except Exception:
            log.exception("inbound mail could not be stored")
            return "451 4.3.0 Try again later"  # the sender's server retries
        log.info("inbound mail: %s", received.outcome)
        return "250 OK"


class InboundListener:
    """Runs the listener on ``host:port`` (its own thread, aiosmtpd's way)."""

    def __init__(
        self,
        inbound: InboundMail,
        tokens: ReplyTokens,
        host: str,
        port: int,
        max_bytes: int,
    ) -> None:
        self._controller = Controller(
            _Handler(inbound, tokens, asyncio.get_running_loop()),
            hostname=host,
            port=port,
            data_size_limit=max_bytes,
        )

    def start(self) -> None:
        self._controller.start()
        log.info("inbound mail listener on %s:%s", self._controller.hostname, self._controller.port)

    def stop(self) -> None:
        self._controller.stop()
