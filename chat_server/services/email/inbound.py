"""Email answers threading back into their conversation (issue 25 §2).

Agent replies go out with Reply-To ``reply+<token>@REPLY_DOMAIN``; an SMTP
listener behind that domain's MX (services/email/listener.py) hands each
mail it accepts to :meth:`InboundMail.receive`, which

- ignores auto-replies and bounces (a null sender, ``Auto-Submitted`` other
  than ``no``, ``Precedence: bulk/junk/list/auto_reply``, ``X-Autoreply``,
  delivery reports): Rapport never answers mail automatically, so two
  auto-responders cannot loop through it;
- drops, with a log line, a token that does not verify and a sender who is
  not the conversation's visitor (the address the reply went to);
- keeps the new text only: quoted history (``>`` lines, "On … wrote:",
  "Original Message", Outlook's header block) and the signature (after
  ``-- ``) are cut; an HTML-only mail is turned into text; attachments are
  not stored, and the message says so;
- stores it as a visitor message marked ``channel: email`` (once per
  Message-ID), so the agent sees it in the transcript and the visitor in the
  widget on the next visit. An assigned or queued conversation hears it at
  once; a conversation with the bot or resolved gets a follow-up in the
  console's list.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import parseaddr
from html.parser import HTMLParser
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import event_queries, message_queries
from chat_server.db.models import Conversation, Followup, Message, utcnow
from chat_server.protocol import agent as agent_protocol
from chat_server.services import followups
from chat_server.services.conversations import message_to_wire
from chat_server.services.email.replies import ReplyTokens, visitor_address
from chat_server.services.handoff import HandoffService
from chat_server.services.notifier import Notifier

log = logging.getLogger(__name__)

# outcomes of receive()
STORED = "stored"
DUPLICATE = "duplicate"
AUTO_REPLY = "auto_reply"
NOT_VERIFIED = "bad_token"
WRONG_SENDER = "wrong_sender"
EMPTY = "empty"

_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_QUOTE_START = re.compile(
    r"^(on\s.+wrote:|le\s.+a\sécrit\s?:|am\s.+schrieb.*:|-{2,}\s*original message\s*-{2,}|"
    r"_{10,}|from:\s.+|sent from my \w+.*)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Received:
    outcome: str
    conversation_id: int | None = None
    message_id: int | None = None


class _Text(HTMLParser):
    """Text of an HTML mail: block elements become line breaks; scripts and
    styles are dropped; nothing is ever rendered."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self._skip:
            self._skip -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return "\n".join(lines).strip()


def new_text(body: str) -> str:
    """The part of a reply the sender wrote now: quoted history and signature cut."""
    kept: list[str] = []
    for line in body.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if line.rstrip() in ("--", "-- ") or _QUOTE_START.match(stripped):
            break
        if stripped.startswith(">"):
            continue
        kept.append(line.rstrip())
    text = "\n".join(kept).strip()
    return re.sub(r"\n{3,}", "\n\n", text)


def is_automatic(msg: EmailMessage, mail_from: str) -> bool:
    """An auto-reply, bounce or list mail: never stored, never answered."""
    if not mail_from or mail_from == "<>":
        return True
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if auto and auto != "no":
        return True
    if str(msg.get("Precedence", "")).strip().lower() in _AUTO_PRECEDENCE:
        return True
    if msg.get("X-Autoreply") or msg.get("X-Autorespond") or msg.get("List-Id"):
        return True
    return msg.get_content_type() == "multipart/report"


def body_of(msg: EmailMessage) -> tuple[str, list[str]]:
    """(the plain text, names of attachments left out)."""
    attachments = [
        str(part.get_filename() or part.get_content_type())
        for part in msg.walk()
        if part.get_content_disposition() == "attachment"
    ]
    plain = msg.get_body(("plain",))
    if plain is not None:
        return str(plain.get_content()), attachments
    rich = msg.get_body(("html",))
    if rich is not None:
        return html_to_text(str(rich.get_content())), attachments
    return "", attachments


class InboundMail:
    """Turns accepted email into visitor messages of their conversation."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        tokens: ReplyTokens,
        handoff: HandoffService,
        notifier: Notifier,
        max_chars: int,
    ) -> None:
        self._sessions = sessionmaker
        self._tokens = tokens
        self._handoff = handoff
        self._notifier = notifier
        self._max_chars = max_chars

    async def receive(self, raw: bytes, mail_from: str, recipients: list[str]) -> Received:
        msg: EmailMessage = message_from_bytes(raw, policy=default)
        if is_automatic(msg, mail_from):
            log.info("inbound mail from %r ignored: automatic", mail_from)
            return Received(AUTO_REPLY)
        conversation_id = next(
            (c for c in map(self._tokens.conversation, recipients) if c is not None), None
        )
        if conversation_id is None:
            log.warning("inbound mail to %s dropped: no valid reply token", recipients)
            return Received(NOT_VERIFIED)
        sender = parseaddr(str(msg.get("From", "")))[1].lower()
        text, attachments = body_of(msg)
        text = new_text(text)
        if attachments:
            names = ", ".join(a[:80] for a in attachments[:5])
            text += f"\n\n[Attachments are not accepted by email and were left out: {names}]"
        text = text.strip()[: self._max_chars]
        if not text:
            return Received(EMPTY, conversation_id)
        key = (
            "email:"
            + hashlib.sha256(str(msg.get("Message-ID", raw[:4096])).encode()).hexdigest()[:40]
        )

        async with self._sessions.begin() as session:
            conversation = await session.get(Conversation, conversation_id, with_for_update=True)
            if conversation is None:
                log.warning("inbound mail for conversation %s dropped: gone", conversation_id)
                return Received(NOT_VERIFIED)
            expected = await visitor_address(session, conversation)
            if not expected or sender != expected.lower():
                log.warning(
                    "inbound mail for conversation %s dropped: sender %r is not the visitor",
                    conversation_id,
                    sender,
                )
                return Received(WRONG_SENDER, conversation_id)
            earlier = await message_queries.message_by_client_id(
                session, conversation.visitor_id, key
            )
            if earlier is not None:
                return Received(DUPLICATE, conversation_id, earlier.id)
            message = await message_queries.add_message(
                session,
                conversation,
                "visitor",
                text,
                payload={"channel": "email", "subject": str(msg.get("Subject", ""))[:200]},
                client_id=key,
            )
            followup = await self._route(session, conversation, message, sender)
            await event_queries.log_event(
                session,
                "email_received",
                conversation.visitor_id,
                conversation.id,
                {"message_id": message.id},
            )
        await self._notifier.visitor_message_stored(
            conversation.visitor_id, message_to_wire(message)
        )
        await self._handoff.publish_message(conversation, message)
        if followup is not None:
            await self._notifier.to_agents(
                agent_protocol.FOLLOWUP_CREATED, {"followup": followups.followup_json(followup)}
            )
        self._handoff.publish_soon(conversation.id)
        return Received(STORED, conversation.id, message.id)

    async def _route(
        self, session: AsyncSession, conversation: Conversation, message: Message, sender: str
    ) -> Followup | None:
        """A person has the conversation: they see it now. Otherwise it becomes
        a follow-up in the console's list, to answer by email."""
        if conversation.state == "assigned":
            conversation.unread += 1
            return None
        if conversation.state == "queued":
            return None
        followup = Followup(
            visitor_id=conversation.visitor_id,
            conversation_id=conversation.id,
            email=sender,
            message=message.text or "",
            status="open",
            created_at=utcnow(),
        )
        session.add(followup)
        await session.flush()
        return followup
